"""What the instructor gets back: ``grades.csv`` and the summary the command prints.

``grades.csv`` has one row per student (in the order given: the pipeline sorts them by student id), every student
present, and the columns
``assignment, student_id, score, max_score, status, reason, folder, notes`` followed by one column per graded cell
with its points. ``reason`` lists why points were lost (``cell: message``, joined by `` | ``); ``folder`` is the
submission's folder as named in SUBMISSIONS (``student_id`` is it made safe: spaces, accents), so that a row maps back
to the LMS's student; ``notes`` says what the grader did on the student's behalf (a misnamed notebook graded, extra
notebooks ignored, a test cell restored), joined by `` | ``. After the cell columns come what the LMS export says of
the student (:mod:`rnn_helpers.grader.lms`): ``name`` (where the export has it), ``late`` (``yes``, ``no``, or empty
where the export does not say) and ``submitted_at`` (ISO 8601, empty where the export does not say); they come last
so that readers of the earlier columns are unaffected. A failed hidden check's reason is its explanation
(``likely mistake <id>: ...`` or ``fails only when ...``, :func:`rnn_helpers.grader.explain.describe`);
``grades.json`` (:mod:`.grades_json`) has the mistake ids and failing cases as fields. Nothing in it depends on the
time or order of grading, so grading the same submissions twice gives the same file; it is written atomically
(:func:`.atomic_write.write_atomic`).
"""
from __future__ import annotations

import csv
import io
import pathlib

from .atomic_write import write_atomic

BASE_COLUMNS = ["assignment", "student_id", "score", "max_score", "status", "reason", "folder", "notes"]
SUBMITTER_COLUMNS = ["name", "late", "submitted_at"]


def _fmt(x: float) -> str:
    return f"{x:g}"


def submitter_cells(res) -> list[str]:
    """``name, late, submitted_at`` of a student result (empty where the export does not say, or no export)."""
    who = res.submitter
    if who is None:
        return ["", "", ""]
    return [who.name, "" if who.late is None else ("yes" if who.late else "no"), who.submitted_at]


def cell_columns(layout: dict[str, list[dict]]) -> list[tuple[str, str, str]]:
    """(column name, notebook, cell) for every graded cell."""
    single = len(layout) == 1
    return [(c["name"] if single else f"{nb}/{c['name']}", nb, c["name"]) for nb, cells in layout.items() for c in cells]


def write_csv(path: pathlib.Path, results, layout: dict[str, list[dict]]) -> None:
    columns = cell_columns(layout)
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(BASE_COLUMNS + [name for name, _, _ in columns] + SUBMITTER_COLUMNS)
    for res in results:
        points = {(nb.notebook, c.name): c.points for nb in res.notebooks for c in nb.cells}
        writer.writerow([res.assignment, res.student_id, _fmt(res.score), _fmt(res.max_score), res.status,
                         " | ".join(res.reasons()), res.folder, " | ".join(res.all_notes())]
                        + [_fmt(points.get((nb, cell), 0.0)) for _, nb, cell in columns]
                        + submitter_cells(res))
    write_atomic(path, text.getvalue(), newline="")


def summary(results, *, sandboxed: bool, sandbox_reason: str) -> str:
    """The text the command prints: one line per student, then the reasons for every lost point."""
    lines = []
    if not sandboxed:
        lines.append(f"WARNING: graded WITHOUT the sandbox, students' code ran as you ({sandbox_reason})")
    width = max([len(r.student_id) for r in results] + [7])
    lines.append(f"{'student':<{width}}  {'score':>9}  status")
    for res in sorted(results, key=lambda r: r.student_id):
        lines.append(f"{res.student_id:<{width}}  {_fmt(res.score) + ' / ' + _fmt(res.max_score):>9}  {res.status}")
        for note in res.all_notes():
            lines.append(f"{'':<{width}}    note: {note}")
        for reason in res.reasons():
            lines.append(f"{'':<{width}}    0 for {reason}")
    total = sum(r.score for r in results)
    full = sum(r.max_score for r in results)
    lines.append(f"{len(results)} student(s) graded; mean {(_fmt(total / len(results))) if results else '0'} / "
                 f"{_fmt(full / len(results)) if results else '0'}")
    return "\n".join(lines)
