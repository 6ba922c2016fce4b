"""The grading run: submissions -> private nbgrader course -> autograde -> decisions -> grades and feedback.

:func:`grade` is what ``rnn-course grade`` calls; tests call it directly to inject a checks provider (the
tiny fixture assignment of ``tests/fixtures/grading`` cannot be in ``registry.ASSIGNMENTS``).

One student at a time, nbgrader's ``Autograde`` runs with the grader's preprocessors (:mod:`restore_cells`,
:mod:`execute`, :mod:`verify_records`). Whatever happens to one student (a notebook that is not JSON, a kernel
that dies, an nbgrader error) ends as zeros with a reason for *that* student; the batch always finishes.

With ``jobs > 1`` the students are graded that many at once: by this process and ``jobs - 1`` worker processes
(:mod:`worker_pool`); with a ``scheduler`` by the workers of a Dask cluster (:mod:`dask_grading`) alone. Each
worker grades whole students as above, in its own private course and sandbox (:mod:`grade_worker`), and answers
each student's result. This process alone enters the results into the run's gradebook
(:class:`results_store.Reentry`), commits them to the results store and writes every output, so the files are
those of ``jobs=1``, byte for byte.

Grading never goes on with less protection than it was asked for: when the source scan or the sandbox
modules cannot be imported, it stops before anything is written (:func:`required_module`).

Set ``RNN_GRADE_DEBUG=1`` to see nbgrader's own log while grading.
"""
from __future__ import annotations

import importlib
import logging
import os
import pathlib
import pickle
import re
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from typing import Any, Callable

from .execute import SafeExecute, safe_execute
from .grading_store import CellResult, GradingStore
from .reference_cache import ReferenceCache
from .restore_cells import RestoreTestCells
from .submissions import InvocationError, StudentSubmission
from .verify_records import FailureExplainer, Scanner, VerifyRecords

SANDBOX_MODULE = "rnn_helpers.grader.sandbox"
LOG = logging.getLogger("rnn_helpers.grader")
# the plan's sandbox_config in the coordinator of workers (--jobs N, --scheduler), which runs no kernel itself:
# never None, which would mean the plain kernel of --unsafe
WORKERS_EXECUTE = "the workers run the kernels"
SANDBOX_KERNEL_MODULE = "rnn_helpers.grader.sandbox_kernel"
SOURCE_CHECK_MODULE = "rnn_helpers.grader.source_check"


@dataclass
class NotebookResult:
    notebook: str
    cells: list[CellResult]
    problem: str | None = None  # why the whole notebook earned 0 (not submitted, not a notebook, ...)
    notes: list[str] = field(default_factory=list)
    executed: dict | None = None  # the autograded notebook (nbformat dict), for the feedback (then dropped)

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
    submitter: Any = None  # lms.Submitter: who the export says submitted (grades.csv's name, late, submitted_at)

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
    graded: int = 0  # students graded by this run
    kept: int = 0  # students whose result an earlier run into the same OUT had committed (results_store)


# ----------------------------------------------------------------------------- protections


def required_module(name: str, what: str):
    """Import ``name``, a protection grading cannot go without; if it cannot be imported, grading stops with
    an :class:`InvocationError` that names it (it never goes on with less protection)."""
    try:
        return importlib.import_module(name)
    except Exception as exc:  # a missing module, or one that fails on import: either way it is not there
        detail = (str(exc).strip().splitlines() or [""])[0][:200]
        raise InvocationError(f"cannot grade without {what}: {name} cannot be imported "
                              f"({type(exc).__name__}: {detail})") from None


def source_scanner() -> Scanner:
    """The source scan of every student cell (``source_check.scan_source``)."""
    return required_module(SOURCE_CHECK_MODULE, "the source scan").scan_source


def sandbox_status() -> tuple[bool, str]:
    """(available, reason) of the kernel sandbox (:func:`sandbox.sandbox_available`); a probe that fails
    means no sandbox. A sandbox module that cannot be imported stops grading (:func:`required_module`)."""
    sandbox = required_module(SANDBOX_MODULE, "the grading sandbox")
    try:
        ok, reason = sandbox.sandbox_available()
    except Exception as exc:  # a broken probe means no sandbox, not a crash
        return False, f"the grading sandbox could not be probed ({type(exc).__name__}: {exc})"
    return bool(ok), str(reason)


# ----------------------------------------------------------------------------- the run


@dataclass(frozen=True)
class _Plan:
    """What every student of one run is graded with, read once from the private course."""

    assignment: str
    layout: dict[str, list[dict]]  # notebook -> its graded cells (gradebook.grade_cells)
    released: dict[str, dict[str, str]]  # notebook -> {grade_id: released test source}
    trusted: dict[str, dict[str, str]]  # notebook -> {grade_id: the gradebook's source}
    source_layout: dict[str, list[dict]]  # notebook -> every gradebook cell, in source order
    locked: dict[str, set[str]]  # notebook -> grade_ids of read-only cells
    references: ReferenceCache
    scanner: Scanner
    limits: Any  # sandbox.Limits
    sandbox_config: Any  # traitlets Config of sandbox_kernel.executor_config, None for --unsafe, WORKERS_EXECUTE
    explainer: FailureExplainer | None  # explains failed hidden checks, one per run (verify_records)
    case_key: str  # "<assignment>:<hex>" for the kernel's record_check (seeds.CASE_KEY_ENV); "": published

    def load_computed(self, data: bytes) -> None:
        """Take the coordinator's :func:`_computed_once` (over the worker's pipe: never a student's bytes)."""
        known = pickle.loads(data)  # noqa: S301 - see the docstring
        self.references.load(self.assignment, known["references"])
        if self.explainer is not None:
            self.explainer.load(known["mistakes"])

    def preprocessors(self) -> tuple[GradingStore, VerifyRecords, RestoreTestCells]:
        """A fresh store, and the grader's two preprocessors writing into it, for one student."""
        store = GradingStore()
        verify = VerifyRecords(store, self.references, self.trusted, self.locked, self.assignment, self.scanner,
                               cell_timeout=self.limits.cell_timeout, explainer=self.explainer, enabled=True)
        restore = RestoreTestCells(store, self.released, self.source_layout, enabled=True)
        return store, verify, restore


def grade(assignment: str, submissions: pathlib.Path, out: pathlib.Path, *, source_root: pathlib.Path,
          checks_provider: Callable[[str], dict] | None = None, db_url: str | None = None, unsafe: bool = False,
          limits=None, echo: Callable[[str], None] = print, layout: str | None = None,
          export: str | None = None, secret=None, regrade: bool = False, progress=None, jobs: int = 1,
          scheduler: str | None = None) -> GradeRun:
    """Grade every student of ``submissions`` on ``assignment``; write ``out/grades.csv`` and ``out/feedback``.

    ``layout`` forces the export's layout (:mod:`.lms`, else recognised); ``export`` ("canvas", "moodle") also
    writes the grades as that LMS's gradebook import (:mod:`.lms_export`). ``secret`` is the term's
    :class:`~.grading_secret.GradingSecret` (``None``: the published seeds; the first line echoed once the invocation is checked says which).
    Each student's result is committed to ``out/.results`` as soon as it is known (:mod:`.results_store`) and
    kept by a later run into the same ``out`` unless ``regrade``. ``progress(total, echo)`` makes the
    :class:`~.progress.Progress` to report to (default: one line per student through ``echo``).

    ``jobs`` students are graded at once by worker processes (1: here, in this process), or, with
    ``scheduler`` (a Dask scheduler's address), by the cluster's workers; either way the checks provider must be
    importable by name (:func:`.grade_worker.checks_provider_name`), and each worker checks that it has the same
    course as this process (:mod:`.grade_worker`).

    Raises :class:`InvocationError` (before writing anything) for a wrong invocation, an unreachable
    scheduler, or when a protection (the sandbox where it is needed, the source scan) cannot be had.
    """
    from rnn_helpers.checks.seeds import using_case_key

    from . import gradebook, results_store
    from .grading_secret import NO_SECRET
    from .progress import Progress

    secret = NO_SECRET if secret is None else secret
    submissions, out, source_root = pathlib.Path(submissions), pathlib.Path(out), pathlib.Path(source_root)
    if checks_provider is None:
        from rnn_helpers.checks.registry import checks_for as checks_provider
    expected_sources = _check_invocation(assignment, submissions, out, source_root)
    if jobs < 1:
        raise InvocationError(f"--jobs must be at least 1, got {jobs}")
    provider_name = None if jobs == 1 and scheduler is None else _provider_name(checks_provider)
    scanner = source_scanner()
    if scheduler is not None:  # the cluster's workers sandbox (each checks that it can); not this machine
        sandboxed, sandbox_reason = not unsafe, "the sandbox works on the cluster's workers, but --unsafe was given"
    else:
        sandboxed, sandbox_reason = sandbox_status()
    if not sandboxed and not unsafe:
        advice = "" if "--unsafe" in sandbox_reason else \
            "; run as root where the sandbox works, or pass --unsafe to grade without it"
        raise InvocationError(f"cannot sandbox the students' code: {sandbox_reason}{advice}")
    sandbox_kernel = required_module(SANDBOX_KERNEL_MODULE, "the grading sandbox") if sandboxed and not unsafe else None
    limits = limits or required_module(SANDBOX_MODULE, "the grading sandbox").Limits()
    in_process = provider_name is None
    if db_url is not None:
        gradebook.check_database(db_url)
    cluster = None if scheduler is None else _connect(scheduler)  # unreachable: an InvocationError, here

    # the secret's line comes first, before anything else the run says; a wrong invocation prints only its error
    echo = _first_saying(echo, secret.first_line(unsafe=sandbox_kernel is None))
    remove_dead_runs_folders()
    case_key = secret.case_key(assignment)
    work = pathlib.Path(tempfile.mkdtemp(prefix=f"{WORK_PREFIX}{os.getpid()}-"))  # see remove_dead_runs_folders
    os.chmod(work, 0o700)
    runner = None
    try:
        students = _collect(submissions, assignment, expected_sources, work, layout, export, echo)
        echo(f"grading {len(students)} student(s) against {source_root / 'solutions' / assignment}")
        _quiet_logs()
        store = results_store.ResultsStore(out, assignment)
        fingerprint = results_store.run_fingerprint(
            expected_sources, results_store.checks_sources(checks_provider(assignment)), case_key,
            sandboxed=sandbox_kernel is not None, limits=limits)
        keys = {sub.student_id: results_store.result_key(fingerprint, sub) for sub in students}
        stored = {} if regrade else {sub.student_id: store.load(keys[sub.student_id], sub.student_id)
                                     for sub in students}
        todo = [(keys[sub.student_id], sub) for sub in students if stored.get(sub.student_id) is None]
        references, explainer = ReferenceCache(checks_provider), FailureExplainer(source_root / "solutions")
        if todo and not in_process:
            from .grade_worker import setup_message

            setup = setup_message(assignment, expected_sources, provider_name, sandboxed=sandbox_kernel is not None,
                                  limits=limits, case_key=case_key, fingerprint=fingerprint)
            if cluster is not None:
                runner = cluster.runner(setup)
            else:  # --jobs N: this process grades too, beside N - 1 workers (its kernels in slot 0, theirs in
                # 1, 2, ...), and its warm parent forks their kernels as well as its own: imports paid once a run
                warm_parent = None if sandbox_kernel is None else sandbox_kernel.start_warm_parent(limits,
                                                                                                   work / "sandbox")
                runner = _worker_pool(setup, jobs - 1, warm_parent)
            events = runner.run(todo)  # the workers start now: their set-up overlaps this process's own, below
            if cluster is None:  # what every grader of the run computes alike, once, here, while the workers set up
                with using_case_key(assignment, case_key):
                    runner.share_computed(_computed_once(assignment, references, explainer))  # (they wait for it)
        if cluster is not None:
            sandbox_config = WORKERS_EXECUTE  # this process runs no kernel: the cluster's workers do
        elif sandbox_kernel is None:
            sandbox_config = None
        else:  # first: the warm parent it starts imports while the course is built
            sandbox_config = sandbox_kernel.executor_config(limits, work / "sandbox")
        course = gradebook.create_course(work / "course", source_root, assignment, db_url)
        gradebook.add_students(course, [s.student_id for s in students])
        plan = _plan(course, references, scanner, limits, sandbox_config, explainer,
                     f"{assignment}:{case_key.hex()}" if case_key else "")
        progress = (progress or Progress)(len(students), echo)
        results = []

        def settle(key: str, result: StudentResult, source: str, grader_failed: bool = False) -> None:
            """A student's result, known (``source``: "kept" from the store, graded "here" or by a "worker"):
            into the gradebook (nbgrader put one graded here there already), committed to the store (unless the
            grader itself failed: nbgrader or the kernel could not start, a locked database, a full disk; the
            next run grades it again), its feedback rendered."""
            kept = source == "kept"
            if source != "here":
                reenter(result)
            if not kept and not grader_failed:
                store.save(key, result)
            _stage_feedback(work / "feedback", plan, result)
            progress.finish_student(result.student_id, kept=kept)
            results.append(result)

        def grade_here(key: str, sub: StudentSubmission) -> None:
            progress.start(sub.student_id)
            result, grader_failed = _grade_student(course, sub, plan)
            settle(key, result, "here", grader_failed)

        with using_case_key(assignment, case_key), results_store.Reentry(course) as reenter:
            # (the references' cases, computed here, are this term's)
            for sub in students:
                kept = stored.get(sub.student_id)
                if kept is not None:
                    settle(keys[sub.student_id], results_store.kept_result(sub, assignment, kept), "kept")
                elif runner is None:
                    grade_here(keys[sub.student_id], sub)  # committed now, so that a run killed later keeps it
            if runner is not None:
                _grade_with_workers(runner, events, plan, progress, settle, grade_here if cluster is None else None)
        progress.close()
        _write_outputs(out, course, plan, results, db_url, work / "feedback")
        store.remove_unused()
        if export is not None:
            from .lms_export import write_export

            write_export(out, export, results, assignment, echo)
        why = sandbox_reason if not sandboxed else "the sandbox works here, but --unsafe was given"
        return GradeRun(assignment, results, out, sandboxed and not unsafe, why, progress.graded, progress.kept)
    finally:
        if runner is not None:
            runner.close()
        if cluster is not None:
            cluster.close()
        shutil.rmtree(work, ignore_errors=True)


def _computed_once(assignment: str, references: ReferenceCache, explainer: FailureExplainer) -> bytes | None:
    """What every grader of the run computes alike, computed now (under the run's case key): each check's
    reference outputs, and the catalogued mistakes' outputs on its cases (the explainer's). ``--jobs`` hands it to
    its workers (:meth:`_Plan.load_computed`), so that no worker imports torch or runs the solution notebook only
    to find what the coordinator knows. ``None`` if it cannot be pickled (a checks provider's own objects): each
    worker then computes its own, as before (slower, the same grades: said only in the log)."""
    known = {"references": references.computed(assignment), "mistakes": explainer.computed(assignment, references)}
    try:
        return pickle.dumps(known, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # noqa: BLE001 - the workers compute it themselves: slower, the same grades
        LOG.info("the workers compute their own references: %s: %s", type(exc).__name__, str(exc)[:300])
        return None


def _worker_pool(setup: dict, workers: int, warm_parent: str | None):
    from .worker_pool import WorkerPool

    setup = dict(setup, warm_parent=warm_parent) if warm_parent else setup
    return WorkerPool(setup, workers, first_slot=1, computed_coming=True)  # this process grades in slot 0


def _provider_name(checks_provider) -> str:
    from .grade_worker import checks_provider_name

    return checks_provider_name(checks_provider)


def _connect(scheduler: str):
    from .dask_grading import connect

    return connect(scheduler)


def _grade_with_workers(runner, events, plan: _Plan, progress, settle, grade_here) -> None:
    """Settle every result of the workers' ``events`` (:meth:`.worker_pool.WorkerPool.run`, or the cluster's
    :class:`~.dask_grading.DaskRunner`) as it arrives. With ``grade_here`` (``--jobs``) this process grades
    too: it takes the next student no worker has taken yet, and settles what the workers answered meanwhile
    between two of its own."""
    def handle(event) -> None:
        if event[0] == "start":
            progress.start(event[2].student_id)
            return
        _, key, sub, reply = event
        result, grader_failed = _worker_result(sub, plan, reply)
        settle(key, result, "worker", grader_failed)

    if grade_here is not None:
        while (item := runner.take()) is not None:
            for event in runner.ready():
                handle(event)
            grade_here(*item)
        if not runner.finished():  # none left for this process: it would wait for the workers' last students
            _import_for_outputs()
    for event in events:
        handle(event)


def _import_for_outputs() -> None:
    """What :func:`_write_outputs` imports first (the class report's matplotlib: 0.5-1 s), imported now."""
    from . import class_report, grades_csv, grades_json  # noqa: F401

    class_report.figure_class()


def _worker_result(sub: StudentSubmission, plan: _Plan, reply: dict) -> tuple[StudentResult, bool]:
    """A worker's reply (:mod:`.grade_worker`) as the student's result, and whether the grader failed."""
    from .results_store import kept_result, notebooks_from_json

    if "failed" in reply:
        reason = f"grading failed: {str(reply['failed'])[:300]}"
        notebooks = [NotebookResult(nb, _zero_cells(cells, reason), reason) for nb, cells in plan.layout.items()]
        return kept_result(sub, plan.assignment, notebooks), True
    return kept_result(sub, plan.assignment, notebooks_from_json(reply["notebooks"])), bool(reply["grader_failed"])


def _check_invocation(assignment: str, submissions: pathlib.Path, out: pathlib.Path,
                      source_root: pathlib.Path) -> list[pathlib.Path]:
    """The assignment's source notebooks; :class:`InvocationError` for a wrong invocation."""
    from .gradebook import source_notebooks

    expected_sources = source_notebooks(source_root, assignment)
    if not expected_sources:
        raise InvocationError(f"no source notebook solutions/{assignment}/*.ipynb under {source_root}")
    if not submissions.exists():
        raise InvocationError(f"SUBMISSIONS {submissions} does not exist")
    if out.exists() and not out.is_dir():
        raise InvocationError(f"OUT {out} exists and is not a folder")
    if out.resolve() == submissions.resolve() or submissions.resolve() in out.resolve().parents:
        raise InvocationError(f"OUT {out} must not be inside SUBMISSIONS {submissions}")
    return expected_sources


def _collect(submissions: pathlib.Path, assignment: str, expected_sources: list[pathlib.Path],
             work: pathlib.Path, layout: str | None = None, export: str | None = None,
             echo: Callable[[str], None] | None = None) -> list[StudentSubmission]:
    """The students of a submissions folder or zip (any export layout, :mod:`.lms`), copied into ``work``;
    an ``export`` their LMS cannot take is refused here, before anyone is graded."""
    from .lms_export import check_export
    from .submissions import collect_from

    students = collect_from(submissions, assignment, [p.stem for p in expected_sources], work, layout=layout,
                            echo=echo)
    check_export(export, students)
    return students


def _plan(course, references: ReferenceCache, scanner: Scanner, limits, sandbox_config,
          explainer: FailureExplainer | None, case_key: str) -> _Plan:
    from . import gradebook

    layout = gradebook.grade_cells(course)
    return _Plan(course.assignment, layout, _released_tests(course, layout),
                 {nb: gradebook.trusted_sources(course, nb) for nb in layout},
                 {nb: gradebook.source_layout(course, nb) for nb in layout},
                 _locked_cells(course, layout), references, scanner, limits, sandbox_config, explainer, case_key)


def _first_saying(echo: Callable[[str], None], first: str) -> Callable[[str], None]:
    """``echo`` that says ``first`` before its first line."""
    said = []

    def say(line: str) -> None:
        if not said:
            said.append(True)
            echo(first)
        echo(line)

    return say


WORK_PREFIX = "rnn-course-grade-"
# the temporary folders of a run, each named <prefix><pid of the run>-<random>: the run's work folder, and the
# private folder of each kernel (execute.PrivateKernelManager, sandbox_kernel.SandboxKernelManager)
_RUN_FOLDER = re.compile(r"^(?:rnn-course-grade-|rnnk-|rnnsbx-)(\d+)-[^/]+$")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def remove_dead_runs_folders(tmp: str | os.PathLike | None = None) -> list[pathlib.Path]:
    """Remove the temporary folders (ours, in ``tmp``, default the temp dir) of grading runs whose process is
    dead (killed, crashed); a live run's, another user's and anything not named as ours are left. A dead run's
    pid reused by a new process keeps that folder until the process ends: a live run's folder is never removed."""
    tmp = pathlib.Path(tmp or tempfile.gettempdir())
    removed = []
    try:
        entries = list(tmp.iterdir())
    except OSError:
        return removed
    for path in entries:
        match = _RUN_FOLDER.match(path.name)
        if not match or int(match.group(1)) == os.getpid():
            continue
        try:
            st = path.lstat()
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or _pid_alive(int(match.group(1))):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _stage_feedback(staged: pathlib.Path, plan: _Plan, result: StudentResult) -> None:
    """Render one student's feedback as soon as its result is known (committed first: the results store keeps
    the executed notebooks), into the run's private ``staged`` folder, which :func:`_write_outputs` moves into
    OUT. With workers this runs while they grade, not after the last student; and the executed notebooks, needed
    for nothing else, are dropped, so the run holds of each student only its decisions."""
    from . import feedback

    for nb in result.notebooks:
        feedback.write(staged / result.student_id / result.assignment / f"{nb.notebook}.html", result, nb,
                       plan.released.get(nb.notebook))
        nb.executed = None


def _write_outputs(out: pathlib.Path, course, plan: _Plan, results: list[StudentResult], db_url: str | None,
                   staged: pathlib.Path) -> None:
    """Each student's feedback (rendered into ``staged`` by :func:`_stage_feedback`), grades.csv, grades.json,
    report.html/report.json, and (with the run's own SQLite gradebook) gradebook.db."""
    from . import class_report, grades_csv, grades_json

    assignment = course.assignment
    results = sorted(results, key=lambda r: r.student_id)  # every file lists the students in this one order
    out.mkdir(parents=True, exist_ok=True)
    _remove_stale_feedback(out / "feedback", assignment)
    for res in results:
        for nb in res.notebooks:
            rel = pathlib.Path(res.student_id, assignment, f"{nb.notebook}.html")
            (out / "feedback" / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.move(staged / rel, out / "feedback" / rel)
    grades_csv.write_csv(out / "grades.csv", results, plan.layout)
    grades_json.write_json(out / "grades.json", results, assignment)
    class_report.write_report(out, results, plan.layout, assignment)
    if db_url is None:
        shutil.copyfile(course.root / "gradebook.db", out / "gradebook.db")


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


def _grade_student(course, sub: StudentSubmission, plan: _Plan) -> tuple[StudentResult, bool]:
    """One student: autograde the submitted notebooks, then read each notebook's decisions (zeros with the
    reason for what could not be graded, recorded in the gradebook too). The flag says whether the grader itself
    failed ("grading failed: ...": nbgrader gave up), so that the result is not kept for a later run."""
    from . import gradebook

    result = StudentResult(sub.student_id, course.assignment, [], notes=list(sub.notes), folder=sub.folder,
                           submitter=sub.submitter)
    if not sub.notebooks:
        gradebook.zero_missing(course, sub.student_id)
        for nb_name, cells in plan.layout.items():
            problem = sub.problems.get(nb_name, "no notebook was submitted")
            result.notebooks.append(NotebookResult(nb_name, _zero_cells(cells, "not graded: " + problem), problem))
        return result, False
    dest = course.submitted / sub.student_id / course.assignment
    dest.mkdir(parents=True, exist_ok=True)
    for nb_name, path in sub.notebooks.items():
        shutil.copyfile(path, dest / f"{nb_name}.ipynb")
    store, verify, restore = plan.preprocessors()
    failure = None
    try:
        _autograde(course, sub.student_id, plan, verify, restore)
    except Exception as exc:  # nbgrader gave up on this student: zeros with the reason, never a lost batch
        failure = f"grading failed: {str(exc)[:300]}"
    for nb_name, cells in plan.layout.items():
        if nb_name in sub.problems:
            problem = sub.problems[nb_name]
            result.notebooks.append(NotebookResult(nb_name, _zero_cells(cells, "not graded: " + problem), problem))
            continue
        nbr = _notebook_result(course, sub.student_id, nb_name, cells, store, failure)
        result.notebooks.append(nbr)
        if failure:  # nbgrader left this notebook's grades empty: record the zeros we report
            if _has_submission(course, sub.student_id):
                gradebook.set_auto_scores(course, sub.student_id, nb_name, {c.name: c.points for c in nbr.cells})
            else:
                gradebook.zero_missing(course, sub.student_id)
    return result, failure is not None


def _notebook_result(course, student: str, nb_name: str, cells: list[dict], store: GradingStore,
                     failure: str | None) -> NotebookResult:
    """The decisions the preprocessors stored for one autograded notebook (zeros when there are none)."""
    key = (student, nb_name)
    decided = store.cells.get(key, {})
    notes = list(store.notes.get(key, []))
    if failure or not decided:
        reason = failure or "grading failed (no result for this notebook)"
        return NotebookResult(nb_name, _zero_cells(cells, reason), reason, notes)
    results = [decided[c["name"]] if c["name"] in decided else _undecided(c) for c in cells]
    return NotebookResult(nb_name, results, None, notes, executed=_read_autograded(course, student, nb_name))


def _undecided(cell: dict) -> CellResult:
    """A graded cell the grader gave no decision: a manual one, or a test cell that was not found."""
    if cell["kind"] == "manual":
        return CellResult(cell["name"], cell["max_score"], 0.0, False, ["needs manual grading (not autograded)"],
                          "manual")
    return CellResult(cell["name"], cell["max_score"], 0.0, False, ["the test cell was not found after restoring"],
                      "test")


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


def _autograde(course, student: str, plan: _Plan, verify: VerifyRecords, restore: RestoreTestCells) -> None:
    """nbgrader's ``Autograde`` of one student with the grader's preprocessors; raises with nbgrader's reason."""
    from nbgrader.converters import Autograde

    coursedir = course.coursedir()
    coursedir.student_id = student
    converter = Autograde(coursedir=coursedir, config=_autograde_config(plan, verify, restore))
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


def _autograde_config(plan: _Plan, verify: VerifyRecords, restore: RestoreTestCells):
    """The traitlets config of one ``Autograde`` run: nbgrader's chain with the grader's preprocessors in it."""
    from nbgrader.preprocessors import (CheckCellMetadata, ClearOutput, DeduplicateIds, LimitOutput,
                                        OverwriteCells, OverwriteKernelspec, SaveAutoGrades)
    from traitlets.config import Config

    if plan.sandbox_config is WORKERS_EXECUTE:
        raise RuntimeError("this run's workers grade the notebooks; its coordinator runs no kernel")
    limits = plan.limits
    cfg = Config()
    cfg.Autograde.force = True
    cfg.Autograde.create_student = True
    # RestoreTestCells first: it puts back the gradebook's labels and metadata, which DeduplicateIds and
    # OverwriteCells read (a test cell relabelled by the student makes OverwriteCells raise otherwise)
    cfg.Autograde.sanitize_preprocessors = [ClearOutput, restore, DeduplicateIds, OverwriteKernelspec,
                                            OverwriteCells, CheckCellMetadata]
    # nbgrader's IgnorePattern, ClearMetadataPreprocessor and AssignLatePenalties are left out: the first
    # edits stderr that no longer counts, the other two do nothing for us.
    cfg.OverwriteCells.add_missing_cells = True
    cfg.Execute.timeout = limits.cell_timeout
    cfg.Execute.interrupt_on_timeout = True
    # after a cell's reply, how long its last outputs may take: nbclient's 4 s is short on a loaded machine,
    # but a hung kernel costs this much more per timed-out cell (then KeepGoingMixin probes it)
    cfg.Execute.iopub_timeout = max(4, min(10, limits.cell_timeout))
    if plan.sandbox_config is None:
        execute = SafeExecute  # --unsafe: the plain kernel (execute.PrivateKernelManager)
    else:
        # the sandbox's Execute class, by name, never "whatever the sandbox config's chain holds": a chain
        # without it would leave SafeExecute's unsandboxed kernel in place. Its kernel manager is a constructor
        # argument, so the class is what sandboxes; our chain below replaces the one the sandbox config sets.
        from .sandbox_kernel import SandboxExecute

        execute = safe_execute(SandboxExecute)
        cfg.merge(plan.sandbox_config)
    cfg[execute.__name__].notebook_timeout = float(limits.notebook_timeout)
    # the case key of the term's secret, for record_check in the kernel (execute.kernel_launch_env);
    # both kernel managers read it from their base class's config section
    cfg.PrivateKernelManager.case_key = plan.case_key
    cfg.Autograde.autograde_preprocessors = [execute, verify, LimitOutput, SaveAutoGrades, CheckCellMetadata]
    return cfg


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
