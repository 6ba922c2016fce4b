"""``grades.json``: every student's grade, cell by cell, for programs (``grades.csv`` is for spreadsheets).

The file is one object::

    {"assignment": "02_simple_rnn",
     "students": [{"student_id", "folder", "score", "max_score", "status", "notes": [str],
                   "cells": [{"name", "notebook", "points", "max_points", "passed", "message",
                              "mistakes": [id], "failing_cases": [{"check", "case", "reason"}]}]}]}

Students are sorted by ``student_id`` and cells come in the notebook's order, so grading the same
submissions twice gives the same file. ``message`` is why the cell earned nothing (the messages joined by
``"; "``, empty for a pass); ``mistakes`` are the catalogue ids (``rnn_helpers.grader.mistakes``) the grader
named for a failed hidden check, ``failing_cases`` the hidden cases that failed (their number and the
grader's one-line reason, never their inputs). It is written atomically: a reader sees the old file or the
new one, never half of one.
"""
from __future__ import annotations

import json
import os
import pathlib
import tempfile


def cell_entry(notebook: str, cell) -> dict:
    return {"name": cell.name, "notebook": notebook, "points": cell.points, "max_points": cell.max_points,
            "passed": bool(cell.passed), "message": "; ".join(cell.messages) if not cell.passed else "",
            "mistakes": list(getattr(cell, "mistakes", [])),
            "failing_cases": [dict(c) for c in getattr(cell, "failing_cases", [])]}


def student_entry(res) -> dict:
    return {"student_id": res.student_id, "folder": res.folder, "score": res.score, "max_score": res.max_score,
            "status": res.status, "notes": list(res.all_notes()),
            "cells": [cell_entry(nb.notebook, c) for nb in res.notebooks for c in nb.cells]}


def grades(results, assignment: str) -> dict:
    """What ``grades.json`` holds (see the module docstring)."""
    return {"assignment": assignment,
            "students": [student_entry(r) for r in sorted(results, key=lambda r: r.student_id)]}


def write_atomic(path: pathlib.Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # as an ordinary open() would (mkstemp makes it 0600)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(path: pathlib.Path, results, assignment: str) -> None:
    write_atomic(path, json.dumps(grades(results, assignment), indent=1, ensure_ascii=False) + "\n")
