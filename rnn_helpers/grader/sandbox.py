"""The grading sandbox: run a student's notebook kernel where it cannot reach what decides a grade.

The kernel of each graded notebook runs

- as an unprivileged user (``Limits.uid``/``gid``, a uid that owns no file on the machine), with
  ``PR_SET_NO_NEW_PRIVS`` (no setuid binary brings root back);
- with no network (a new network namespace holding only a down loopback). The kernel's ZMQ sockets
  therefore use IPC transport: socket files in a per-kernel directory both sides can reach;
- in a new PID namespace whose init is a small root process of ours: when the kernel ends (shutdown,
  crash, ``os._exit``, wall-clock limit) the init exits and the Linux kernel kills every process left
  in the namespace, so nothing a notebook started (a double-forked daemon included) outlives it;
- in a new mount namespace whose root is an *allow-list*: system directories, the Python installation
  and the virtualenv (read-only), the stripped ``rnn_helpers`` build (read-only, see ``stripped.py``),
  the IPC directory, and a private writable copy of the notebook's directory. The repository
  (``solutions/``, the real ``rnn_helpers``, ``.git``), the gradebook, the other submissions, the grader's
  output and ``/root`` simply do not exist in there; whatever the notebook writes vanishes with it;
- under resource limits (``setrlimit``): address space, CPU time, processes/threads of the sandbox uid,
  file size, open files, no core dumps; plus a wall-clock limit per notebook enforced by the init;
- with a clean environment: ``HOME`` is the private notebook directory, Python started with
  ``-s -S -P`` so neither the editable install's ``.pth`` finder (which would bring back the real
  package) nor the working directory lands on ``sys.path``; ``PYTHONPATH`` is the stripped build, then
  site-packages.

This module is the launcher: the kernel command (``python -m rnn_helpers.grader.sandbox``), which builds the
namespaces, drops to the sandbox uid, applies the :class:`Limits` and execs the IPython kernel. With
``--zygote SOCKET`` the same steps are taken by a warm parent that has imported the kernel's modules once
(:mod:`warm_kernels`), and the launcher stands for the kernel it forked. It is plain
stdlib, so that starting a kernel does not pay for importing nbgrader. How nbgrader and nbclient start a
kernel through it (the kernel manager, the Execute step, the config) is :mod:`sandbox_kernel`::

    ok, reason = sandbox_available()            # here: (False, "needs root ...") when it cannot be had
    config = sandbox_kernel.executor_config(Limits(), workdir)  # merge into nbgrader's config

The grader writes the launcher's spec (:func:`sandbox_spec`: limits, interpreter, paths) into a file; the
kernel manager passes that file, a scratch folder (holding :data:`IPC_DIR`, the kernel's sockets) and the
connection file on the command line.

Linux only; needs root (to create the namespaces and switch user).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import time
from dataclasses import asdict, dataclass
from pathlib import Path

GiB = 1024 ** 3
MiB = 1024 ** 2

NEEDS_ROOT = "needs root to drop privileges; run as root or pass --unsafe"
IPC_DIR = "ipc"  # the scratch folder's subfolder for the kernel's sockets, the one writable path both sides see


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed notebook. Defaults fit a class graded on 2 cores and 24 GiB.

    cell_timeout:     seconds one cell may run before it is interrupted (nbclient's per-cell timeout).
    notebook_timeout: wall-clock seconds for the whole kernel; then everything in it is killed.
    memory_bytes:     address-space limit (RLIMIT_AS) of every process of the notebook. torch + numpy
                      reserve ~1.5 GiB of address space at import; 4 GiB leaves room for real work.
    max_processes:    processes *and threads* of the sandbox uid (RLIMIT_NPROC): stops fork bombs.
    max_file_size:    largest file a process may write (RLIMIT_FSIZE).
    max_open_files:   RLIMIT_NOFILE.
    cpu_seconds:      CPU time of each process (RLIMIT_CPU); ``None`` means 2 x notebook_timeout.
    scratch_bytes:    size of the private writable notebook directory, and of /tmp, each (tmpfs).
    uid, gid:         the unprivileged identity; it should own no file on the machine.
    """

    cell_timeout: int = 30
    notebook_timeout: int = 600
    memory_bytes: int = 4 * GiB
    max_processes: int = 64
    max_file_size: int = 64 * MiB
    max_open_files: int = 256
    cpu_seconds: int | None = None
    scratch_bytes: int = 256 * MiB
    uid: int = 64_917
    gid: int = 64_917

    def __post_init__(self):
        for name in ("cell_timeout", "notebook_timeout", "memory_bytes", "max_processes", "max_file_size",
                     "max_open_files", "scratch_bytes", "uid", "gid"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"Limits.{name} must be a positive int, got {value!r}")

    @property
    def cpu_limit(self) -> int:
        """RLIMIT_CPU of each process of the notebook: ``cpu_seconds``, else twice the notebook's wall clock."""
        return self.cpu_seconds if self.cpu_seconds is not None else 2 * self.notebook_timeout


# --------------------------------------------------------------------------------------------------
# Availability


def sandbox_available() -> tuple[bool, str]:
    """Whether the sandbox can run here, and if not, why (one line for the grading command to print)."""
    if not sys.platform.startswith("linux"):
        return False, f"the grading sandbox needs Linux namespaces (this is {sys.platform}); pass --unsafe"
    if os.geteuid() != 0:
        return False, NEEDS_ROOT
    probe = ("import ctypes,os,sys;from rnn_helpers.grader import sandbox as s;"
             "libc=s._libc();"
             "r=libc.unshare(s.CLONE_NEWNS|s.CLONE_NEWNET|s.CLONE_NEWPID|s.CLONE_NEWIPC);"
             "sys.exit(0 if r==0 else ctypes.get_errno())")
    try:
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"cannot probe the sandbox ({exc}); pass --unsafe"
    if done.returncode != 0:
        err = os.strerror(done.returncode) if 0 < done.returncode < 200 else done.stderr.decode()[-200:]
        return False, f"cannot create namespaces here ({err.strip()}); run as root on Linux or pass --unsafe"
    return True, "sandbox available: unprivileged uid, no network, private PID and mount namespaces"


# --------------------------------------------------------------------------------------------------
# The launcher's spec: what the grader hands over, as JSON


def _python_paths() -> dict:
    """The interpreter and the directories the kernel needs, seen from the grader's own interpreter."""
    base = Path(sys.base_prefix)
    prefix = Path(sys.prefix)
    site = [sysconfig.get_path("purelib"), sysconfig.get_path("platlib")]
    ro = {str(base), str(base.resolve()), str(prefix), str(prefix.resolve())}
    exe = Path(sys.executable)
    ro |= {str(exe.parent), str(exe.resolve().parent)}
    return {"python": str(exe), "site": list(dict.fromkeys(site)), "ro": sorted(ro)}


def sandbox_spec(limits: Limits, stripped_dir: str | os.PathLike) -> dict:
    """Everything the launcher needs, as JSON-able data."""
    paths = _python_paths()
    return {"limits": asdict(limits), "python": paths["python"], "site": paths["site"],
            "pythonpath": [str(Path(stripped_dir).resolve())] + paths["site"],
            "ro": paths["ro"] + [str(Path(stripped_dir).resolve())]}


def spec_limits(spec: dict) -> Limits:
    """The :class:`Limits` of a spec read back (validated again: the launcher runs as root)."""
    return Limits(**spec["limits"])


# --------------------------------------------------------------------------------------------------
# The launcher (the kernel command; runs as root, outside then inside the namespaces)

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18

PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38

_LIBC = None


def _libc():
    global _LIBC
    if _LIBC is None:
        _LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return _LIBC


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source, target, fstype, flags, data=None) -> None:
    enc = lambda s: None if s is None else os.fsencode(s)  # noqa: E731
    _check(_libc().mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           f"mount {source} on {target}")


def _inside(root: Path, path: str | os.PathLike) -> Path:
    return root / str(path).lstrip("/")


def _bind(root: Path, host: str, *, writable: bool = False) -> None:
    """Bind ``host`` at the same path inside ``root`` (read-only unless ``writable``)."""
    hp = Path(host)
    target = _inside(root, host)
    if hp.is_symlink() and str(hp) in ("/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"):
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() and not target.is_symlink():
            os.symlink(os.readlink(hp), target)
        return
    if not hp.exists():
        return
    if target.exists() and target.is_mount():
        return
    if hp.is_dir():
        target.mkdir(parents=True, exist_ok=True)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.touch(exist_ok=True)
    _mount(host, target, None, MS_BIND | MS_REC)
    flags = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | (0 if writable else MS_RDONLY)
    _mount(None, target, None, flags)


def _tmpfs(target: Path, size: int, mode: str = "755", uid: int = 0, gid: int = 0) -> None:
    target.mkdir(parents=True, exist_ok=True)
    _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode={mode},uid={uid},gid={gid}")


def _copy_tree_limited(src: Path, dst: Path, uid: int, gid: int, budget: int, max_file: int) -> None:
    """Copy the notebook's directory, notebooks excepted, into the private tmpfs (what does not fit is left out)."""
    for dirpath, dirnames, filenames in os.walk(src, followlinks=False):
        rel = Path(dirpath).relative_to(src)
        out = dst / rel
        out.mkdir(exist_ok=True)
        os.chown(out, uid, gid)
        for name in filenames:
            s = Path(dirpath) / name
            try:
                st = s.lstat()
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode) or st.st_size > min(max_file, budget) or name.endswith(".ipynb"):
                # symlinks, devices, fifos and oversized files are not copied; nor notebooks: the one being
                # graded holds the hidden tests (restored by nbgrader) and the kernel never needs it on disk
                continue
            try:
                shutil.copyfile(s, out / name, follow_symlinks=False)
                os.chown(out / name, uid, gid)
            except OSError:
                continue
            budget -= st.st_size


def _build_root(root: Path, spec: dict, workdir: Path, ipc_dir: Path) -> None:
    """Mount the allow-listed view of the machine under ``root`` (we are root in a new mount namespace)."""
    lim = spec_limits(spec)
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing we mount leaks back to the host
    _tmpfs(root, 64 * MiB)
    _tmpfs(root / "tmp", lim.scratch_bytes, "1777")  # first: grader paths below /tmp are bound into it
    for d in ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/opt"):
        if os.path.lexists(d):
            _bind(root, d)
    for d in spec["ro"]:
        _bind(root, d)
    # /dev: the harmless character devices only; /dev/shm private
    dev = root / "dev"
    _tmpfs(dev, 1 * MiB)
    for name in ("null", "zero", "full", "random", "urandom", "tty"):
        if os.path.exists(f"/dev/{name}"):
            (dev / name).touch()
            _mount(f"/dev/{name}", dev / name, None, MS_BIND)
    for name, to in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                     ("stderr", "/proc/self/fd/2")):
        os.symlink(to, dev / name)
    _tmpfs(dev / "shm", lim.scratch_bytes, "1777")
    # the private notebook directory: a tmpfs at the same path, holding a copy owned by the sandbox uid
    wd = _inside(root, workdir)
    _tmpfs(wd, lim.scratch_bytes, "700", lim.uid, lim.gid)
    _copy_tree_limited(workdir, wd, lim.uid, lim.gid, lim.scratch_bytes // 2, lim.max_file_size)
    _bind(root, str(ipc_dir), writable=True)
    proc = root / "proc"
    proc.mkdir(exist_ok=True)
    _mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    # directories created on the way (e.g. /root, /work) were made 0755 in our tmpfs; make the root read-only
    _mount(None, root, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "mode=755")


CASE_KEY_ENV = "RNN_COURSE_CASE_KEY"  # = rnn_helpers.checks.seeds.CASE_KEY_ENV (this module stays stdlib-only)
# the coordinator's pid, set by the kernel manager (execute.kernel_launch_env): the launcher ends when it is gone
GRADER_PID_ENV = "RNN_COURSE_GRADER_PID"


def _kernel_env(spec: dict, workdir: Path) -> dict:
    """The kernel's clean environment: nothing of the grader's but the assignment's case key."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(workdir),
        "USER": "rnngrader", "LOGNAME": "rnngrader",
        "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
        "TMPDIR": "/tmp",
        "PYTHONPATH": os.pathsep.join(spec["pythonpath"]),
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": str(min(os.cpu_count() or 1, 4)),
        "RNN_COURSE_SANDBOX": "1",
        "JPY_PARENT_PID": "1",  # "launched by a frontend": no Ctrl-C note on stderr; 1 means no parent poller
    }
    # the case key, for record_check's cases (never the grading secret itself, which the kernel manager leaves
    # out of our environment)
    case_key = os.environ.get(CASE_KEY_ENV, "")
    if case_key:
        env[CASE_KEY_ENV] = case_key
    return env


def enter_sandbox(spec: dict, workdir: Path) -> None:
    """In the forked kernel process (root, inside the namespaces and the chroot): default signals, the
    :class:`Limits`, drop to the sandbox uid for good, no new privileges, the notebook's folder as cwd.
    What follows is the kernel itself: exec'ed cold (:func:`_exec_kernel`) or run in place (:mod:`warm_kernels`)."""
    import resource

    lim = spec_limits(spec)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)
    for res, value in ((resource.RLIMIT_AS, lim.memory_bytes), (resource.RLIMIT_CPU, lim.cpu_limit),
                       (resource.RLIMIT_NPROC, lim.max_processes), (resource.RLIMIT_FSIZE, lim.max_file_size),
                       (resource.RLIMIT_NOFILE, lim.max_open_files), (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(res, (value, value))
    os.setgroups([])
    os.setresgid(lim.gid, lim.gid, lim.gid)
    os.setresuid(lim.uid, lim.uid, lim.uid)
    # after the uid change, which clears it: the kernel dies with the namespace's init (single-threaded, so the
    # "thread that forked" caveat of PR_SET_PDEATHSIG, see launch(), does not arise here)
    _check(_libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "pdeathsig")
    _check(_libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    os.umask(0o077)
    os.chdir(workdir)


def kernel_argv(spec: dict, conn: Path, extra: list[str]) -> list[str]:
    """The IPython kernel's command line (a warm kernel shows the same ``sys.orig_argv``)."""
    return [spec["python"], "-s", "-S", "-P", "-m", "ipykernel_launcher", "-f", str(conn), *extra]


def _exec_kernel(spec: dict, workdir: Path, conn: Path, extra: list[str]) -> None:
    """In the forked kernel process: enter the sandbox, exec a fresh IPython kernel (the cold start)."""
    enter_sandbox(spec, workdir)
    os.execve(spec["python"], kernel_argv(spec, conn, extra), _kernel_env(spec, workdir))


def _init(spec: dict, workdir: Path, scratch: Path, conn: Path, extra: list[str], alive: int,
          become_kernel=_exec_kernel) -> int:
    """PID 1 of the namespace (root): build the view, start the kernel, reap, enforce the wall clock.

    ``alive`` is the read end of a pipe whose write end only the launcher holds: EOF means the launcher
    is gone (getppid() is 0 for a namespace's PID 1, so it cannot tell us). ``become_kernel(spec, workdir,
    conn, extra)`` runs in the forked kernel process and never returns: :func:`_exec_kernel`, or the warm
    kernel of :mod:`warm_kernels`.
    """
    import select

    _check(_libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "pdeathsig")
    if select.select([alive], [], [], 0)[0]:  # the launcher died before the line above
        return 1
    os.close(alive)
    lim = spec_limits(spec)
    root = scratch / "root"
    ipc_dir = scratch / IPC_DIR
    _build_root(root, spec, workdir, ipc_dir)
    os.chroot(root)
    os.chdir("/")
    kernel = os.fork()
    if kernel == 0:
        try:
            become_kernel(spec, workdir, conn, extra)
        finally:
            os._exit(127)
    deadline = time.monotonic() + lim.notebook_timeout
    status = 0
    while True:
        try:
            pid, st = os.waitpid(-1, os.WNOHANG)  # reap orphans re-parented to us, and the kernel
        except ChildProcessError:
            break
        if pid == kernel:
            status = os.waitstatus_to_exitcode(st)
            break
        if pid == 0:
            if time.monotonic() > deadline:
                print(f"rnn-course sandbox: notebook timed out after {lim.notebook_timeout} s; "
                      "every process of it was killed", file=sys.stderr, flush=True)
                os.kill(kernel, signal.SIGKILL)
                deadline = float("inf")
            time.sleep(0.05)
    return status if status >= 0 else 128 - status  # returning from PID 1 kills all the namespace


def launch(spec_file: str, scratch: str, connection_file: str, extra: list[str], zygote: str | None = None) -> int:
    """The kernel command: unshare namespaces, fork the namespace's init, wait for it.

    With ``zygote`` (the socket of :mod:`warm_kernels`' warm parent) the namespaces, the init and the kernel are
    forked by the warm parent instead, in the same sandbox, and this process stands for them (signals forwarded,
    their exit status returned); when the warm parent cannot take the kernel, it starts cold here.

    Refused (exit 2) unless :data:`GRADER_PID_ENV` names our parent: without it nothing would end the kernel
    when the grader dies."""
    grader = _grader_pid()
    if grader is None:
        print(f"rnn-course sandbox: refusing to start a kernel: ${GRADER_PID_ENV} must be the pid of the grader "
              f"that starts this launcher (got {os.environ.get(GRADER_PID_ENV)!r}, parent {os.getppid()})",
              file=sys.stderr, flush=True)
        return 2
    spec = json.loads(Path(spec_file).read_text())
    lim = spec_limits(spec)
    workdir = Path.cwd().resolve()
    scratch_p = Path(scratch)
    ipc_dir = scratch_p / IPC_DIR
    # the kernel reads its own copy of the connection file (jupyter_client writes it 0600 for root)
    conn = ipc_dir / "kernel.json"
    shutil.copyfile(connection_file, conn)
    os.chown(conn, lim.uid, lim.gid)
    os.chmod(conn, 0o400)
    if zygote:
        from . import warm_kernels

        code = warm_kernels.run_in_zygote(zygote, spec_file, scratch_p, conn, extra, workdir, grader)
        if code is not None:
            return code
        print("rnn-course sandbox: the warm parent did not take the kernel; starting it cold", file=sys.stderr,
              flush=True)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)  # the kernel gets these from the process group itself
    child, _alive = start_namespace(spec, workdir, scratch_p, conn, extra)
    return _wait_watching_grader(child, grader)


def start_namespace(spec: dict, workdir: Path, scratch: Path, conn: Path, extra: list[str],
                    become_kernel=_exec_kernel) -> tuple[int, int]:
    """Unshare the namespaces and fork the namespace's init (:func:`_init`), which starts the kernel with
    ``become_kernel``. Returns the init's pid and the write end of its "alive" pipe: the init dies when the
    last holder of that end, the caller, is gone."""
    _check(_libc().unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")
    alive_r, alive_w = os.pipe()
    child = os.fork()
    if child == 0:
        code = 1
        try:
            os.close(alive_w)
            code = _init(spec, workdir, scratch, conn, extra, alive_r, become_kernel)
        except BaseException as exc:  # noqa: BLE001 - report and die; never run the kernel unsandboxed
            print(f"rnn-course sandbox: cannot start the kernel: {exc}", file=sys.stderr, flush=True)
        finally:
            os._exit(code)
    os.close(alive_r)
    return child, alive_w


def _grader_pid() -> int | None:
    """The coordinator's pid (:data:`GRADER_PID_ENV`) when it is our parent, else ``None``."""
    value = os.environ.get(GRADER_PID_ENV, "")
    return int(value) if value.isdigit() and int(value) == os.getppid() else None


def _wait_watching_grader(child: int, grader: int, poll: float = 0.2) -> int:
    """Wait for the namespace's init; if the grader that started us dies first (``kill -9``, a crash), kill it.

    The grader's death shows as our re-parenting (``getppid()`` no longer the grader's pid). We poll for it
    rather than set ``PR_SET_PDEATHSIG`` here: that signal fires when the *thread* that forked us ends, and
    jupyter_client may start kernels from an event-loop thread that ends before the kernel should. Killing
    the init (PID 1 of the namespace) kills every process in the namespace, the kernel included; the init also
    has ``PR_SET_PDEATHSIG`` (SIGKILL) so that our own death, by any means, ends it too."""
    watching = True
    while True:
        pid, st = os.waitpid(child, os.WNOHANG if watching else 0)
        if pid == child:
            return os.waitstatus_to_exitcode(st)
        if os.getppid() != grader:  # the grader is gone (since launch() checked, or while we waited)
            os.kill(child, signal.SIGKILL)
            watching = False  # then wait for it without polling
            continue
        time.sleep(poll)


def main(argv: list[str] | None = None) -> int:
    """``python -m rnn_helpers.grader.sandbox SPEC SCRATCH CONNECTION_FILE [--zygote SOCKET] [-- EXTRA...]``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    zygote = None
    if len(argv) == 5 and argv[3] == "--zygote":
        argv, zygote = argv[:3], argv[4]
    if len(argv) != 3:
        print(main.__doc__, file=sys.stderr)
        return 2
    return launch(argv[0], argv[1], argv[2], extra, zygote)


if __name__ == "__main__":
    sys.exit(main())
