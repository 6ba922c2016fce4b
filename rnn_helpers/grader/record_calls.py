"""Reading the ``record_check`` calls of a trusted test cell: which checks it runs, with which tolerances.

The grader takes these from the gradebook's copy of the test cell, never from the submission, so a student
who loosens a tolerance or drops a check in their copy changes nothing. Only literal arguments are accepted:
anything else is an instructor's error (:class:`TrustedSourceError`), reported in the feedback.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

from rnn_helpers.checks.compare import DEFAULT_ATOL, DEFAULT_RTOL  # record_check's defaults


@dataclass(frozen=True)
class RecordCall:
    """One ``record_check(assignment, check, fn, rtol=..., atol=...)`` of a trusted test cell."""

    assignment: str
    check: str
    rtol: float
    atol: float
    function: str  # the fn argument as written (``ast.unparse``), e.g. "rnn_cell_forward"; "" when missing


class TrustedSourceError(ValueError):
    """A test cell whose trusted source the grader cannot read (an instructor's error)."""


def python_source(source: str) -> str:
    """A cell's IPython syntax (magics) turned into Python, as the kernel does; unchanged when IPython is missing."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # IPython missing or odd input: parse the source as it is
        return source


def record_calls(source: str) -> list[RecordCall]:
    """The ``record_check`` calls of a (trusted) test cell, with their literal arguments."""
    try:
        tree = ast.parse(python_source(source))
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
        fn = node.args[2] if len(node.args) > 2 else kw.get("fn")
        calls.append(RecordCall(args[0], args[1], rtol, atol, ast.unparse(fn) if fn is not None else ""))
    return calls
