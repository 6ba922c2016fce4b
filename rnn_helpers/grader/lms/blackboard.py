"""Blackboard Learn's "Download Assignment" zip: flat files ``ASSIGNMENT_username_attempt_TIMESTAMP_FILE``.

This is the convention nbgrader's ``zip_collect`` documents and ships an example of
(``nbgrader/docs/source/user_guide/managing_assignment_files_manually.ipynb``: ``ps1_bitdiddle_attempt_2016-01-30-
15-30-10_problem1.ipynb``, read with ``.*_(?P<student_id>\\w+)_attempt_(?P<timestamp>[0-9\\-]+)_(?P<file_id>.*)``).
Beside each attempt's files Blackboard writes a receipt, ``ASSIGNMENT_username_attempt_TIMESTAMP.txt``, whose
``Name: First Last (username)`` line gives the student's name and whose ``Original filename:`` / ``Filename:``
pairs give each file's name as the student uploaded it. With "all attempts" downloaded, a student has one
timestamp per attempt. The username, like nbgrader's ``\\w+``, holds no underscore (what comes before the last
underscore ahead of ``_attempt_`` is the assignment's name).
"""
from __future__ import annotations

import pathlib
import re

from .model import MAX_RECEIPT_BYTES, Attempt, ExportStudent, SubmittedFile

NAME = "blackboard"
TITLE = "Blackboard"
FORM = "flat files ASSIGNMENT_username_attempt_YYYY-MM-DD-HH-MM-SS_file, and their .txt receipts"

ATTEMPT = re.compile(r"(?P<assignment>.+)_(?P<user>[^_/]+)_attempt_"
                     r"(?P<stamp>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})(?:_(?P<file>.+)|(?P<receipt>\.txt))")


def parse(file_name: str) -> dict | None:
    m = ATTEMPT.fullmatch(file_name)
    return m.groupdict() if m else None


def claims(entry: pathlib.Path) -> bool:
    return entry.is_file() and parse(entry.name) is not None


def iso(stamp: str) -> str:
    """``2026-11-30-14-05-11`` (the server's local time, no offset) as ``2026-11-30T14:05:11``."""
    y, mo, d, h, mi, s = stamp.split("-")
    return f"{y}-{mo}-{d}T{h}:{mi}:{s}"


def read_receipt(path: pathlib.Path) -> tuple[str, dict[str, str]]:
    """(the student's name, {file name in the zip: original file name}) from a receipt; ("", {}) if unreadable."""
    try:
        with open(path, "rb") as fh:
            text = fh.read(MAX_RECEIPT_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return "", {}
    m = re.search(r"^Name:\s*(.*?)\s*\(([^()]*)\)\s*$", text, re.MULTILINE)
    name = m.group(1) if m else ""
    originals = {}
    pairs = re.findall(r"Original filename:\s*(.+?)\s*$\s*Filename:\s*(.+?)\s*$", text, re.MULTILINE)
    for original, stored in pairs:
        originals[stored] = original
    return name, originals


def read(entries: list[pathlib.Path], assignment: str) -> tuple[list[ExportStudent], list[pathlib.Path]]:
    """One student per username, one attempt per timestamp (the receipt's name and original file names used)."""
    parsed = [(entry, parse(entry.name) if entry.is_file() else None) for entry in sorted(entries)]
    receipts = {(info["user"], info["stamp"]): read_receipt(entry) for entry, info in parsed
                if info and info["receipt"]}
    students: dict[str, ExportStudent] = {}
    attempts: dict[tuple[str, str], Attempt] = {}
    other = []
    for entry, info in parsed:
        if info is None:
            other.append(entry)
            continue
        key = user, stamp = info["user"], info["stamp"]
        name, originals = receipts.get(key, ("", {}))
        student = students.setdefault(user, ExportStudent(user, f"{info['assignment']}_{user}"))
        student.name = student.name or name
        if key not in attempts:
            attempts[key] = Attempt([], iso(stamp), None, f"attempt {iso(stamp)}")
            student.attempts.append(attempts[key])
        if not info["receipt"] and info["file"].lower().endswith(".ipynb"):
            attempts[key].files.append(SubmittedFile(entry, originals.get(entry.name, info["file"])))
    return list(students.values()), other
