"""What an LMS export says about one student: who they are, and the notebooks of each attempt.

Every layout module (:mod:`.canvas`, :mod:`.moodle`, :mod:`.blackboard`, :mod:`.gradescope`,
:mod:`.nbgrader_submitted`) turns the files of its export into :class:`ExportStudent` records; choosing the
attempt and the notebooks to grade is :func:`rnn_helpers.grader.submissions.collect`'s job, the same for all.
Nothing here writes to the export: the paths point at the files as they were submitted.
"""
from __future__ import annotations

import pathlib
from dataclasses import dataclass, field

SKIP_NAMES = {"__MACOSX", ".ipynb_checkpoints", ".DS_Store", ".git"}
# the most of an export's own files that is read (and extracted from a zip, submissions.extract_zip)
MAX_METADATA_BYTES = 32 * 1024 * 1024  # Gradescope's submission_metadata.yml of a large class is a few MB
MAX_RECEIPT_BYTES = 1024 * 1024  # nbgrader's timestamp.txt, Blackboard's per-attempt receipts


class LayoutError(ValueError):
    """The export is none of the known layouts, or mixes them; the message names what was seen."""


@dataclass
class SubmittedFile:
    path: pathlib.Path  # the file in the export (read, never written)
    name: str  # the student's own name for it, relative to their submission: "02_simple_rnn.ipynb", "ps1/ps1.ipynb"
    upload: int = 0  # upload order where the export gives one (Canvas's file id): the highest is the latest


@dataclass
class Attempt:
    files: list[SubmittedFile]
    submitted_at: str = ""  # ISO 8601 as far as the export says (with its offset when it gives one), else ""
    late: bool | None = None  # None: the export does not say
    label: str = ""  # how the export names this attempt, for the note on the attempts not graded


@dataclass
class ExportStudent:
    lms_id: str  # the id the LMS keys its gradebook on (Canvas user id, Moodle participant id, username, SID)
    folder: str  # the export's own name for the student: a folder, or the prefix of their files' names
    name: str = ""  # the student's name where the export gives it
    attempts: list[Attempt] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Submitter:
    """Who submitted what was graded, as ``grades.csv`` and the LMS gradebook import key it."""

    layout: str  # "canvas", "moodle", "blackboard", "gradescope" or "nbgrader"
    lms_id: str
    name: str = ""
    late: bool | None = None
    submitted_at: str = ""


def skipped(path: pathlib.Path) -> bool:
    """Operating-system and editor artefacts (``__MACOSX``, ``.DS_Store``, checkpoints, any dot file)."""
    return path.name in SKIP_NAMES or path.name.startswith(".")


def notebooks_under(folder: pathlib.Path) -> list[pathlib.Path]:
    """Every ``*.ipynb`` below ``folder`` (symlinks and artefacts left out), sorted."""
    found = []
    stack = [folder]
    while stack:
        d = stack.pop()
        try:
            entries = sorted(d.iterdir())
        except OSError:
            continue
        for p in entries:
            if skipped(p) or p.is_symlink():
                continue
            if p.is_dir():
                stack.append(p)
            elif p.is_file() and p.suffix.lower() == ".ipynb":
                found.append(p)
    return sorted(found)


def files_of(folder: pathlib.Path) -> list[SubmittedFile]:
    """The notebooks of one student's folder, each named by its path inside the folder."""
    return [SubmittedFile(p, p.relative_to(folder).as_posix()) for p in notebooks_under(folder)]


def iso_time(value) -> str:
    """An export's time as ISO 8601 (``2026-11-30T14:05:11-08:00``); a datetime, or text in a form close to it.

    Text that is no time at all is returned as it is (short), so that nothing the export said is lost."""
    import datetime as dt
    import re

    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value or "").strip()[:64]
    # Ruby's "2026-11-30 14:05:11.123456789 -0800" and nbgrader's "2026-11-30 14:05:11.123456 UTC"
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d+))?\s*(Z|UTC|[+-]\d{2}:?\d{2})?", text)
    if not m:
        return text
    day, clock, fraction, zone = m.groups()
    fraction = (fraction or "")[:6].ljust(6, "0")
    out = f"{day}T{clock}" + (f".{fraction}" if int(fraction or 0) else "")  # as datetime.isoformat writes it
    if zone in ("Z", "UTC"):
        out += "+00:00"
    elif zone:
        out += zone if ":" in zone else f"{zone[:3]}:{zone[3:]}"
    return out
