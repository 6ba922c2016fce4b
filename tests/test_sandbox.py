"""The grading sandbox: what a student's kernel can and cannot do, and how nbgrader/nbclient reach it.

Root-only tests (marked ``root``) run the real kernel through nbclient with ``executor_config``; they are
skipped, with the reason, when not root (CI runs as root).
"""
import os
import secrets
import sqlite3
import subprocess
import sys
import time

import nbformat
import pytest

from rnn_helpers.grader import sandbox_kernel
from rnn_helpers.grader.sandbox import NEEDS_ROOT, Limits, sandbox_available
from rnn_helpers.grader.sandbox_kernel import executor_config

ROOT_REASON = "needs root for the grading sandbox (unprivileged user, namespaces)"


def root(test):
    """Marks a test that needs the real sandbox: ``-m root`` selects them; skipped with the reason when not root."""
    return pytest.mark.root(pytest.mark.skipif(os.geteuid() != 0, reason=ROOT_REASON)(test))


def notebook(*sources):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    return nb


def run(nb, nbdir, workdir, limits=None, warm=False, case_key=""):
    """Execute ``nb`` with the sandboxed kernel in ``nbdir`` (forked by the warm parent when ``warm``, else
    started cold; given the assignment's ``case_key``); return (notebook, error or None)."""
    from nbclient import NotebookClient

    config = executor_config(limits or Limits(), workdir, warm=warm)
    config.PrivateKernelManager.case_key = case_key
    # a first cell that says whether the kernel came warm (torch already imported), taken out again afterwards:
    # a warm test that silently ran a cold kernel would prove nothing
    nb.cells.insert(0, nbformat.v4.new_code_cell(WARM_PROBE))
    client = NotebookClient(nb, config=config, resources={"metadata": {"path": str(nbdir)}}, allow_errors=True)
    error = None
    try:
        client.execute()
    except Exception as exc:  # DeadKernelError etc.: the test asserts on it
        error = exc
    probe = nb.cells.pop(0)
    assert text(probe).strip() == ("warm" if warm else "cold"), text(probe)
    return nb, error


WARM_PROBE = "import sys; print('warm' if 'torch' in sys.modules else 'cold')"


def text(cell) -> str:
    parts = []
    for o in cell.outputs:
        parts.append(o.get("text", "") if o.output_type == "stream" else "")
        if o.output_type == "error":
            parts.append(f"{o.ename}: {o.evalue}")
        if o.output_type in ("execute_result", "display_data"):
            parts.append(o.data.get("text/plain", ""))
    return "".join(parts)


def new_mark():
    """A process name (at most 15 characters) that only this test's processes will carry."""
    return "sbx" + secrets.token_hex(6)


def mark_cell(mark):
    """A cell naming the kernel process ``mark``; processes it forks later inherit the name. It prints the name
    read back, so that a test can check the mark took before it relies on not finding it."""
    return f"open('/proc/self/comm', 'w').write({mark!r})\nprint(open('/proc/self/comm').read().strip())"


def pids_named(mark):
    """Host PIDs of live processes called ``mark``. Not by the sandbox uid: other grading on the same machine
    runs under that uid too, and made this check fail spuriously when it did."""
    pids = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/comm") as f:
                if entry.isdigit() and f.read().strip() == mark:
                    pids.append(int(entry))
        except OSError:                                   # gone meanwhile, or not a process directory
            pass
    return pids


# ---------------------------------------------------------------------------------------------------
# No root needed


def test_the_leftover_check_sees_a_marked_process_and_its_end():
    mark = new_mark()
    proc = subprocess.Popen([sys.executable, "-c", mark_cell(mark) + "\nimport sys, time; sys.stdout.flush(); "
                             "time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == mark
        assert pids_named(mark) == [proc.pid]
    finally:
        proc.kill()
        proc.wait()
    assert pids_named(mark) == []


def test_limits_defaults_and_validation():
    lim = Limits()
    assert (lim.cell_timeout, lim.notebook_timeout) == (30, 600)
    assert 1 << 30 <= lim.memory_bytes <= 8 << 30 and lim.max_processes >= 16
    assert lim.cpu_limit == 1200
    with pytest.raises(ValueError, match="Limits.cell_timeout"):
        Limits(cell_timeout=0)
    with pytest.raises(ValueError, match="Limits.uid must be a positive int"):
        Limits(uid=0)


def test_the_launcher_reads_back_the_limits_it_was_given(tmp_path):
    """The spec the grader writes holds the Limits; the launcher rebuilds them (validated again) and applies
    ``Limits.cpu_limit``, the one CPU-time formula."""
    from rnn_helpers.grader.sandbox import sandbox_spec, spec_limits

    lim = Limits(cell_timeout=5, notebook_timeout=50, memory_bytes=3 << 30)
    read = spec_limits(sandbox_spec(lim, tmp_path))
    assert read == lim and read.cpu_limit == 100
    assert spec_limits(sandbox_spec(Limits(cpu_seconds=7), tmp_path)).cpu_limit == 7
    with pytest.raises(ValueError, match="Limits.uid"):
        spec_limits({"limits": {**sandbox_spec(lim, tmp_path)["limits"], "uid": 0}})


def test_the_launcher_imports_no_jupyter_module():
    """The launcher is the kernel command, started once per notebook: it must not pay for nbgrader."""
    probe = ("import sys, rnn_helpers.grader.sandbox; "
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'nbgrader', 'jupyter_client', 'traitlets', "
             "'nbformat', 'nbclient'}))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_not_root_means_no_sandbox_and_says_so(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    ok, reason = sandbox_available()
    assert not ok and reason == NEEDS_ROOT
    assert "run as root or pass --unsafe" in reason


def test_nbgrader_execute_ignores_a_configured_kernel_manager_class(tmp_path):
    """Surprise pinned: nbgrader's Execute passes kernel_manager_class=AsyncKernelManager as a constructor
    argument, which beats config. So executor_config swaps Execute for SandboxExecute in the autograde chain."""
    from jupyter_client.manager import AsyncKernelManager
    from nbgrader.preprocessors import Execute

    config = executor_config(Limits(), tmp_path)
    assert Execute(config=config).kernel_manager_class is AsyncKernelManager
    sandboxed = sandbox_kernel.SandboxExecute(config=config)
    assert sandboxed.kernel_manager_class is sandbox_kernel.SandboxKernelManager
    assert sandboxed.timeout == 30 and sandboxed.interrupt_on_timeout
    chain = config.Autograde.autograde_preprocessors
    assert sandbox_kernel.SandboxExecute in chain and Execute not in chain


def test_plain_nbclient_takes_the_kernel_manager_from_config(tmp_path):
    from nbclient import NotebookClient

    client = NotebookClient(notebook("1"), config=executor_config(Limits(), tmp_path))
    assert client.kernel_manager_class is sandbox_kernel.SandboxKernelManager
    assert client.timeout == 30


def test_the_autograde_chain_runs_the_sandboxs_execute_whatever_the_sandbox_config_holds(tmp_path):
    """The sandboxed run's Execute step is SandboxExecute (with KeepGoingMixin) even when the sandbox config's
    own chain lacks it: taking "the Execute class in that chain" left SafeExecute, whose kernel is unsandboxed."""
    from types import SimpleNamespace

    from nbgrader.preprocessors import Execute
    from traitlets.config import Config

    from rnn_helpers.grader.execute import KeepGoingMixin, PrivateKernelManager, SafeExecute
    from rnn_helpers.grader.pipeline import _autograde_config

    without = Config()
    without.Autograde.autograde_preprocessors = [Execute]  # a chain without SandboxExecute
    for sandbox_config in (executor_config(Limits(), tmp_path), without, Config()):
        plan = SimpleNamespace(limits=Limits(), sandbox_config=sandbox_config, case_key="")
        cfg = _autograde_config(plan, "verify", "restore")
        execute = cfg.Autograde.autograde_preprocessors[0]
        assert issubclass(execute, sandbox_kernel.SandboxExecute) and issubclass(execute, KeepGoingMixin)
        assert execute(config=cfg).kernel_manager_class is sandbox_kernel.SandboxKernelManager
        assert cfg.Autograde.autograde_preprocessors[1] == "verify"
    unsafe = _autograde_config(SimpleNamespace(limits=Limits(), sandbox_config=None, case_key=""), "v", "r")
    assert unsafe.Autograde.autograde_preprocessors[0] is SafeExecute
    assert SafeExecute(config=unsafe).kernel_manager_class is PrivateKernelManager


@pytest.mark.parametrize("value", [None, "", "not-a-pid", "1"])
def test_the_launcher_refuses_without_the_graders_pid(tmp_path, value):
    """Without $RNN_COURSE_GRADER_PID naming its parent, nothing would end the kernel when the grader dies: the
    launcher exits 2 before reading its spec (the files named here do not exist) or creating any namespace."""
    from rnn_helpers.grader.sandbox import GRADER_PID_ENV

    env = {k: v for k, v in os.environ.items() if k != GRADER_PID_ENV}
    if value is not None:
        env[GRADER_PID_ENV] = value  # "1": a pid, but not the launcher's parent
    done = subprocess.run([sys.executable, "-I", "-m", "rnn_helpers.grader.sandbox", str(tmp_path / "spec.json"),
                           str(tmp_path / "scratch"), str(tmp_path / "kernel.json")], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 2, done.stderr
    assert f"refusing to start a kernel: ${GRADER_PID_ENV} must be the pid of the grader" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "scratch").exists()


def test_the_launcher_kills_the_namespace_when_the_grader_is_gone():
    """The watch of ``_wait_watching_grader``: a grader that is (still) our parent lets the init finish; one that
    is not (it died: we were re-parented) gets the init killed, the first time we look."""
    from rnn_helpers.grader.sandbox import _wait_watching_grader

    def child(seconds: float, code: int) -> int:
        pid = os.fork()
        if pid == 0:
            time.sleep(seconds)
            os._exit(code)
        return pid

    assert _wait_watching_grader(child(0.3, 3), os.getppid(), poll=0.05) == 3
    started = time.monotonic()
    assert _wait_watching_grader(child(60, 0), os.getppid() + 1_000_000, poll=0.05) == -9  # SIGKILL
    assert time.monotonic() - started < 10


# ---------------------------------------------------------------------------------------------------
# Root: the real kernel


@pytest.fixture(params=[False, True], ids=["cold", "warm"])
def warm(request):
    """Each sandbox test runs with a cold kernel and with a warm one (:mod:`warm_kernels`): the same sandbox."""
    return request.param


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("grader")


@pytest.fixture
def course(tmp_path):
    """A course-like layout: gradebook and solutions beside the notebook's directory."""
    nbdir = tmp_path / "autograded" / "alice" / "02_simple_rnn"
    nbdir.mkdir(parents=True)
    (nbdir / "02_simple_rnn.ipynb").write_text("{}")
    (nbdir / "data.txt").write_text("1 2 3")
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / "answer.txt").write_text("secret")
    db = tmp_path / "gradebook.db"
    with sqlite3.connect(db) as con:
        con.execute("create table grade (id text, manual_score real)")
        con.execute("insert into grade values ('a', 1.0)")
    return tmp_path, nbdir, db


@root
def test_sandbox_is_available_as_root():
    ok, reason = sandbox_available()
    assert ok, reason


@root
def test_kernel_runs_unprivileged_offline_and_sees_only_the_stripped_package(course, workdir, warm):
    base, nbdir, db = course
    nb, err = run(notebook(
        "import os, sys; print(os.getuid(), os.getgid(), os.getcwd() == os.environ['HOME'])",
        "import rnn_helpers; print(rnn_helpers.__file__)",
        "import rnn_helpers.simple_rnn",
        f"print([os.path.exists(p) for p in ({str(db)!r}, {str(base / 'solutions')!r}, '/work/main/solutions', "
        "'/work/main/rnn_helpers', '/work/main/.git', '/root/.bash_history')])",
        "import socket\ntry:\n    socket.create_connection(('127.0.0.1', 22), timeout=2); print('connected')\n"
        "except OSError as e:\n    print('no network', e.errno)",
        "import numpy, torch; print(torch.tensor([1.0, 2.0]).sum().item())",
        "print(sorted(os.listdir('.')))",
    ), nbdir, workdir, warm=warm)
    assert err is None
    out = [text(c) for c in nb.cells]
    uid, gid, home = out[0].split()
    assert int(uid) == Limits().uid != 0 and int(gid) == Limits().gid and home == "True"
    assert out[1].strip().startswith(str(workdir / "stripped"))
    assert "rnn_helpers.simple_rnn is not available while grading: implement the function yourself" in out[2]
    assert out[3].strip() == "[False, False, False, False, False, False]"
    assert out[4].startswith("no network")
    assert out[5].strip() == "3.0"
    assert [f for f in eval(out[6]) if not f.startswith('.')] == ['data.txt']  # a private copy, notebooks left out


@root
def test_writes_stay_inside_the_sandbox(course, workdir, warm):
    base, nbdir, db = course
    before = (nbdir / "data.txt").read_text()
    nb, err = run(notebook(
        "open('data.txt', 'w').write('tampered'); open('numpy.py', 'w').write('x = 1')",
        f"try:\n    open({str(db)!r}, 'w')\nexcept OSError as e:\n    print(type(e).__name__)",
        "try:\n    open('/usr/evil', 'w')\nexcept OSError as e:\n    print(type(e).__name__)",
    ), nbdir, workdir, warm=warm)
    assert err is None
    assert (nbdir / "data.txt").read_text() == before
    assert not (nbdir / "numpy.py").exists()
    assert text(nb.cells[1]).strip() in ("FileNotFoundError", "PermissionError", "OSError")
    assert text(nb.cells[2]).strip() in ("OSError", "PermissionError")  # read-only file system


@root
def test_a_double_forked_daemon_dies_with_the_kernel_and_never_reaches_the_gradebook(course, workdir, warm):
    """The worst case of THREAT_MODEL.md ("now or from a process that outlives the kernel"): a daemon that
    outlives its kernel and sets every manual score to 1000."""
    base, nbdir, db = course
    daemon = f'''
import os, time, sqlite3
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for _ in range(600):
            for path in ({str(db)!r}, "../../../gradebook.db"):
                try:
                    with sqlite3.connect(path) as con:
                        con.execute("update grade set manual_score = 1000")
                except Exception:
                    pass
            time.sleep(0.1)
        os._exit(0)
    os._exit(0)
time.sleep(0.5)
print("daemon started")
'''
    mark = new_mark()
    nb, err = run(notebook(mark_cell(mark), daemon,
                           "import subprocess; print(len([p for p in os.listdir('/proc') if p.isdigit()]))"),
                  nbdir, workdir, warm=warm)
    assert err is None and text(nb.cells[0]).strip() == mark and "daemon started" in text(nb.cells[1])
    assert int(text(nb.cells[2]).split()[-1]) >= 3  # kernel + init + daemon were visible inside
    time.sleep(1.0)
    assert pids_named(mark) == [], "a process of the notebook outlived its kernel"
    with sqlite3.connect(db) as con:
        assert con.execute("select manual_score from grade").fetchall() == [(1.0,)]


@root
def test_cell_timeout_interrupts_and_the_notebook_goes_on(course, workdir, warm):
    _, nbdir, _ = course
    nb, err = run(notebook("while True:\n    pass", "print('next cell ran')"), nbdir, workdir,
                  Limits(cell_timeout=3, notebook_timeout=120), warm=warm)
    assert err is None
    assert "KeyboardInterrupt" in text(nb.cells[0])
    assert text(nb.cells[1]).strip() == "next cell ran"


@root
def test_notebook_wall_clock_kills_a_kernel_that_ignores_interrupts(course, workdir, warm):
    _, nbdir, _ = course
    mark = new_mark()
    t0 = time.monotonic()
    nb, err = run(notebook(mark_cell(mark),
                           "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
                           "print('x')", "print('y')", "print('z')"),
                  nbdir, workdir, Limits(cell_timeout=4, notebook_timeout=8), warm=warm)
    elapsed = time.monotonic() - t0
    assert err is not None and type(err).__name__ == "DeadKernelError"
    assert elapsed < 60
    assert text(nb.cells[0]).strip() == mark
    assert pids_named(mark) == []


@root
def test_memory_and_process_limits_hold(course, workdir, warm):
    _, nbdir, _ = course
    nb, err = run(notebook(
        "try:\n    x = bytearray(3 * 1024**3)\nexcept MemoryError:\n    print('MemoryError')",
        "import os\nn = 0\ntry:\n    for _ in range(500):\n        if os.fork() == 0:\n            import time; time.sleep(30)"
        "\n            os._exit(0)\n        n += 1\nexcept OSError as e:\n    print('fork refused after', n)",
        "print('alive')",
    ), nbdir, workdir, Limits(memory_bytes=2 * 1024**3, max_processes=40, notebook_timeout=120), warm=warm)
    assert err is None
    assert text(nb.cells[0]).strip() == "MemoryError"
    assert text(nb.cells[1]).startswith("fork refused after")
    assert int(text(nb.cells[1]).split()[-1]) < 40
    assert text(nb.cells[2]).strip() == "alive"


@root
def test_a_kernel_that_exits_ends_the_run_without_leftovers(course, workdir, warm):
    _, nbdir, _ = course
    mark = new_mark()
    nb, err = run(notebook(mark_cell(mark), "import os\nif os.fork() == 0:\n    import time; time.sleep(60)\nos._exit(3)",
                           "print(1)"),
                  nbdir, workdir, Limits(notebook_timeout=60), warm=warm)
    assert err is not None and type(err).__name__ == "DeadKernelError"
    assert text(nb.cells[0]).strip() == mark
    time.sleep(0.5)
    assert pids_named(mark) == []


@root
def test_the_kernel_holds_no_grader_module_and_cannot_reach_the_real_package(course, workdir, warm):
    """A warm kernel inherits its parent's memory: like a cold one, it holds no module of the grader side, no
    reference module and nothing loaded from the real package, whose files it cannot reach; it has no file open
    but its own sockets, pipes and devices, and its own memory limit."""
    import json

    from rnn_helpers.grader.reference_modules import REFERENCE_MODULES
    from rnn_helpers.grader.stripped import package_dir

    _, nbdir, _ = course
    real = str(package_dir())
    nb, err = run(notebook(
        "import json, os, resource, sys\n"
        "print(json.dumps({'modules': sorted(sys.modules), 'files': sorted(str(getattr(m, '__file__', None)) "
        "for m in list(sys.modules.values())), 'fds': sorted(os.readlink('/proc/self/fd/' + f) "
        "for f in os.listdir('/proc/self/fd') if os.path.lexists('/proc/self/fd/' + f)), "
        f"'real': [os.path.exists(p) for p in ({real!r}, {real + '/grader/sandbox.py'!r}, "
        f"{real + '/simple_rnn.py'!r})], 'as': resource.getrlimit(resource.RLIMIT_AS)[0]}}))",
    ), nbdir, workdir, warm=warm)
    assert err is None
    seen = json.loads(text(nb.cells[0]))

    def grader_side(module):
        return module.startswith(("rnn_helpers.grader", "_rnn_")) or any(
            module == r or module.startswith(r + ".") for r in REFERENCE_MODULES)

    assert [m for m in seen["modules"] if grader_side(m)] == []
    assert [f for f in seen["files"] if f.startswith(real + "/")] == []
    assert seen["real"] == [False, False, False]
    assert [f for f in seen["fds"] if not f.startswith(("socket:", "pipe:", "anon_inode:", "/dev/", "/proc/"))] == []
    assert seen["as"] == Limits().memory_bytes
