"""How a student's output is compared with the reference's: the one comparison of the course.

The grader decides every point with it (``grader/verify_records``, through :meth:`Check.compare_output
<rnn_helpers.checks.registry.Check.compare_output>`), and the tests hold the solutions and the references to the
same function, so that what the tests accept is exactly what earns points.

- :func:`compare_values` (the default): same structure (tuples/lists by position, dicts by key), same shapes, and
  ``np.allclose(student, expected, rtol, atol, equal_nan=True)`` on every number: NaN is accepted only where the
  reference has NaN. With ``exact=True`` numbers must be equal and discrete outputs (counts, ids, masks) must come
  back as integers/booleans, not floats.
- :func:`exact_compare`: ``compare_values(..., exact=True)`` with ``Check.compare``'s signature, for the checks
  whose outputs are discrete; the tolerances written in the hidden test do not apply to them.

Each returns ``None`` when the output matches, else a one-line reason that says where (``[0]['W_ih']``) and
how it differs; the grader shows it in the feedback as ``<check>: case <i> <reason>``.

The module is kernel side (numpy only) because the checks modules name it in their ``Check``s; it decides
nothing in the kernel, where no reference output exists.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rnn_helpers.checks.records import CaseError

# The tolerances of a ``record_check`` line that writes none (``registry.record_check``'s defaults): float64
# round-off of a few hundred operations passes, a wrong term (an error of 1e-3 or more) does not.
DEFAULT_RTOL = 1e-7
DEFAULT_ATOL = 1e-9


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} ({value.dtype})"
    return f"a {type(value).__name__}"


def compare_values(student: Any, expected: Any, rtol: float, atol: float, where: str = "", *,
                   exact: bool = False) -> str | None:
    """``None`` when ``student`` matches ``expected``, else a one-line reason (see the module docstring).

    ``where`` is the position inside the output reached so far (``"[1]['h0']"``), for the reason.
    """
    at = f" at {where}" if where else ""
    if isinstance(student, CaseError):
        return f"raised {student.message}"
    if isinstance(expected, (tuple, list)):
        if not isinstance(student, (tuple, list)) or len(student) != len(expected):
            return f"returned {_describe(student)}{at}, expected a sequence of {len(expected)} values"
        for i, (s, e) in enumerate(zip(student, expected)):
            reason = compare_values(s, e, rtol, atol, f"{where}[{i}]", exact=exact)
            if reason:
                return reason
        return None
    if isinstance(expected, dict):
        if not isinstance(student, dict) or set(student) != set(expected):
            got = sorted(map(str, student)) if isinstance(student, dict) else _describe(student)
            return f"returned {got}{at}, expected keys {sorted(map(str, expected))}"
        for k in expected:
            reason = compare_values(student[k], expected[k], rtol, atol, f"{where}[{k!r}]", exact=exact)
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
    if exact:
        return _compare_exactly(s, e, at)
    if np.allclose(s, e, rtol=rtol, atol=atol, equal_nan=True):
        return None
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(s.astype(np.complex128 if np.iscomplexobj(s) or np.iscomplexobj(e) else np.float64) - e)
    if np.isnan(s).any() and not np.isnan(e).any():
        return f"returned NaN{at} where the reference has none"
    finite = diff[np.isfinite(diff)]
    worst = f"max abs diff {finite.max():.2g}" if finite.size else "non-finite values"
    return f"differs from the reference{at} ({worst}, rtol={rtol:g}, atol={atol:g})"


def _compare_exactly(s: np.ndarray, e: np.ndarray, at: str) -> str | None:
    """Equal numbers, and integers/booleans where the reference's are (a count of 3.0 is a float, not a count)."""
    if e.dtype.kind == "b" and s.dtype.kind != "b":
        return f"returned {s.dtype} values{at}, expected booleans"
    if e.dtype.kind in "iu" and s.dtype.kind not in "iu":
        return f"returned {s.dtype} values{at}, expected integers"
    if np.array_equal(s, e, equal_nan=e.dtype.kind in "fc"):
        return None
    differ = int(np.sum(s != e))
    if e.shape == ():
        return f"returned {s.item()!r}{at}, expected {e.item()!r}"
    return f"differs from the reference{at} ({differ} of {e.size} values, compared exactly)"


def exact_compare(student: Any, expected: Any, rtol: float = 0.0, atol: float = 0.0) -> str | None:
    """``Check.compare`` for discrete outputs: :func:`compare_values` with ``exact=True`` (tolerances unused)."""
    return compare_values(student, expected, rtol, atol, exact=True)
