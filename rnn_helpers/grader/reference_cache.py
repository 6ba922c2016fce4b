"""The reference outputs of each check, computed in the grader's process (never in the student's kernel)."""
from __future__ import annotations

from typing import Callable

from .record_calls import TrustedSourceError


class ReferenceCache:
    """Each check's cases and reference outputs, computed once per grading run in the grader's process
    (the explainer of failed checks reuses both: :class:`~rnn_helpers.grader.verify_records.FailureExplainer`).

    ``--jobs N`` computes them once for the whole run: its workers :meth:`load` what the coordinator
    :meth:`computed` (``_computed_once`` in :mod:`.pipeline`)."""

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

    def computed(self, assignment: str) -> dict[str, list]:
        """Every check's reference outputs, computed now (under the run's case key,
        :func:`~rnn_helpers.checks.seeds.using_case_key`), for another grader of the run to :meth:`load`. The
        cases are left out: they are cheap to make again, and some hold functions, which cannot be pickled. A
        check whose cases or reference raise is left out too: whoever loads this computes it, and fails on it,
        as this process does."""
        known = {}
        for name in self.checks_provider(assignment):
            try:
                known[name] = self.outputs(assignment, name)
            except Exception:  # noqa: BLE001 - said per student, where the check is verified (VerifyRecords)
                continue
        return known

    def load(self, assignment: str, known: dict[str, list]) -> None:
        """Take the outputs of another grader's :meth:`computed` as this cache's own (for the same cases: the
        same run, its fingerprint checked, :mod:`.grade_worker`)."""
        for name, outputs in known.items():
            self._outputs[(assignment, name)] = outputs
