"""The decision on every graded test cell, taken in the grader's process from records and trusted sources.

Plain nbgrader gives a test cell its points when its outputs hold no error and no stderr stream
(``nbgrader.utils.determine_grade``). Everything in those outputs comes from the student's kernel, so a
warning printed by honest code costs the points, and a kernel that hides its errors keeps them.
:class:`VerifyRecords` (right after the execute step) passes a test cell only if the cell raised nothing and
every ``record_check`` call in the cell's *trusted* source (the gradebook's copy) has a record whose values
match the reference computed here, within that call's rtol/atol, and the source scan found nothing in the
student's cells before it. It then replaces the cell's outputs by one verdict (an ``error`` output for a
failure, a stdout line for a pass), so nbgrader's ``determine_grade`` can only reproduce the decision. Kernel
output (stderr, ``execute_result`` partial credit, fake records elsewhere) no longer counts.

When a hidden check fails on the values a student's function returned, :class:`FailureExplainer` (one per
grading run, here in the grader's process) says why (:func:`rnn_helpers.grader.explain.explain`): the
catalogued mistakes that match every case ("likely mistake"), or where the function fails. The explanation
replaces the check's generic message (worded by :func:`rnn_helpers.grader.explain.describe`) and goes into
:class:`CellResult`'s ``mistakes``, ``failing_cases`` and ``explanations`` (``Explanation.entry``, plain data that
the feedback, ``grades.json`` and the class report word with ``describe`` again). Explaining never decides a grade:
an explainer that fails leaves the generic message and a log line.

A test cell that raised is reported as :func:`raised_message` words it (a visible test's assert reads
``the test cell raised AssertionError: <its message>``, :func:`visible_test_message` reads it back); such a cell
is not explained, its records are not even read.
"""
from __future__ import annotations

import json
import logging
from typing import Callable

from nbconvert.preprocessors import Preprocessor
from nbformat.notebooknode import NotebookNode

from rnn_helpers.checks.records import RecordError, decode, records_in_cell

from .grading_store import CellResult, GradingStore, SharedPreprocessor, store_key
from .nbgrader_cells import error_output, grade_id, is_test_cell
from .record_calls import RecordCall, TrustedSourceError, record_calls
from .reference_cache import ReferenceCache

Scanner = Callable[..., list[str]]  # source_check.scan_source(source, *, from_scratch) -> findings
LOG = logging.getLogger("rnn_helpers.grader")

PASSED = "passed: the grader verified this cell\n"
RAISED = "the test cell raised "


def raised_message(ename: str, evalue: str) -> str:
    """The reason of a test cell that raised ``ename`` with message ``evalue`` (a visible test's failure)."""
    return f"{RAISED}{ename}: {evalue}"[:500] if evalue else f"{RAISED}{ename}"


def visible_test_message(reason: str) -> str | None:
    """The message of a visible test's failed assert in a reason :func:`raised_message` worded, else None."""
    prefix = f"{RAISED}AssertionError: "
    return reason[len(prefix):] if reason.startswith(prefix) else None


class VerifyRecords(SharedPreprocessor, Preprocessor):
    """Decide each graded test cell from the records and the trusted source (see the module docstring).

    ``scanner`` is the source scan (``source_check.scan_source``); there is no default: grading without the
    scan must be asked for by passing a scanner that finds nothing.
    """

    def __init__(self, store: GradingStore, references: ReferenceCache, trusted: dict[str, dict[str, str]],
                 locked: dict[str, set[str]], assignment: str, scanner: Scanner,
                 cell_timeout: float | None = None, explainer: "FailureExplainer | None" = None, **kw):
        super().__init__(**kw)
        self.store = store
        self.references = references
        self.trusted = trusted  # notebook -> {grade_id: trusted source}
        self.locked = locked  # notebook -> grade_ids of locked (instructor) cells
        self.assignment = assignment
        self.scanner = scanner
        self.cell_timeout = cell_timeout
        self.explainer = explainer  # None: hidden failures keep their generic message
        self._explained: list = []  # the explanations of the test cell being decided
        self._findings: list[str] = []  # and the source scan's findings before it

    def preprocess(self, nb, resources):
        key = store_key(resources)
        trusted = self.trusted.get(key[1], {})
        locked = self.locked.get(key[1], set())
        replies = resources.get("rnn_course", {}).get("reply_status", {})
        results = self.store.cells.setdefault(key, {})
        student_cells: list[str] = []  # source of the student's cells since the previous test cell
        timed_out: list[str] = []  # "timed out after N s" of those cells, to explain a test that failed after
        for index, cell in enumerate(nb.cells):
            gid = grade_id(cell)
            if cell.cell_type == "code" and not (gid in locked and cell.source == trusted.get(gid)):
                student_cells.append(cell.source)
            if not is_test_cell(cell) or gid not in trusted:
                if cell.cell_type == "code":
                    timed_out += _timeouts(cell)
                continue
            max_points = float(cell.metadata["nbgrader"].get("points", 0))
            self._explained, self._findings = [], []
            messages = self._decide(cell, trusted[gid], student_cells, replies.get(index))
            if messages and timed_out:
                messages.append(f"a cell of yours before this test {timed_out[0]}")
            timed_out = []
            passed = not messages
            results[gid] = CellResult(gid, max_points, max_points if passed else 0.0, passed, messages)
            if not passed:
                _add_explanations(results[gid], self._explained)
                results[gid].findings = list(self._findings)
            if passed:
                cell.outputs = [NotebookNode(output_type="stream", name="stdout", text=PASSED)]
            else:
                cell.outputs = [error_output("NotPassed", "; ".join(messages))]
            student_cells = []
        return nb, resources

    def _decide(self, cell, trusted_source: str, student_sources: list[str], reply_status) -> list[str]:
        """Why the test cell fails (empty: it passes): its errors, its records, the scan of the student's cells."""
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        reasons = self._error_reasons(errors)
        if not errors and reply_status == "error":
            reasons.append("the test cell raised an error (its display was suppressed)")
        try:
            calls = record_calls(trusted_source)
        except TrustedSourceError as exc:
            return reasons + [f"grader error, tell the instructor: {exc}"]
        if not errors:
            reasons += self._verify(cell, calls)
        for finding in self._scan(student_sources, self._from_scratch(calls)):
            if finding not in self._findings:
                self._findings.append(finding)
            if finding not in reasons:
                reasons.append(finding)
        return reasons

    def _error_reasons(self, errors: list) -> list[str]:
        """One reason per error output; a timeout first, and the interrupt that ended it left out."""
        reasons = []
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
                reasons.append(raised_message(ename, evalue))
        return reasons

    def _from_scratch(self, calls: list[RecordCall]) -> bool:
        """Whether any check of the cell is a from-scratch exercise (the scan then also forbids torch's RNNs)."""
        from_scratch = False
        for call in calls:
            try:
                from_scratch = from_scratch or bool(self.references.check(call.assignment, call.check).from_scratch)
            except (TrustedSourceError, KeyError):
                pass
        return from_scratch

    def _scan(self, student_sources: list[str], from_scratch: bool) -> list[str]:
        findings = []
        for source in student_sources:
            try:
                found = self.scanner(source, from_scratch=from_scratch)
            except Exception as exc:  # the scanner must not lose a student (and a cell it cannot scan fails)
                found = [f"source check failed: {type(exc).__name__}"]
            findings += found or []
        return findings

    def _cell_limit(self) -> str:
        return f"{self.cell_timeout:g} s" if self.cell_timeout else "the per-cell time limit"

    def _verify(self, cell, calls: list[RecordCall]) -> list[str]:
        """One reason per ``record_check`` call whose record is missing, malformed or wrong."""
        records = records_in_cell(cell)
        reasons = [self._verify_call(call, records.get(call.check)) for call in calls]
        return [reason for reason in reasons if reason]

    def _verify_call(self, call: RecordCall, payload) -> str | None:
        if call.assignment != self.assignment:
            return (f"grader error, tell the instructor: record_check names assignment "
                    f"{call.assignment!r}, grading {self.assignment!r}")
        if payload is None:
            return f"{call.check}: no record (the test cell did not run to the end)"
        try:
            expected = self.references.outputs(call.assignment, call.check)
        except TrustedSourceError as exc:
            return f"grader error, tell the instructor: {exc}"
        except Exception as exc:  # the reference itself failed: never the student's fault
            return (f"grader error, tell the instructor: reference for {call.check} raised "
                    f"{type(exc).__name__}: {exc}")
        try:
            got = _decoded_outputs(payload, call.assignment)
        except (RecordError, AttributeError, TypeError, ValueError) as exc:
            return f"{call.check}: malformed record ({exc})"
        if len(got) != len(expected):
            return f"{call.check}: malformed record ({len(got)} cases, expected {len(expected)})"
        return self._compare_cases(call, got, expected)

    def _compare_cases(self, call: RecordCall, got: list, expected: list) -> str | None:
        """The first failing case of a check (and how many more fail), or ``None`` when all match."""
        check = self.references.check(call.assignment, call.check)
        reasons = [check.compare_output(s, e, call.rtol, call.atol) for s, e in zip(got, expected)]
        failing = [(i, reason) for i, reason in enumerate(reasons) if reason]
        if not failing:
            return None
        i, reason = failing[0]
        more = f" (and {len(failing) - 1} more of {len(got)} cases)" if len(failing) > 1 else ""
        generic = f"{call.check}: case {i} {reason}{more}"
        if self.explainer is None:
            return generic
        cases = self.references.cases(call.assignment, call.check)
        explanation = self.explainer.explain(call.assignment, check, cases, got, expected, reasons, call.rtol,
                                             call.atol)
        if explanation is None or not explanation.failed:
            return generic
        try:
            from .explain import describe

            entry = explanation.entry()
            message = describe(call.assignment, entry)
        except Exception as exc:  # noqa: BLE001 - a broken catalogue entry must not cost a grade either
            LOG.warning("could not word the explanation of %s: %s: %s", call.check, type(exc).__name__, exc)
            return generic
        self._explained.append((explanation, entry))
        return message


class FailureExplainer:
    """Explains failed hidden checks for one grading run (its :class:`MistakeRunner` computes every mistake's
    outputs once per run). Only assignments with a mistake catalogue are explained; for any other (the test
    fixture's), and whenever explaining raises, :meth:`explain` gives ``None`` (and logs why it raised)."""

    def __init__(self, solutions_dir=None):
        self.solutions_dir = solutions_dir
        self.runner = None  # the explain.MistakeRunner, made on first use (importing it here could fail grading)
        self._catalogued: dict[str, bool] = {}

    def catalogued(self, assignment: str) -> bool:
        """Whether the assignment has a mistake catalogue (``rnn_helpers.grader.mistakes.ch<assignment>``)."""
        if assignment not in self._catalogued:
            from .mistakes import catalogue

            try:
                self._catalogued[assignment] = bool(catalogue(assignment))
            except (KeyError, ImportError):
                self._catalogued[assignment] = False
        return self._catalogued[assignment]

    def _runner(self):
        if self.runner is None:
            from .explain import MistakeRunner

            self.runner = MistakeRunner(self.solutions_dir)
        return self.runner

    def computed(self, assignment: str, references: ReferenceCache) -> dict:
        """Every catalogued mistake's outputs on the run's cases (:meth:`.explain.MistakeRunner.all_outputs`),
        computed now, for another grader of the run to :meth:`load`; empty when the assignment has no catalogue
        or computing raises (whoever loads it then computes its own, as it would have)."""
        try:
            if not self.catalogued(assignment):
                return {}
            return self._runner().all_outputs(assignment, references.checks_provider(assignment),
                                              lambda name: references.cases(assignment, name))
        except Exception as exc:  # noqa: BLE001 - explaining must never cost a student a grade
            LOG.warning("could not compute the mistakes of %s: %s: %s", assignment, type(exc).__name__,
                        str(exc)[:300])
            return {}

    def load(self, outputs: dict) -> None:
        """Take another grader's :meth:`computed` as this run's own."""
        self._runner().load(outputs)

    def explain(self, assignment: str, check, cases: list[dict], got: list, expected: list,
                reasons: list[str | None], rtol: float, atol: float):
        """The :class:`~rnn_helpers.grader.explain.Explanation` of one failed check, or ``None``: ``cases`` and
        ``expected`` are the run's (``ReferenceCache``), ``reasons`` the grader's verdict on each case."""
        try:
            if not self.catalogued(assignment):
                return None
            from .explain import explain

            return explain(assignment, check.name, cases, got, rtol, atol, check=check, expected=expected,
                           reasons=reasons, runner=self._runner())
        except Exception as exc:  # noqa: BLE001 - explaining must never cost a student a grade
            LOG.warning("could not explain %s/%s: %s: %s", assignment, getattr(check, "name", check),
                        type(exc).__name__, str(exc)[:300])
            return None


def _add_explanations(result: CellResult, explained: list) -> None:
    for explanation, entry in explained:
        result.mistakes += [m for m in explanation.mistakes if m not in result.mistakes]
        result.failing_cases += [dict(check=explanation.check, **c) for c in explanation.failing_cases()]
        result.explanations.append(entry)


def _decoded_outputs(payload, assignment: str) -> list:
    """The values a record holds, decoded; :class:`RecordError` (or a type error) when it is not a record."""
    if payload.get("assignment") != assignment or type(payload.get("outputs")) is not list:
        raise RecordError("wrong header")
    # plain JSON types first: decode() accepts exactly dict/list, not nbformat's NotebookNode
    return [decode(v) for v in json.loads(json.dumps(payload["outputs"]))]


def _timeouts(cell) -> list[str]:
    """The "timed out after N s" of a student's cell, to explain a test that fails after it."""
    return [str(o.get("evalue") or "timed out") for o in cell.get("outputs", [])
            if o.get("output_type") == "error" and o.get("ename") == "CellTimeoutError"]
