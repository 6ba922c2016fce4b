"""Canvas's "Download Submissions" zip: one flat folder, every file named ``name_[LATE_]userid_fileid_original``.

Canvas (``lib/content_zipper.rb``, ``ContentZipper#get_filename`` and ``#add_upload_submission``) names each
uploaded file ``<sortable name, lower case, only word characters>[_LATE]_<user id>_<attachment id>_<file's display
name>``, e.g. ``doejane_12345_678901_02_simple_rnn.ipynb``; an anonymously graded assignment has
``anon_<anonymous id>`` in place of name and user id, a text entry ``..._<user id>_text.html``, a URL
``..._<user id>_link.html``. Canvas strips ``_<digits>_`` from the name (so that the ids can be found again), and the
display name of a file a student uploads a second time under the same name gets ``-1``, ``-2``
(``02_simple_rnn-1.ipynb``). The zip holds each student's latest submission only; a higher attachment id is a later
upload. The user id is the ``ID`` column of Canvas's gradebook CSV (:mod:`rnn_helpers.grader.lms_export`).
"""
from __future__ import annotations

import pathlib
import re

from .model import Attempt, ExportStudent, SubmittedFile

NAME = "canvas"
TITLE = "Canvas"
FORM = "flat files name_[LATE_]userid_fileid_file"

UPLOAD = re.compile(r"(?P<name>[^/]+?)_(?:(?P<late>LATE)_)?(?P<uid>\d+)_(?P<fid>\d+)_(?P<original>.+)")
ANONYMOUS = re.compile(r"(?:(?P<late>LATE)_)?(?P<uid>anon_[A-Za-z0-9]+)_(?P<fid>\d+)_(?P<original>.+)")
TEXT_OR_URL = re.compile(r"(?P<name>.+?)_(?:(?P<late>LATE)_)?(?P<uid>\d+)_(?:text|link)\.html")
ANONYMOUS_TEXT_OR_URL = re.compile(r"(?:(?P<late>LATE)_)?(?P<uid>anon_[A-Za-z0-9]+)_(?:text|link)\.html")


def parse(file_name: str) -> dict | None:
    """``{"name", "late", "uid", "fid", "original"}`` of a Canvas file name (``fid``/``original`` None for a
    text entry or URL), or None."""
    m = ANONYMOUS.fullmatch(file_name) or UPLOAD.fullmatch(file_name)
    if m:
        g = m.groupdict()
        return {"name": g.get("name") or "", "late": bool(g["late"]), "uid": g["uid"], "fid": int(g["fid"]),
                "original": g["original"]}
    m = ANONYMOUS_TEXT_OR_URL.fullmatch(file_name) or TEXT_OR_URL.fullmatch(file_name)
    if m:
        return {"name": m.groupdict().get("name") or "", "late": bool(m["late"]),
                "uid": m["uid"], "fid": None, "original": None}
    return None


def claims(entry: pathlib.Path) -> bool:
    return entry.is_file() and parse(entry.name) is not None


def read(entries: list[pathlib.Path], assignment: str) -> tuple[list[ExportStudent], list[pathlib.Path]]:
    """One student per user id, their files one attempt (the zip holds the latest submission only)."""
    students: dict[str, ExportStudent] = {}
    late: dict[str, bool] = {}
    other = []
    for entry in sorted(entries):
        info = parse(entry.name) if entry.is_file() else None
        if info is None:
            other.append(entry)
            continue
        uid = info["uid"]
        prefix = "_".join(p for p in (info["name"], "LATE" if info["late"] else "", uid) if p)
        student = students.setdefault(uid, ExportStudent(uid, prefix, info["name"], [Attempt([])]))
        late[uid] = late.get(uid, False) or info["late"]
        if info["original"] is not None and info["original"].lower().endswith(".ipynb"):
            student.attempts[0].files.append(SubmittedFile(entry, info["original"], info["fid"]))
    for uid, student in students.items():
        student.attempts[0].late = late[uid]
    return list(students.values()), other
