"""Nothing lost, nothing done twice, nothing left running (issue 12, section 2), and the progress display.

- units: the results store (atomic, keyed by what a result depends on, a damaged file is regraded, a result the
  grader failed to produce is not kept), the removal of dead runs' temporary folders (only dead pids', only ours),
  the progress bar's formatting;
- a real ``rnn-course grade`` of a class of 02_simple_rnn, ``kill -9``'ed (the coordinator's pid only, as a crash
  would) once a result is committed and the next student is in flight: within seconds no process of the run is
  left (found by a marker in their environment and by the run's temporary folder in their command line), and the
  rerun into the same OUT keeps what was committed (the summary says how many), grades the rest, removes the
  dead run's temporary folders and writes the grades.csv of an uninterrupted run; its gradebook holds every
  student. Graded in the sandbox (the orphan test needs it: root on Linux, skipped with the reason elsewhere),
  else with ``--unsafe``.
"""
from __future__ import annotations

import csv
import io
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import time
import uuid

import pytest

from rnn_helpers.grader.progress import Progress, format_bar, format_duration, time_left

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "grading"
sys.path.insert(0, str(FIXTURES))
import fixture_course as fc  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
RNN_COURSE = pathlib.Path(sys.executable).parent / "rnn-course"
ASSIGNMENT = "02_simple_rnn"


# ----------------------------------------------------------------------------- progress


@pytest.mark.parametrize("seconds, text", [(None, "?"), (-1, "?"), (0, "0s"), (44.6, "45s"), (185, "3m05s"),
                                           (7380, "2h03m")])
def test_durations(seconds, text):
    assert format_duration(seconds) == text


def test_time_left_from_the_students_graded_now():
    assert time_left(0, 0.0, 5) is None  # nothing graded yet: unknown
    assert time_left(2, 30.0, 4) == 60.0
    assert time_left(3, 9.0, 0) == 0.0


def test_the_bar_shows_counts_kept_and_time_left():
    assert format_bar(5, 10, 2, 80, "alice") == "[##########----------]   5/10  (2 kept)  ETA 1m20s  grading alice"
    assert format_bar(0, 3, 0, None) == "[--------------------]  0/3  ETA ?"
    assert format_bar(3, 3, 0, 0.0) == "[####################]  3/3  ETA 0s"
    with pytest.raises(ValueError):
        format_bar(4, 3, 0, None)


class _Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_on_a_terminal_one_line_is_redrawn():
    stream, clock = _Tty(), _Clock()
    p = Progress(3, echo=lambda line: pytest.fail("no line on a terminal"), bar_stream=stream, clock=clock)
    p.finish_student("kept-one", kept=True)
    p.start("bob")
    clock.t = 10.0
    p.finish_student("bob", kept=False)
    assert p.line() == "[#############-------]  2/3  (1 kept)  ETA 10s"
    p.close()
    text = stream.getvalue()
    assert text.endswith("\n") and "\n" not in text[:-1] and text.count("\r") == 3
    assert Progress.for_stream(1, print, _Tty()).stream is not None


def test_elsewhere_one_line_per_student():
    lines = []
    p = Progress.for_stream(2, lines.append, io.StringIO())
    p.start("alice")
    p.finish_student("alice", kept=False)
    p.finish_student("bob", kept=True)
    p.close()
    assert lines == ["[1/2] grading alice", "[2/2] kept bob (graded by an earlier run into this OUT)"]


# ----------------------------------------------------------------------------- results store, dead runs' folders


class _Sub:
    def __init__(self, sid, notebooks, problems=None):
        self.student_id, self.notebooks, self.problems = sid, notebooks, problems or {}
        self.notes, self.folder, self.submitter = [], sid, None


def test_result_keys_change_with_what_a_result_depends_on(tmp_path):
    from rnn_helpers.grader import results_store as rs
    from rnn_helpers.grader.sandbox import Limits

    nb, src, chk = tmp_path / "a.ipynb", tmp_path / "s.ipynb", tmp_path / "c.py"
    nb.write_text("{}"), src.write_text("source"), chk.write_text("checks")

    def key(sub=None, *, case_key=None, sandboxed=True, limits=Limits()):
        fp = rs.run_fingerprint([src], [chk], case_key, sandboxed=sandboxed, limits=limits)
        return rs.result_key(fp, sub or _Sub("alice", {"a": nb}))

    first = key()
    assert first == key()
    assert first != key(_Sub("bob", {"a": nb}))  # the same notebook, another student
    assert first != key(_Sub("alice", {"a": nb}, {"b": "not a notebook"}))  # what the collection found wrong
    assert first != key(case_key=b"k" * 32)
    assert first != key(sandboxed=False)  # an --unsafe kernel imports the real references
    assert first != key(limits=Limits(cell_timeout=31))
    assert first != key(limits=Limits(memory_bytes=2 * 1024 ** 3))
    chk.write_text("checks v2")  # a checks module outside the package (a fixture's)
    assert first != key()
    src.write_text("source v2")
    assert first != key()
    nb.write_text('{"x": 1}')
    assert first != key()


def test_every_source_file_of_the_package_is_in_the_key(tmp_path, monkeypatch):
    from rnn_helpers.grader import results_store as rs
    from rnn_helpers.grader.sandbox import Limits

    names = list(rs.package_sources())
    # the grader's own code, the checks, and what the references import
    for name in ("grader/verify_records.py", "grader/restore_cells.py", "grader/source_check.py", "grader/explain.py",
                 "grader/mistakes/__init__.py", "checks/registry.py", "checks/compare.py", "_validate.py",
                 "simple_rnn.py"):
        assert name in names, name
    assert names == sorted(names) and not [n for n in names if "__pycache__" in n or not n.endswith(".py")]
    fake = tmp_path / "fake.py"
    fake.write_text("x = 1\n")
    monkeypatch.setattr(rs, "package_sources", lambda: {"fake.py": fake})
    first = rs.run_fingerprint([], [], None, sandboxed=True, limits=Limits())
    fake.write_text("x = 2\n")
    assert rs.run_fingerprint([], [], None, sandboxed=True, limits=Limits()) != first


def test_the_checks_files_are_those_outside_the_package():
    from rnn_helpers.grader import results_store as rs

    assert rs.checks_sources(fc.checks_provider("ps1")) == [pathlib.Path(fc.__file__).resolve()]
    from rnn_helpers.checks.registry import checks_for

    assert rs.checks_sources(checks_for(ASSIGNMENT)) == []  # the real checks are the package's own


def test_a_result_the_grader_failed_to_produce_is_not_kept(tmp_path, monkeypatch):
    """nbgrader or the kernel could not start, the database was locked, /tmp was full: "grading failed: ..." is the
    grader's failure, not the student's; the next run grades that student again (a missing notebook is kept)."""
    from rnn_helpers.grader import pipeline

    def fails(*args, **kwargs):
        raise RuntimeError("OperationalError: database is locked")

    monkeypatch.setattr(pipeline, "_autograde", fails)
    fc.write_source_tree(tmp_path)
    (tmp_path / "subs" / "ann" / "ps1").mkdir(parents=True)
    (tmp_path / "subs" / "ann" / "ps1" / "ps1.ipynb").write_text(json.dumps(fc.source_notebook()))
    (tmp_path / "subs" / "bob" / "ps1").mkdir(parents=True)  # no notebook: the student's doing, kept
    runs = [pipeline.grade("ps1", tmp_path / "subs", tmp_path / "out", source_root=tmp_path,
                           checks_provider=fc.checks_provider, unsafe=True, echo=lambda line: None)
            for _ in range(2)]
    assert [(r.graded, r.kept) for r in runs] == [(2, 0), (1, 1)]
    ann = next(s for s in runs[1].students if s.student_id == "ann")
    assert ann.notebooks[0].problem == "grading failed: OperationalError: database is locked"
    assert len(list((tmp_path / "out" / ".results" / "ps1").glob("*.json"))) == 1  # bob's only


def test_results_round_trip_and_a_damaged_one_is_regraded(tmp_path):
    from rnn_helpers.grader import results_store as rs
    from rnn_helpers.grader.grading_store import CellResult
    from rnn_helpers.grader.pipeline import NotebookResult, StudentResult

    store = rs.ResultsStore(tmp_path, "ps1")
    cells = [CellResult("test_a", 2.0, 1.5, False, ["case 0 differs"], "test", failing_cases=[{"case": 0}])]
    result = StudentResult("alice", "ps1", [NotebookResult("ps1", cells, None, ["restored"], {"cells": []})])
    store.save("k1", result)
    assert not list(store.folder.glob("*.tmp"))
    back = rs.ResultsStore(tmp_path, "ps1").load("k1", "alice")
    assert back[0].cells == cells and back[0].notes == ["restored"] and back[0].executed == {"cells": []}
    assert rs.ResultsStore(tmp_path, "ps1").load("k1", "bob") is None  # not this student's
    store.path("k1").write_text('{"format": 1, "key": "k1", "student_id": "alice", "notebooks": [{')
    assert rs.ResultsStore(tmp_path, "ps1").load("k1", "alice") is None
    store.save("k2", result)
    unused = rs.ResultsStore(tmp_path, "ps1")
    unused.load("k2", "alice")
    unused.remove_unused()
    assert sorted(p.name for p in store.folder.iterdir()) == ["k2.json"]


def test_only_dead_runs_folders_are_removed(tmp_path):
    from rnn_helpers.grader.pipeline import remove_dead_runs_folders

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = os.getppid()
    made = {name: tmp_path / name for name in (f"rnn-course-grade-{dead.pid}-x1", f"rnnsbx-{dead.pid}-x2",
                                               f"rnnk-{dead.pid}-x3", f"rnn-course-grade-{live}-x4",
                                               f"rnnsbx-{os.getpid()}-x5", "rnn-course-grade-x6", "other-1-x")}
    for p in made.values():
        (p / "inner").mkdir(parents=True)
    (tmp_path / f"rnnk-{dead.pid}-file").write_text("not a folder")
    removed = remove_dead_runs_folders(tmp_path)
    assert sorted(p.name for p in removed) == sorted([f"rnn-course-grade-{dead.pid}-x1", f"rnnsbx-{dead.pid}-x2",
                                                      f"rnnk-{dead.pid}-x3"])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"rnn-course-grade-{live}-x4", f"rnnsbx-{os.getpid()}-x5", "rnn-course-grade-x6", "other-1-x",
         f"rnnk-{dead.pid}-file"])


# ----------------------------------------------------------------------------- a class, killed and resumed


def _class(tmp: pathlib.Path) -> pathlib.Path:
    """Six students: the solutions and the release, each three times (made distinct by a markdown cell)."""
    subs = tmp / "submitted"
    released = REPO / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    solution = REPO / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    for i in range(3):
        for kind, path in (("solution", solution), ("release", released)):
            nb = json.loads(path.read_text())
            nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": f"student {kind} {i}",
                                "id": f"extra-{i}"})
            dest = subs / f"{kind}{i}" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
            dest.parent.mkdir(parents=True)
            dest.write_text(json.dumps(nb))
    return subs


def _env(tmpdir: pathlib.Path, marker: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "RNN_COURSE_GRADING_SECRET")}
    env.update(PATH="/usr/local/bin:/usr/bin:/bin", TMPDIR=str(tmpdir), RNN_RESUME_TEST_MARKER=marker)
    return env


def _cmd(subs, out, unsafe):
    return [str(RNN_COURSE), "grade", ASSIGNMENT, str(subs), "--out", str(out)] + (["--unsafe"] if unsafe else [])


def _run_processes(marker: str, tmpdir: pathlib.Path) -> list[int]:
    """Every process with the marker in its environment or the run's temp folder in its command line."""
    found = []
    for proc in pathlib.Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        if marker.encode() in environ or str(tmpdir).encode() in cmdline:
            found.append(int(proc.name))
    return found


@pytest.fixture(scope="module")
def killed_and_resumed(tmp_path_factory):
    if not (REPO / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").exists():
        pytest.skip(f"solutions/{ASSIGNMENT} is not there")
    from rnn_helpers.grader.pipeline import sandbox_status

    ok, reason = sandbox_status()
    tmp = tmp_path_factory.mktemp("resume")
    subs = _class(tmp)
    tmpdir = tmp / "tmpdir"
    tmpdir.mkdir()
    os.chmod(tmp, 0o755)
    full = subprocess.run(_cmd(subs, tmp / "out_full", not ok), capture_output=True, text=True, cwd=tmp,
                          env=_env(tmpdir, "uninterrupted"), timeout=1800)
    assert full.returncode == 0, full.stderr[-3000:]

    marker = uuid.uuid4().hex
    out = tmp / "out"
    results = out / ".results" / ASSIGNMENT
    proc = subprocess.Popen(_cmd(subs, out, not ok), cwd=tmp, env=_env(tmpdir, marker),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 900
    in_flight = False
    while time.monotonic() < deadline and proc.poll() is None:
        committed = list(results.glob("*.json")) if results.is_dir() else []
        others = [p for p in _run_processes(marker, tmpdir) if p != proc.pid]
        # a result committed, and the next student's kernel (launcher) started: kill in the middle of a student
        if committed and others:
            in_flight = True
            break
        time.sleep(0.05)
    assert in_flight and proc.poll() is None, "the run ended before it could be killed mid-student"
    os.kill(proc.pid, signal.SIGKILL)  # the coordinator only, as a crash would
    proc.wait()
    kept_at_kill = len(list(results.glob("*.json")))
    left, waited = _run_processes(marker, tmpdir), 0.0
    while left and waited < 10:
        time.sleep(0.25)
        waited += 0.25
        left = _run_processes(marker, tmpdir)
    dead_folders = sorted(p.name for p in tmpdir.iterdir() if re.match(rf".*-{proc.pid}-", p.name))

    resumed = subprocess.run(_cmd(subs, out, not ok), capture_output=True, text=True, cwd=tmp,
                             env=_env(tmpdir, "resumed"), timeout=1800)
    return {"ok": ok, "reason": reason, "full": full, "resumed": resumed, "out": out, "tmp": tmp, "left": left,
            "kept_at_kill": kept_at_kill, "dead_folders": dead_folders, "tmpdir": tmpdir, "pid": proc.pid}


@pytest.mark.slow
@pytest.mark.root
def test_after_kill_9_nothing_of_the_run_is_left_running(killed_and_resumed):
    r = killed_and_resumed
    if not r["ok"]:
        pytest.skip(f"the grading sandbox is unavailable here ({r['reason']}): its launchers are what must not "
                    "outlive the coordinator")
    assert r["left"] == [], [pathlib.Path(f"/proc/{p}/cmdline").read_bytes() for p in r["left"]
                             if pathlib.Path(f"/proc/{p}").exists()]


@pytest.mark.slow
def test_the_rerun_removes_the_dead_runs_temporary_folders(killed_and_resumed):
    r = killed_and_resumed
    assert any(name.startswith(f"rnn-course-grade-{r['pid']}-") for name in r["dead_folders"]), r["dead_folders"]
    assert not [p for p in r["tmpdir"].iterdir() if f"-{r['pid']}-" in p.name]


@pytest.mark.slow
def test_the_rerun_keeps_the_committed_results_and_grades_the_rest(killed_and_resumed):
    r = killed_and_resumed
    assert r["resumed"].returncode == 0, r["resumed"].stderr[-3000:]
    kept = r["kept_at_kill"]
    assert 1 <= kept < 6
    assert f"{6 - kept} student(s) graded by this run, {kept} kept from an earlier run" in r["resumed"].stdout
    assert "6 student(s) graded by this run, 0 kept" in r["full"].stdout


@pytest.mark.slow
def test_the_resumed_grades_equal_an_uninterrupted_runs(killed_and_resumed):
    r = killed_and_resumed
    full = (r["tmp"] / "out_full" / "grades.csv").read_text()
    assert (r["out"] / "grades.csv").read_text() == full
    rows = list(csv.DictReader(io.StringIO(full)))
    assert sorted(float(x["score"]) == float(x["max_score"]) for x in rows) == [False] * 3 + [True] * 3
    for student in ("solution0", "release2"):
        assert (r["out"] / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").is_file()


@pytest.mark.slow
def test_the_gradebook_holds_every_student_kept_or_graded(killed_and_resumed):
    from nbgrader.api import Gradebook

    r = killed_and_resumed
    rows = {x["student_id"]: float(x["score"]) for x in csv.DictReader(open(r["out"] / "grades.csv"))}
    with Gradebook(f"sqlite:///{r['out'] / 'gradebook.db'}") as gb:
        scores = {s.student.id: s.score for s in gb.find_assignment(ASSIGNMENT).submissions}
    assert scores == rows


@pytest.mark.slow
def test_regrade_grades_every_student_again(killed_and_resumed, tmp_path):
    r = killed_and_resumed
    again = subprocess.run(_cmd(r["tmp"] / "submitted", r["out"], not r["ok"]) + ["--regrade"], capture_output=True,
                           text=True, cwd=r["tmp"], env=_env(r["tmpdir"], "regrade"), timeout=1800)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "6 student(s) graded by this run, 0 kept" in again.stdout
    assert (r["out"] / "grades.csv").read_text() == (r["tmp"] / "out_full" / "grades.csv").read_text()
