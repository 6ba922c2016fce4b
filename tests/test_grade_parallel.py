"""``--jobs N``: N students graded at once, by the coordinating process and N - 1 worker processes
(rnn_helpers/grader/worker_pool.py, grade_worker.py).

The same class of the fixture assignment (right, blank, wrong, half right, broken files, a kernel that exits, no
notebook) is graded with ``jobs=1`` (in the coordinating process), ``jobs=2`` and ``jobs=3``; the outputs must be
the same bytes.
A grading worker killed (``kill -9``) in the middle of a student costs nothing: that student is given to a fresh
worker. A worker dies with its coordinator, and refuses a run whose course it does not share.
"""
from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import CELL_TIMEOUT, FIXTURES

WORKER_MODULE = "rnn_helpers.grader.grade_worker"


def _class(root: pathlib.Path) -> pathlib.Path:
    """The fixture assignment's source tree under ``root`` and a mixed class; returns the submissions folder."""
    import fixture_course as fc

    fc.write_source_tree(root)
    release = fc.release_notebook(root)
    subs = root / "submitted"

    def put(student, content):
        path = subs / student / "ps1" / "ps1.ipynb"
        path.parent.mkdir(parents=True)
        path.write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())

    put("right", fc.with_solutions(release, fc.RIGHT))
    put("right_too", fc.with_solutions(release, fc.RIGHT))
    put("blank", release)
    put("wrong", fc.with_solutions(release, fc.WRONG_VALUES))
    put("half", fc.with_solutions(release, dict(fc.RIGHT, affine=fc.WRONG_VALUES["affine"])))
    put("exits", fc.with_solutions(release, dict(fc.RIGHT, affine="import os\nos._exit(1)\n")))
    put("badjson", b"{not json")
    (subs / "nothing" / "ps1").mkdir(parents=True)
    return subs


def _grade(root: pathlib.Path, out: str, **kw):
    import fixture_course as fc

    from rnn_helpers.grader.pipeline import grade
    from rnn_helpers.grader.sandbox import Limits

    return grade("ps1", root / "submitted", root / out, source_root=root, checks_provider=fc.checks_provider,
                 unsafe=True, limits=Limits(cell_timeout=CELL_TIMEOUT, notebook_timeout=240),
                 echo=lambda line: None, **kw)


def _files(out: pathlib.Path) -> dict[str, bytes]:
    names = ["grades.csv", "grades.json", "report.json"]
    names += [str(p.relative_to(out)) for p in sorted((out / "feedback").rglob("*.html"))]
    return {name: (out / name).read_bytes() for name in names}


def _processes() -> dict[int, tuple[int, bytes]]:
    """pid -> (parent pid, command line) of every process."""
    found = {}
    for proc in pathlib.Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        found[int(proc.name)] = (int(stat.rpartition(")")[2].split()[1]), cmdline)
    return found


def _my_workers(procs) -> list[int]:
    return [pid for pid, (ppid, cmd) in procs.items() if ppid == os.getpid() and WORKER_MODULE.encode() in cmd]


class _KillAWorkerMidStudent(threading.Thread):
    """Kills (SIGKILL) the first grading worker seen with a kernel of its own: in the middle of a student."""

    def __init__(self):
        super().__init__(daemon=True)
        self.killed: int | None = None
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set() and self.killed is None:
            procs = _processes()
            for worker in _my_workers(procs):
                if any(ppid == worker and b"ipykernel" in cmd for ppid, cmd in procs.values()):
                    os.kill(worker, signal.SIGKILL)
                    self.killed = worker
                    return
            time.sleep(0.05)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class graded with jobs=1, with jobs=2, with jobs=3 (who graded whom recorded), and with jobs=2 while a
    worker is killed mid-student."""
    from rnn_helpers.grader import pipeline

    if str(FIXTURES) not in sys.path:
        sys.path.insert(0, str(FIXTURES))
    root = tmp_path_factory.mktemp("parallel")
    _class(root)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONPATH", str(FIXTURES))  # the plain kernel imports fixture_course for the hidden tests
        runs = {"one": _grade(root, "out1"), "two": _grade(root, "out2", jobs=2)}
        graded_by = {"here": [], "workers": []}
        here, answered = pipeline._grade_student, pipeline._worker_result

        def grade_here(course, sub, plan):
            graded_by["here"].append(sub.student_id)
            return here(course, sub, plan)

        def worker_answered(sub, plan, reply):
            graded_by["workers"].append(sub.student_id)
            return answered(sub, plan, reply)

        with pytest.MonkeyPatch.context() as spy:
            spy.setattr(pipeline, "_grade_student", grade_here)
            spy.setattr(pipeline, "_worker_result", worker_answered)
            runs["three"] = _grade(root, "out3", jobs=3)
        killer = _KillAWorkerMidStudent()
        killer.start()
        try:
            runs["killed"] = _grade(root, "out_killed", jobs=2)
        finally:
            killer.stop.set()
            killer.join()
    return {"root": root, "runs": runs, "killed_pid": killer.killed, "graded_by": graded_by}


def test_two_jobs_write_the_same_files_as_one(graded):
    root = graded["root"]
    one, two = _files(root / "out1"), _files(root / "out2")
    assert sorted(one) == sorted(two)
    for name in one:
        assert one[name] == two[name], name
    scores = {s.student_id: s.score for s in graded["runs"]["one"].students}
    # the class is mixed: full marks, partial, zero; the file comparison above is not of empty grades
    assert scores["right"] == scores["right_too"] == 6.0 and 0 < scores["half"] < 6.0
    assert scores["blank"] == scores["badjson"] == scores["nothing"] == 0.0


def test_three_jobs_share_the_class_between_this_process_and_two_workers(graded):
    root = graded["root"]
    assert _files(root / "out3") == _files(root / "out1")
    here, workers = graded["graded_by"]["here"], graded["graded_by"]["workers"]
    students = sorted(s.student_id for s in graded["runs"]["one"].students)
    assert sorted(here + workers) == students  # each graded once, by one of them
    assert here and workers, graded["graded_by"]


def test_the_run_keeps_no_executed_notebook_once_its_feedback_is_written(graded):
    """Each student's feedback is rendered as its result is known; the executed notebooks (the bulk of a result)
    are then dropped, so a class of any size holds only its decisions until the files are written."""
    for name, out in (("one", "out1"), ("two", "out2"), ("three", "out3")):
        run = graded["runs"][name]
        notebooks = [(s.student_id, nb) for s in run.students for nb in s.notebooks]
        assert notebooks and all(nb.executed is None for _, nb in notebooks), name
        for student, nb in notebooks:
            html = (graded["root"] / out / "feedback" / student / "ps1" / f"{nb.notebook}.html").read_text()
            # rendered before the drop: a graded notebook's page shows it as graded
            assert ("Your notebook, as graded" in html) == (nb.problem is None), (name, student)


def test_the_workers_gradebook_entries_equal_the_in_process_ones(graded):
    from nbgrader.api import Gradebook

    def scores(out):
        with Gradebook(f"sqlite:///{graded['root'] / out / 'gradebook.db'}") as gb:
            return {(s.student.id, g.name): (g.auto_score, g.needs_manual_grade)
                    for s in gb.find_assignment("ps1").submissions for nb in s.notebooks for g in nb.grades}

    assert scores("out2") == scores("out1")
    assert len(scores("out1")) == 8 * 3


def test_a_worker_killed_mid_student_costs_nothing(graded):
    root = graded["root"]
    assert graded["killed_pid"] is not None, "no worker was seen grading a student"
    assert not pathlib.Path(f"/proc/{graded['killed_pid']}").exists()
    # the killed worker's student was given to a fresh worker: every student graded, the same files
    assert _files(root / "out_killed") == _files(root / "out1")
    run = graded["runs"]["killed"]
    assert (run.graded, run.kept) == (8, 0)
    assert not any("grading failed" in r for s in run.students for r in s.reasons())
    assert len(list((root / "out_killed" / ".results" / "ps1").glob("*.json"))) == 8


def test_every_worker_has_ended_after_the_run(graded):
    assert _my_workers(_processes()) == []


def test_a_rerun_with_workers_keeps_every_result(graded):
    root = graded["root"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONPATH", str(FIXTURES))
        again = _grade(root, "out2", jobs=2)
    assert (again.graded, again.kept) == (0, 8)
    assert _files(root / "out2") == _files(root / "out1")


def _setup(root: pathlib.Path) -> dict:
    import fixture_course as fc

    from rnn_helpers.grader import results_store
    from rnn_helpers.grader.grade_worker import setup_message
    from rnn_helpers.grader.sandbox import Limits

    sources = sorted((root / "solutions" / "ps1").glob("*.ipynb"))
    limits = Limits(cell_timeout=CELL_TIMEOUT)
    fingerprint = results_store.run_fingerprint(sources, results_store.checks_sources(fc.checks_provider("ps1")),
                                                None, sandboxed=False, limits=limits)
    return setup_message("ps1", sources, "fixture_course:checks_provider", sandboxed=False, limits=limits,
                         case_key=None, fingerprint=fingerprint)


def test_a_worker_whose_rnn_helpers_differs_refuses_naming_the_file(graded, monkeypatch):
    from rnn_helpers.grader.grade_worker import WorkerProcess, WorkerRefused

    monkeypatch.setenv("PYTHONPATH", str(FIXTURES))
    setup = _setup(graded["root"])
    # the coordinator's own fingerprint: the worker agrees and grades
    WorkerProcess(setup).close()
    # as if the coordinator's grader/pipeline.py were another version than the worker's
    setup["package"]["grader/pipeline.py"] = "0" * 64
    setup["fingerprint"] = "0" * 64
    with pytest.raises(WorkerRefused, match=r"rnn_helpers differs from the coordinator's \(grader/pipeline\.py"):
        WorkerProcess(setup)


def test_a_worker_cannot_be_told_to_grade_with_less_protection(graded, monkeypatch):
    """A worker asked to sandbox where it cannot (here: not root) refuses; it never grades unsandboxed."""
    from rnn_helpers.grader.grade_worker import WorkerProcess, WorkerRefused
    from rnn_helpers.grader.pipeline import sandbox_status

    if sandbox_status()[0]:
        pytest.skip("the sandbox works here: run as a user without root to see a worker refuse it")
    monkeypatch.setenv("PYTHONPATH", str(FIXTURES))
    setup = _setup(graded["root"])
    setup["sandboxed"] = True
    with pytest.raises(WorkerRefused):
        WorkerProcess(setup)


def test_a_prestarted_worker_is_taken_and_those_left_over_are_ended(graded, monkeypatch):
    """``--jobs`` prestarts its workers (``grade_worker.prestart``); a WorkerProcess takes one that was started
    with its environment (and sets it up: it answered ready), a fresh one otherwise, and ``end_spares`` ends the
    rest."""
    from rnn_helpers.grader import grade_worker
    from rnn_helpers.grader.grade_worker import WorkerProcess

    monkeypatch.setenv("PYTHONPATH", str(FIXTURES))
    setup = _setup(graded["root"])
    grade_worker.prestart(2)
    spares = [proc.pid for proc, _ in grade_worker._spares]
    try:
        worker = WorkerProcess(setup)
        try:
            assert worker.pid == spares[0]
        finally:
            worker.close()
        monkeypatch.setenv("RNN_COURSE_TEST_OTHER_ENV", "1")  # the second spare's environment is not this one
        other = WorkerProcess(setup)
        try:
            assert other.pid not in spares
        finally:
            other.close()
        assert not pathlib.Path(f"/proc/{spares[1]}").exists(), "a spare of another environment was left running"
        grade_worker.prestart(1)
        left_over = grade_worker._spares[0][0].pid
    finally:
        grade_worker.end_spares()
    assert grade_worker._spares == [] and not pathlib.Path(f"/proc/{left_over}").exists()  # killed and reaped


COORDINATOR = """
import json, sys
from rnn_helpers.grader.grade_worker import WorkerProcess
worker = WorkerProcess(json.load(open(sys.argv[1])))
print(worker.pid, flush=True)
sys.stdin.read()
"""


def test_a_worker_dies_with_its_coordinator(graded, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(FIXTURES))
    (tmp_path / "setup.json").write_text(json.dumps(_setup(graded["root"])))
    coordinator = subprocess.Popen([sys.executable, "-c", COORDINATOR, str(tmp_path / "setup.json")],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        worker = int(coordinator.stdout.readline())
        assert pathlib.Path(f"/proc/{worker}").exists()
        os.kill(coordinator.pid, signal.SIGKILL)
        coordinator.wait()
        deadline = time.monotonic() + 10
        while pathlib.Path(f"/proc/{worker}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not pathlib.Path(f"/proc/{worker}").exists(), "the worker outlived its coordinator"
    finally:
        coordinator.kill()


def test_fewer_than_one_job_is_a_wrong_invocation(graded):
    from rnn_helpers.grader.submissions import InvocationError

    with pytest.raises(InvocationError, match="--jobs must be at least 1"):
        _grade(graded["root"], "out_zero", jobs=0)
    assert not (graded["root"] / "out_zero").exists()


def test_a_checks_provider_without_a_name_cannot_go_to_workers(graded):
    import fixture_course as fc

    from rnn_helpers.grader.pipeline import grade
    from rnn_helpers.grader.submissions import InvocationError

    anonymous = fc.provider(fc.CHECKS)  # made here, held by no module
    root = graded["root"]
    with pytest.raises(InvocationError, match="cannot be imported by name"):
        grade("ps1", root / "submitted", root / "out_anon", source_root=root, checks_provider=anonymous,
              unsafe=True, echo=lambda line: None, jobs=2)
    assert not (root / "out_anon").exists()


def test_the_command_refuses_fewer_than_one_job():
    import argparse

    from rnn_helpers.grader.command import configure

    parser = argparse.ArgumentParser()
    configure(parser)
    assert parser.parse_args(["ps1", "subs", "--out", "o", "--jobs", "3"]).jobs == 3
    assert parser.parse_args(["ps1", "subs", "--out", "o"]).jobs is None  # then one per core (command.default_jobs)
    for bad in ("0", "-1", "two"):
        with pytest.raises(SystemExit) as exit_:
            parser.parse_args(["ps1", "subs", "--out", "o", "--jobs", bad])
        assert exit_.value.code == 2


def test_progress_times_each_student_from_its_own_start_when_several_run_at_once():
    from rnn_helpers.grader.progress import Progress

    class Clock:
        t = 0.0

        def __call__(self):
            return self.t

    clock, lines = Clock(), []
    p = Progress(4, echo=lines.append, clock=clock)
    p.start("a")
    p.start("b")
    clock.t = 10.0
    p.finish_student("a", kept=False)  # a took 10 s
    p.start("c")
    # two at once: 10 s per student over 2 workers, 3 left
    assert p.line().endswith("ETA 15s")
    clock.t = 12.0
    p.finish_student("b", kept=False)  # b took 12 s (from its own start, not a's or c's)
    assert (p.graded, p.done) == (2, 2)
    assert p.line().endswith("ETA 22s")  # (10 + 12) / 2 per student, one running, 2 left


class _TorchInWorkers(threading.Thread):
    """Every grading worker of this process seen while it runs, and those seen with torch's library mapped."""

    def __init__(self):
        super().__init__(daemon=True)
        self.seen: set[int] = set()
        self.with_torch: set[int] = set()
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            for worker in _my_workers(_processes()):
                try:
                    maps = pathlib.Path(f"/proc/{worker}/maps").read_text()
                except OSError:  # it ended while we looked
                    continue
                self.seen.add(worker)
                if "libtorch" in maps:
                    self.with_torch.add(worker)
            time.sleep(0.05)


def test_workers_take_the_references_and_mistakes_from_the_coordinator(tmp_path, monkeypatch):
    """``--jobs 2`` on an assignment whose checks run torch and whose wrong students are explained: the worker
    is given the references' and the mistakes' outputs the coordinator computed once (``_computed_once``), so it
    never imports torch, and the files are those of ``--jobs 1``. Without them (``None``: what cannot be
    pickled), the same probe sees the worker import torch to compute its own, and the files are the same."""
    from rnn_helpers.grader import pipeline
    from rnn_helpers.grader.mistakes import catalogue
    from rnn_helpers.grader.mistakes.solution import notebook_with_change

    a, repo = "02_simple_rnn", pathlib.Path(pipeline.__file__).parents[2]
    solution = json.loads((repo / "solutions" / a / f"{a}.ipynb").read_text(encoding="utf-8"))
    wrongs = []
    for mistake in catalogue(a).values():
        try:
            wrongs.append(notebook_with_change(solution, mistake.old, mistake.new))
        except ValueError:  # a mistake that does not play as a whole submission
            continue
    assert len(wrongs) >= 2
    for i, nb in enumerate([solution, wrongs[0], solution, wrongs[1]]):
        folder = tmp_path / "subs" / f"s{i}" / a
        folder.mkdir(parents=True)
        (folder / f"{a}.ipynb").write_text(json.dumps(nb), encoding="utf-8")

    def grade(out: str, jobs: int) -> _TorchInWorkers:
        watcher = _TorchInWorkers()
        watcher.start()
        try:
            pipeline.grade(a, tmp_path / "subs", tmp_path / out, source_root=repo, unsafe=True,
                           echo=lambda line: None, jobs=jobs)
        finally:
            watcher.stop.set()
            watcher.join()
        return watcher

    grade("one", 1)
    shared = grade("two", 2)
    monkeypatch.setattr(pipeline, "_computed_once", lambda *args: None)
    own = grade("own", 2)
    assert shared.seen and not shared.with_torch
    assert own.with_torch, "the probe did not see a worker that computed its own references import torch"
    one = _files(tmp_path / "one")
    assert _files(tmp_path / "two") == one
    assert _files(tmp_path / "own") == one
    assert b"likely mistake" in b"".join(one.values())  # the wrong students' failures were explained


@pytest.mark.parametrize("assignment", ["01_motivation", "02_simple_rnn", "03_bptt", "04_gru", "05_lstm",
                                        "06_applications"])
def test_every_assignments_references_and_mistakes_go_to_the_workers(assignment):
    """What the coordinator computes once pickles for every assignment of the course (03_bptt's cases hold
    functions: the cases themselves stay behind), with every check's reference outputs and its mistakes'."""
    import pickle

    from rnn_helpers.checks.registry import checks_for
    from rnn_helpers.grader.pipeline import _computed_once
    from rnn_helpers.grader.reference_cache import ReferenceCache
    from rnn_helpers.grader.verify_records import FailureExplainer

    solutions = pathlib.Path(__file__).resolve().parents[1] / "solutions"
    data = _computed_once(assignment, ReferenceCache(checks_for), FailureExplainer(solutions))
    assert data is not None, "the workers would compute their own"
    known = pickle.loads(data)
    assert sorted(known["references"]) == sorted(checks_for(assignment))
    assert known["mistakes"], "no catalogued mistake's outputs"
