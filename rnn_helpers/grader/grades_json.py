"""``grades.json``: every student's grade, cell by cell, for programs (``grades.csv`` is for spreadsheets).

The file is one object::

    {"assignment": "02_simple_rnn",
     "students": [{"student_id", "folder", "score", "max_score", "status", "notes": [str],
                   "cells": [{"name", "notebook", "points", "max_points", "passed", "message",
                              "mistakes": [id], "failing_cases": [{"check", "case", "reason"}],
                              "explanations": [{"check", "mistakes", "where", "first_wrong"}]}]}]}

Students come in the order given (the pipeline sorts them by ``student_id``) and cells in the notebook's order,
so grading the same submissions twice gives the same file. ``message`` is why the cell earned nothing (the
messages joined by ``"; "``, ``"no points"`` when there are none, as in ``grades.csv``; empty for a pass);
``mistakes`` are the catalogue ids (``rnn_helpers.grader.mistakes``) the grader named for a failed hidden check,
``failing_cases`` the hidden cases that failed (their number and the grader's one-line reason, never their
inputs), ``explanations`` what the grader found of each failed check (``explain.Explanation.entry``: the named
mistakes, or where it fails and its first wrong value; ``message`` holds their wording,
:func:`rnn_helpers.grader.explain.describe`). It is written atomically (:func:`.atomic_write.write_atomic`): a
reader sees the old file or the new one, never half of one.
"""
from __future__ import annotations

import json
import pathlib

from .atomic_write import write_atomic


def cell_entry(notebook: str, cell) -> dict:
    return {"name": cell.name, "notebook": notebook, "points": cell.points, "max_points": cell.max_points,
            "passed": bool(cell.passed), "message": "" if cell.passed else ("; ".join(cell.messages) or "no points"),
            "mistakes": list(cell.mistakes), "failing_cases": [dict(c) for c in cell.failing_cases],
            "explanations": [dict(e) for e in cell.explanations]}


def student_entry(res) -> dict:
    return {"student_id": res.student_id, "folder": res.folder, "score": res.score, "max_score": res.max_score,
            "status": res.status, "notes": list(res.all_notes()),
            "cells": [cell_entry(nb.notebook, c) for nb in res.notebooks for c in nb.cells]}


def grades(results, assignment: str) -> dict:
    """What ``grades.json`` holds (see the module docstring)."""
    return {"assignment": assignment, "students": [student_entry(r) for r in results]}


def write_json(path: pathlib.Path, results, assignment: str) -> None:
    write_atomic(path, json.dumps(grades(results, assignment), indent=1, ensure_ascii=False) + "\n")
