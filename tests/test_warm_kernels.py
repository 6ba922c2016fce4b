"""Warm sandboxed kernels (:mod:`rnn_helpers.grader.warm_kernels`): the same sandbox, the imports paid once.

The sandbox's own tests (``tests/test_sandbox.py``) run every kernel test cold and warm. Here: what the warm
parent holds, that a warm kernel starts as a cold one does, that nothing of one student's kernel reaches the
next one's, that a ``kill -9`` of the grader leaves nothing running, and that kernels start cold (and say so
once) when there is no warm parent. Root only (skipped with the reason otherwise).
"""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from rnn_helpers.grader import warm_kernels
from rnn_helpers.grader.sandbox import Limits
from rnn_helpers.grader.sandbox_kernel import executor_config

sys.path.insert(0, str(Path(__file__).parent))
from test_grade_resume import _run_processes  # noqa: E402
from test_sandbox import mark_cell, new_mark, notebook, pids_named, root, run, text, workdir  # noqa: E402,F401

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def nbdir(tmp_path):
    folder = tmp_path / "autograded" / "alice" / "02_simple_rnn"
    folder.mkdir(parents=True)
    (folder / "data.txt").write_text("1 2 3")
    return folder


def spec_of(workdir: Path) -> dict:
    return json.loads((workdir / "sandbox_spec.json").read_text())


def zygote_of(workdir: Path):
    executor_config(Limits(), workdir)
    zygote = warm_kernels.zygote_for(spec_of(workdir))
    assert zygote is not None, warm_kernels._UNAVAILABLE
    return zygote


def proc_file(pid: int, name: str) -> bytes:
    return Path(f"/proc/{pid}/{name}").read_bytes()


@root
def test_the_warm_parent_is_clean_single_threaded_and_out_of_sight(workdir):
    """What every kernel inherits: no rnn_helpers, no secret or case key, no path on its command line, one
    thread; its socket is root's, in a root-only folder, and not in any kernel's view."""
    zygote = zygote_of(workdir)
    pid = zygote.proc.pid
    assert len(os.listdir(f"/proc/{pid}/task")) == 1
    env = dict(line.split("=", 1) for line in proc_file(pid, "environ").decode().split("\0") if line)
    assert "RNN_COURSE_CASE_KEY" not in env and "RNN_COURSE_GRADING_SECRET" not in env
    assert env["PYTHONHASHSEED"] == "0" and env["RNN_COURSE_SANDBOX"] == "1" and env["HOME"] == str(zygote.folder)
    cmdline = proc_file(pid, "cmdline").decode()
    assert "/" not in cmdline.split("\0", 1)[1] and "-s\0-S\0-P\0-c" in cmdline
    assert os.readlink(f"/proc/{pid}/cwd") == str(zygote.folder)
    maps = proc_file(pid, "maps").decode()
    assert "torch" in maps and "numpy" in maps  # the imports were paid here
    assert str(REPO / "rnn_helpers") not in maps
    assert (zygote.folder.stat().st_mode & 0o777) == 0o700 and zygote.folder.stat().st_uid == 0
    assert (Path(zygote.socket).stat().st_mode & 0o777) == 0o600
    nb, err = run(notebook(f"import os; print(os.path.exists({str(zygote.folder)!r}), "
                           f"os.path.exists({zygote.socket!r}))"), nbdir_for(workdir), workdir, warm=True)
    assert err is None and text(nb.cells[0]).strip() == "False False"
    assert warm_kernels.zygote_for(spec_of(workdir)) is zygote  # one per grading process


def nbdir_for(workdir: Path) -> Path:
    folder = workdir / "nb"
    folder.mkdir(exist_ok=True)
    return folder


STATE = [
    "import os, sys, builtins, numpy, torch, threading, time",
    # the first student's kernel leaves state in memory...
    "numpy.LEFT_BEHIND = 1; torch.LEFT_BEHIND = 1; builtins.LEFT_BEHIND = 1; numpy.allclose = lambda *a, **k: True\n"
    "sys.modules['left_behind'] = sys\nos.environ['LEFT_BEHIND'] = '1'\n"
    "threading.Thread(target=time.sleep, args=(600,), name='left_behind', daemon=True).start()\n"
    "torch.manual_seed(1234); numpy.random.seed(1234)",
    # ... and on disk: /tmp, HOME, the working folder, /dev/shm
    "for folder in ('/tmp', os.environ['HOME'], os.getcwd(), '/dev/shm'):\n"
    "    open(os.path.join(folder, 'left_behind.txt'), 'w').write('1')",
]
def look(*elsewhere: Path) -> list[str]:
    """A cell that lists every piece of STATE it finds (also in the folders ``elsewhere``)."""
    folders = ("'/tmp'", "os.environ['HOME']", "os.getcwd()", "'/dev/shm'", *(repr(str(f)) for f in elsewhere))
    return [LOOK.replace("FOLDERS", ", ".join(f if f.startswith(("os.", "'")) else repr(f) for f in folders))]


LOOK = (
    "import os, sys, builtins, numpy, torch, threading, json\n"
    "found = [name for name, there in [\n"
    "    ('numpy attribute', hasattr(numpy, 'LEFT_BEHIND')), ('torch attribute', hasattr(torch, 'LEFT_BEHIND')),\n"
    "    ('builtins attribute', hasattr(builtins, 'LEFT_BEHIND')),\n"
    "    ('patched numpy.allclose', numpy.allclose(0, 1)),\n"
    "    ('sys.modules entry', 'left_behind' in sys.modules), ('environment', 'LEFT_BEHIND' in os.environ),\n"
    "    ('thread', any(t.name == 'left_behind' for t in threading.enumerate())),\n"
    "    ('torch seed', torch.initial_seed() == 1234),\n"
    "] + [(f'file in {folder}', os.path.exists(os.path.join(folder, 'left_behind.txt')))\n"
    "     for folder in (FOLDERS)] if there]\n"
    "print(json.dumps(found))"
)


@root
def test_nothing_of_one_students_warm_kernel_reaches_the_next(workdir, tmp_path):
    """Two students graded one after the other by the same warm parent: the first one's notebook leaves state
    in memory and on disk, the second one's looks for every piece of it and finds none."""
    zygote = zygote_of(workdir)
    first, second = tmp_path / "alice" / "02_simple_rnn", tmp_path / "bob" / "02_simple_rnn"
    for folder in (first, second):
        folder.mkdir(parents=True)
    nb, err = run(notebook(*STATE, *look()), first, workdir, warm=True)
    assert err is None
    # the check can fail: in the kernel that left it, it finds everything (the thread, the files, the patches)
    assert len(json.loads(text(nb.cells[-1]))) == 12, text(nb.cells[-1])
    nb, err = run(notebook(*look(first)), second, workdir, warm=True)
    assert err is None
    assert json.loads(text(nb.cells[0])) == []
    assert warm_kernels.zygote_for(spec_of(workdir)) is zygote  # both from the same warm parent


PROBE = textwrap.dedent("""\
    import json, os, re, resource, sys, threading
    status = dict(line.split(':', 1) for line in open('/proc/self/status').read().splitlines() if ':' in line)
    print(json.dumps({
        'env': dict(os.environ), 'path': sys.path, 'flags': str(sys.flags), 'cwd': os.getcwd(),
        'argv': [a if not a.endswith('kernel.json') else 'CONN' for a in sys.orig_argv[1:]],
        'hash': hash('abc'), 'ids': [os.getuid(), os.geteuid(), os.getgid(), os.getgroups(), os.getpid()],
        'limits': [resource.getrlimit(getattr(resource, r)) for r in ('RLIMIT_AS', 'RLIMIT_CPU', 'RLIMIT_NPROC',
                   'RLIMIT_FSIZE', 'RLIMIT_NOFILE', 'RLIMIT_CORE')],
        'status': [status[k].strip() for k in ('NoNewPrivs', 'CapEff', 'CapPrm', 'CapBnd')],
        'umask': os.umask(0o077), 'main': sys.modules['__main__'].__name__,
        'threads': sorted(re.sub(r'-[0-9]+', '', t.name) for t in threading.enumerate()),  # numbering aside
        'dumpable': os.stat('/proc/self/comm').st_uid,
    }, sort_keys=True))
""")


@root
def test_a_warm_kernel_starts_as_a_cold_one(workdir, nbdir):
    """Environment (the case key included), sys.path, interpreter flags and command line, hash seed, ids,
    limits, privileges, umask, the kernel's own threads: the same, cold or warm."""
    seen = {}
    for warm in (False, True):
        nb, err = run(notebook(PROBE), nbdir, workdir, warm=warm, case_key="02_simple_rnn:0123abcd")
        assert err is None
        seen[warm] = json.loads(text(nb.cells[0]))
    for key in seen[False]:
        assert seen[True][key] == seen[False][key], key
    assert seen[True]["ids"][:2] == [Limits().uid, Limits().uid] and seen[True]["status"][0] == "1"
    assert seen[True]["env"]["RNN_COURSE_CASE_KEY"] == "02_simple_rnn:0123abcd"


@root
def test_no_warm_parent_means_cold_kernels_said_once(workdir, nbdir, monkeypatch, capfd):
    """A warm parent that cannot start (here: an import fails in it) leaves every kernel cold, in the same
    sandbox, and the command says so once."""
    monkeypatch.setattr(warm_kernels, "WARM_IMPORTS", warm_kernels.WARM_IMPORTS + ("no_such_module_here",))
    monkeypatch.setattr(warm_kernels, "_ZYGOTES", {})
    monkeypatch.setattr(warm_kernels, "_UNAVAILABLE", {})
    for _ in range(2):
        config = executor_config(Limits(), workdir, warm=True)
        nb = notebook("import os; print(os.getuid())")
        from nbclient import NotebookClient

        nb.cells.insert(0, notebook("import sys; print('torch' in sys.modules)").cells[0])
        NotebookClient(nb, config=config, resources={"metadata": {"path": str(nbdir)}}).execute()
        assert text(nb.cells[0]).strip() == "False"  # cold
        assert text(nb.cells[1]).strip() == str(Limits().uid)  # sandboxed all the same
    err = capfd.readouterr().err
    assert err.count("warm kernels are not available") == 1, err
    assert "no_such_module_here" in err and "every kernel starts cold, in the same sandbox" in err


@root
def test_a_launcher_whose_warm_parent_is_gone_starts_the_kernel_cold(workdir, nbdir, monkeypatch):
    """The warm parent gone between the kernel manager's choice and the launcher's request: the launcher starts
    the kernel cold, in the same sandbox (never without it)."""
    class Gone:
        socket = str(workdir / "no-such-socket")

    monkeypatch.setattr(warm_kernels, "zygote_for", lambda spec: Gone())
    from nbclient import NotebookClient

    nb = notebook("import sys; print('torch' in sys.modules)", "import os; print(os.getuid())")
    client = NotebookClient(nb, config=executor_config(Limits(), workdir), resources={"metadata": {"path": str(nbdir)}})
    client.execute()
    assert [text(c).strip() for c in nb.cells] == ["False", str(Limits().uid)]


DRIVER = textwrap.dedent("""\
    import sys
    import nbformat
    from nbclient import NotebookClient
    from rnn_helpers.grader.sandbox import Limits
    from rnn_helpers.grader.sandbox_kernel import executor_config
    workdir, nbdir, mark = sys.argv[1:4]
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(s) for s in (
        "import sys; print('torch' in sys.modules, flush=True)",
        %(mark)r,
        "import os, time\\nif os.fork() == 0:\\n    os.setsid(); time.sleep(600)\\nprint('running', flush=True)\\n"
        "time.sleep(600)")]
    NotebookClient(nb, config=executor_config(Limits(), workdir),
                   resources={"metadata": {"path": nbdir}}, timeout=900).execute()
""")


def tree(pid: int) -> dict[int, bytes]:
    """``pid`` and every process below it, each with its start time (a pid reused later is another process)."""
    children: dict[int, list[int]] = {}
    starts = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = proc_file(int(entry), "stat").rsplit(b")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        starts[int(entry)] = fields[19]
    found, todo = {}, [pid]
    while todo:
        p = todo.pop()
        if p in starts:
            found[p] = starts[p]
        todo += children.get(p, [])
    return found


def parent_of(pid: int) -> int:
    return int(proc_file(pid, "stat").rsplit(b")", 1)[1].split()[1])


def cwd_of(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return ""


def still_alive(procs: dict[int, bytes]) -> list[int]:
    alive = []
    for pid, start in procs.items():
        try:
            fields = proc_file(pid, "stat").rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if fields[19] == start and fields[0] != b"Z":
            alive.append(pid)
    return alive


@root
def test_kill_9_of_the_grader_leaves_nothing_of_the_run(tmp_path):
    """A grading process with a warm kernel running (and a process the notebook started in its own session),
    killed with ``kill -9``: its warm parent, the holder, the launcher, the namespace's init, the kernel and the
    notebook's process all end within seconds."""
    mark = new_mark()
    marker = f"warm-kill-{mark}"
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    nbdir = tmp_path / "nb"
    nbdir.mkdir()
    env = {**os.environ, "TMPDIR": str(tmpdir), "RNN_RESUME_TEST_MARKER": marker}
    driver = subprocess.Popen([sys.executable, "-c", DRIVER % {"mark": mark_cell(mark)}, str(tmp_path / "w"),
                               str(nbdir), mark], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(pids_named(mark)) < 2 and driver.poll() is None:
        time.sleep(0.2)
    assert len(pids_named(mark)) == 2, "the kernel and its child did not start"
    run_procs = tree(driver.pid)
    zygotes = [p for p in tree(driver.pid) if "-zygote-" in cwd_of(p) and parent_of(p) == driver.pid]
    assert len(zygotes) == 1, "no warm parent in the run's processes"
    # the kernel and the notebook's process came from the warm parent (its holder, then the namespace's init)
    assert set(pids_named(mark)) <= set(tree(zygotes[0])) and len(tree(zygotes[0])) >= 5
    assert len(run_procs) >= 7  # driver, launcher, warm parent, holder, init, kernel, the notebook's process
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and (still_alive(run_procs) or pids_named(mark)):
        time.sleep(0.2)
    assert still_alive(run_procs) == [] and pids_named(mark) == []
    assert _run_processes(marker, tmpdir) == []


@root
@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_the_launcher_exits_with_the_kernels_status(workdir, nbdir, warm):
    """The kernel's lifetime is the launcher's, and so is its exit status (what jupyter_client sees)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    from rnn_helpers.grader import sandbox_kernel

    launchers = []

    class Recording(sandbox_kernel.SandboxKernelManager):
        async def _async_launch_kernel(self, kernel_cmd, **kw):
            await super()._async_launch_kernel(kernel_cmd, **kw)
            launchers.append((self.provisioner.process, "--zygote" in kernel_cmd))

    nb = notebook("import os, time; time.sleep(0.5); os._exit(3)")
    nb.cells.insert(0, nbformat.v4.new_code_cell("1"))
    client = NotebookClient(nb, config=executor_config(Limits(), workdir, warm=warm), kernel_manager_class=Recording,
                            resources={"metadata": {"path": str(nbdir)}})
    with pytest.raises(DeadKernelError):
        client.execute()
    (launcher, through_zygote), = launchers
    assert through_zygote == warm and launcher.wait(timeout=30) == 3


def _sample_warm_parents(stop, seen: dict) -> None:
    """Until ``stop``: every warm parent below this process (pid -> its parent) and the uids its kernels ran as."""
    while not stop.is_set():
        for pid in tree(os.getpid()):
            try:
                parent = parent_of(pid)
                if "-zygote-" not in cwd_of(pid) or "-zygote-" in cwd_of(parent):  # not one, or its holder
                    continue
                seen.setdefault(pid, {"parent": parent, "uids": set()})
                for below in tree(pid):
                    seen[pid]["uids"].add(int(proc_file(below, "status").split(b"\nUid:")[1].split()[0]))
            except OSError:  # it ended while we looked
                continue
        time.sleep(0.05)


@root
def test_jobs_workers_fork_their_kernels_from_the_coordinators_warm_parent(tmp_path):
    """``--jobs 2``: the worker beside the coordinator starts no warm parent of its own; the coordinator's forks
    the kernels of both (each in its own slot's sandbox uid), and the grades are those of ``--jobs 1``, also when
    the worker is killed (``kill -9``) while its kernel runs: nothing of the worker's sandbox uid outlives it."""
    import threading

    from rnn_helpers.grader.mistakes import catalogue
    from rnn_helpers.grader.mistakes.solution import notebook_with_change
    from rnn_helpers.grader.pipeline import grade

    a = "01_motivation"
    solution_path = REPO / "solutions" / a / f"{a}.ipynb"
    if not solution_path.exists():
        pytest.skip(f"{solution_path} is not in this checkout")
    solution = json.loads(solution_path.read_text(encoding="utf-8"))
    wrong = None
    for mistake in catalogue(a).values():  # the first that plays as a whole submission
        try:
            wrong = notebook_with_change(solution, mistake.old, mistake.new)
            break
        except ValueError:
            continue
    assert wrong is not None, f"no catalogued mistake of {a} plays as a submission"
    for i in range(6):
        folder = tmp_path / "subs" / f"s{i}" / a
        folder.mkdir(parents=True)
        (folder / f"{a}.ipynb").write_text(json.dumps(wrong if i % 2 else solution), encoding="utf-8")
    grade(a, tmp_path / "subs", tmp_path / "one", source_root=REPO, echo=lambda line: None)
    warm_kernels.stop_all()  # the next run starts from nothing, as a new command would
    def jobs_2_beside(watch, out: str, found) -> None:  # a --jobs 2 run, with ``watch(stop, found)`` in a thread
        stop = threading.Event()
        watcher = threading.Thread(target=watch, args=(stop, found), daemon=True)
        watcher.start()
        try:
            grade(a, tmp_path / "subs", tmp_path / out, source_root=REPO, echo=lambda line: None, jobs=2)
        finally:
            stop.set()
            watcher.join()

    seen = {}
    jobs_2_beside(_sample_warm_parents, "two", seen)
    assert len(seen) == 1, seen  # one warm parent in the whole run: no worker started one
    (found,) = seen.values()
    assert found["parent"] == os.getpid()
    assert {Limits().uid, Limits().uid + 1} <= found["uids"]  # the kernels of slot 0 (here) and slot 1 (the worker)
    for name in ("grades.csv", "grades.json"):
        assert (tmp_path / "two" / name).read_bytes() == (tmp_path / "one" / name).read_bytes(), name
    scores = [s["score"] for s in json.loads((tmp_path / "one" / "grades.json").read_text())["students"]]
    assert len(set(scores)) == 2  # right and wrong students: the comparison is not of equal grades

    # the worker killed (kill -9) while a kernel of its own runs: that kernel ends, the warm parent goes on
    # forking (the student is graded again by a fresh worker), and the grades are the same
    killed = []
    jobs_2_beside(_kill_a_worker_with_a_kernel, "killed", killed)
    assert killed, "no worker was seen with a kernel of its own"
    for name in ("grades.csv", "grades.json"):
        assert (tmp_path / "killed" / name).read_bytes() == (tmp_path / "one" / name).read_bytes(), name
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and _processes_of_uid(Limits().uid + 1):
        time.sleep(0.2)
    assert _processes_of_uid(Limits().uid + 1) == []


def _kill_a_worker_with_a_kernel(stop, killed: list) -> None:
    """Kill -9 the first grade worker of this process seen with a kernel's launcher of its own."""
    while not stop.is_set() and not killed:
        for pid in tree(os.getpid()):
            try:
                if b"grade_worker" in proc_file(pid, "cmdline") and any(
                        b"rnn_helpers.grader.sandbox" in proc_file(p, "cmdline") for p in tree(pid) if p != pid):
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    return
            except OSError:
                continue
        time.sleep(0.05)


def _processes_of_uid(uid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and int(proc_file(int(entry), "status").split(b"\nUid:")[1].split()[0]) == uid:
                found.append(int(entry))
        except OSError:
            continue
    return found


@root
@pytest.mark.parametrize("make", ["missing", "a file", "not root-only"])
def test_a_worker_adopts_only_a_root_only_warm_parent_socket(workdir, tmp_path, make, capfd):
    """What a grade worker is told is its coordinator's warm parent is used only if it is a socket of root's in a
    root-only folder, as the coordinator's are; else the worker starts its own (and says why)."""
    import socket as socketlib

    executor_config(Limits(), workdir)
    spec = spec_of(workdir)
    folder = tmp_path / "zygote"
    folder.mkdir(mode=0o700)
    path = folder / "s"
    if make == "a file":
        path.write_text("")
    elif make == "not root-only":
        listener = socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_SEQPACKET)
        listener.bind(str(path))
        os.chmod(path, 0o600)  # the socket as the coordinator's: only its folder is wrong
        os.chmod(folder, 0o755)
    warm_kernels.stop_all()
    try:
        assert warm_kernels.adopt(spec, str(path)) is False
        why = capfd.readouterr().err
        assert "not using the warm parent at" in why
        assert ("its folder is not root's alone" in why) == (make == "not root-only"), why
        zygote = warm_kernels.zygote_for(spec)
        assert isinstance(zygote, warm_kernels.Zygote) and zygote.owner == os.getpid()  # its own, started
    finally:
        warm_kernels.stop_all()


@root
def test_a_worker_whose_adopted_warm_parent_is_gone_starts_its_own(workdir):
    executor_config(Limits(), workdir)
    spec = spec_of(workdir)
    warm_kernels.stop_all()
    theirs = warm_kernels.Zygote(spec)  # another process's, as far as the adoption knows
    try:
        assert theirs.ready()
        assert warm_kernels.adopt(spec, theirs.socket) is True
        assert warm_kernels.zygote_for(spec).socket == theirs.socket
        theirs.stop()  # its owner stopped it: its folder and socket are gone
        mine = warm_kernels.zygote_for(spec)
        assert isinstance(mine, warm_kernels.Zygote) and mine.socket != theirs.socket and mine.alive()
    finally:
        theirs.stop()
        warm_kernels.stop_all()
