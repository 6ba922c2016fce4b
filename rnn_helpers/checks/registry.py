"""The check registry: for each graded function, the seeded cases and where its reference lives.

A *check* is what one hidden test records and the grader compares. It is declared in
``rnn_helpers/checks/ch<assignment>.py`` (e.g. ``ch02_simple_rnn.py``) as::

    CHECKS = [
        Check("rnn_cell_forward", cases=_cell_cases, reference="rnn_helpers.simple_rnn:rnn_cell_forward"),
        ...
    ]

- ``cases()`` returns a list of keyword-argument dicts, generated from the seeds of
  :func:`rnn_helpers.checks.seeds.case_seed` (deterministic), edge shapes included (B = 1, T = 1, H = 1), in
  float64. It runs both in the student's kernel (to feed the student's function) and in the grader (to feed the
  reference); it must not import the reference.
- ``reference`` is ``"module:function"``, imported by the grader only (never in the kernel, whose build of
  ``rnn_helpers`` lacks the reference implementations).
- ``call(fn, case)`` (optional) says how to call a function on a case when ``fn(**case)`` does not fit;
  ``reference_call(ref, case)`` (optional) does the same for the reference when its signature differs;
  ``compare(student, expected, rtol, atol) -> str | None`` (optional) replaces the default comparison
  (:func:`rnn_helpers.checks.compare.compare_values`) and returns ``None`` when equal or a one-line reason when
  not; :meth:`Check.compare_output` applies whichever the check uses (every caller compares through it), and
  :meth:`Check.reference_output` computes the reference's output on a case (every caller computes it so).
- ``from_scratch`` marks functions that must not call the reference or torch's recurrent modules.

The hidden test in the notebook is one line per check, with the tolerance written in it::

    record_check("02_simple_rnn", "rnn_cell_forward", rnn_cell_forward, rtol=1e-7, atol=1e-9)

and the grader reads that tolerance from the *trusted* copy of the test cell (nbgrader's gradebook), never
from anything the kernel produced. A line without ``rtol``/``atol`` means ``record_check``'s defaults
(``compare.DEFAULT_RTOL``, ``compare.DEFAULT_ATOL``).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

from rnn_helpers.checks.compare import DEFAULT_ATOL, DEFAULT_RTOL, compare_values
from rnn_helpers.checks.records import CaseError

ASSIGNMENTS = ("01_motivation", "02_simple_rnn", "03_bptt", "04_gru", "05_lstm", "06_applications")


@dataclass(frozen=True)
class Check:
    name: str
    cases: Callable[[], list[dict]]
    reference: str
    call: Callable[[Callable, dict], Any] | None = None
    reference_call: Callable[[Callable, dict], Any] | None = None  # for the reference, when its signature differs
    compare: Callable[[Any, Any, float, float], str | None] | None = None
    from_scratch: bool = True
    doc: str = field(default="")

    def reference_function(self) -> Callable:
        """Import the reference (grader side only)."""
        module, _, name = self.reference.partition(":")
        return getattr(importlib.import_module(module), name)

    def reference_output(self, case: dict) -> Any:
        """The reference's output on one case (grader side only): ``reference_call``, else ``call``, else
        ``reference(**case)``."""
        call = self.reference_call or self.call or (lambda fn, c: fn(**c))
        return call(self.reference_function(), case)

    def reference_outputs(self, cases: list[dict]) -> list:
        """The reference's outputs on ``cases`` (grader side only), one per case."""
        return [self.reference_output(case) for case in cases]

    def compare_output(self, student: Any, expected: Any, rtol: float, atol: float) -> str | None:
        """One case: ``None`` when the student's (decoded) output matches the reference's, else the reason.

        A case on which the student's function raised (a :class:`~rnn_helpers.checks.records.CaseError`) fails
        with its message; otherwise the check's own ``compare`` decides if it has one, else
        :func:`~rnn_helpers.checks.compare.compare_values`. A comparison that raises on what the student returned
        fails the case too (it never matches, and never stops the grading).
        """
        if isinstance(student, CaseError):
            return f"raised {student.message}"
        try:
            return (self.compare or compare_values)(student, expected, rtol, atol)
        except Exception as exc:  # noqa: BLE001 - what cannot be compared does not match
            return f"could not be compared ({type(exc).__name__}: {exc})"


def checks_for(assignment: str) -> dict[str, Check]:
    """The checks of one assignment, by name. Raises ``KeyError`` for an unknown assignment."""
    if assignment not in ASSIGNMENTS:
        raise KeyError(f"unknown assignment {assignment!r}; expected one of {', '.join(ASSIGNMENTS)}")
    module = importlib.import_module(f"rnn_helpers.checks.ch{assignment}")
    return {c.name: c for c in module.CHECKS}


def record_check(assignment: str, check: str, fn: Callable, *, rtol: float = DEFAULT_RTOL,
                 atol: float = DEFAULT_ATOL) -> None:
    """Hidden-test side: run the student's ``fn`` on the check's seeded cases and emit a record.

    ``rtol`` and ``atol`` are read by the grader from the trusted cell source; here they only document.
    """
    from rnn_helpers.checks.records import emit, run_cases

    c = checks_for(assignment)[check]
    emit(assignment, check, run_cases(fn, c.cases(), c.call))
