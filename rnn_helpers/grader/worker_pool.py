"""``--jobs N``: N students graded at once on this machine: by the coordinating process itself and by ``N - 1``
grading workers (:mod:`.grade_worker`), each grading whole students in its own sandbox, while the coordinating
process keeps the gradebook, the results store and every output.

:meth:`WorkerPool.run` hands each student to the next free worker and yields what happens, in the order it
happens, to the coordinator's (single) thread: ``("start", key, sub)`` when a worker takes a student and
``("done", key, sub, reply)`` with the worker's answer (:mod:`.grade_worker`). The coordinator takes students
from the same queue (:meth:`~WorkerPool.take`) to grade itself, and looks at what the workers answered meanwhile
(:meth:`~WorkerPool.ready`) between two of its own. One thread per worker waits on it; only the coordinator's
thread touches the gradebook and the files.

A worker that dies in the middle of a student (``kill -9``, the out-of-memory killer, a crash: the students'
code runs in a sandboxed kernel, not in the worker) costs only that student, and usually nothing: the student
is given once more to a fresh worker; if that one dies too, the reply is a failure ("grading failed: ..."),
which the coordinator does not store, so that the next run grades that student again. Every other student is
graded. A worker that refuses the run (:class:`~.grade_worker.WorkerRefused`) stops it.
"""
from __future__ import annotations

import base64
import queue
import threading
from typing import Iterable, Iterator

from .grade_worker import WorkerDied, WorkerProcess, WorkerRefused, job_message

ATTEMPTS = 2  # a student whose worker died is given to a fresh worker once


class WorkerPool:
    """``jobs`` worker processes for one run's ``setup`` (:func:`~.grade_worker.setup_message`), in the sandbox
    slots ``first_slot``, ``first_slot + 1``, ... (:func:`~.grade_worker.slot_limits`; ``rnn-course grade
    --jobs N`` grades in slot 0 itself, beside ``N - 1`` workers). With ``computed_coming``, the workers' first
    jobs wait for :meth:`share_computed`."""

    def __init__(self, setup: dict, jobs: int, first_slot: int = 0, computed_coming: bool = False):
        if jobs < 1:
            raise ValueError(f"jobs must be at least 1, got {jobs}")
        self.setup, self.jobs, self.first_slot = setup, jobs, first_slot
        self.workers: list[WorkerProcess] = []  # those alive now (tests kill one)
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._threads: list[threading.Thread] = []
        self._work: queue.Queue = queue.Queue()
        self._events_queue: queue.Queue = queue.Queue()
        self._total = self._taken = self._done = 0
        self._computed: str | None = None  # what the coordinator computed once for the run (share_computed)
        self._computed_known = threading.Event()  # share_computed was called: the workers' first jobs may go
        if not computed_coming:
            self._computed_known.set()

    def run(self, todo: Iterable[tuple[str, object]]) -> Iterator[tuple]:
        """Grade every ``(key, sub)`` of ``todo`` but those the caller takes (:meth:`take`); the workers start now
        (their set-up overlaps whatever the caller does before it reads the events). The iterator yields the
        events (see the module docstring) until every student is done."""
        todo = list(todo)
        for item in todo:
            self._work.put(item)
        self._total = len(todo)
        self._threads = [threading.Thread(target=self._serve, args=(self._work, self._events_queue, slot),
                                          daemon=True)
                         for slot in range(self.first_slot, self.first_slot + min(self.jobs, len(todo)))]
        for t in self._threads:
            t.start()
        return self._events()

    def share_computed(self, data: bytes | None) -> None:
        """What the coordinator computed once for the run (``pipeline._computed_once``: the references, the
        mistakes' outputs): each worker's first job carries it, so that no worker computes its own. The workers
        wait for it (or for ``None``: nothing to share, each computes its own) before their first job, unless
        the pool was made with ``computed_coming=False``."""
        self._computed = None if data is None else base64.b64encode(data).decode("ascii")
        self._computed_known.set()

    def take(self) -> tuple[str, object] | None:
        """The next student no worker has taken yet, for the caller to grade itself; ``None`` when none is left.
        (Called from the thread that reads the events.)"""
        try:
            item = self._work.get_nowait()
        except queue.Empty:
            return None
        self._taken += 1
        return item

    def finished(self) -> bool:
        """Whether every student is done (no worker is grading one, none is left to take)."""
        return self._done + self._taken >= self._total

    def ready(self) -> list[tuple]:
        """The events that have happened since the last look, without waiting."""
        out = []
        while True:
            try:
                out.append(self._counted(self._events_queue.get_nowait()))
            except queue.Empty:
                return out

    def _counted(self, event: tuple) -> tuple:
        if event[0] == "refused":
            self.close()
            raise event[1]
        self._done += event[0] == "done"
        return event

    def _events(self) -> Iterator[tuple]:
        try:
            while not self.finished():
                yield self._counted(self._events_queue.get())
        finally:
            self.close()

    def _serve(self, work: queue.Queue, events: queue.Queue, slot: int) -> None:
        """One worker's thread: take students until there are none left (its workers in ``slot``,
        :func:`~.grade_worker.slot_limits`)."""
        worker = None
        try:
            while not self._closed.is_set():
                try:
                    key, sub = work.get_nowait()
                except queue.Empty:
                    return
                events.put(("start", key, sub))
                reply, worker = self._grade(worker, job_message(sub), slot)
                events.put(("done", key, sub, reply))
        except WorkerRefused as exc:
            events.put(("refused", exc))
        except Exception as exc:  # the thread itself failed: the student would be lost, so say so
            events.put(("refused", WorkerRefused(f"a grading thread failed: {type(exc).__name__}: {exc}")))
        finally:
            if worker is not None:
                self._retire(worker)

    def _grade(self, worker: WorkerProcess | None, job: dict, slot: int) -> tuple[dict, WorkerProcess | None]:
        """The reply to ``job``, from ``worker`` or a fresh one; a worker that dies is replaced."""
        died = ""
        for _ in range(ATTEMPTS):
            if self._closed.is_set():
                break
            if worker is None:
                worker = self._start(slot)
                if worker is None:
                    break
            while not self._computed_known.wait(0.1) and not self._closed.is_set():
                pass  # the coordinator is computing it (share_computed): soon here
            if self._closed.is_set():
                break
            try:
                if self._computed is not None and not worker.has_computed:
                    reply = worker.grade(dict(job, computed=self._computed))
                    worker.has_computed = True
                    return reply, worker
                return worker.grade(job), worker
            except WorkerDied as exc:
                died = str(exc)
                self._retire(worker)
                worker = None
        return {"failed": f"{died or 'the run was stopped'} while grading this student"}, worker

    def _start(self, slot: int) -> WorkerProcess | None:
        """A fresh worker in ``slot``, or ``None`` when the pool was closed while it set up (it is ended)."""
        worker = WorkerProcess(self.setup, slot)
        with self._lock:
            if not self._closed.is_set():
                self.workers.append(worker)
                return worker
        worker.close()
        return None

    def _retire(self, worker: WorkerProcess) -> None:
        with self._lock:
            if worker in self.workers:
                self.workers.remove(worker)
        worker.close()

    def close(self) -> None:
        """End every worker (Ctrl-C, an error, or the last student done), and wait for their threads."""
        self._closed.set()
        with self._lock:
            workers, self.workers = list(self.workers), []
        for worker in workers:
            worker.close()
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(timeout=30)
