"""The grading run: submissions -> private nbgrader course -> autograde -> decisions -> grades and feedback.

:func:`grade` is what ``rnn-course grade`` calls; tests call it directly to inject a checks provider (the
tiny fixture assignment of ``tests/fixtures/grading`` cannot be in ``registry.ASSIGNMENTS``).

One student at a time, nbgrader's ``Autograde`` runs with the grader's preprocessors (see
``preprocessors.py``). Whatever happens to one student (a notebook that is not JSON, a kernel that dies,
an nbgrader error) ends as zeros with a reason for *that* student; the batch always finishes.

Set ``RNN_GRADE_DEBUG=1`` to see nbgrader's own log while grading.
"""
from __future__ import annotations

import importlib
import logging
import os
import pathlib
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Callable

from .preprocessors import CellResult, GradingStore, NoteTampering, ReferenceCache, SafeExecute, VerifyRecords
from .submissions import InvocationError, StudentSubmission


@dataclass(frozen=True)
class FallbackLimits:
    """The limits used when the sandbox module is not installed (``--unsafe`` only)."""

    cell_timeout: float = 30.0
    notebook_timeout: float = 600.0


@dataclass
class NotebookResult:
    notebook: str
    cells: list[CellResult]
    problem: str | None = None  # why the whole notebook earned 0 (not submitted, not a notebook, ...)
    notes: list[str] = field(default_factory=list)
    executed: dict | None = None  # the autograded notebook (nbformat dict), for the feedback

    @property
    def score(self) -> float:
        return sum(c.points for c in self.cells)

    @property
    def max_score(self) -> float:
        return sum(c.max_points for c in self.cells)


@dataclass
class StudentResult:
    student_id: str
    assignment: str
    notebooks: list[NotebookResult]
    notes: list[str] = field(default_factory=list)
    folder: str = ""  # the submission folder's own name, before it was made a safe student id

    @property
    def score(self) -> float:
        return sum(n.score for n in self.notebooks)

    def all_notes(self) -> list[str]:
        return self.notes + [n for nb in self.notebooks for n in nb.notes]

    @property
    def max_score(self) -> float:
        return sum(n.max_score for n in self.notebooks)

    @property
    def status(self) -> str:
        if any(n.problem for n in self.notebooks):
            return "not gradable" if all(n.problem for n in self.notebooks) else "partly gradable"
        if any(c.kind == "manual" and c.points is None for n in self.notebooks for c in n.cells):
            return "needs manual grading"
        return "graded"

    def reasons(self) -> list[str]:
        """Why points were lost, one line each (the summary and grades.csv)."""
        out = []
        for nb in self.notebooks:
            if nb.problem:
                out.append(f"{nb.notebook}: {nb.problem}")
                continue
            for c in nb.cells:
                if not c.passed:
                    out.append(f"{c.name}: " + ("; ".join(c.messages) or "no points"))
        return out


@dataclass
class GradeRun:
    assignment: str
    students: list[StudentResult]
    out: pathlib.Path
    sandboxed: bool
    sandbox_reason: str


# ----------------------------------------------------------------------------- sandbox


def _sandbox_module():
    try:
        return importlib.import_module("rnn_helpers.grader.sandbox")
    except ImportError:
        return None


def sandbox_status() -> tuple[bool, str]:
    """(available, reason) of SANDBOX's kernel sandbox."""
    module = _sandbox_module()
    if module is None:
        return False, "the grading sandbox (rnn_helpers.grader.sandbox) is not installed"
    try:
        ok, reason = module.sandbox_available()
    except Exception as exc:  # a broken probe means no sandbox, not a crash
        return False, f"the grading sandbox could not be probed ({type(exc).__name__}: {exc})"
    return bool(ok), str(reason)


def default_limits():
    module = _sandbox_module()
    return module.Limits() if module is not None and hasattr(module, "Limits") else FallbackLimits()


# ----------------------------------------------------------------------------- the run


def grade(assignment: str, submissions: pathlib.Path, out: pathlib.Path, *, source_root: pathlib.Path,
          checks_provider: Callable[[str], dict] | None = None, db_url: str | None = None, unsafe: bool = False,
          limits=None, echo: Callable[[str], None] = print) -> GradeRun:
    """Grade every student of ``submissions`` on ``assignment``; write ``out/grades.csv`` and ``out/feedback``.

    Raises :class:`InvocationError` (before writing anything) for a wrong invocation.
    """
    from . import feedback, gradebook, grades_csv
    from .submissions import collect, extract_zip

    submissions = pathlib.Path(submissions)
    out = pathlib.Path(out)
    source_root = pathlib.Path(source_root)
    if checks_provider is None:
        from rnn_helpers.checks.registry import checks_for as checks_provider
    expected_sources = gradebook.source_notebooks(source_root, assignment)
    if not expected_sources:
        raise InvocationError(f"no source notebook solutions/{assignment}/*.ipynb under {source_root}")
    if not submissions.exists():
        raise InvocationError(f"SUBMISSIONS {submissions} does not exist")
    if out.exists() and not out.is_dir():
        raise InvocationError(f"OUT {out} exists and is not a folder")
    if out.resolve() == submissions.resolve() or submissions.resolve() in out.resolve().parents:
        raise InvocationError(f"OUT {out} must not be inside SUBMISSIONS {submissions}")
    sandboxed, sandbox_reason = sandbox_status()
    if not sandboxed and not unsafe:
        advice = "" if "--unsafe" in sandbox_reason else \
            "; run as root where the sandbox works, or pass --unsafe to grade without it"
        raise InvocationError(f"cannot sandbox the students' code: {sandbox_reason}{advice}")
    limits = limits or default_limits()
    if db_url is not None:
        gradebook.check_database(db_url)

    work = pathlib.Path(tempfile.mkdtemp(prefix="rnn-course-grade-"))
    os.chmod(work, 0o700)
    try:
        if submissions.is_dir():
            root = submissions
        elif submissions.is_file():
            root = extract_zip(submissions, work / "unzipped")
        else:
            raise InvocationError(f"SUBMISSIONS {submissions} is neither a folder nor a zip file")
        names = [p.stem for p in expected_sources]
        students = collect(root, assignment, names, work / "incoming")
        echo(f"grading {len(students)} student(s) against {source_root / 'solutions' / assignment}")

        _quiet_logs()
        course = gradebook.create_course(work / "course", source_root, assignment, db_url)
        gradebook.add_students(course, [s.student_id for s in students])
        layout = gradebook.grade_cells(course)
        released = _released_tests(course, layout)
        trusted = {nb: gradebook.trusted_sources(course, nb) for nb in layout}
        source_layout = {nb: gradebook.source_layout(course, nb) for nb in layout}
        locked = _locked_cells(course, layout)
        references = ReferenceCache(checks_provider)
        scanner = _scanner()
        sandbox_config = None
        if sandboxed and not unsafe:
            sandbox_config = _sandbox_module().executor_config(limits, work / "sandbox")
        results = []
        for i, sub in enumerate(students, 1):
            echo(f"[{i}/{len(students)}] grading {sub.student_id}")
            store = GradingStore()
            verify = VerifyRecords(store, references, trusted, locked, assignment, scanner,
                                   cell_timeout=limits.cell_timeout, enabled=True)
            note = NoteTampering(store, released, trusted, source_layout, enabled=True)
            results.append(_grade_student(course, sub, layout, store, verify, note, limits, sandbox_config))

        out.mkdir(parents=True, exist_ok=True)
        _remove_stale_feedback(out / "feedback", assignment)
        for res in results:
            for nb in res.notebooks:
                feedback.write(out / "feedback" / res.student_id / assignment / f"{nb.notebook}.html", res, nb,
                               released.get(nb.notebook))
        grades_csv.write_csv(out / "grades.csv", results, layout)
        if db_url is None:
            shutil.copyfile(work / "course" / "gradebook.db", out / "gradebook.db")
        why = sandbox_reason if not sandboxed else "the sandbox works here, but --unsafe was given"
        return GradeRun(assignment, results, out, sandboxed and not unsafe, why)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _remove_stale_feedback(feedback_dir: pathlib.Path, assignment: str) -> None:
    """Drop this assignment's feedback from an earlier run into the same OUT: a student graded then but not now
    would otherwise keep an old report next to the new grades.csv. Other assignments' feedback stays."""
    if not feedback_dir.is_dir():
        return
    for student in feedback_dir.iterdir():
        old = student / assignment
        if student.is_dir() and not student.is_symlink() and old.is_dir() and not old.is_symlink():
            shutil.rmtree(old)
            if not any(student.iterdir()):
                student.rmdir()


def _quiet_logs() -> None:
    import warnings

    try:
        from sqlalchemy.exc import SAWarning

        warnings.filterwarnings("ignore", category=SAWarning)  # nbgrader's own session use, harmless
    except ImportError:
        pass
    warnings.filterwarnings("ignore", module="nbformat")
    if os.environ.get("RNN_GRADE_DEBUG"):
        # nbgrader's converters log to "traitlets", which has only a NullHandler: without a handler of our
        # own, RNN_GRADE_DEBUG=1 would show nothing at all
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("[%(name)s %(levelname)s] %(message)s"))
        handler._rnn_debug = True                        # so that a second call adds no second handler
        for name in ("traitlets", "nbgrader", "NbGrader"):
            logger = logging.getLogger(name)
            logger.setLevel(logging.INFO)
            if not any(getattr(h, "_rnn_debug", False) for h in logger.handlers):
                logger.addHandler(handler)
        return
    for name in ("traitlets", "nbgrader", "NbGrader", "alembic"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _scanner():
    from .preprocessors import default_scanner

    return default_scanner()


def _released_tests(course, layout) -> dict[str, dict[str, str]]:
    import nbformat

    out = {}
    for nb_name, cells in layout.items():
        path = course.root / "release" / course.assignment / f"{nb_name}.ipynb"
        names = {c["name"] for c in cells if c["kind"] == "test"}
        nb = nbformat.read(str(path), as_version=4)
        out[nb_name] = {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
                        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") in names}
    return out


def _locked_cells(course, layout) -> dict[str, set[str]]:
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(course.db_url) as gb:
        for nb_name in layout:
            nb = gb.find_notebook(nb_name, course.assignment)
            out[nb_name] = {c.name for c in nb.source_cells if c.locked}
    return out


def _zero_cells(layout_cells: list[dict], reason: str) -> list[CellResult]:
    return [CellResult(c["name"], c["max_score"], 0.0, False, [reason], c["kind"]) for c in layout_cells]


def _grade_student(course, sub: StudentSubmission, layout, store, verify, note, limits,
                   sandbox_config) -> StudentResult:
    from . import gradebook

    result = StudentResult(sub.student_id, course.assignment, [], notes=list(sub.notes), folder=sub.folder)
    if not sub.notebooks:
        gradebook.zero_missing(course, sub.student_id)
        for nb_name, cells in layout.items():
            problem = sub.problems.get(nb_name, "no notebook was submitted")
            result.notebooks.append(NotebookResult(nb_name, _zero_cells(cells, "not graded: " + problem), problem))
        return result
    dest = course.submitted / sub.student_id / course.assignment
    dest.mkdir(parents=True, exist_ok=True)
    for nb_name, path in sub.notebooks.items():
        shutil.copyfile(path, dest / f"{nb_name}.ipynb")
    failure = None
    try:
        _autograde(course, sub.student_id, store, verify, note, limits, sandbox_config)
    except Exception as exc:  # nbgrader gave up on this student: zeros with the reason, never a lost batch
        failure = f"grading failed: {str(exc)[:300]}"
    for nb_name, cells in layout.items():
        key = (sub.student_id, nb_name)
        if nb_name in sub.problems:
            result.notebooks.append(NotebookResult(nb_name, _zero_cells(cells, "not graded: " + sub.problems[nb_name]),
                                                   sub.problems[nb_name]))
            continue
        decided = store.cells.get(key, {})
        if failure or not decided:
            reason = failure or "grading failed (no result for this notebook)"
            cell_results = [decided.get(c["name"]) or CellResult(c["name"], c["max_score"], 0.0, False, [reason],
                                                                 c["kind"]) for c in cells]
            if failure:
                cell_results = _zero_cells(cells, reason)
            nbr = NotebookResult(nb_name, cell_results, reason, list(store.notes.get(key, [])))
        else:
            cell_results = []
            for c in cells:
                if c["name"] in decided:
                    cell_results.append(decided[c["name"]])
                elif c["kind"] == "manual":
                    cell_results.append(CellResult(c["name"], c["max_score"], 0.0, False,
                                                   ["needs manual grading (not autograded)"], "manual"))
                else:
                    cell_results.append(CellResult(c["name"], c["max_score"], 0.0, False,
                                                   ["the test cell was not found after restoring"], "test"))
            nbr = NotebookResult(nb_name, cell_results, None, list(store.notes.get(key, [])))
            nbr.executed = _read_autograded(course, sub.student_id, nb_name)
        result.notebooks.append(nbr)
        if failure:  # nbgrader left this notebook's grades empty: record the zeros we report
            if _has_submission(course, sub.student_id):
                gradebook.set_auto_scores(course, sub.student_id, nb_name, {c.name: c.points for c in nbr.cells})
            else:
                gradebook.zero_missing(course, sub.student_id)
    return result


def _has_submission(course, student: str) -> bool:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(course.db_url) as gb:
        try:
            gb.find_submission(course.assignment, student)
        except MissingEntry:
            return False
    return True


def _read_autograded(course, student: str, nb_name: str) -> dict | None:
    import nbformat

    path = course.autograded / student / course.assignment / f"{nb_name}.ipynb"
    try:
        return nbformat.read(str(path), as_version=4)
    except Exception:
        return None


def _autograde(course, student: str, store, verify, note, limits, sandbox_config) -> None:
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import (CheckCellMetadata, ClearOutput, DeduplicateIds, Execute, LimitOutput,
                                        OverwriteCells, OverwriteKernelspec, SaveAutoGrades)

    from .preprocessors import safe_execute
    from traitlets.config import Config

    cfg = Config()
    cfg.Autograde.force = True
    cfg.Autograde.create_student = True
    # NoteTampering first: it puts back the gradebook's labels and metadata, which DeduplicateIds and
    # OverwriteCells read (a test cell relabelled by the student makes OverwriteCells raise otherwise)
    cfg.Autograde.sanitize_preprocessors = [ClearOutput, note, DeduplicateIds, OverwriteKernelspec, OverwriteCells,
                                            CheckCellMetadata]
    # nbgrader's IgnorePattern, ClearMetadataPreprocessor and AssignLatePenalties are left out: the first
    # edits stderr that no longer counts, the other two do nothing for us.
    execute = SafeExecute
    cfg.OverwriteCells.add_missing_cells = True
    cfg.Execute.timeout = int(limits.cell_timeout) if limits.cell_timeout else None
    cfg.Execute.interrupt_on_timeout = True
    # after a cell's reply, how long its last outputs may take: nbclient's 4 s is short on a loaded machine,
    # but a hung kernel costs this much more per timed-out cell (then KeepGoingMixin probes it)
    cfg.Execute.iopub_timeout = int(max(4, min(10, limits.cell_timeout or 10)))
    if sandbox_config is not None:
        # the sandbox's config brings its own autograde chain only to swap in its Execute class (whose
        # kernel manager is a constructor argument); keep our chain and wrap that class instead
        sandbox_config = sandbox_config.copy()
        chain = sandbox_config.Autograde.pop("autograde_preprocessors", [])
        executes = [pp for pp in chain if isinstance(pp, type) and issubclass(pp, Execute)]
        if executes:
            execute = safe_execute(executes[0])
        cfg.merge(sandbox_config)
    cfg[execute.__name__].notebook_timeout = float(getattr(limits, "notebook_timeout", 0) or 0)
    cfg.Autograde.autograde_preprocessors = [execute, verify, LimitOutput, SaveAutoGrades, CheckCellMetadata]
    coursedir = course.coursedir()
    coursedir.student_id = student
    converter = Autograde(coursedir=coursedir, config=cfg)
    errors = _ErrorLines()
    log = converter.log
    saved = (log.level, log.propagate)
    log.addHandler(errors)
    if not os.environ.get("RNN_GRADE_DEBUG"):
        log.setLevel(logging.ERROR)
        log.propagate = False
    try:
        converter.start()
    except Exception as exc:
        raise RuntimeError(errors.reason() or f"{type(exc).__name__}: {exc}") from None
    finally:
        log.removeHandler(errors)
        log.setLevel(saved[0])
        log.propagate = saved[1]


class _ErrorLines(logging.Handler):
    """Keeps nbgrader's error log of one student, to say why it gave up (its exception says only 'see above')."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.extend(str(record.getMessage()).strip().splitlines())

    def reason(self) -> str | None:
        for line in reversed(self.lines):
            line = line.strip()
            if line and ("Error" in line.split(":")[0] or "Exception" in line.split(":")[0]) and ":" in line:
                return line[:300]
        return None
