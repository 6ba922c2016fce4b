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
replaces the check's generic message and goes into :class:`CellResult`'s ``mistakes``, ``failing_cases`` and
``explanations``. Explaining never decides a grade: an explainer that fails leaves the generic message and a
log line.
"""
from __future__ import annotations

import json
import logging
from typing import Callable

from nbconvert.preprocessors import Preprocessor
from nbformat.notebooknode import NotebookNode

from rnn_helpers.checks.records import CaseError, RecordError, decode, records_in_cell

from .grading_store import CellResult, GradingStore, SharedPreprocessor, store_key
from .nbgrader_cells import error_output, grade_id, is_test_cell
from .record_calls import RecordCall, TrustedSourceError, record_calls
from .reference_cache import ReferenceCache

Scanner = Callable[..., list[str]]  # source_check.scan_source(source, *, from_scratch) -> findings
LOG = logging.getLogger("rnn_helpers.grader")

PASSED = "passed: the grader verified this cell\n"


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
                reasons.append(f"the test cell raised {ename}: {evalue}"[:500] if evalue else
                               f"the test cell raised {ename}")
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
            except SyntaxError:
                found = []  # the cell fails in the kernel as well; that is reported there
            except Exception as exc:  # the scanner must not lose a student
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
        failing = []
        for i, (s, e) in enumerate(zip(got, expected)):
            try:
                if isinstance(s, CaseError):
                    reason = f"raised {s.message}"
                else:
                    reason = check.compare_output(s, e, call.rtol, call.atol)  # its own compare, or compare_values
            except Exception as exc:  # a comparison that chokes on what the student returned
                reason = f"could not be compared ({type(exc).__name__}: {exc})"
            if reason:
                failing.append((i, reason))
        if not failing:
            return None
        i, reason = failing[0]
        more = f" (and {len(failing) - 1} more of {len(got)} cases)" if len(failing) > 1 else ""
        generic = f"{call.check}: case {i} {reason}{more}"
        if self.explainer is None:
            return generic
        explanation = self.explainer.explain(call.assignment, check, got, expected, call.rtol, call.atol)
        if explanation is None or not explanation.failed:
            return generic
        try:
            message = explanation_message(explanation)
        except Exception as exc:  # noqa: BLE001 - a broken catalogue entry must not cost a grade either
            LOG.warning("could not word the explanation of %s: %s: %s", call.check, type(exc).__name__, exc)
            return generic
        self._explained.append(explanation)
        return message


class FailureExplainer:
    """Explains failed hidden checks for one grading run (its :class:`MistakeRunner` computes every mistake's
    outputs once per run). Only assignments with a mistake catalogue are explained; for any other (the test
    fixture's), and whenever explaining raises, :meth:`explain` gives ``None`` (and logs why it raised)."""

    def __init__(self, solutions_dir=None):
        self.solutions_dir = solutions_dir
        self.runner = None  # the explain.MistakeRunner, made on first use (importing it here could fail grading)
        self._cases: dict[tuple[str, str], list] = {}
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

    def explain(self, assignment: str, check, got: list, expected: list, rtol: float, atol: float):
        """The :class:`~rnn_helpers.grader.explain.Explanation` of one failed check, or ``None``."""
        try:
            if not self.catalogued(assignment):
                return None
            from .explain import MistakeRunner, explain

            if self.runner is None:
                self.runner = MistakeRunner(self.solutions_dir)
            key = (assignment, check.name)
            if key not in self._cases:
                self._cases[key] = check.cases()
            return explain(assignment, check.name, self._cases[key], got, rtol, atol, check=check,
                           expected=expected, runner=self.runner)
        except Exception as exc:  # noqa: BLE001 - explaining must never cost a student a grade
            LOG.warning("could not explain %s/%s: %s: %s", assignment, getattr(check, "name", check),
                        type(exc).__name__, str(exc)[:300])
            return None


def explanation_message(explanation) -> str:
    """The message of an explained hidden failure: the named mistakes (id, what to fix, book section), or
    where the function fails (``Explanation.text``)."""
    if not explanation.mistakes:
        return explanation.text()
    from .mistakes import catalogue

    found = catalogue(explanation.assignment)
    named = [f"{i}: {found[i].says} (book: {found[i].section})" if i in found else i for i in explanation.mistakes]
    return f"{explanation.check}: likely mistake " + " Or likely mistake ".join(named)


def _add_explanations(result: CellResult, explained: list) -> None:
    for explanation in explained:
        result.mistakes += [m for m in explanation.mistakes if m not in result.mistakes]
        result.failing_cases += [dict(check=explanation.check, **c) for c in explanation.failing_cases()]
        result.explanations.append(explanation_message(explanation))


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
