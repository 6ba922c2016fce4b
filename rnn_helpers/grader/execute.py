"""Running the student's notebook so that a dying or hanging kernel costs only what it had not run.

nbgrader's ``Execute`` (nbclient underneath) stops the notebook at the first kernel that dies or does not
answer, and then ``SaveAutoGrades`` is never reached. :func:`safe_execute` gives ``Execute`` (or the
sandbox's subclass, :mod:`sandbox_kernel`) :class:`KeepGoingMixin`: a cell that times out costs that cell;
the cell that killed the kernel, or after which it no longer answers, gets an error, the cells after it are
marked "not run", and the notebook still reaches ``SaveAutoGrades``. It also enforces a time limit for the
whole notebook. :class:`PrivateKernelManager` is the kernel of ``--unsafe`` (no sandbox).
"""
from __future__ import annotations

import asyncio
import os
import pathlib
import shutil
import subprocess
import tempfile
import time

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from nbgrader.preprocessors import Execute
from traitlets import DottedObjectName, Float, Type, Unicode

from .nbgrader_cells import error_output


class KeepGoingMixin:
    """For nbgrader's ``Execute`` (or a subclass such as the sandbox's): keep going when the kernel dies,
    with a time limit for the whole notebook. Combined with an Execute class by :func:`safe_execute`."""

    notebook_timeout = 0.0  # a config trait on each concrete class (traitlets ignores traits of plain mixins)
    probe_timeout = 10.0  # seconds (at most the cell timeout) a kernel has to answer after an interrupted cell

    def preprocess(self, nb, resources=None, km=None):
        self._stop_reason = None
        self._started = time.monotonic()
        self._replies: dict[int, str] = {}
        self.timeout_func = self._cell_timeout
        nb, resources = super().preprocess(nb, resources, km)
        resources.setdefault("rnn_course", {})["reply_status"] = dict(self._replies)
        return nb, resources

    def _cell_timeout(self, cell) -> int | None:
        limit = self.timeout if self.timeout and self.timeout > 0 else None
        if self.notebook_timeout:
            left = max(1, int(self.notebook_timeout - (time.monotonic() - self._started)))
            limit = left if limit is None else min(limit, left)
        return limit

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if self._stop_reason is None and self.notebook_timeout and \
                time.monotonic() - self._started >= self.notebook_timeout:
            self._stop_reason = f"not run: the notebook's time limit ({self.notebook_timeout:g} s) was reached"
        if self._stop_reason is not None:
            cell.outputs = [error_output("NotRun", self._stop_reason)]
            return cell, resources
        from nbclient.exceptions import CellTimeoutError, DeadKernelError

        limit = self._cell_timeout(cell)
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            cell.outputs = list(cell.get("outputs", [])) + [error_output(
                "KernelDied", "the kernel died while running this cell (it exited, crashed or ran out of memory)")]
            self._stop_reason = "not run: the kernel died in an earlier cell"
            return cell, resources
        except CellTimeoutError:
            # nbclient raises this when, after the per-cell timeout and the interrupt, the kernel does not even
            # report that it is idle (a patched builtin that breaks the kernel's own loop, a fork bomb, code
            # that swallows KeyboardInterrupt). Only this cell is lost, unless the kernel stays unresponsive.
            when = f"timed out after {limit:g} s" if limit else "timed out"
            cell.outputs = list(cell.get("outputs", [])) + [error_output("CellTimeoutError", when)]
            self._replies[index] = "error"
            if not self._kernel_responds():
                self._stop_reason = (f"not run: the kernel stopped responding after an earlier cell {when} "
                                     "(it was interrupted and did not recover)")
            return cell, resources

    def _kernel_responds(self) -> bool:
        """Whether the kernel runs a trivial request within a few seconds (after an interrupted cell)."""
        from nbclient.util import run_sync

        try:
            wait = min(self.probe_timeout, self.timeout) if self.timeout and self.timeout > 0 else self.probe_timeout
            return bool(run_sync(self._async_kernel_responds)(wait))
        except Exception:  # a kernel we cannot even talk to is not responding
            return False

    async def _async_kernel_responds(self, timeout: float) -> bool:
        from queue import Empty

        from nbclient.util import ensure_async

        if self.kc is None or not await ensure_async(self.kc.is_alive()):
            return False
        msg_id = self.kc.execute("pass", silent=True, store_history=False)
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=left))
            except Empty:
                return False
            if (msg.get("parent_header") or {}).get("msg_id") == msg_id:
                return True
        return False

    def on_cell_executed(self, **kwargs):
        super().on_cell_executed(**kwargs)
        reply = kwargs.get("execute_reply") or {}
        self._replies[kwargs.get("cell_index", -1)] = (reply.get("content") or {}).get("status", "?")


def quiet_kernel_stdio(launch_kw: dict) -> dict:
    """Keyword arguments of a kernel launch with the kernel process's own stdout/stderr sent nowhere.

    What a notebook prints reaches the grader through the kernel's messages, never through these streams; on
    them are only the kernel's log (ipykernel 7 warns on every start that TCP is unencrypted), the launcher's
    messages and what student code writes straight to file descriptors 1 and 2 (a fork bomb's children).
    None of it may clutter the command's output. ``RNN_GRADE_DEBUG=1`` keeps them on the terminal.
    """
    if not os.environ.get("RNN_GRADE_DEBUG"):
        launch_kw.setdefault("stdout", subprocess.DEVNULL)
        launch_kw.setdefault("stderr", subprocess.DEVNULL)
    return launch_kw


def kernel_launch_env(env: dict | None, case_key: str) -> dict:
    """The environment a kernel (or the sandbox launcher) is started with: the grader's, without the raw grading
    secret, with the assignment's case key (``"<assignment>:<hex>"``, :mod:`rnn_helpers.checks.seeds`) when there
    is one, and the coordinator's pid."""
    from rnn_helpers.checks.seeds import CASE_KEY_ENV

    from .grading_secret import SECRET_ENV
    # imported here: a sandbox module that cannot be imported must stop grading with its own message
    # (pipeline.required_module), not break the import of this module
    from .sandbox import GRADER_PID_ENV

    env = {k: v for k, v in (os.environ if env is None else env).items() if k not in (SECRET_ENV, CASE_KEY_ENV)}
    if case_key:
        env[CASE_KEY_ENV] = case_key
    env[GRADER_PID_ENV] = str(os.getpid())
    return env


class ReadyKernelClient(AsyncKernelClient):
    """jupyter_client's asynchronous kernel client, ready as soon as the kernel has answered.

    jupyter_client's ``wait_for_ready`` sends ``kernel_info`` until a reply comes on shell and a message on IOPub
    (proof that IOPub is subscribed), and then reads IOPub until it has been silent for 0.2 s: every kernel start
    waits those 0.2 s with nothing running anywhere (tests/test_kernel_ready.py pins it; benchmarks/README.md). This
    client is ready at the ``status: idle`` the kernel publishes on IOPub once it has answered a ``kernel_info``
    request: IOPub is subscribed, and the kernel waits for the first cell. The kernel may answer before IOPub is
    subscribed (its ``idle`` is then lost); IOPub's welcome (JEP 65, ipykernel 7) says when it is, and a request
    sent then is answered on IOPub for sure. A kernel without a welcome, or slow to start, is asked again after
    jupyter_client's own waits (1 s on shell, 0.2 s on IOPub). What else IOPub holds (the welcome, the start's
    statuses) nbclient skips, as it skips every message whose parent is not the cell it runs, and replies to the
    extra requests on shell likewise."""

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            if await self._answered(self.kernel_info()):
                return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")

    async def _answered(self, msg_id: str) -> bool:
        """Whether the kernel answered the ``kernel_info`` request ``msg_id`` (or the one sent on IOPub's welcome)
        on shell within 1 s, and said ``idle`` on IOPub for it within 0.2 s of the last message there."""
        from queue import Empty

        try:
            while True:  # a late reply to an earlier request is not this one's
                reply = await self.shell_channel.get_msg(timeout=1)
                if reply["parent_header"].get("msg_id") == msg_id and reply["msg_type"] == "kernel_info_reply":
                    break
            self._handle_kernel_info_reply(reply)
            asked = {msg_id}
            while True:
                msg = await self.iopub_channel.get_msg(timeout=0.2)
                if msg["msg_type"] == "iopub_welcome":  # subscribed now: this request's idle cannot be lost
                    asked.add(self.kernel_info())
                elif msg["msg_type"] == "status" and msg["parent_header"].get("msg_id") in asked and \
                        msg["content"].get("execution_state") == "idle":
                    return True
        except Empty:
            return False


class PrivateKernelManager(AsyncKernelManager):
    """The plain kernel of ``--unsafe``: IPC sockets in a private 0700 folder (no TCP port on localhost, so no
    "running over TCP without encryption" warning either) and quiet process streams (:func:`quiet_kernel_stdio`).
    The sandbox's kernel manager (:mod:`sandbox_kernel`) is this one started through the launcher."""

    private_prefix = "rnnk-"  # short: unix socket paths are limited to 107 bytes
    # AsyncKernelManager's client_factory has a default of its own, which a new client_class does not change
    client_class = DottedObjectName(f"{__name__}.ReadyKernelClient")
    client_factory = Type(ReadyKernelClient, klass=AsyncKernelClient)
    case_key = Unicode("", help="'<assignment>:<hex case key>' for the kernel's record_check (empty: the "
                                "published seeds)").tag(config=True)

    async def _async_pre_start_kernel(self, **kw):
        # the folder's name carries the coordinator's pid, so that a later run can remove what a dead one left
        self._private_dir = pathlib.Path(tempfile.mkdtemp(prefix=f"{self.private_prefix}{os.getpid()}-"))
        self.transport = "ipc"
        self.ip = str(self._socket_dir() / "k")
        self.connection_file = str(self._private_dir / "connection.json")
        return await super()._async_pre_start_kernel(**kw)

    def _socket_dir(self) -> pathlib.Path:
        """The folder of the kernel's IPC socket files (inside the private folder)."""
        return self._private_dir

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        kw["env"] = kernel_launch_env(kw.get("env"), self.case_key)
        return await super()._async_launch_kernel(kernel_cmd, **quiet_kernel_stdio(kw))

    async def _async_wait(self, pollinterval: float = 0.1) -> None:
        """Until the killed kernel has ended, polling after 1 ms, then twice as long each time, up to
        ``pollinterval``. jupyter_client polls every 0.1 s, and a kernel killed an instant ago is still alive at
        the first poll: each kernel's end took 0.1 s more than its death (tests/test_kernel_ready.py pins it)."""
        delay = 0.001
        while await self._async_is_alive():
            await asyncio.sleep(delay)
            delay = min(2 * delay, pollinterval)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        private = getattr(self, "_private_dir", None)
        if private is not None and not restart:
            shutil.rmtree(private, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources


def _notebook_timeout_trait():
    return Float(0.0, help="Seconds for the whole notebook (0: no limit).").tag(config=True)


class SafeExecute(KeepGoingMixin, Execute):
    """nbgrader's ``Execute`` with :class:`KeepGoingMixin` and :class:`PrivateKernelManager` (``--unsafe``)."""

    notebook_timeout = _notebook_timeout_trait()

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", PrivateKernelManager)  # a constructor argument in nbgrader
        super().__init__(*args, **kwargs)


def safe_execute(execute_class: type) -> type:
    """``execute_class`` (nbgrader's Execute or a subclass, e.g. the sandbox's) with :class:`KeepGoingMixin`."""
    if issubclass(execute_class, KeepGoingMixin):
        return execute_class
    if execute_class is Execute:
        return SafeExecute
    return type(f"Safe{execute_class.__name__}", (KeepGoingMixin, execute_class),
                {"__module__": __name__, "notebook_timeout": _notebook_timeout_trait()})
