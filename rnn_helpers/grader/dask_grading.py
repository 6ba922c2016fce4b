"""``--scheduler ADDRESS``: grade on a Dask distributed cluster, when one machine is not enough.

The coordinating process (``rnn-course grade`` on the instructor's machine) connects to the cluster's scheduler
(:func:`connect`; an unreachable scheduler is a wrong invocation, said before anything is written), and hands
each student to it as one Dask task (:func:`grade_on_worker`). On the Dask worker, the task gives the student to
a grading worker process local to that worker (:class:`~.grade_worker.WorkerProcess`, one per worker thread:
Dask runs tasks in threads, and a grading worker grades one student at a time), which grades it in its own
sandbox and answers the result. The coordinator keeps the gradebook and writes everything, as with ``--jobs``.

What a task carries: the run's setup (:func:`~.grade_worker.setup_message`: the assignment's source notebooks'
bytes, the checks provider's name, the sandbox's limits, the case key, the coordinator's fingerprint) and the
student's submitted notebooks' bytes; nothing is read from a shared file system. A grading worker whose
installed ``rnn_helpers`` or checks differ from the coordinator's refuses (it would grade differently), and so
does one that cannot sandbox: the run stops with that reason (:class:`~.submissions.InvocationError`), keeping
what was graded (``OUT/.results``).

A Dask worker that dies mid-student loses nothing: the scheduler gives the task to another worker, which grades
that student again (after Dask's ``allowed-failures``, the student gets "grading failed: ...", not stored, and
the next run grades it). A grading worker that dies while its Dask worker lives is replaced once for that
student, as in :mod:`.worker_pool`. At the end of the run the coordinator ends every grading worker it started
on the cluster (:func:`close_grading_workers`).
"""
from __future__ import annotations

import threading
from typing import Iterable, Iterator

from .grade_worker import WorkerDied, WorkerProcess, WorkerRefused, job_message
from .submissions import InvocationError

CONNECT_TIMEOUT = "10s"
QUEUED_PER_THREAD = 2  # students handed to the scheduler per worker thread, so none waits; the rest wait here

# on a Dask worker: the grading worker process of each of its threads, with the setup it was made for, and each
# thread's slot (0, 1, ... in the order they first grade: grade_worker.slot_limits gives each its own sandbox uid)
_workers: dict[int, tuple[str, WorkerProcess]] = {}
_slots: dict[int, int] = {}
_workers_lock = threading.Lock()


def connect(address: str) -> "Cluster":
    """The cluster of the scheduler at ``address``; :class:`InvocationError` when it cannot be reached."""
    try:
        from distributed import Client
    except ImportError:
        raise InvocationError("--scheduler needs Dask's distributed package (pip install -r requirements.txt)") \
            from None
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except Exception as exc:  # refused, timed out, a malformed address: all mean "not that scheduler"
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise InvocationError(f"cannot reach the Dask scheduler at {address}: {detail}") from None
    return Cluster(client)


class Cluster:
    """A connection to a Dask scheduler, for one grading run."""

    def __init__(self, client):
        self.client = client

    def runner(self, setup: dict) -> "DaskRunner":
        return DaskRunner(self.client, setup)

    def close(self) -> None:
        try:
            self.client.run(close_grading_workers)
        except Exception:  # a cluster gone by now has no grading worker left either
            pass
        self.client.close()


class DaskRunner:
    """Grades students as Dask tasks; :meth:`run` yields the events :mod:`.worker_pool` yields."""

    def __init__(self, client, setup: dict):
        self.client, self.setup = client, setup
        self._waiting: dict[str, tuple] = {}  # task key -> (result key, sub, future): with the scheduler now

    def run(self, todo: Iterable[tuple[str, object]]) -> Iterator[tuple]:
        """Hand the first students to the scheduler now (the workers set up while the caller does its own), and
        return the events, each later student submitted as an earlier one is done."""
        from distributed import as_completed

        todo = iter(todo)
        done = as_completed(loop=self.client.loop)
        started = []
        for _ in range(self._queue_length()):
            event = self._submit(todo, self._waiting, done)
            if event is None:
                break
            started.append(event)
        return self._events(started, todo, done)

    def _events(self, started: list, todo, done) -> Iterator[tuple]:
        yield from started
        for future in done:
            key, sub, _ = self._waiting.pop(future.key)
            reply = _reply(future)
            future.release()
            yield ("done", key, sub, reply)
            event = self._submit(todo, self._waiting, done)
            if event is not None:
                yield event

    def close(self) -> None:
        """Cancel the students still with the scheduler (a run that stopped early)."""
        futures = [future for _, _, future in self._waiting.values()]
        self._waiting.clear()
        if futures:
            try:
                self.client.cancel(futures)
            except Exception:  # a scheduler gone by now holds nothing of ours either
                pass

    def _submit(self, todo, waiting: dict, done) -> tuple | None:
        item = next(todo, None)
        if item is None:
            return None
        key, sub = item
        future = self.client.submit(grade_on_worker, self.setup, job_message(sub), pure=False,
                                    key=f"grade-{sub.student_id}-{key[:16]}")
        waiting[future.key] = (key, sub, future)
        done.add(future)
        return ("start", key, sub)

    def _queue_length(self) -> int:
        try:
            threads = sum(w.get("nthreads", 1) for w in self.client.scheduler_info()["workers"].values())
        except Exception:
            threads = 1
        return max(2, QUEUED_PER_THREAD * threads)


def _reply(future) -> dict:
    """A task's answer: the worker's reply, or a failure of the grader (not stored: graded again next run)."""
    try:
        return future.result()
    except WorkerRefused as exc:
        raise InvocationError(f"a Dask worker refused to grade: {exc}") from None
    except Exception as exc:  # KilledWorker (its workers kept dying), a lost task: this student only
        return {"failed": f"on the Dask cluster: {type(exc).__name__}: {str(exc)[:200]}"}


# ----------------------------------------------------------------------------- on the Dask worker


def grade_on_worker(setup: dict, job: dict) -> dict:
    """The Dask task: grade one student (``job``) in this worker thread's grading worker process."""
    died = ""
    for _ in range(2):  # a grading worker that dies is replaced once, as in worker_pool
        worker = _thread_worker(setup)
        try:
            return worker.grade(job)
        except WorkerDied as exc:
            died = str(exc)
            _drop_thread_worker()
    return {"failed": f"{died} while grading this student"}


def _thread_worker(setup: dict) -> WorkerProcess:
    """This thread's grading worker for ``setup`` (started, or restarted for another run's setup)."""
    run = setup["fingerprint"] + "\0" + setup["checks_provider"]
    me = threading.get_ident()
    with _workers_lock:
        current = _workers.get(me)
    if current is not None and current[0] == run:
        return current[1]
    _drop_thread_worker()
    with _workers_lock:
        slot = _slots.setdefault(me, len(_slots))
    worker = WorkerProcess(setup, slot)  # raises WorkerRefused: the task fails with the reason
    with _workers_lock:
        _workers[me] = (run, worker)
    return worker


def _drop_thread_worker() -> None:
    with _workers_lock:
        current = _workers.pop(threading.get_ident(), None)
    if current is not None:
        current[1].close()


def close_grading_workers() -> int:
    """End every grading worker of this Dask worker (run on each by the coordinator at the end of its run)."""
    with _workers_lock:
        workers = [w for _, w in _workers.values()]
        _workers.clear()
    for worker in workers:
        worker.close()
    return len(workers)
