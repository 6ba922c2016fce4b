"""``--scheduler ADDRESS``: grading on a Dask cluster (rnn_helpers/grader/dask_grading.py).

A real ``dask scheduler`` and two ``dask worker`` processes (``--nworkers 1 --nthreads 1``) on 127.0.0.1 and free
ports, started here; one worker is killed (``kill -9``) in the middle of a student. The scheduler gives that
student to the other worker: every student is graded, and the files are those of a local run. Skipped, with the
reason, where the cluster cannot be started.
"""
from __future__ import annotations

import os
import pathlib
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from conftest import FIXTURES
from test_grade_parallel import _class, _files, _grade, _processes

DASK = pathlib.Path(sys.executable).parent / "dask"
START_TIMEOUT = 90


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Cluster:
    """A scheduler and two workers of our own, on 127.0.0.1."""

    def __init__(self, logs: pathlib.Path):
        self.address = f"tcp://127.0.0.1:{_free_port()}"
        env = dict(os.environ, PYTHONPATH=str(FIXTURES))  # the workers' grading imports the fixture's checks
        port = self.address.rpartition(":")[2]
        self.scheduler = self._start([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", port,
                                      "--dashboard-address", ":0", "--no-show"], logs / "scheduler.log", env)
        self.workers = [self._start([str(DASK), "worker", self.address, "--nworkers", "1", "--nthreads", "1",
                                     "--no-nanny", "--host", "127.0.0.1", "--dashboard-address", ":0"],
                                    logs / f"worker{i}.log", env) for i in range(2)]

    @staticmethod
    def _start(cmd, log: pathlib.Path, env) -> subprocess.Popen:
        return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=open(log, "wb"),
                                start_new_session=True)

    def wait_ready(self) -> None:
        from distributed import Client

        with Client(self.address, timeout=f"{START_TIMEOUT}s", set_as_default=False) as client:
            client.wait_for_workers(2, timeout=START_TIMEOUT)

    def stop(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


class _KillADaskWorkerMidStudent(threading.Thread):
    """Kills (SIGKILL) the first Dask worker whose grading worker has a kernel: in the middle of a student."""

    def __init__(self, workers: list[subprocess.Popen]):
        super().__init__(daemon=True)
        self.workers = {w.pid for w in workers}
        self.killed: int | None = None
        self.orphan: int | None = None  # the killed worker's grading worker, which must end with it
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            procs = _processes()
            grading = {pid: ppid for pid, (ppid, cmd) in procs.items()
                       if ppid in self.workers and b"rnn_helpers.grader.grade_worker" in cmd}
            for pid, dask_worker in grading.items():
                if any(ppid == pid and b"ipykernel" in cmd for ppid, cmd in procs.values()):
                    os.kill(dask_worker, signal.SIGKILL)
                    self.killed, self.orphan = dask_worker, pid
                    return
            time.sleep(0.05)


@pytest.fixture(scope="module")
def cluster_run(tmp_path_factory):
    try:
        import distributed  # noqa: F401
    except ImportError:
        pytest.skip("Dask's distributed package is not installed (requirements.txt pins it)")
    if not DASK.exists():
        pytest.skip(f"no dask command beside this interpreter ({DASK})")
    if str(FIXTURES) not in sys.path:
        sys.path.insert(0, str(FIXTURES))
    root = tmp_path_factory.mktemp("dask")
    _class(root)
    cluster = _Cluster(root)
    try:
        try:
            cluster.wait_ready()
        except Exception as exc:
            pytest.skip(f"the local Dask cluster could not be started: {type(exc).__name__}: {exc}")
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("PYTHONPATH", str(FIXTURES))
            local = _grade(root, "out_local")
            killer = _KillADaskWorkerMidStudent(cluster.workers)
            killer.start()
            try:
                run = _grade(root, "out_dask", scheduler=cluster.address)
            finally:
                killer.stop.set()
                killer.join()
        yield {"root": root, "local": local, "run": run, "killed": killer.killed, "orphan": killer.orphan,
               "cluster": cluster}
    finally:
        cluster.stop()


def test_the_cluster_grades_as_a_local_run_though_a_worker_died(cluster_run):
    root = cluster_run["root"]
    assert cluster_run["killed"] is not None, "no Dask worker was seen grading a student"
    assert cluster_run["cluster"].workers[0].poll() is not None or cluster_run["cluster"].workers[1].poll() is not None
    run = cluster_run["run"]
    assert (run.graded, run.kept) == (8, 0)
    assert not any("grading failed" in r for s in run.students for r in s.reasons())
    local, dask = _files(root / "out_local"), _files(root / "out_dask")
    assert sorted(local) == sorted(dask)
    for name in local:
        assert local[name] == dask[name], name
    scores = {s.student_id: s.score for s in run.students}
    assert scores["right"] == 6.0 and 0 < scores["half"] < 6.0 and scores["blank"] == 0.0


def test_the_killed_workers_grading_worker_ended_with_it(cluster_run):
    orphan = cluster_run["orphan"]
    assert orphan is not None
    deadline = time.monotonic() + 10
    while pathlib.Path(f"/proc/{orphan}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not pathlib.Path(f"/proc/{orphan}").exists(), "the grading worker outlived its Dask worker"


def test_an_unreachable_scheduler_is_a_wrong_invocation_before_anything_is_written(tmp_path, cluster_run):
    from rnn_helpers.grader.submissions import InvocationError

    root = cluster_run["root"]
    with pytest.raises(InvocationError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:"):
        _grade(root, "out_nowhere", scheduler=f"tcp://127.0.0.1:{_free_port()}")
    assert not (root / "out_nowhere").exists()


def test_the_command_exits_2_for_an_unreachable_scheduler(tmp_path):
    (tmp_path / "subs").mkdir()
    done = subprocess.run([sys.executable, "-m", "rnn_helpers.grader.cli", "grade", "01_motivation",
                           str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "--unsafe",
                           "--scheduler", f"tcp://127.0.0.1:{_free_port()}"],
                          capture_output=True, text=True, timeout=120, cwd=pathlib.Path(__file__).parents[1])
    assert done.returncode == 2, done.stderr[-2000:]
    assert "cannot reach the Dask scheduler" in done.stderr
    assert not (tmp_path / "out").exists()
