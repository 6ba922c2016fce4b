"""The grades back to the LMS they came from: the CSV that Canvas's or Moodle's gradebook import reads.

``rnn-course grade ... --export canvas|moodle`` writes, beside ``grades.csv``, one of

- ``OUT/grades_canvas.csv``, for Canvas's Grades > Import. Canvas's importer (``lib/gradebook_importer.rb``) reads
  the header ``Student, ID, SIS User ID, SIS Login ID, Section`` followed by one column per assignment, titled
  ``<title> (<assignment id>)`` as Canvas's own gradebook export titles it, or just ``<title>``; it finds each
  student by ``ID`` (the Canvas user id in the submission file names, :mod:`rnn_helpers.grader.lms.canvas`), and the
  assignment by the id in the title, else by the title. The title is the ASSIGNMENT name unless given, as in
  ``--export "canvas=Simple RNN (4242)"``; a title Canvas does not know becomes a new column, which its import
  preview shows before anything is saved. No ``Points Possible`` row is written, so the import cannot change the
  assignment's points. Anonymously graded submissions (``anon_<id>``) cannot be keyed by user id: they are left
  out, and the command says which.
- ``OUT/grades_moodle.csv``, for Moodle's assignment > "Upload grading worksheet" (the offline grading worksheet
  of ``mod/assign/feedback/offline``). Its importer (``importgradeslib.php``) needs the columns ``Identifier``
  (``Participant <id>``, the participant id in the export's file names, :mod:`rnn_helpers.grader.lms.moodle`),
  ``Grade`` and ``Last modified (grade)``; the other columns of Moodle's own worksheet are written for the reader.
  ``Last modified (grade)`` is ``-`` (a new grade): Moodle skips a row whose grade was changed in Moodle since,
  unless "Allow updating records that have been modified more recently in Moodle than in the spreadsheet" is
  ticked. No ``Feedback comments`` column is written, so the import never replaces a marker's comments.

Grades are the points earned, out of the notebook's points (``grades.csv``'s ``score`` and ``max_score``): set the
LMS assignment's maximum to the same points. An export is keyed by the ids of that LMS's own export: asking for the
Canvas CSV of a Moodle export is a wrong invocation, refused before anything is graded.
"""
from __future__ import annotations

import csv
import pathlib
from typing import Callable

from .grades_csv import _fmt
from .submissions import InvocationError

KINDS = ("canvas", "moodle")
CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_COLUMNS = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                  "Grade can be changed", "Last modified (submission)", "Last modified (grade)"]
MOODLE_PARTICIPANT = "Participant "  # Moodle's string 'hiddenuser', stripped from the Identifier on import


def parse_export(value: str | None) -> tuple[str, str | None] | None:
    """``"canvas"``, ``"moodle"`` or ``"canvas=TITLE"`` as (kind, title or None); None for None."""
    if value is None:
        return None
    kind, _, title = value.partition("=")
    kind = kind.strip().lower()
    if kind not in KINDS:
        raise InvocationError(f"--export {value!r}: expected one of {', '.join(KINDS)} (or canvas=COLUMN TITLE)")
    if title and kind != "canvas":
        raise InvocationError(f"--export {value!r}: only the Canvas export takes a column title")
    return kind, title.strip() or None


def check_export(value: str | None, students) -> None:
    """Refuse, before grading, an export whose LMS is not the one the submissions came from."""
    parsed = parse_export(value)
    if parsed is None:
        return
    kind = parsed[0]
    layouts = sorted({s.submitter.layout for s in students if s.submitter is not None})
    if layouts != [kind]:
        seen = ", ".join(layouts) or "no LMS"
        raise InvocationError(f"--export {kind} needs a {kind.capitalize()} export (its ids key the gradebook "
                              f"import), but SUBMISSIONS is a {seen} export")


def canvas_rows(results, title: str) -> tuple[list[list[str]], list[str]]:
    """The rows of Canvas's gradebook CSV (header first), and the students left out (no Canvas user id)."""
    rows, left_out = [CANVAS_COLUMNS + [title]], []
    for res in sorted(results, key=lambda r: r.student_id):
        who = res.submitter
        if not who.lms_id.isdigit():
            left_out.append(who.lms_id)
            continue
        rows.append([who.name or res.student_id, who.lms_id, "", "", "", _fmt(res.score)])
    return rows, left_out


def moodle_rows(results) -> list[list[str]]:
    """The rows of Moodle's offline grading worksheet (header first)."""
    rows = [MOODLE_COLUMNS]
    for res in sorted(results, key=lambda r: r.student_id):
        who = res.submitter
        rows.append([MOODLE_PARTICIPANT + who.lms_id, who.name, "", res.status, _fmt(res.score), _fmt(res.max_score),
                     "Yes", who.submitted_at or "-", "-"])
    return rows


def write_export(out: pathlib.Path, value: str, results, assignment: str,
                 echo: Callable[[str], None] | None = None) -> tuple[pathlib.Path, list[str]]:
    """Write ``OUT/grades_<lms>.csv``; (its path, the student ids it had to leave out, which ``echo`` is told)."""
    kind, title = parse_export(value)
    if kind == "canvas":
        rows, left_out = canvas_rows(results, title or assignment)
    else:
        rows, left_out = moodle_rows(results), []
    path = pathlib.Path(out) / f"grades_{kind}.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    if left_out and echo is not None:
        echo(f"[export] left out of {path.name}, as Canvas cannot key them by user id: {', '.join(left_out)}")
    return path, left_out
