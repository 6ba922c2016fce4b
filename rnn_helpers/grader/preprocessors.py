"""nbgrader preprocessors that move the grading decision out of the student's kernel.

Plain nbgrader gives a test cell its points when its outputs hold no error and no stderr stream
(``nbgrader.utils.determine_grade``). Everything in those outputs comes from the student's kernel, so a
warning printed by honest code costs the points, and a kernel that hides its errors keeps them. The grader
therefore runs three preprocessors of its own around nbgrader's:

- :class:`NoteTampering` (sanitize phase, first) puts every cell the gradebook knows back as the gradebook
  knows it (labels, metadata, position after the cell it tests, read-only sources; deleted cells re-added)
  and notes each change; nbgrader's ``OverwriteCells`` then finds nothing left to object to;
- :class:`SafeExecute` (nbgrader's ``Execute``) survives a kernel that dies or hangs: a cell that times out
  costs that cell; the cell that killed the kernel, or after which it no longer answers, gets an error, the
  cells after it are marked "not run", and the notebook still reaches ``SaveAutoGrades``; it also enforces a
  time limit for the whole notebook;
- :class:`VerifyRecords` decides every graded test cell: it passes only if the cell raised nothing and every
  ``record_check`` call in the cell's *trusted* source (the gradebook's copy) has a record whose values match
  the reference computed here, in the grader's process, within that call's rtol/atol; it then replaces the
  cell's outputs by one verdict (an ``error`` output for a failure, a stdout line for a pass), so nbgrader's
  ``determine_grade`` can only reproduce the decision. Kernel output (stderr, ``execute_result`` partial
  credit, fake records elsewhere) no longer counts.

A :class:`GradingStore` shared by the preprocessors and the pipeline collects per-cell results and notes.
"""
from __future__ import annotations

import ast
import importlib
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from jupyter_client.manager import AsyncKernelManager
from nbconvert.preprocessors import Preprocessor
from nbformat.notebooknode import NotebookNode
from traitlets import Float

from nbgrader.preprocessors import Execute

from rnn_helpers.checks.records import CaseError, RecordError, decode, records_in_cell

DEFAULT_RTOL, DEFAULT_ATOL = 1e-7, 1e-9  # record_check's defaults


# ----------------------------------------------------------------------------- results


@dataclass
class CellResult:
    """The grader's decision on one graded cell."""

    name: str
    max_points: float
    points: float
    passed: bool
    messages: list[str] = field(default_factory=list)  # why it failed (or notes on a pass)
    kind: str = "test"  # "test" or "manual"


@dataclass
class GradingStore:
    """What the preprocessors found, keyed by ``(student, notebook)``."""

    cells: dict[tuple[str, str], dict[str, CellResult]] = field(default_factory=dict)
    notes: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def note(self, key: tuple[str, str], message: str) -> None:
        self.notes.setdefault(key, [])
        if message not in self.notes[key]:
            self.notes[key].append(message)


def _key(resources: dict) -> tuple[str, str]:
    nbg = resources["nbgrader"]
    return nbg["student"], nbg["notebook"]


def _grade_id(cell) -> str | None:
    return (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")


def _is_test_cell(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader") or {}
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def error_output(ename: str, message: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=message, traceback=[f"{ename}: {message}"])


# ----------------------------------------------------------------------------- sanitize phase


class _Shared:
    """Preprocessor instances handed to nbgrader through traitlets config, which deep-copies config values:
    they must stay the same object, so that what they find reaches the pipeline's store."""

    def __deepcopy__(self, memo):
        return self

    def __copy__(self):
        return self


class NoteTampering(_Shared, Preprocessor):
    """Before nbgrader's own checks: put back every cell the gradebook knows, as the gradebook knows it.

    Plain nbgrader restores the *source* of a locked cell, but a test cell whose nbgrader metadata was
    changed (``grade`` flipped, ``points``, ``locked`` or ``solution`` changed) makes its checksum check
    raise "Inconsistent checksums" and the whole notebook fails; a renamed ``grade_id`` or a swapped cell
    order is not handled at all. So, per cell, in this order:

    1. a cell whose ``grade_id`` is in the gradebook gets the gradebook's nbgrader metadata (and cell type);
       one whose label is unknown, duplicated or malformed loses its nbgrader metadata (an ordinary cell);
    2. a read-only cell (test cells included) that is missing, or that now runs before the cell it follows in
       the source notebook (its anchor: a solution cell, for a test), is put back right after that anchor
       and after the student's own code cells that follow it; a code cell whose source is exactly that
       cell's released (or trusted) source and that lost its label is taken as that cell;
    3. a read-only cell gets the gradebook's source back (hidden tests included).

    Every change is noted for the feedback ("test cell X was modified and has been restored (...)").
    ``released`` maps notebook name -> ``{grade_id: source}`` of the released test cells (what the student
    received); ``trusted`` the gradebook's sources; ``layout`` the gradebook's cells in source order
    (:func:`gradebook.source_layout`). Without ``layout`` the preprocessor only notes what it sees.
    """

    def __init__(self, store: GradingStore, released: dict[str, dict[str, str]],
                 trusted: dict[str, dict[str, str]] | None = None,
                 layout: dict[str, list[dict]] | None = None, **kw):
        super().__init__(**kw)
        self.store = store
        self.released = released
        self.trusted = trusted or {}  # the source version (a submitted solutions notebook is not an edit)
        self.layout = layout or {}

    def preprocess(self, nb, resources):
        key = _key(resources)
        layout = self.layout.get(key[1])
        if layout:
            self._restore(nb, key, layout)
        else:
            self._note_only(nb, key)
        return nb, resources

    # -- without a layout: notes only (nbgrader's OverwriteCells restores what it can) --------------------
    def _note_only(self, nb, key) -> None:
        released = self.released.get(key[1], {})
        seen = {}
        for cell in nb.cells:
            gid = _grade_id(cell)
            if gid is not None:
                seen.setdefault(gid, cell)
        for gid, source in released.items():
            cell = seen.get(gid)
            if cell is None:
                self.store.note(key, f"test cell {gid} was missing and has been restored")
            elif not _is_test_cell(cell):
                self.store.note(key, f"test cell {gid} was modified and has been restored (its nbgrader metadata)")
            elif cell.source.strip() not in (source.strip(), self.trusted.get(key[1], {}).get(gid, "").strip()):
                self.store.note(key, f"test cell {gid} was modified and has been restored (its code was edited)")

    # -- with the gradebook's layout ---------------------------------------------------------------------
    @staticmethod
    def _what(t: dict) -> str:
        if t["grade"] and not t["solution"]:
            return "test cell"
        return "answer cell" if t["solution"] else "read-only cell"

    def _changed(self, changes: dict, t: dict, why: str) -> None:
        changes.setdefault(t["name"], [])
        if why not in changes[t["name"]]:
            changes[t["name"]].append(why)

    def _restore(self, nb, key, layout: list[dict]) -> None:
        by_name = {t["name"]: t for t in layout}
        order = {t["name"]: i for i, t in enumerate(layout)}
        released = self.released.get(key[1], {})
        changes: dict[str, list[str]] = {}
        seen: set[str] = set()
        unlabelled: dict[int, str] = {}  # id(cell) -> note, for cells whose label was dropped

        # 1. labels and metadata
        for cell in nb.cells:
            if not isinstance(cell.get("metadata"), dict):
                cell["metadata"] = NotebookNode()
            if "nbgrader" not in cell.metadata:
                continue
            meta = cell.metadata["nbgrader"]
            gid = meta.get("grade_id") if isinstance(meta, dict) else None
            if not isinstance(gid, str) or gid not in by_name or gid in seen:
                del cell.metadata["nbgrader"]
                label = repr(gid)[:60] if gid is not None else "without a name"
                if isinstance(gid, str) and gid in seen:
                    unlabelled[id(cell)] = f"a second cell labelled {label} is graded as an ordinary cell"
                elif isinstance(meta, dict) and any(meta.get(k) for k in ("grade", "solution", "locked")):
                    unlabelled[id(cell)] = (f"a cell labelled {label}, which this assignment does not have, "
                                            "is graded as an ordinary cell")
                continue
            seen.add(gid)
            t = by_name[gid]
            want = self._metadata(t)
            diff = sorted(k for k in ("grade", "solution", "locked", "points", "task")
                          if _norm(meta.get(k)) != _norm(want.get(k)))
            if diff:
                self._changed(changes, t, "its nbgrader metadata: " + ", ".join(diff))
            if cell.cell_type != t["cell_type"]:
                self._changed(changes, t, f"its type ({cell.cell_type})")
                _set_cell_type(cell, t["cell_type"])
            cell.metadata["nbgrader"] = NotebookNode(want)

        # 2. read-only cells: missing ones back (or relabelled), misplaced ones after their anchor
        def label_of(cell):
            return _grade_id(cell) if "nbgrader" in cell.get("metadata", {}) else None

        for t in layout:
            if not t["locked"]:
                continue
            name = t["name"]
            position = {label_of(c): i for i, c in enumerate(nb.cells) if label_of(c) is not None}
            if name not in position:
                texts = {s.strip() for s in (released.get(name), t["source"]) if s}
                orphan = next((i for i, c in enumerate(nb.cells) if label_of(c) is None
                               and c.cell_type == t["cell_type"] and c.source.strip() in texts), None)
                if orphan is not None:
                    nb.cells[orphan].metadata["nbgrader"] = NotebookNode(self._metadata(t))
                    dropped = unlabelled.pop(id(nb.cells[orphan]), None)
                    self._changed(changes, t, "it had been relabelled" if dropped else
                                  "its nbgrader metadata had been removed")
                    position[name] = orphan
            before = next((p["name"] for p in reversed(layout[:order[name]]) if p["name"] in position), None)
            anchor = None if before is None else position[before]
            if name in position and (anchor is None or anchor < position[name]):
                continue  # in place
            if name in position:
                cell = nb.cells.pop(position[name])
                self._changed(changes, t, f"it had been moved above {before}")
                if anchor is not None and anchor > position[name]:
                    anchor -= 1
            else:
                cell = self._new_cell(t)
                self.store.note(key, f"{self._what(t)} {name} was missing and has been restored")
            at = 0 if anchor is None else anchor + 1
            while anchor is not None and at < len(nb.cells) and label_of(nb.cells[at]) is None \
                    and nb.cells[at].cell_type == "code":
                at += 1  # the student's own code after the anchor (helpers) runs before the test
            nb.cells.insert(at, cell)

        # 3. read-only sources
        for cell in nb.cells:
            gid = label_of(cell)
            t = by_name.get(gid) if gid is not None else None
            if t is None or not t["locked"]:
                continue
            if cell.source != t["source"]:
                if cell.source.strip() not in ((released.get(gid) or "").strip(), t["source"].strip()):
                    self._changed(changes, t, "its code was edited")
                cell.source = t["source"]
            if cell.cell_type == "code":
                cell.outputs = []

        for note in unlabelled.values():
            self.store.note(key, note)
        for name in sorted(changes, key=order.get):
            t = by_name[name]
            self.store.note(key, f"{self._what(t)} {name} was modified and has been restored "
                                 f"({'; '.join(changes[name])})")

    @staticmethod
    def _metadata(t: dict) -> dict:
        meta = {"grade": bool(t["grade"]), "grade_id": t["name"], "locked": bool(t["locked"]),
                "schema_version": 3, "solution": bool(t["solution"]), "task": bool(t["task"]),
                "cell_type": t["cell_type"]}
        if t.get("checksum"):
            meta["checksum"] = t["checksum"]
        if t["grade"] or t["task"]:
            meta["points"] = t["points"]
        return meta

    def _new_cell(self, t: dict):
        meta = NotebookNode({"deletable": False, "editable": False, "nbgrader": NotebookNode(self._metadata(t))})
        if t["cell_type"] == "code":
            return NotebookNode(cell_type="code", metadata=meta, source=t["source"], outputs=[],
                                execution_count=None)
        return NotebookNode(cell_type=t["cell_type"], metadata=meta, source=t["source"])


def _norm(value):
    """Metadata values compared loosely: a missing flag is False, points compare as floats."""
    if value is None or value is False:
        return False
    if isinstance(value, bool):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return repr(value)


def _set_cell_type(cell, cell_type: str) -> None:
    cell.cell_type = cell_type
    if cell_type == "code":
        cell.setdefault("outputs", [])
        cell.setdefault("execution_count", None)
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)


# ----------------------------------------------------------------------------- execution


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


class PrivateKernelManager(AsyncKernelManager):
    """The plain kernel of ``--unsafe``: IPC sockets in a private 0700 folder (no TCP port on localhost, so no
    "running over TCP without encryption" warning either) and quiet process streams (:func:`quiet_kernel_stdio`)."""

    async def _async_pre_start_kernel(self, **kw):
        self._private_dir = pathlib.Path(tempfile.mkdtemp(prefix="rnnk-"))  # short: socket paths < 108 bytes
        self.transport = "ipc"
        self.ip = str(self._private_dir / "k")
        self.connection_file = str(self._private_dir / "connection.json")
        return await super()._async_pre_start_kernel(**kw)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        return await super()._async_launch_kernel(kernel_cmd, **quiet_kernel_stdio(kw))

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


# ----------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class RecordCall:
    """One ``record_check(assignment, check, fn, rtol=..., atol=...)`` of a trusted test cell."""

    assignment: str
    check: str
    rtol: float
    atol: float


class TrustedSourceError(ValueError):
    """A test cell whose trusted source the grader cannot read (an instructor's error)."""


def record_calls(source: str) -> list[RecordCall]:
    """The ``record_check`` calls of a (trusted) test cell, with their literal arguments."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        code = TransformerManager().transform_cell(source)
    except Exception:  # IPython missing or odd input: parse the source as it is
        code = source
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise TrustedSourceError(f"test cell does not parse: {exc.msg} (line {exc.lineno})") from None
    calls = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if name != "record_check":
            continue
        try:
            args = [ast.literal_eval(a) for a in node.args[:2]]
            kw = {k.arg: k.value for k in node.keywords if k.arg}
            if len(args) < 2:
                args += [ast.literal_eval(kw[n]) for n in ("assignment", "check")[len(args):]]
            rtol = float(ast.literal_eval(kw["rtol"])) if "rtol" in kw else DEFAULT_RTOL
            atol = float(ast.literal_eval(kw["atol"])) if "atol" in kw else DEFAULT_ATOL
        except (ValueError, KeyError, TypeError, SyntaxError):
            raise TrustedSourceError(
                f"record_check at line {node.lineno} needs literal assignment, check, rtol and atol") from None
        if not all(isinstance(a, str) for a in args[:2]):
            raise TrustedSourceError(f"record_check at line {node.lineno}: assignment and check must be strings")
        calls.append(RecordCall(args[0], args[1], rtol, atol))
    return calls


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} ({value.dtype})"
    return f"a {type(value).__name__}"


def compare_values(student: Any, expected: Any, rtol: float, atol: float, where: str = "") -> str | None:
    """``None`` when ``student`` matches ``expected`` (same structure and shapes, allclose, NaN where the
    reference has NaN), else a one-line reason."""
    at = f" at {where}" if where else ""
    if isinstance(student, CaseError):
        return f"raised {student.message}"
    if isinstance(expected, (tuple, list)):
        if not isinstance(student, (tuple, list)) or len(student) != len(expected):
            return f"returned {_describe(student)}{at}, expected a sequence of {len(expected)} values"
        for i, (s, e) in enumerate(zip(student, expected)):
            reason = compare_values(s, e, rtol, atol, f"{where}[{i}]")
            if reason:
                return reason
        return None
    if isinstance(expected, dict):
        if not isinstance(student, dict) or set(student) != set(expected):
            got = sorted(map(str, student)) if isinstance(student, dict) else _describe(student)
            return f"returned {got}{at}, expected keys {sorted(map(str, expected))}"
        for k in expected:
            reason = compare_values(student[k], expected[k], rtol, atol, f"{where}[{k!r}]")
            if reason:
                return reason
        return None
    if expected is None or isinstance(expected, str):
        return None if student == expected and type(student) is type(expected) else \
            f"returned {student!r:.60}{at}, expected {expected!r:.60}"
    e = np.asarray(expected)
    if isinstance(student, (str, bytes, dict, list, tuple)) or student is None:
        return f"returned {_describe(student)}{at}, expected {_describe(e)}"
    s = np.asarray(student)
    if s.dtype.kind not in "biufc":
        return f"returned {_describe(student)}{at}, expected numbers"
    if s.shape != e.shape:
        return f"returned shape {s.shape}{at}, expected {e.shape}"
    if np.allclose(s, e, rtol=rtol, atol=atol, equal_nan=True):
        return None
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(s.astype(np.complex128 if np.iscomplexobj(s) or np.iscomplexobj(e) else np.float64) - e)
    if np.isnan(s).any() and not np.isnan(e).any():
        return f"returned NaN{at} where the reference has none"
    finite = diff[np.isfinite(diff)]
    worst = f"max abs diff {finite.max():.2g}" if finite.size else "non-finite values"
    return f"differs from the reference{at} ({worst}, rtol={rtol:g}, atol={atol:g})"


class ReferenceCache:
    """Reference outputs per check, computed once per grading run in the grader's process."""

    def __init__(self, checks_provider: Callable[[str], dict]):
        self.checks_provider = checks_provider
        self._cache: dict[tuple[str, str], Any] = {}

    def check(self, assignment: str, name: str):
        checks = self.checks_provider(assignment)
        if name not in checks:
            raise TrustedSourceError(f"no check named {name!r} for assignment {assignment!r}")
        return checks[name]

    def outputs(self, assignment: str, name: str) -> list:
        key = (assignment, name)
        if key not in self._cache:
            check = self.check(assignment, name)
            ref = check.reference_function()
            call = check.reference_call or check.call or (lambda fn, case: fn(**case))
            self._cache[key] = [call(ref, case) for case in check.cases()]
        return self._cache[key]


def default_scanner() -> Callable[..., list[str]] | None:
    """SANDBOX's ``source_check.scan_source`` when it is installed, else ``None``."""
    try:
        module = importlib.import_module("rnn_helpers.grader.source_check")
    except ImportError:
        return None
    return getattr(module, "scan_source", None)


class VerifyRecords(_Shared, Preprocessor):
    """Decide each graded test cell from the records and the trusted source (see the module docstring)."""

    def __init__(self, store: GradingStore, references: ReferenceCache, trusted: dict[str, dict[str, str]],
                 locked: dict[str, set[str]], assignment: str, scanner: Callable[..., list[str]] | None = None,
                 cell_timeout: float | None = None, **kw):
        super().__init__(**kw)
        self.store = store
        self.references = references
        self.trusted = trusted  # notebook -> {grade_id: trusted source}
        self.locked = locked  # notebook -> grade_ids of locked (instructor) cells
        self.assignment = assignment
        self.scanner = scanner
        self.cell_timeout = cell_timeout

    def preprocess(self, nb, resources):
        key = _key(resources)
        trusted = self.trusted.get(key[1], {})
        locked = self.locked.get(key[1], set())
        replies = resources.get("rnn_course", {}).get("reply_status", {})
        results = self.store.cells.setdefault(key, {})
        student_cells: list[str] = []  # source of the student's cells since the previous test cell
        timed_out: list[str] = []  # "timed out after N s" of those cells, to explain a test that failed after
        for index, cell in enumerate(nb.cells):
            gid = _grade_id(cell)
            if cell.cell_type == "code" and not (gid in locked and cell.source == trusted.get(gid)):
                student_cells.append(cell.source)
            if not _is_test_cell(cell) or gid not in trusted:
                if cell.cell_type == "code":
                    timed_out += [str(o.get("evalue") or "timed out") for o in cell.get("outputs", [])
                                  if o.get("output_type") == "error" and o.get("ename") == "CellTimeoutError"]
                continue
            max_points = float(cell.metadata["nbgrader"].get("points", 0))
            messages = self._decide(cell, trusted[gid], student_cells, replies.get(index))
            if messages and timed_out:
                messages.append(f"a cell of yours before this test {timed_out[0]}")
            timed_out = []
            passed = not messages
            results[gid] = CellResult(gid, max_points, max_points if passed else 0.0, passed, messages)
            if passed:
                cell.outputs = [NotebookNode(output_type="stream", name="stdout",
                                             text="passed: the grader verified this cell\n")]
            else:
                cell.outputs = [error_output("NotPassed", "; ".join(messages))]
            student_cells = []
        return nb, resources

    def _decide(self, cell, trusted_source: str, student_sources: list[str], reply_status) -> list[str]:
        reasons: list[str] = []
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        timed_out = any(str(o.get("ename")) == "CellTimeoutError" for o in errors)
        for err in sorted(errors, key=lambda o: str(o.get("ename")) != "CellTimeoutError"):
            if timed_out and str(err.get("ename")) == "KeyboardInterrupt":
                continue  # the interrupt the grader sent at the time limit, not an error of the student's
            ename, evalue = str(err.get("ename", "Error")), str(err.get("evalue", ""))
            if ename == "CellTimeoutError":
                reasons.append(evalue if evalue.startswith("timed out after") else
                               f"timed out after {self._cell_limit()}")
            elif ename in ("KernelDied", "NotRun"):
                reasons.append(evalue)
            else:
                reasons.append(f"the test cell raised {ename}: {evalue}"[:500] if evalue else
                               f"the test cell raised {ename}")
        if not errors and reply_status == "error":
            reasons.append("the test cell raised an error (its display was suppressed)")
        try:
            calls = record_calls(trusted_source)
        except TrustedSourceError as exc:
            return reasons + [f"grader error, tell the instructor: {exc}"]
        if not errors:
            reasons += self._verify(cell, calls)
        from_scratch = False
        for call in calls:
            try:
                from_scratch = from_scratch or bool(self.references.check(call.assignment, call.check).from_scratch)
            except (TrustedSourceError, KeyError):
                pass
        if self.scanner is not None:
            for source in student_sources:
                try:
                    found = self.scanner(source, from_scratch=from_scratch)
                except SyntaxError:
                    found = []  # the cell fails in the kernel as well; that is reported there
                except Exception as exc:  # the scanner must not lose a student
                    found = [f"source check failed: {type(exc).__name__}"]
                for finding in found or []:
                    if finding not in reasons:
                        reasons.append(finding)
        return reasons

    def _cell_limit(self) -> str:
        return f"{self.cell_timeout:g} s" if self.cell_timeout else "the per-cell time limit"

    def _verify(self, cell, calls: list[RecordCall]) -> list[str]:
        reasons = []
        records = records_in_cell(cell)
        for call in calls:
            if call.assignment != self.assignment:
                reasons.append(f"grader error, tell the instructor: record_check names assignment "
                               f"{call.assignment!r}, grading {self.assignment!r}")
                continue
            payload = records.get(call.check)
            if payload is None:
                reasons.append(f"{call.check}: no record (the test cell did not run to the end)")
                continue
            try:
                expected = self.references.outputs(call.assignment, call.check)
            except TrustedSourceError as exc:
                reasons.append(f"grader error, tell the instructor: {exc}")
                continue
            except Exception as exc:  # the reference itself failed: never the student's fault
                reasons.append(f"grader error, tell the instructor: reference for {call.check} raised "
                               f"{type(exc).__name__}: {exc}")
                continue
            try:
                if payload.get("assignment") != call.assignment or type(payload.get("outputs")) is not list:
                    raise RecordError("wrong header")
                # plain JSON types first: decode() accepts exactly dict/list, not nbformat's NotebookNode
                got = [decode(v) for v in json.loads(json.dumps(payload["outputs"]))]
            except (RecordError, AttributeError, TypeError, ValueError) as exc:
                reasons.append(f"{call.check}: malformed record ({exc})")
                continue
            if len(got) != len(expected):
                reasons.append(f"{call.check}: malformed record ({len(got)} cases, expected {len(expected)})")
                continue
            compare = self.references.check(call.assignment, call.check).compare
            failing = []
            for i, (s, e) in enumerate(zip(got, expected)):
                try:
                    if isinstance(s, CaseError):
                        reason = f"raised {s.message}"
                    elif compare is not None:
                        reason = compare(s, e, call.rtol, call.atol)
                    else:
                        reason = compare_values(s, e, call.rtol, call.atol)
                except Exception as exc:  # a comparison that chokes on what the student returned
                    reason = f"could not be compared ({type(exc).__name__}: {exc})"
                if reason:
                    failing.append((i, reason))
            if failing:
                i, reason = failing[0]
                more = f" (and {len(failing) - 1} more of {len(got)} cases)" if len(failing) > 1 else ""
                reasons.append(f"{call.check}: case {i} {reason}{more}")
        return reasons
