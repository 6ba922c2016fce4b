"""How nbgrader and nbclient start a student's kernel through the sandbox launcher (:mod:`sandbox`).

- :class:`SandboxKernelManager` is the grader's private-folder kernel manager (:class:`execute.PrivateKernelManager`)
  whose kernel command is the launcher, and whose sockets are in a folder the sandbox uid may use; with ``warm``
  (the default) the launcher has this process's warm parent fork the kernel (:mod:`warm_kernels`), else, or
  when there is no warm parent, the kernel starts cold, in the same sandbox;
- :class:`SandboxExecute` is nbgrader's ``Execute`` with that kernel manager: nbgrader's ``Execute`` passes
  ``kernel_manager_class`` as a constructor argument, which beats any config value (pinned in
  ``tests/test_sandbox.py``), so the autograde chain gets this subclass in its place;
- :func:`executor_config` writes the stripped build and the launcher's spec, and returns the traitlets config
  that sandboxes every kernel of an nbgrader ``Autograde`` run or a plain nbclient run, with the per-cell
  timeout and an interrupt on timeout.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from nbgrader.preprocessors import Execute
from traitlets import Bool, Type, Unicode
from traitlets.config import Config

from . import warm_kernels
from .execute import PrivateKernelManager
from .sandbox import IPC_DIR, Limits, sandbox_spec, spec_limits
from .stripped import build_stripped


class SandboxKernelManager(PrivateKernelManager):
    """Starts the IPython kernel through the sandbox launcher, over IPC sockets."""

    spec_file = Unicode("", help="sandbox_spec.json written by executor_config").tag(config=True)
    warm = Bool(True, help="fork kernels from this process's warm parent (warm_kernels); else start them "
                           "cold").tag(config=True)
    private_prefix = "rnnsbx-"  # short: unix socket paths are limited to 107 bytes

    async def _async_pre_start_kernel(self, **kw):
        if not self.spec_file:
            raise RuntimeError("SandboxKernelManager.spec_file is not set; use sandbox_kernel.executor_config()")
        spec = json.loads(Path(self.spec_file).read_text())
        self._limits = spec_limits(spec)
        zygote = warm_kernels.zygote_for(spec) if self.warm else None
        self._zygote_socket = zygote.socket if zygote is not None else None
        return await super()._async_pre_start_kernel(**kw)

    def _socket_dir(self) -> Path:
        ipc = self._private_dir / IPC_DIR
        ipc.mkdir(mode=0o700)
        os.chown(ipc, self._limits.uid, self._limits.gid)
        return ipc

    def format_kernel_cmd(self, extra_arguments=None):
        # -I: the launcher runs as root in the notebook's directory; nothing there may shadow a module
        warm = ["--zygote", self._zygote_socket] if getattr(self, "_zygote_socket", None) else []
        return [sys.executable, "-I", "-m", "rnn_helpers.grader.sandbox", self.spec_file,
                str(self._private_dir), self.connection_file, *warm, "--", *(extra_arguments or [])]


class SandboxExecute(Execute):
    """nbgrader's Execute step with the sandboxed kernel manager (a constructor argument in nbgrader)."""

    kernel_manager_class = Type(SandboxKernelManager, klass=AsyncKernelManager).tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxKernelManager)
        super().__init__(*args, **kwargs)


def start_warm_parent(limits: Limits | None, workdir: str | os.PathLike) -> str | None:
    """Start this process's warm parent (:mod:`warm_kernels`) for the kernels :func:`executor_config` will
    configure with the same ``limits`` and ``workdir``, without waiting for its imports; its socket, for the grade
    workers on this machine to share (``executor_config(..., warm_parent=...)``), or ``None`` (not root, or it
    cannot start: then kernels start cold)."""
    if os.geteuid() != 0:
        return None
    return warm_kernels.warm_parent_socket(sandbox_spec(limits or Limits(), Path(workdir).resolve() / "stripped"))


def executor_config(limits: Limits | None, workdir: str | os.PathLike, *, warm: bool = True,
                    warm_parent: str | None = None) -> Config:
    """A traitlets Config for nbgrader's Execute step (or a plain nbclient run) that sandboxes every kernel.

    ``workdir`` is a directory of the grader's (created if missing); the stripped ``rnn_helpers`` build
    and the launcher's spec are written there. It must not be inside a submission. ``warm``: kernels are forked
    by a warm parent (:mod:`warm_kernels`): the one at the socket ``warm_parent`` (the coordinator's, from
    :func:`start_warm_parent`, for a grade worker on its machine), else this process's own, started here when we
    are root so that its imports overlap the rest of the set-up; without ``warm`` every kernel starts cold.
    """
    limits = limits or Limits()
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    stripped_root = workdir / "stripped"
    spec = sandbox_spec(limits, stripped_root)
    if warm and os.geteuid() == 0:
        if warm_parent:
            warm_kernels.adopt(spec, warm_parent)
        else:
            warm_kernels.prestart(spec)  # first: its imports overlap the build below
    build_stripped(stripped_root)
    spec_path = workdir / "sandbox_spec.json"
    spec_path.write_text(json.dumps(spec, indent=1))

    c = Config()
    km = f"{__name__}.SandboxKernelManager"
    c.SandboxKernelManager.spec_file = str(spec_path)
    c.SandboxKernelManager.warm = warm
    # nbgrader: Execute passes kernel_manager_class as a constructor argument (config loses), so the
    # autograde chain gets our subclass of Execute in its place.
    c.Autograde.autograde_preprocessors = autograde_preprocessors()
    for section in ("SandboxExecute", "Execute", "ExecutePreprocessor", "NotebookClient"):
        c[section].kernel_manager_class = km
        c[section].timeout = limits.cell_timeout
        c[section].interrupt_on_timeout = True
        # after the last cell the kernel has nothing left to give: kill it (the launcher's death ends the whole
        # namespace) rather than ask it to shut down and wait for it (a third of a warm kernel's cost)
        c[section].shutdown_kernel = "immediate"
        c[section].error_on_timeout = {
            "ename": "CellTimeoutError", "evalue": f"timed out after {limits.cell_timeout} s",
            "traceback": [f"CellTimeoutError: timed out after {limits.cell_timeout} s (the cell was interrupted)"]}
    return c


def autograde_preprocessors() -> list:
    """nbgrader's default autograde chain with ``Execute`` replaced by :class:`SandboxExecute`."""
    from nbgrader.converters.autograde import Autograde

    chain = list(Autograde.class_traits()["autograde_preprocessors"].make_dynamic_default())
    return [SandboxExecute if pp is Execute else pp for pp in chain]
