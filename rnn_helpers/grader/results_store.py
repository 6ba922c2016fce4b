"""Each student's result, committed to ``OUT/.results`` as soon as it is known: nothing lost, nothing done twice.

A result is stored as ``OUT/.results/<assignment>/<key>.json``, written atomically (a temporary file in the
same folder, fsync'ed, then renamed over), so that a run killed at any moment (Ctrl-C, ``kill -9``, a crash)
leaves only whole results. The key is the sha256 of everything the result depends on:

- the student's id and the bytes of each submitted notebook (with its name), and what the collection found
  wrong with the submission (a notebook missing or unreadable);
- the bytes of the assignment's source notebooks (its hidden tests, points and tolerances);
- every source file of the installed ``rnn_helpers`` (:func:`package_sources`): the grader's own code (restoring
  cells, the source scan's rules, verifying records, the mistakes catalogue and its explanations), the checks
  (case generators, calls, comparisons, the registry) and the references with everything they import (a fix
  anywhere there may change a result); plus the checks' modules outside the package (:func:`checks_sources`,
  the tests' fixture assignments);
- whether the kernels ran in the sandbox or with ``--unsafe`` (an unsandboxed kernel can import the real
  references), and the sandbox's :class:`~rnn_helpers.grader.sandbox.Limits` (timeouts, memory);
- the case key of the grading secret (:mod:`rnn_helpers.checks.seeds`: another secret, other cases), and
  :data:`FORMAT`.

A result the grader itself failed to produce (nbgrader or the kernel could not start, a locked database, a full
disk: "grading failed: ...") is never stored, so that the next run grades that student again.

A rerun into the same OUT keeps every result whose key is there and grades the rest (``--regrade`` grades all).
Kept results are entered into the run's gradebook again (:class:`Reentry`): it holds every student, with a
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

from .stripped import package_dir

FORMAT = 1  # bump when the stored form changes (old results are then regraded, never misread)


def package_sources() -> dict[str, pathlib.Path]:
    """Every ``.py`` file of the installed ``rnn_helpers`` (no ``__pycache__``), by its path inside the package,
    in that path's order."""
    root = package_dir().resolve()
    files = {p.relative_to(root).as_posix(): p for p in root.rglob("*.py")}
    return {rel: files[rel] for rel in sorted(files) if "__pycache__" not in rel.split("/")}


def checks_sources(checks: dict) -> list[pathlib.Path]:
    """The source files, outside the ``rnn_helpers`` package (whose files :func:`package_sources` covers), of the
    modules a set of checks' results depend on: their case generators, calls, comparisons and references (sorted,
    each once; a test fixture's checks module)."""
    modules: set[str] = set()
    for check in checks.values():
        for fn in (check.cases, check.call, check.reference_call, check.compare):
            if fn is not None and getattr(fn, "__module__", None):
                modules.add(fn.__module__)
        modules.add(check.reference.partition(":")[0])
    package = package_dir().resolve()
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
            path = pathlib.Path(origin).resolve()
            if package not in path.parents:
                files.add(path)
    return sorted(files)


def run_fingerprint(source_notebooks: Iterable[pathlib.Path], checks_files: Iterable[pathlib.Path],
                    case_key: bytes | None, *, sandboxed: bool, limits) -> bytes:
    """The part of every key that is the same for the whole run: the assignment's source notebooks, the package's
    sources and the checks' files outside it (:func:`checks_sources`), how the kernels ran (``sandboxed``, the
    :class:`~rnn_helpers.grader.sandbox.Limits`) and the secret's case key."""
    h = hashlib.sha256(f"rnn-course result {FORMAT}\0".encode())
    for label, paths in (("source", source_notebooks), ("checks", checks_files)):
        for p in paths:
            h.update(f"{label}\0{pathlib.Path(p).name}\0".encode() + pathlib.Path(p).read_bytes() + b"\0")
    for rel, p in package_sources().items():
        h.update(f"package\0{rel}\0".encode() + p.read_bytes() + b"\0")
    how = json.dumps({"sandboxed": bool(sandboxed), "limits": dataclasses.asdict(limits)}, sort_keys=True)
    h.update(b"kernel\0" + how.encode() + b"\0")
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


def notebooks_to_json(notebooks) -> list[dict]:
    """A student's notebooks' results (``StudentResult.notebooks``) as the stored JSON form (also what a grading
    worker answers, :mod:`.grade_worker`)."""
    return [_notebook_to_json(nb) for nb in notebooks]


def notebooks_from_json(data: list[dict]) -> list:
    """The inverse of :func:`notebooks_to_json`."""
    return [_notebook_from_json(nb) for nb in data]


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


class Reentry:
    """Puts results back into one run's gradebook, through one open ``Gradebook`` for the whole run (a new one
    per student is a new SQLAlchemy engine, which compiles every statement again: more than the entering costs)::

        with Reentry(course) as reenter:
            reenter(result)

    Each call enters the student's submission and each graded cell's score as the grading that produced it
    recorded it (a test cell's points; a manual cell left for manual grading, or 0 in a notebook that could not
    be graded), and commits: between calls the gradebook holds no transaction, so nbgrader's own autograde (a
    ``--jobs 1`` run) writes to it as before."""

    def __init__(self, course):
        self.course = course
        self._gb = None

    def __enter__(self) -> "Reentry":
        return self

    def __exit__(self, *exc) -> None:
        if self._gb is not None:
            self._gb.close()
            self._gb = None

    def __call__(self, result) -> None:
        from nbgrader.api import Gradebook, MissingEntry

        if self._gb is None:
            self._gb = Gradebook(self.course.db_url)
        gb, assignment = self._gb, self.course.assignment
        try:
            gb.update_or_create_submission(assignment, result.student_id)
            for nb in result.notebooks:
                for cell in nb.cells:
                    try:
                        grade = gb.find_grade(cell.name, nb.notebook, assignment, result.student_id)
                    except MissingEntry:  # a cell the gradebook does not have: nothing to enter
                        continue
                    if cell.kind == "manual" and nb.problem is None:
                        grade.auto_score = None
                        grade.needs_manual_grade = True
                    else:
                        grade.auto_score = cell.points
                        grade.needs_manual_grade = False
            gb.db.commit()
        except BaseException:
            gb.db.rollback()
            raise


def kept_result(sub, assignment: str, notebooks: list) -> Any:
    """The :class:`~rnn_helpers.grader.pipeline.StudentResult` of a kept student: the stored notebooks, with what
    this run's collection says of the submission (notes, folder, the LMS's submitter)."""
    from .pipeline import StudentResult

    return StudentResult(sub.student_id, assignment, notebooks, notes=list(sub.notes), folder=sub.folder,
                         submitter=sub.submitter)
