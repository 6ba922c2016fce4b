"""Warm sandboxed kernels: a parent that has paid for the imports once forks each student's kernel.

A cold kernel (:mod:`sandbox`) execs a fresh ``python -m ipykernel_launcher``, which then imports IPython,
ipykernel, numpy and torch: most of a notebook's grading time. Here a *warm parent* (the "zygote"), started
once per grading process, has imported them (:data:`WARM_IMPORTS`) and forks every kernel. The sandbox does not
change: the fork unshares the same namespaces, forks the same init (:func:`sandbox.start_namespace`), which
builds the same allow-listed root and enters the same limits, uid and no_new_privs (:func:`sandbox.enter_sandbox`)
with the same clean environment (:func:`sandbox._kernel_env`); only the last step runs the already imported
kernel instead of exec'ing a new interpreter. ::

    grader ── launcher (jupyter_client's kernel process, one per notebook) ··· socket ··· zygote
                                                                                           └─ fork: holder
                                                                       (namespaces) init ─┘
                                                                          kernel ─┘ (sandbox uid, limits)

What the zygote holds, and why a kernel learns nothing from it (each kernel inherits its memory):

- it is a clean interpreter (``-s -S -P``, the kernels' environment without any case key, cwd and HOME a
  root-only folder, ``sys.path`` site-packages and the standard library). It loads this file and
  :mod:`sandbox` (both stdlib-only) by path and never imports ``rnn_helpers``: it refuses to serve if any
  ``rnn_helpers`` module is loaded. Its command line names no path (its arguments come on stdin);
- it never reads a request: it accepts a connection and forks; the *holder* (its child) reads the request. So
  nothing of one notebook (student, paths, case key) ever enters the memory the next kernel inherits;
- it runs no numpy or torch operation and starts no thread: at start it forks once so that OpenBLAS, whose
  pool ``import numpy`` starts, stops its threads (its fork handler), and it refuses to serve unless it is then
  single-threaded. Python's ``random`` reseeds itself in every child.

Lifetime: the holder keeps the launcher's connection. Launcher gone (jupyter_client's kill, the grader's death,
which the launcher watches as in a cold start) -> EOF -> the holder kills the namespace's init, which takes
everything in the namespace with it (the init also dies with the holder: ``PR_SET_PDEATHSIG`` and its pipe).
Kernel ended -> the init's status goes back to the launcher, which exits with it. The launcher forwards
SIGINT/SIGTERM/SIGHUP (jupyter_client interrupts a cell by signalling the launcher's process group) to the
holder's process group, which holds the init, the kernel and what the notebook started, as a cold launcher's
group does. The zygote ends when the process that started it does (it polls its parent) or with
:func:`stop_all` (at exit).

Grader side: :func:`zygote_for` (the running zygote of this process, started on first use); when it cannot be
started, kernels start cold in the same sandbox, and :func:`zygote_for` says so once on stderr. The grade workers
of ``--jobs`` (:mod:`.grade_worker`) run on the coordinator's machine as root too: each adopts the
coordinator's zygote (:func:`adopt`) instead of starting its own (one warm parent's imports per run, not one per worker). Nothing
else changes for them: the zygote serves any root launcher, each request names its own spec (the worker's sandbox
uid), and each kernel is bound to the worker that asked for it. A worker whose adopted zygote is gone starts its own.
"""
from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# what every warm kernel has imported before the notebook runs: what a fresh kernel imports while it starts
# (IPKernelApp and its shell) and what the course's notebooks import; nothing of rnn_helpers
WARM_IMPORTS = ("numpy", "torch", "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell",
                "ipykernel.comm", "ipykernel.debugger", "IPython.core.completer")
ZYGOTE_MODULE = "_rnn_warm_kernels"  # the names this file and sandbox.py have in the zygote (loaded by path)
SANDBOX_MODULE = "_rnn_sandbox"
READY = "ready"
PR_SET_DUMPABLE = 4
REQUEST_MAX = 64 * 1024
READY_TIMEOUT = 180.0  # seconds the first kernel waits for the zygote's imports (a loaded machine is slow)
# the zygote's bootstrap (``python -c``): its arguments come on stdin, so that its command line, which every
# kernel inherits in /proc/self/cmdline, names no path
BOOTSTRAP = ("import importlib.util as u, json, sys; a = json.loads(sys.stdin.readline()); "
             f"s = u.spec_from_file_location({ZYGOTE_MODULE!r}, a['module']); m = u.module_from_spec(s); "
             "sys.modules[s.name] = m; s.loader.exec_module(m); sys.exit(m.serve(a))")


def _sandbox():
    """:mod:`sandbox`: imported normally in the grader and the launcher, loaded by path in the zygote."""
    if __package__:
        from . import sandbox

        return sandbox
    if SANDBOX_MODULE not in sys.modules:
        import importlib.util

        spec = importlib.util.spec_from_file_location(SANDBOX_MODULE, Path(__file__).with_name("sandbox.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[SANDBOX_MODULE] = module  # before exec: its dataclasses look their module up
        spec.loader.exec_module(module)
    return sys.modules[SANDBOX_MODULE]


# --------------------------------------------------------------------------------------------------
# Grader side: one zygote per grading process


class Zygote:
    """A warm parent started by this process for the kernels of ``spec``'s interpreter."""

    def __init__(self, spec: dict):
        sandbox = _sandbox()
        self.owner = os.getpid()
        # root-only (mkdtemp: 0700), named with our pid so that a later run removes it if we die
        # (pipeline.remove_dead_runs_folders); the socket in it is out of every kernel's view
        self.folder = Path(tempfile.mkdtemp(prefix=f"rnnsbx-{self.owner}-zygote-"))
        self.socket = str(self.folder / "s")
        env = sandbox._kernel_env(spec, self.folder)
        env.pop(sandbox.CASE_KEY_ENV, None)
        env["PYTHONPATH"] = os.pathsep.join(spec["site"])
        debug = bool(os.environ.get("RNN_GRADE_DEBUG"))
        self.proc = None
        try:
            self.proc = self._start(spec, env, debug)
        finally:
            if self.proc is None:
                shutil.rmtree(self.folder, ignore_errors=True)
        self._ready: bool | None = None
        self.reason = ""

    def _start(self, spec: dict, env: dict, debug: bool) -> subprocess.Popen:
        proc = subprocess.Popen(
            [spec["python"], "-s", "-S", "-P", "-c", BOOTSTRAP], env=env, cwd=self.folder,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None if debug else subprocess.DEVNULL,
            start_new_session=True)  # a Ctrl-C or a killpg meant for the grader's group is not for it
        args = {"module": str(Path(__file__).resolve()), "socket": self.socket, "parent": self.owner,
                "python": spec["python"], "site": spec["site"], "imports": list(WARM_IMPORTS)}
        proc.stdin.write((json.dumps(args) + "\n").encode())
        proc.stdin.close()
        return proc

    def ready(self, timeout: float = READY_TIMEOUT) -> bool:
        """Whether the zygote finished its imports and checks (waits for it the first time)."""
        if self._ready is None:
            line = _read_line(self.proc.stdout, timeout)
            self._ready = line == READY
            self.reason = "" if self._ready else (line or f"it did not answer within {timeout:g} s")
            if not self._ready:
                self.stop()
        return self._ready and self.alive()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.alive():
            self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


class SharedZygote:
    """Another root process's running zygote (the coordinator's), used by this one (a grade worker of
    ``--jobs``): its kernels are forked there; this process neither starts nor stops it."""

    owner = None  # not ours: stop_all leaves it alone
    _ready = True

    def __init__(self, socket_path: str):
        self.socket = socket_path
        self.reason = ""

    def ready(self, timeout: float = READY_TIMEOUT) -> bool:
        return self.alive()

    def alive(self) -> bool:
        """Whether its socket is still there (its owner removes it when it stops the zygote)."""
        return os.path.exists(self.socket)

    def stop(self) -> None:
        pass


def _read_line(stream, timeout: float) -> str:
    """One line from ``stream`` (a pipe) within ``timeout`` seconds, else ``""``."""
    deadline = time.monotonic() + timeout
    data = b""
    while not data.endswith(b"\n") and (left := deadline - time.monotonic()) > 0:
        if not select.select([stream], [], [], left)[0]:
            break
        chunk = os.read(stream.fileno(), 4096)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").strip()


_ZYGOTES: dict[tuple, "Zygote | SharedZygote"] = {}
_UNAVAILABLE: dict[tuple, str] = {}  # why this process's kernels start cold (said once)


def _key(spec: dict) -> tuple:
    return os.getpid(), spec["python"], tuple(spec["site"])


def prestart(spec: dict) -> None:
    """Start this process's zygote for ``spec`` now, without waiting for it (its imports overlap other work)."""
    key = _key(spec)
    if key not in _ZYGOTES and key not in _UNAVAILABLE:
        try:
            _ZYGOTES[key] = Zygote(spec)
        except OSError as exc:
            _unavailable(key, f"cannot start it ({exc})")
            return
        atexit.register(stop_all)


def warm_parent_socket(spec: dict) -> str | None:
    """The socket of this process's zygote for ``spec``, started now if need be (not waited for), for the grade
    workers of this machine to :func:`adopt`; ``None`` when it cannot be started."""
    prestart(spec)
    zygote = _ZYGOTES.get(_key(spec))
    return None if zygote is None or isinstance(zygote, SharedZygote) else zygote.socket


def adopt(spec: dict, socket_path: str) -> bool:
    """Fork this process's kernels for ``spec`` from the zygote at ``socket_path`` (the coordinator's, whose
    :func:`warm_parent_socket` it is) instead of starting one of our own. Only a root-owned socket in a root-only
    folder is adopted, as :class:`Zygote` makes them; else this process starts its own (said once, on stderr).
    Whether it was adopted."""
    key = _key(spec)
    problem = _not_a_zygote_socket(socket_path)
    if problem:
        print(f"rnn-course grade: not using the warm parent at {socket_path} ({problem}); this worker starts its "
              "own", file=sys.stderr, flush=True)
        prestart(spec)
        return False
    old = _ZYGOTES.get(key)
    if old is not None:
        old.stop()
    _ZYGOTES[key] = SharedZygote(socket_path)
    return True


def _not_a_zygote_socket(socket_path: str) -> str:
    """Why ``socket_path`` is not a socket of :class:`Zygote`'s making (root's, in a root-only folder), or ``""``."""
    import stat

    path = Path(socket_path)
    try:
        sock, folder = path.lstat(), path.parent.lstat()
    except OSError as exc:
        return f"cannot read it: {exc.strerror}"
    if not path.is_absolute() or not stat.S_ISSOCK(sock.st_mode):
        return "not an absolute path to a socket"
    for what, st in (("socket", sock), ("folder", folder)):
        if st.st_uid != 0 or st.st_mode & 0o077:
            return f"its {what} is not root's alone (uid {st.st_uid}, mode {stat.filemode(st.st_mode)})"
    if not stat.S_ISDIR(folder.st_mode):
        return "its folder is not a directory"
    return ""


def zygote_for(spec: dict) -> Zygote | SharedZygote | None:
    """This process's ready zygote for ``spec`` (started if needed), or ``None``: then kernels start cold."""
    key = _key(spec)
    if key in _UNAVAILABLE:
        return None
    zygote = _ZYGOTES.get(key)
    if zygote is not None and zygote._ready and not zygote.alive():  # it died since: start another
        zygote.stop()
        del _ZYGOTES[key]
        zygote = None
    if zygote is None:
        prestart(spec)
        zygote = _ZYGOTES.get(key)
        if zygote is None:
            return None
    if not zygote.ready():
        del _ZYGOTES[key]
        _unavailable(key, zygote.reason)
        return None
    return zygote


def _unavailable(key: tuple, reason: str) -> None:
    _UNAVAILABLE[key] = reason
    print(f"rnn-course grade: warm kernels are not available ({reason}); every kernel starts cold, in the same "
          "sandbox (slower)", file=sys.stderr, flush=True)


def stop_all() -> None:
    """Stop the zygotes this process started (a forked child leaves its parent's alone)."""
    for key, zygote in list(_ZYGOTES.items()):
        if zygote.owner == os.getpid():
            zygote.stop()
            del _ZYGOTES[key]


# --------------------------------------------------------------------------------------------------
# Launcher side: ask the zygote for the kernel, stand for it


def run_in_zygote(socket_path: str, spec_file: str, scratch: Path, conn: Path, extra: list[str], workdir: Path,
                  grader: int, poll: float = 0.2) -> int | None:
    """Have the zygote at ``socket_path`` start the kernel; return its exit status, or ``None`` when the zygote
    did not start it (it is gone, or refused): then the caller starts it cold.

    Our stdin, stdout and stderr go with the request (the kernel's, as a cold kernel's would be). We forward
    the signals jupyter_client sends us, and end the kernel (by closing the connection) when the grader is gone.
    """
    sandbox = _sandbox()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)  # until the kernel is there to get them (as a cold launcher ignores them)
    request = {"spec_file": str(spec_file), "scratch": str(scratch), "conn": str(conn), "extra": list(extra),
               "workdir": str(workdir), "case_key": os.environ.get(sandbox.CASE_KEY_ENV, "")}
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        sock.connect(socket_path)
        socket.send_fds(sock, [json.dumps(request).encode()], [0, 1, 2])
        first = _next_message(sock, grader, poll)
    except OSError:
        sock.close()
        return None
    if first != b"started":
        sock.close()
        # the grader is gone: start nothing; else the zygote refused, or its holder died before starting anything
        return -signal.SIGKILL if first is None else None
    forward = lambda sig, _frame: _send_quietly(sock, f"signal {sig}".encode())  # noqa: E731
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, forward)
    message = _next_message(sock, grader, poll)
    sock.close()  # the holder kills the init if it has not ended: nothing of the kernel outlives us
    if message is not None and message.startswith(b"exit "):
        return int(message.split()[1])
    return 1 if message is not None else -signal.SIGKILL


def _next_message(sock: socket.socket, grader: int, poll: float) -> bytes | None:
    """The holder's next message (``b""``: it is gone); ``None`` when the grader died first."""
    while True:
        if select.select([sock], [], [], poll)[0]:
            return sock.recv(4096)
        if os.getppid() != grader:
            return None


def _send_quietly(sock: socket.socket, data: bytes) -> None:
    try:
        sock.send(data)
    except OSError:  # the holder is gone: so is the kernel
        pass


# --------------------------------------------------------------------------------------------------
# Zygote side (runs as root, in the clean interpreter started by Zygote)


def serve(args: dict) -> int:
    """The zygote: bind the socket, import, check, say ready, then fork a holder per connection."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(args["socket"])
    os.chmod(args["socket"], 0o600)
    listener.listen(64)
    _quiet_stdin()
    before = dict(os.environ)
    problem = _warm_up(args)
    # what the imports set in the environment (ipykernel's debugger sets PYDEVD_USE_FRAME_EVAL): a cold kernel
    # gets it from the same imports, after its clean environment
    args["import_env"] = {k: v for k, v in os.environ.items() if before.get(k) != v}
    print(problem or READY, flush=True)
    if problem:
        return 1
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # the ready pipe is closed: the grader reads nothing more from us
    os.close(devnull)
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    _accept_forever(listener, args)
    return 0


def _quiet_stdin() -> None:
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)


def _warm_up(args: dict) -> str:
    """Import :data:`WARM_IMPORTS` (as the grader gave them) and check what the zygote holds; the reason it
    must not serve, or ``""``."""
    import importlib

    try:
        for name in args["imports"]:
            importlib.import_module(name)
    except Exception as exc:  # noqa: BLE001 - no warm kernels, then; kernels start cold
        return f"importing {name} failed: {type(exc).__name__}: {exc}"
    leaked = sorted(m for m in sys.modules if m == "rnn_helpers" or m.startswith("rnn_helpers."))
    if leaked:
        return f"the warm parent imported {', '.join(leaked[:3])}, which no kernel may inherit"
    if sys.executable != args["python"]:
        return f"the warm parent runs {sys.executable}, not the kernels' {args['python']}"
    # OpenBLAS starts a thread pool at import and stops it when the process forks (its fork handler); once
    # stopped, it starts again only on a BLAS call, which the zygote never makes. A zygote with another thread
    # would fork kernels with its locks possibly held: refuse.
    child = os.fork()
    if child == 0:
        os._exit(0)
    os.waitpid(child, 0)
    threads = os.listdir("/proc/self/task")
    if len(threads) != 1:
        names = sorted(Path(f"/proc/self/task/{t}/comm").read_text().strip() for t in threads)
        return f"the warm parent is not single-threaded after its imports ({len(threads)} threads: {names})"
    return ""


def _accept_forever(listener: socket.socket, args: dict) -> None:
    """Fork a holder per connection, reap them, end when our parent (the grader) is gone."""
    while os.getppid() == args["parent"]:
        if select.select([listener], [], [], 0.5)[0]:
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            if os.fork() == 0:
                _hold(conn, listener, args)  # never returns
            conn.close()  # not read here: nothing of a request enters the memory the next kernels inherit
        _reap()


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _hold(conn: socket.socket, listener: socket.socket, args: dict) -> None:
    """The holder (a child of the zygote): read the request, start the namespaces with a warm kernel, then
    stand for them towards the launcher until the kernel ends or the launcher goes. Never returns."""
    code = 1
    started = False
    try:
        listener.close()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # forwarded to our group, which we are in; the kernel resets them
        os.setpgid(0, 0)  # the group that forwarded signals reach: us, the init, the kernel and its children
        request = _read_request(conn)
        sandbox = _sandbox()
        spec = json.loads(Path(request["spec_file"]).read_text())
        sandbox.spec_limits(spec)  # validated again, as a cold launcher does
        _check_interpreter(spec, args)
        if request["case_key"]:
            os.environ[sandbox.CASE_KEY_ENV] = request["case_key"]  # read by sandbox._kernel_env
        init, _alive = sandbox.start_namespace(spec, Path(request["workdir"]), Path(request["scratch"]),
                                               Path(request["conn"]), request["extra"], _become_kernel(args))
        started = True
        conn.send(b"started")
        code = _stand_for(init, conn)
    except BaseException as exc:  # noqa: BLE001 - the launcher starts the kernel cold or reports it dead
        _send_quietly(conn, (b"exit 1" if started else b"refused: " + str(exc)[:500].encode()))
    finally:
        os._exit(code)


def _read_request(conn: socket.socket) -> dict:
    """The launcher's request, from root only; its stdin/stdout/stderr become ours (and the kernel's)."""
    uid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[1]
    if uid != 0:
        raise PermissionError(f"a request from uid {uid}: only the grader's launcher (root) may ask")
    data, fds, _flags, _addr = socket.recv_fds(conn, REQUEST_MAX, 3)
    if len(fds) != 3:
        raise ValueError("a request without the launcher's stdin, stdout and stderr")
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    keep = conn.fileno()
    os.closerange(3, keep)  # nothing the zygote had open reaches the kernel (its imports open nothing: tested)
    os.closerange(keep + 1, 65536)
    return json.loads(data)


def _check_interpreter(spec: dict, args: dict) -> None:
    """A spec for another interpreter or other site-packages than ours is refused (then the kernel starts cold)."""
    if spec["python"] != args["python"] or spec["pythonpath"][-len(args["site"]):] != args["site"]:
        raise ValueError("the spec is for another interpreter or other site-packages than the warm parent's")


def _stand_for(init: int, conn: socket.socket) -> int:
    """Until the init ends: forward the launcher's signals to our group; launcher gone -> kill the init."""
    while True:
        pid, status = os.waitpid(init, os.WNOHANG)
        if pid == init:
            code = os.waitstatus_to_exitcode(status)
            _send_quietly(conn, f"exit {code}".encode())
            return 0
        if not select.select([conn], [], [], 0.05)[0]:
            continue
        try:
            message = conn.recv(64)
        except OSError:
            message = b""
        if not message:  # the launcher is gone: so is everything in the namespace
            os.kill(init, signal.SIGKILL)
            os.waitpid(init, 0)
            return 1
        if message.startswith(b"signal "):
            sig = int(message.split()[1])
            if sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                os.killpg(0, sig)


def _become_kernel(args: dict):
    """The last step of the kernel process (forked by the init, root in the chroot): :func:`_warm_kernel`."""
    def become(spec: dict, workdir: Path, conn: Path, extra: list[str]) -> None:
        _warm_kernel(spec, workdir, conn, extra, args)
    return become


def _warm_kernel(spec: dict, workdir: Path, conn: Path, extra: list[str], args: dict) -> None:
    """Enter the sandbox exactly as a cold kernel does, take its environment, ``sys.path`` and command line,
    and run ipykernel's launcher in this (already warm) interpreter. Never returns."""
    import atexit as _atexit
    import runpy

    sandbox = _sandbox()
    sandbox.enter_sandbox(spec, workdir)
    # what exec does for a cold kernel: after the uid change the process is not "dumpable", and its /proc/self
    # files would stay root's (a kernel could not even name itself in /proc/self/comm)
    sandbox._check(sandbox._libc().prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "dumpable")
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as a fresh interpreter starts
    env = sandbox._kernel_env(spec, workdir)  # before the clear: it takes the case key from our environment
    os.environ.clear()
    os.environ.update(env)
    os.environ.update(args["import_env"])
    stdlib = [p for p in sys.path if p not in args["site"]]
    sys.path[:] = spec["pythonpath"] + stdlib  # what PYTHONPATH makes of a cold kernel's sys.path
    sys.path_importer_cache.clear()
    for name in (ZYGOTE_MODULE, SANDBOX_MODULE):
        sys.modules.pop(name, None)
    sys.orig_argv[:] = sandbox.kernel_argv(spec, conn, extra)
    sys.argv[:] = sys.orig_argv[5:]  # runpy puts the launcher's path first, as ``-m`` does
    code = 0
    try:
        runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - as an uncaught exception ends a cold kernel
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        _atexit._run_exitfuncs()  # what a cold kernel's interpreter runs at exit (IPython's history, ...)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - a closed stream: nothing to flush
                pass
        os._exit(code)
