"""The one comparison of a student's output with the reference's (``rnn_helpers.checks.compare``).

The grader's default (``compare_values``, also tested through the grader in test_grade_units.py), its exact mode
for discrete outputs (``exact_compare``), and ``Check.compare_output``, which picks between a check's own
comparison and the default for the grader and for tests/test_exercise_checks.py alike.
"""
from __future__ import annotations

import numpy as np
import pytest

from rnn_helpers.checks.compare import DEFAULT_ATOL, DEFAULT_RTOL, compare_values, exact_compare
from rnn_helpers.checks.records import CaseError, decode, encode
from rnn_helpers.checks.registry import Check


@pytest.mark.parametrize("student, expected, reason", [
    (np.ones((2, 3)), np.ones((2, 3)), None),
    ((np.ones(2), 3), (np.ones(2), 3), None),
    (np.int64(7), 7, None),
    (np.ones(3) + 1e-3, np.ones(3), "differs from the reference (max abs diff 0.001, rtol=1e-07, atol=1e-09)"),
    (np.ones((3, 2)), np.ones((2, 3)), "returned shape (3, 2), expected (2, 3)"),
    ({"W": np.ones((2, 2)), "b": np.zeros(3)}, {"W": np.ones((2, 2)), "b": np.zeros(2)},
     "returned shape (3,) at ['b'], expected (2,)"),
    ((np.ones(2), [np.ones(1), np.full(1, np.nan)]), (np.ones(2), [np.ones(1), np.ones(1)]),
     "returned NaN at [1][1] where the reference has none"),
    ((np.ones(2),), (np.ones(2), 3), "returned a tuple, expected a sequence of 2 values"),
    ({"a": np.ones(1)}, {"a": np.ones(1), "b": np.ones(1)}, "returned ['a'], expected keys ['a', 'b']"),
    (None, np.ones(1), "returned a NoneType, expected an array of shape (1,) (float64)"),
    ("abc", np.ones(1), "returned a str, expected an array of shape (1,) (float64)"),
    (np.array(["a"]), np.ones(1), "expected numbers"),
    ("ab", "AB", "returned 'ab', expected 'AB'"),
])
def test_compare_values_says_where_and_how(student, expected, reason):
    got = compare_values(student, expected, DEFAULT_RTOL, DEFAULT_ATOL)
    assert got is None if reason is None else (got is not None and reason in got), got


def test_tolerances_are_the_ones_given():
    e = np.ones(4)
    assert compare_values(e + 5e-7, e, 1e-6, 0.0) is None
    assert compare_values(e + 5e-7, e, 1e-7, 0.0) is not None
    assert compare_values(np.full(2, np.nan), np.full(2, np.nan), 0.0, 0.0) is None


@pytest.mark.parametrize("student, expected, reason", [
    (np.array([1, 2, 3]), np.array([1, 2, 3]), None),
    ([4, 5], [4, 5], None),
    ({"a": 0, "b": 1}, {"a": 0, "b": 1}, None),
    (np.int64(7), 7, None),
    (7.0, 7, "returned float64 values, expected integers"),
    (np.array([1.0, 2.0]), np.array([1, 2]), "returned float64 values, expected integers"),
    (np.array([1, 0]), np.array([True, False]), "returned int64 values, expected booleans"),
    (np.array([1, 2, 4]), np.array([1, 2, 3]), "differs from the reference (1 of 3 values, compared exactly)"),
    (np.array([1.0, 2.0 + 1e-12]), np.array([1.0, 2.0]), "differs from the reference (1 of 2 values"),
    (8, 7, "returned 8, expected 7"),
    ([1, 2], [1, 2, 3], "returned a list, expected a sequence of 3 values"),
    ({"a": 0}, {"a": 0, "b": 1}, "returned ['a'], expected keys ['a', 'b']"),
    (["x", "y"], ["x", "z"], "returned 'y' at [1], expected 'z'"),
    (CaseError("ValueError: no"), np.ones(1), "raised ValueError: no"),
])
def test_exact_compare_for_discrete_outputs(student, expected, reason):
    got = exact_compare(student, expected, 1.0, 1.0)  # the test line's tolerances do not loosen it
    assert got is None if reason is None else (got is not None and reason in got), got


def test_exact_values_survive_a_record_round_trip():
    value = {"ids": np.array([3, 1], dtype=np.int64), "mask": np.array([True, False]), "n": 5, "text": "ab"}
    assert exact_compare(decode(encode(value)), value) is None


def test_check_compare_output_uses_the_checks_own_comparison_or_the_default():
    calls = []

    def own(s, e, rtol, atol):
        calls.append((rtol, atol))
        return None

    plain = Check("x", cases=list, reference="m:f")
    custom = Check("y", cases=list, reference="m:f", compare=own)
    assert plain.compare_output(np.ones(2) + 1e-3, np.ones(2), 1e-7, 1e-9).startswith("differs")
    assert custom.compare_output(np.ones(2) + 1e-3, np.ones(2), 1e-7, 1e-9) is None and calls == [(1e-7, 1e-9)]

