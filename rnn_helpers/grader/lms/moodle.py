"""Moodle's "Download all submissions" zip: ``Full Name_id_assignsubmission_file_`` in folders, or flat.

Moodle (``mod/assign/locallib.php``, ``download_submissions`` / ``load_submissionplugin_filelist``) prefixes
every file with ``<full name>_<participant id>_<plugin>`` where the plugin is ``assignsubmission_file`` (uploads)
or ``assignsubmission_onlinetext``; underscores in the name become spaces, a group assignment puts
``<group name>-`` first, and anonymous submissions have ``Participant`` for the name. With "Download submissions
in folders" (the default since Moodle 3.1) each prefix is a folder, ``Jane Doe_20003_assignsubmission_file_/``
(``..._file/`` in Moodle 4), holding the files under their own names and sub-folders; without it the files are flat,
``Jane Doe_20003_assignsubmission_file_02_simple_rnn.ipynb``. The participant id is the one the offline grading
worksheet's ``Identifier`` column holds as ``Participant 20003`` (:mod:`rnn_helpers.grader.lms_export`). The zip
holds each participant's latest attempt only.
"""
from __future__ import annotations

import pathlib
import re

from .model import Attempt, ExportStudent, SubmittedFile, files_of

NAME = "moodle"
TITLE = "Moodle"
FORM = "Full Name_id_assignsubmission_file_/... folders, or flat Full Name_id_assignsubmission_file_file"

FOLDER = re.compile(r"(?P<name>.*?)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)_?")
FLAT = re.compile(r"(?P<name>.*?)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<original>.+)")
ANONYMOUS_NAME = "Participant"


def parse(entry: pathlib.Path) -> dict | None:
    m = (FOLDER if entry.is_dir() else FLAT).fullmatch(entry.name)
    if not m:
        return None
    info = m.groupdict()
    if info["name"] == ANONYMOUS_NAME or info["name"].endswith("-" + ANONYMOUS_NAME):
        info["name"] = ""  # anonymous submissions: Moodle hides the name, and so do we
    return info


def claims(entry: pathlib.Path) -> bool:
    return parse(entry) is not None


def read(entries: list[pathlib.Path], assignment: str) -> tuple[list[ExportStudent], list[pathlib.Path]]:
    """One student per participant id; the files of all their plugins' folders (or flat files) one attempt."""
    students: dict[str, ExportStudent] = {}
    other = []
    for entry in sorted(entries):
        info = parse(entry)
        if info is None:
            other.append(entry)
            continue
        pid = info["id"]
        student = students.setdefault(pid, ExportStudent(pid, f"{info['name'] or ANONYMOUS_NAME}_{pid}",
                                                         info["name"], [Attempt([])]))
        if entry.is_dir():
            student.attempts[0].files.extend(files_of(entry))
        elif info["original"].lower().endswith(".ipynb"):
            student.attempts[0].files.append(SubmittedFile(entry, info["original"]))
    for student in students.values():
        student.attempts[0].files.sort(key=lambda f: f.name)
    return list(students.values()), other
