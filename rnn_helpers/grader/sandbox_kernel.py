"""How nbgrader and nbclient start a student's kernel through the sandbox launcher (:mod:`sandbox`).

- :class:`SandboxKernelManager` is the grader's private-folder kernel manager (:class:`execute.PrivateKernelManager`)
  whose kernel command is the launcher, and whose sockets are in a folder the sandbox uid may use;
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
from traitlets import Type, Unicode
from traitlets.config import Config

from .execute import PrivateKernelManager
from .sandbox import IPC_DIR, Limits, sandbox_spec, spec_limits
from .stripped import build_stripped


class SandboxKernelManager(PrivateKernelManager):
    """Starts the IPython kernel through the sandbox launcher, over IPC sockets."""

    spec_file = Unicode("", help="sandbox_spec.json written by executor_config").tag(config=True)
    private_prefix = "rnnsbx-"  # short: unix socket paths are limited to 107 bytes

    async def _async_pre_start_kernel(self, **kw):
        if not self.spec_file:
            raise RuntimeError("SandboxKernelManager.spec_file is not set; use sandbox_kernel.executor_config()")
        self._limits = spec_limits(json.loads(Path(self.spec_file).read_text()))
        return await super()._async_pre_start_kernel(**kw)

    def _socket_dir(self) -> Path:
        ipc = self._private_dir / IPC_DIR
        ipc.mkdir(mode=0o700)
        os.chown(ipc, self._limits.uid, self._limits.gid)
        return ipc

    def format_kernel_cmd(self, extra_arguments=None):
        # -I: the launcher runs as root in the notebook's directory; nothing there may shadow a module
        return [sys.executable, "-I", "-m", "rnn_helpers.grader.sandbox", self.spec_file,
                str(self._private_dir), self.connection_file, "--", *(extra_arguments or [])]


class SandboxExecute(Execute):
    """nbgrader's Execute step with the sandboxed kernel manager (a constructor argument in nbgrader)."""

    kernel_manager_class = Type(SandboxKernelManager, klass=AsyncKernelManager).tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxKernelManager)
        super().__init__(*args, **kwargs)


def executor_config(limits: Limits | None, workdir: str | os.PathLike) -> Config:
    """A traitlets Config for nbgrader's Execute step (or a plain nbclient run) that sandboxes every kernel.

    ``workdir`` is a directory of the grader's (created if missing); the stripped ``rnn_helpers`` build
    and the launcher's spec are written there. It must not be inside a submission.
    """
    limits = limits or Limits()
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    stripped_root = workdir / "stripped"
    build_stripped(stripped_root)
    spec_path = workdir / "sandbox_spec.json"
    spec_path.write_text(json.dumps(sandbox_spec(limits, stripped_root), indent=1))

    c = Config()
    km = f"{__name__}.SandboxKernelManager"
    c.SandboxKernelManager.spec_file = str(spec_path)
    # nbgrader: Execute passes kernel_manager_class as a constructor argument (config loses), so the
    # autograde chain gets our subclass of Execute in its place.
    c.Autograde.autograde_preprocessors = autograde_preprocessors()
    for section in ("SandboxExecute", "Execute", "ExecutePreprocessor", "NotebookClient"):
        c[section].kernel_manager_class = km
        c[section].timeout = limits.cell_timeout
        c[section].interrupt_on_timeout = True
        c[section].error_on_timeout = {
            "ename": "CellTimeoutError", "evalue": f"timed out after {limits.cell_timeout} s",
            "traceback": [f"CellTimeoutError: timed out after {limits.cell_timeout} s (the cell was interrupted)"]}
    return c


def autograde_preprocessors() -> list:
    """nbgrader's default autograde chain with ``Execute`` replaced by :class:`SandboxExecute`."""
    from nbgrader.converters.autograde import Autograde

    chain = list(Autograde.class_traits()["autograde_preprocessors"].make_dynamic_default())
    return [SandboxExecute if pp is Execute else pp for pp in chain]
