"""Each student's result, committed to ``OUT/.results`` as soon as it is known: nothing lost, nothing done twice.

A result is stored as ``OUT/.results/<assignment>/<key>.json``, written atomically (a temporary file in the
same folder, fsync'ed, then renamed over), so that a run killed at any moment (Ctrl-C, ``kill -9``, a crash)
leaves only whole results. The key is the sha256 of everything the result depends on:

- the student's id and the bytes of each submitted notebook (with its name), and what the collection found
  wrong with the submission (a notebook missing or unreadable);
- the bytes of the assignment's source notebooks (its hidden tests, points and tolerances);
- the source of the checks: the modules defining the assignment's case generators, calls and comparisons, and
  the modules of the references (a fix in a reference changes its outputs);
- the case key of the grading secret (:mod:`rnn_helpers.checks.seeds`: another secret, other cases), and
  :data:`FORMAT`.

A rerun into the same OUT keeps every result whose key is there and grades the rest (``--regrade`` grades all).
Kept results are entered into the run's gradebook again (:func:`reenter`): it holds every student, with a
submission and each graded cell's score. After a run, results no student of this run uses are removed.
"""
from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import os
import pathlib
import sys
from typing import Any, Iterable

FORMAT = 1  # bump when the stored form changes (old results are then regraded, never misread)


def checks_sources(checks: dict) -> list[pathlib.Path]:
    """The source files a set of checks' results depend on (sorted, each once)."""
    modules: set[str] = {"rnn_helpers.checks.compare", "rnn_helpers.checks.seeds", "rnn_helpers.checks.cases",
                         "rnn_helpers.checks.records"}
    for check in checks.values():
        for fn in (check.cases, check.call, check.reference_call, check.compare):
            if fn is not None and getattr(fn, "__module__", None):
                modules.add(fn.__module__)
        modules.add(check.reference.partition(":")[0])
    files = set()
    for name in modules:
        module = sys.modules.get(name)
        origin = getattr(module, "__file__", None)
        if origin is None:
            try:
                spec = importlib.util.find_spec(name)
            except (ImportError, ValueError):
                spec = None
            origin = spec.origin if spec is not None else None
        if origin and os.path.isfile(origin):
            files.add(pathlib.Path(origin).resolve())
    return sorted(files)


def run_fingerprint(source_notebooks: Iterable[pathlib.Path], checks_files: Iterable[pathlib.Path],
                    case_key: bytes | None) -> bytes:
    """The part of every key that is the same for the whole run (assignment, checks, secret)."""
    h = hashlib.sha256(f"rnn-course result {FORMAT}\0".encode())
    for label, paths in (("source", source_notebooks), ("checks", checks_files)):
        for p in paths:
            h.update(f"{label}\0{pathlib.Path(p).name}\0".encode() + pathlib.Path(p).read_bytes() + b"\0")
    h.update(b"case key\0" + (case_key or b""))
    return h.digest()


def result_key(fingerprint: bytes, sub) -> str:
    """The key of one student's result (a :class:`~rnn_helpers.grader.submissions.StudentSubmission`)."""
    h = hashlib.sha256(fingerprint)
    h.update(b"student\0" + sub.student_id.encode() + b"\0")
    for name in sorted(sub.notebooks):
        h.update(b"notebook\0" + name.encode() + b"\0" + pathlib.Path(sub.notebooks[name]).read_bytes() + b"\0")
    for name in sorted(sub.problems):
        h.update(b"problem\0" + name.encode() + b"\0" + str(sub.problems[name]).encode() + b"\0")
    return h.hexdigest()


def _cell_to_json(cell) -> dict:
    return dataclasses.asdict(cell)


def _cell_from_json(data: dict):
    from .grading_store import CellResult

    known = {f.name for f in dataclasses.fields(CellResult)}
    return CellResult(**{k: v for k, v in data.items() if k in known})


def _notebook_to_json(nb) -> dict:
    return {"notebook": nb.notebook, "cells": [_cell_to_json(c) for c in nb.cells], "problem": nb.problem,
            "notes": list(nb.notes), "executed": nb.executed}


def _notebook_from_json(data: dict):
    from .pipeline import NotebookResult

    executed = data.get("executed")
    if executed is not None:
        import nbformat

        executed = nbformat.from_dict(executed)
    return NotebookResult(data["notebook"], [_cell_from_json(c) for c in data["cells"]], data.get("problem"),
                          list(data.get("notes", [])), executed)


class ResultsStore:
    """``OUT/.results/<assignment>/``: one JSON file per student result, by key."""

    def __init__(self, out: pathlib.Path, assignment: str):
        self.folder = pathlib.Path(out) / ".results" / assignment
        self.used: set[str] = set()

    def path(self, key: str) -> pathlib.Path:
        return self.folder / f"{key}.json"

    def load(self, key: str, student_id: str) -> list | None:
        """The stored notebooks' results of ``key`` (``None`` when there is none, or it cannot be read back:
        that student is then graded again)."""
        self.used.add(key)
        try:
            data = json.loads(self.path(key).read_text(encoding="utf-8"))
            if data.get("format") != FORMAT or data.get("key") != key or data.get("student_id") != student_id:
                return None
            return [_notebook_from_json(nb) for nb in data["notebooks"]]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, key: str, result) -> None:
        """Commit one student's result (atomically: a reader sees the whole file or none)."""
        self.used.add(key)
        self.folder.mkdir(parents=True, exist_ok=True)
        data = {"format": FORMAT, "key": key, "student_id": result.student_id, "assignment": result.assignment,
                "notebooks": [_notebook_to_json(nb) for nb in result.notebooks]}
        tmp = self.folder / f".{key}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path(key))
        _fsync_dir(self.folder)

    def remove_unused(self) -> None:
        """After a whole run: drop results no student of it used (older versions of resubmitted notebooks) and
        temporary files a killed run left."""
        if not self.folder.is_dir():
            return
        for p in self.folder.iterdir():
            if p.is_file() and not p.is_symlink() and (p.suffix == ".tmp" or p.stem not in self.used):
                p.unlink(missing_ok=True)


def _fsync_dir(folder: pathlib.Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def reenter(course, result) -> None:
    """Put a kept result back into the run's gradebook: the student's submission, and each graded cell's score
    as the grading that produced it recorded it (a test cell's points; a manual cell left for manual grading,
    or 0 in a notebook that could not be graded)."""
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        gb.update_or_create_submission(course.assignment, result.student_id)
        for nb in result.notebooks:
            for cell in nb.cells:
                try:
                    grade = gb.find_grade(cell.name, nb.notebook, course.assignment, result.student_id)
                except Exception:  # a cell the gradebook does not have: nothing to enter
                    continue
                if cell.kind == "manual" and nb.problem is None:
                    grade.auto_score = None
                    grade.needs_manual_grade = True
                else:
                    grade.auto_score = cell.points
                    grade.needs_manual_grade = False
        gb.db.commit()


def kept_result(sub, assignment: str, notebooks: list) -> Any:
    """The :class:`~rnn_helpers.grader.pipeline.StudentResult` of a kept student: the stored notebooks, with what
    this run's collection says of the submission (notes, folder, the LMS's submitter)."""
    from .pipeline import StudentResult

    return StudentResult(sub.student_id, assignment, notebooks, notes=list(sub.notes), folder=sub.folder,
                         submitter=sub.submitter)
