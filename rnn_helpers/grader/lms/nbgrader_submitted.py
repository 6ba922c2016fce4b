"""nbgrader's own submitted layout: ``STUDENT/ASSIGNMENT/NOTEBOOK.ipynb``, one folder per student.

What ``nbgrader collect`` and ``nbgrader zip_collect`` write (``{submitted_directory}/{student_id}/
{assignment_id}/{notebook_id}.ipynb``, with the submission time in ``timestamp.txt`` beside the notebooks), and what
an LMS export that gives each student a folder of their own looks like once unzipped. A student's folder may hold
the notebook directly or deeper (``STUDENT/NOTEBOOK.ipynb``); every notebook below it is a candidate, and
:func:`rnn_helpers.grader.submissions.collect` says in a note when it graded one from elsewhere than
``ASSIGNMENT/NOTEBOOK.ipynb``. The folder's name is the student's id.
"""
from __future__ import annotations

import pathlib

from .model import Attempt, ExportStudent, files_of, iso_time

NAME = "nbgrader"
TITLE = "nbgrader"
FORM = "STUDENT/ASSIGNMENT/NOTEBOOK.ipynb folders"

MAX_TIMESTAMP_BYTES = 256


def claims(entry: pathlib.Path) -> bool:
    return entry.is_dir()


def submitted_at(folder: pathlib.Path, assignment: str) -> str:
    """The time in ``STUDENT/ASSIGNMENT/timestamp.txt`` (what ``nbgrader collect`` writes), else ""."""
    path = folder / assignment / "timestamp.txt"
    if not path.is_file() or path.is_symlink():
        return ""
    try:
        with open(path, "rb") as fh:
            text = fh.read(MAX_TIMESTAMP_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return ""
    return iso_time(text.strip().splitlines()[0] if text.strip() else "")


def read(entries: list[pathlib.Path], assignment: str) -> tuple[list[ExportStudent], list[pathlib.Path]]:
    """One student per folder; its notebooks one attempt."""
    students, other = [], []
    for entry in sorted(entries):
        if not entry.is_dir():
            other.append(entry)
            continue
        attempt = Attempt(files_of(entry), submitted_at(entry, assignment))
        students.append(ExportStudent(entry.name, entry.name, "", [attempt]))
    return students, other
