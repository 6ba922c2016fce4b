"""How a catalogued mistake is caught: by a visible test, by a hidden check that names it, or not at all.

:func:`how_caught` plays the student who makes exactly that mistake. The mistaken function replaces the
solution's in the solution notebook (:meth:`SolutionNotebook.namespace`), then

1. **visible**: the visible part of the function's test cell raises an ``AssertionError`` with a message
   (the student reads what is wrong before submitting);
2. **generic**, when the visible test raises anything else (another exception, an assert without a message):
   the grader stops there, as the kernel stops the cell before its ``record_check`` lines, and the student reads
   only ``the test cell raised ValueError: ...`` (``verify_records.raised_message``);
3. **named**: else, a hidden check of the function fails on the mistake's records and
   :func:`rnn_helpers.grader.explain.explain` names the mistake;
4. **generic** too: a hidden check fails but its explanation does not name the mistake;
5. **escapes**: the visible test and every hidden check pass: the mistake earns the cell's points.

Used by ``tests/test_mistake_catalogue.py`` (which requires 1 or 3 of every mistake) and
``benchmarks/mistake_catalogue.py`` (which counts them).
"""
from __future__ import annotations

from dataclasses import dataclass

from rnn_helpers.checks.registry import checks_for

from . import Mistake

VISIBLE, NAMED, GENERIC, ESCAPES = "visible", "named", "generic", "escapes"


@dataclass(frozen=True)
class Caught:
    """The outcome for one mistake: ``how`` (one of the four above) and what the student would read."""

    how: str
    detail: str


def how_caught(assignment: str, mistake: Mistake, runner) -> Caught:
    """Classify ``mistake`` (see the module docstring); ``runner`` is an :class:`explain.MistakeRunner`."""
    from rnn_helpers.grader.explain import explain
    from rnn_helpers.grader.verify_records import raised_message

    error = runner.visible_error(assignment, mistake)
    if error is not None:
        if isinstance(error, AssertionError) and str(error).strip():
            return Caught(VISIBLE, str(error).strip())
        return Caught(GENERIC, raised_message(type(error).__name__, str(error)))
    nb = runner.notebook(assignment)
    checks = checks_for(assignment)
    failed = []
    for name in nb.checks_of(mistake.function):
        check, recorded = checks[name], nb.recorded()[name]
        cases = check.cases()
        outputs = runner.outputs(assignment, check, mistake, cases)
        explanation = explain(assignment, name, cases, outputs, recorded.rtol, recorded.atol, check=check,
                              runner=runner)
        if explanation.failed and mistake.id in explanation.mistakes:
            return Caught(NAMED, explanation.text())
        if explanation.failed:
            failed.append(explanation.text())
    if failed:
        return Caught(GENERIC, "; ".join(failed))
    return Caught(ESCAPES, "passes the visible test and every hidden check")
