"""A grading worker: a long-lived process that grades whole students, one at a time, for a coordinator.

``rnn-course grade --jobs N`` (:mod:`.worker_pool`) and ``--scheduler`` (:mod:`.dask_grading`) grade with these.
The coordinating process keeps the run's gradebook, the results store and every output; a worker only grades::

    python -m rnn_helpers.grader.grade_worker      # started by WorkerProcess (or before, by prestart),
                                                    # talks on stdin/stdout

The conversation is framed JSON (:func:`send`, :func:`receive`: an 8-byte length, then UTF-8 JSON):

1. the coordinator sends the *setup* (:func:`setup_message`): the assignment, its source notebooks' bytes, the
   checks provider by name, how kernels run (sandboxed or not, the :class:`~.sandbox.Limits`), the secret's case
   key, the coordinator's :func:`~.results_store.run_fingerprint`, the worker's slot (its kernels' own
   sandbox uid, :func:`slot_limits`) and, from ``--jobs``, the socket of the coordinator's warm parent, which the
   worker's kernels are forked from (:func:`~.warm_kernels.adopt`). The worker builds its own private nbgrader
   course from those notebooks and its plan once, recomputes the fingerprint from what *it* has installed, and
   answers ``{"ready": true}``, or ``{"refused": why}`` when its ``rnn_helpers`` or checks differ (it would grade
   differently) or when it cannot sandbox as asked (it never grades with less protection);
2. then one *job* per student (:func:`job_message`: the id, the submitted notebooks' bytes, what the collection
   found wrong), each answered by the result in the results store's JSON form (:func:`~.results_store.
   notebooks_to_json`) and whether the grader itself failed, or ``{"failed": why}``. From ``--jobs``, the
   first job a worker gets once the coordinator has it also carries what the coordinator computed once for the
   run (``"computed"``: the references' and the catalogued mistakes' outputs, ``pipeline._computed_once``), which
   the worker then does not compute.

The worker ends when its stdin closes: after the last job, and at once when the coordinator dies (``kill -9``,
Ctrl-C) even in the middle of a student. A thread watches stdin for that: the kernels' sandbox launchers are
bound to the process that started them (the worker, ``RNN_COURSE_GRADER_PID``), so they end with it. Nothing
but the protocol is written to the protocol's stream: whatever else would go to stdout goes to stderr.
"""
from __future__ import annotations

import atexit
import base64
import dataclasses
import hashlib
import importlib
import json
import os
import pathlib
import queue
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
from typing import BinaryIO

HEADER = struct.Struct(">Q")
MAX_MESSAGE = 1 << 31  # a frame longer than this is a broken stream, not a message


class WorkerDied(RuntimeError):
    """The worker process ended (killed, crashed) before it answered."""


class WorkerRefused(RuntimeError):
    """The worker will not grade this run (its course differs, or it cannot sandbox): the reason is the message."""


# ----------------------------------------------------------------------------- framing


def send(stream: BinaryIO, message: dict) -> None:
    data = json.dumps(message).encode("utf-8")
    stream.write(HEADER.pack(len(data)) + data)
    stream.flush()


def receive(stream: BinaryIO) -> dict | None:
    """The next message, or ``None`` at the end of the stream (also when it ends inside a frame)."""
    head = _read_exactly(stream, HEADER.size)
    if head is None:
        return None
    (size,) = HEADER.unpack(head)
    if size > MAX_MESSAGE:
        raise ValueError(f"a grading worker's message of {size} bytes: the stream is broken")
    data = _read_exactly(stream, size)
    return None if data is None else json.loads(data.decode("utf-8"))


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# ----------------------------------------------------------------------------- what the coordinator sends


def setup_message(assignment: str, source_notebooks: list[pathlib.Path], checks_provider: str, *, sandboxed: bool,
                  limits, case_key: bytes | None, fingerprint: bytes) -> dict:
    """Everything a worker needs to grade this run, and what it must agree with (the fingerprint)."""
    from .results_store import package_sources

    return {"assignment": assignment,
            "sources": {p.name: _b64(p.read_bytes()) for p in source_notebooks},
            "checks_provider": checks_provider, "sandboxed": bool(sandboxed),
            "limits": dataclasses.asdict(limits), "case_key": (case_key or b"").hex(),
            "fingerprint": fingerprint.hex(), "package": _digests(package_sources())}


def job_message(sub) -> dict:
    """One student to grade (a :class:`~.submissions.StudentSubmission`): the notebooks travel as bytes."""
    return {"student_id": sub.student_id, "folder": sub.folder,
            "notebooks": {name: _b64(pathlib.Path(path).read_bytes()) for name, path in sub.notebooks.items()},
            "problems": dict(sub.problems), "notes": list(sub.notes)}


def checks_provider_name(provider) -> str:
    """``"module:attribute"`` under which a worker imports ``provider`` (the function the run's checks come from):
    the module it was defined in first, then every loaded module (a provider made by a factory elsewhere)."""
    from .submissions import InvocationError

    first = getattr(provider, "__module__", None)
    names = ([first] if first else []) + sorted(n for n in list(sys.modules) if n != first)
    for name in names:
        module = sys.modules.get(name)
        if name == "__main__" or module is None:
            continue
        for attr, value in list(vars(module).items()):
            if value is provider:
                return f"{name}:{attr}"
    raise InvocationError(f"the checks provider {provider!r} cannot be imported by name, which grading "
                          "workers need: make it a module's attribute, or grade with --jobs 1")


def _digests(files: dict[str, pathlib.Path]) -> dict[str, str]:
    return {rel: hashlib.sha256(p.read_bytes()).hexdigest() for rel, p in files.items()}


# ----------------------------------------------------------------------------- the coordinator's handle


class WorkerProcess:
    """One worker process, set up for one run: :meth:`grade` a job at a time, :meth:`close` at the end.

    ``slot`` numbers the workers that grade side by side on one machine (0, 1, ...): the worker's kernels run as
    the sandbox's uid plus ``slot`` (:func:`slot_limits`)."""

    def __init__(self, setup: dict, slot: int = 0):
        self.has_computed = False  # whether a job gave it what the coordinator computed (WorkerPool.share_computed)
        env = _worker_env()
        self.proc = _take_spare(env) or _spawn(env)
        reply = self._ask(dict(setup, slot=int(slot)))
        if "refused" in reply:
            self.close()
            raise WorkerRefused(str(reply["refused"]))

    @property
    def pid(self) -> int:
        return self.proc.pid

    def grade(self, job: dict) -> dict:
        """The worker's answer to ``job``; :class:`WorkerDied` if it ends first."""
        return self._ask(job)

    def _ask(self, message: dict) -> dict:
        try:
            send(self.proc.stdin, message)
            reply = receive(self.proc.stdout)
        except (BrokenPipeError, ConnectionError, ValueError):
            reply = None
        if reply is None:
            code = self.proc.wait()
            raise WorkerDied(f"the grading worker (pid {self.proc.pid}) ended with exit status {code}")
        return reply

    def close(self) -> None:
        """End the worker (its stdin closes; killed if it does not end within a few seconds)."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


def _spawn(env: dict) -> subprocess.Popen:
    # a session of its own: Ctrl-C on the terminal reaches the coordinator only, which then closes every
    # worker's stdin; -I: nothing in the working directory may shadow a module of the grader
    return subprocess.Popen([sys.executable, "-I", "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            start_new_session=True, env=env)


_spares: list[tuple[subprocess.Popen, dict]] = []  # prestart()'s processes, not yet taken, with their environment
_spares_lock = threading.Lock()


def prestart(count: int) -> None:
    """Start ``count`` worker processes now, for the :class:`WorkerProcess` of this run to take: ``rnn-course grade
    --jobs N`` calls it first, so that the workers' imports (nbgrader, the pipeline: seconds of CPU) run on the
    cores that are idle while this process imports the same, rather than after, beside the run's own set-up. A
    worker started here has been given nothing: it waits for its setup (:func:`serve`) and ends when its stdin
    closes. Those not taken are killed at the end of the command (:func:`end_spares`, also at exit)."""
    env = _worker_env()
    with _spares_lock:
        while len(_spares) < count:
            _spares.append((_spawn(env), env))
    atexit.unregister(end_spares)  # registered once, however often this is called
    atexit.register(end_spares)


def _take_spare(env: dict) -> subprocess.Popen | None:
    """A prestarted worker that is still alive and was started with ``env`` (else ``None``: a fresh one starts)."""
    with _spares_lock:
        while _spares:
            proc, its_env = _spares.pop(0)
            if proc.poll() is None and its_env == env:
                return proc
            _end(proc)
    return None


def end_spares() -> None:
    """Kill the prestarted workers no :class:`WorkerProcess` took (they hold nothing: no setup, no student)."""
    with _spares_lock:
        spares = [proc for proc, _ in _spares]
        _spares.clear()
    for proc in spares:
        _end(proc)


def _end(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait()
    for stream in (proc.stdin, proc.stdout):
        stream.close()


def slot_limits(limits, slot: int):
    """The sandbox limits of the worker in ``slot``: its own uid and gid (the sandbox's plus ``slot``).

    RLIMIT_NPROC counts every process and thread of a *uid*, not of one sandbox: kernels graded side by side under
    one uid would share its ``max_processes``, and a notebook that starts threads (torch, BLAS) would make another
    student's kernel fail to start. With a uid per slot each notebook has the whole limit, as with ``--jobs 1``."""
    if slot == 0:
        return limits
    return dataclasses.replace(limits, uid=limits.uid + slot, gid=limits.gid + slot)


def _worker_env() -> dict:
    """The coordinator's environment, with ``-I``'s lost ``PYTHONPATH`` passed on by name (a test's checks
    module, an instructor's own checks)."""
    env = dict(os.environ)
    if env.get("PYTHONPATH"):
        env["RNN_COURSE_WORKER_PATH"] = env["PYTHONPATH"]
    return env


# ----------------------------------------------------------------------------- the worker's side


class _Grading:
    """The worker's private course and plan for one run (built once, from the setup)."""

    def __init__(self, setup: dict, work: pathlib.Path):
        from . import gradebook, results_store
        from .pipeline import _plan, _quiet_logs, required_module, sandbox_status, source_scanner
        from .reference_cache import ReferenceCache
        from .sandbox import Limits
        from .verify_records import FailureExplainer

        self.assignment = setup["assignment"]
        self.case_key = bytes.fromhex(setup["case_key"]) or None
        self.work = work
        sources = self._write_sources(setup)
        provider = _import_provider(setup["checks_provider"])
        limits = Limits(**setup["limits"])
        sandboxed = bool(setup["sandboxed"])
        mine = results_store.run_fingerprint(sources, results_store.checks_sources(provider(self.assignment)),
                                             self.case_key, sandboxed=sandboxed, limits=limits)
        if mine.hex() != setup["fingerprint"]:
            raise WorkerRefused(_difference(setup["package"], _digests(results_store.package_sources())))
        scanner = source_scanner()
        sandbox_config = None
        if sandboxed:
            ok, reason = sandbox_status()
            if not ok:
                raise WorkerRefused(f"this worker cannot sandbox the students' code: {reason}")
            sandbox_kernel = required_module("rnn_helpers.grader.sandbox_kernel", "the grading sandbox")
            sandbox_config = sandbox_kernel.executor_config(slot_limits(limits, int(setup.get("slot", 0))),
                                                            work / "sandbox", warm_parent=setup.get("warm_parent"))
        _quiet_logs()
        self.course = gradebook.create_course(work / "course", work, self.assignment, None)
        key = f"{self.assignment}:{self.case_key.hex()}" if self.case_key else ""
        self.plan = _plan(self.course, ReferenceCache(provider), scanner, limits, sandbox_config,
                          FailureExplainer(work / "solutions"), key)

    def _write_sources(self, setup: dict) -> list[pathlib.Path]:
        folder = self.work / "solutions" / self.assignment
        folder.mkdir(parents=True)
        paths = []
        for name, data in sorted(setup["sources"].items()):
            if pathlib.PurePath(name).name != name or not name.endswith(".ipynb"):
                raise WorkerRefused(f"not a source notebook's name: {name!r}")
            (folder / name).write_bytes(base64.b64decode(data))
            paths.append(folder / name)
        return paths

    def grade(self, job: dict) -> dict:
        from rnn_helpers.checks.seeds import using_case_key

        from . import gradebook
        from .pipeline import _grade_student
        from .results_store import notebooks_to_json

        sub = self._submission(job)
        try:
            if "computed" in job:  # the coordinator's references and mistakes' outputs: none to compute here
                self.plan.load_computed(base64.b64decode(job["computed"]))
            gradebook.add_students(self.course, [sub.student_id])
            with using_case_key(self.assignment, self.case_key):
                result, failed = _grade_student(self.course, sub, self.plan)
            return {"notebooks": notebooks_to_json(result.notebooks), "grader_failed": failed}
        except Exception as exc:  # the grader's own failure on this student: said, and the worker goes on
            return {"failed": f"{type(exc).__name__}: {str(exc)[:300]}"}
        finally:
            self._forget(sub.student_id)

    def _submission(self, job: dict):
        from .submissions import StudentSubmission

        folder = self.work / "jobs" / job["student_id"]
        folder.mkdir(parents=True, exist_ok=True)
        notebooks = {}
        for name, data in job["notebooks"].items():
            path = folder / f"{len(notebooks)}.ipynb"  # the notebook's name may be anything the export held
            path.write_bytes(base64.b64decode(data))
            notebooks[name] = path
        return StudentSubmission(job["student_id"], job.get("folder", ""), notebooks, dict(job.get("problems", {})),
                                 list(job.get("notes", [])))

    def _forget(self, student: str) -> None:
        """Drop one student's files (the job's copy, nbgrader's submitted and autograded folders): a worker's
        disk holds one student at a time, however many it grades."""
        for folder in (self.work / "jobs", self.course.submitted, self.course.autograded):
            shutil.rmtree(folder / student, ignore_errors=True)


def _import_provider(name: str):
    module, _, attr = name.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise WorkerRefused(f"this worker cannot import the checks provider {name} ({exc})") from None


def _difference(theirs: dict[str, str], mine: dict[str, str]) -> str:
    """Why a worker refuses a run whose fingerprint it does not share, naming the files that differ."""
    differ = sorted(rel for rel in set(theirs) | set(mine) if theirs.get(rel) != mine.get(rel))
    if differ:
        shown = ", ".join(differ[:5]) + (f" and {len(differ) - 5} more" if len(differ) > 5 else "")
        return ("this worker's rnn_helpers differs from the coordinator's (" + shown + "): install the same "
                "version of the course on every worker")
    return ("this worker's checks differ from the coordinator's (the assignment's checks modules, the sandbox "
            "or its limits): install the same version of the course on every worker")


def _protocol_streams() -> tuple[BinaryIO, BinaryIO]:
    """The protocol's own copies of stdin and stdout; fd 1 then points at stderr (whatever the grading prints)
    and fd 0 at /dev/null, so that no kernel inherits either pipe."""
    inp = os.fdopen(os.dup(0), "rb", buffering=0)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.stdout = sys.stderr
    return inp, out


def _read_messages(inp: BinaryIO, inbox: "queue.Queue", work: pathlib.Path) -> None:
    """The stdin thread: every message into ``inbox``; at the end of stdin (the coordinator is done, or dead)
    the worker ends at once, its kernels with it."""
    try:
        while (message := receive(inp)) is not None:
            inbox.put(message)
    except Exception:  # a broken stream: the coordinator is gone either way
        pass
    shutil.rmtree(work, ignore_errors=True)
    os._exit(0)


def _import_what_grading_needs() -> None:
    """What :class:`_Grading` and its first student import (and read: nbgrader's gradebook migrations), none of
    it the run's: a prestarted worker does it while it waits for its setup."""
    from . import gradebook, reference_cache, results_store, sandbox_kernel, source_check, verify_records  # noqa: F401

    gradebook.alembic_head()


def serve(inp: BinaryIO, out: BinaryIO) -> None:
    """Set up from the first message, then answer each job until stdin ends."""
    from .pipeline import WORK_PREFIX, remove_dead_runs_folders

    remove_dead_runs_folders()
    work = pathlib.Path(tempfile.mkdtemp(prefix=f"{WORK_PREFIX}{os.getpid()}-"))  # see remove_dead_runs_folders
    os.chmod(work, 0o700)
    inbox: queue.Queue = queue.Queue()
    threading.Thread(target=_read_messages, args=(inp, inbox, work), daemon=True).start()
    if inbox.empty():  # prestarted (prestart): the coordinator is still importing, and so can we meanwhile
        _import_what_grading_needs()
    try:
        grading = _Grading(inbox.get(), work)
    except WorkerRefused as exc:
        send(out, {"refused": str(exc)})
        return
    except Exception as exc:  # the same course cannot be set up here: refuse rather than grade differently
        send(out, {"refused": f"this worker cannot set up the course: {type(exc).__name__}: {str(exc)[:300]}"})
        return
    send(out, {"ready": True})
    while True:
        send(out, grading.grade(inbox.get()))


def main() -> int:
    from .startup import skip_slow_optional_imports

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the coordinator handles Ctrl-C and closes our stdin
    skip_slow_optional_imports()
    extra = os.environ.get("RNN_COURSE_WORKER_PATH", "")
    sys.path[:0] = [p for p in extra.split(os.pathsep) if p]
    inp, out = _protocol_streams()
    serve(inp, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
