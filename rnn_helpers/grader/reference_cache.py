"""The reference outputs of each check, computed in the grader's process (never in the student's kernel)."""
from __future__ import annotations

from typing import Any, Callable

from .record_calls import TrustedSourceError


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
