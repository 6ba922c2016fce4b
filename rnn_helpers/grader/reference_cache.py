"""The reference outputs of each check, computed in the grader's process (never in the student's kernel)."""
from __future__ import annotations

from typing import Callable

from .record_calls import TrustedSourceError


class ReferenceCache:
    """Each check's cases and reference outputs, computed once per grading run in the grader's process
    (the explainer of failed checks reuses both: :class:`~rnn_helpers.grader.verify_records.FailureExplainer`)."""

    def __init__(self, checks_provider: Callable[[str], dict]):
        self.checks_provider = checks_provider
        self._cases: dict[tuple[str, str], list[dict]] = {}
        self._outputs: dict[tuple[str, str], list] = {}

    def check(self, assignment: str, name: str):
        checks = self.checks_provider(assignment)
        if name not in checks:
            raise TrustedSourceError(f"no check named {name!r} for assignment {assignment!r}")
        return checks[name]

    def cases(self, assignment: str, name: str) -> list[dict]:
        """The check's cases, as the kernel generates them (``Check.cases()``)."""
        key = (assignment, name)
        if key not in self._cases:
            self._cases[key] = self.check(assignment, name).cases()
        return self._cases[key]

    def outputs(self, assignment: str, name: str) -> list:
        """The reference's outputs on :meth:`cases` (``Check.reference_outputs``)."""
        key = (assignment, name)
        if key not in self._outputs:
            self._outputs[key] = self.check(assignment, name).reference_outputs(self.cases(assignment, name))
        return self._outputs[key]
