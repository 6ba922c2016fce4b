"""The explainer of hidden failures (``rnn_helpers/grader/explain.py``), in-process on real checks.

- a student's function written independently of the catalogue is named by the mistake it makes (matching is by
  outputs, not code), and a mistake is never named when one case differs;
- with no matching mistake, the explanation says which cases fail, what only they share (``T = 1``), and the
  first wrong element (index and both values), and nothing more of the reference;
- the solution's outputs explain nothing; errors match only the same error;
- a ``train_step`` without ``optimizer.zero_grad()`` fails only the hidden case that calls it twice, and is named.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rnn_helpers.checks.records import CaseError
from rnn_helpers.checks.registry import checks_for
from rnn_helpers.grader import explain as ex
from rnn_helpers.grader.explain import MistakeRunner, case_features, distinguishing, explain, first_difference, \
    recorded_outputs

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def runner():
    return MistakeRunner(ROOT / "solutions")


def _student(assignment, check_name, fn):
    check = checks_for(assignment)[check_name]
    cases = check.cases()
    return check, cases, recorded_outputs(fn, check, cases)


def _softmax_col_max(logits):  # the example, written as a student might, not as the catalogue does
    e = np.exp(logits - np.max(logits, axis=0, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def test_an_independently_written_mistake_is_named(runner):
    check, cases, outputs = _student("02_simple_rnn", "softmax", _softmax_col_max)
    e = explain("02_simple_rnn", "softmax", cases, outputs, 1e-7, 1e-12, check=check, runner=runner)
    assert e.failed
    assert "softmax.max_wrong_axis" in e.mistakes
    assert "LAST axis" in e.text() and "02_simple_rnn.html#" in e.text()


def test_a_mistake_that_misses_one_case_is_not_named(runner):
    check, cases, outputs = _student("02_simple_rnn", "softmax", _softmax_col_max)
    outputs[0] = outputs[0] + 0.5  # the same mistake, and something else wrong on case 0
    e = explain("02_simple_rnn", "softmax", cases, outputs, 1e-7, 1e-12, check=check, runner=runner)
    assert e.failed and "softmax.max_wrong_axis" not in e.mistakes


def test_a_mistake_upstream_is_named_for_the_function_that_calls_it(runner):
    def cell(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):
        return np.tanh(x_t @ W_ih.T + b_ih + h_prev @ W_hh.T)  # b_hh forgotten

    def rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh):
        h, h_t = [], h0
        for t in range(x.shape[1]):
            h_t = cell(x[:, t], h_t, W_ih, W_hh, b_ih, b_hh)
            h.append(h_t)
        return np.stack(h, axis=1), h_t

    check, cases, outputs = _student("02_simple_rnn", "rnn_forward", rnn_forward)
    e = explain("02_simple_rnn", "rnn_forward", cases, outputs, 1e-7, 1e-9, check=check, runner=runner)
    assert e.mistakes == ("rnn_cell_forward.missing_b_hh",)


def test_a_forgotten_zero_grad_fails_on_the_second_call_only_and_is_named(runner):
    import torch

    def train_step(model, optimizer, inputs, targets, max_norm):  # written here, without optimizer.zero_grad()
        logits = model(inputs)
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten())
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), float("inf") if max_norm is None else max_norm)
        optimizer.step()
        return loss.item(), norm.item()

    check, cases, outputs = _student("06_applications", "train_step", train_step)
    e = explain("06_applications", "train_step", cases, outputs, 1e-7, 1e-9, check=check, runner=runner)
    assert e.failing == tuple(i for i, c in enumerate(cases) if c["calls"] == 2) != ()
    assert "train_step.no_zero_grad" in e.mistakes and "zero_grad()" in e.text()
    assert "a second call on the same model and optimizer" in e.features  # what sets the failing case apart


def test_without_a_match_it_says_where_the_function_fails(runner):
    from rnn_helpers.simple_rnn import rnn_forward as reference

    def only_wrong_for_one_step(x, h0, W_ih, W_hh, b_ih, b_hh):
        h, _ = reference(x, h0, W_ih, W_hh, b_ih, b_hh)
        if x.shape[1] == 1:
            h = h * 1.5
        return h, h[:, -1]

    check, cases, outputs = _student("02_simple_rnn", "rnn_forward", only_wrong_for_one_step)
    e = explain("02_simple_rnn", "rnn_forward", cases, outputs, 1e-7, 1e-9, check=check, runner=runner)
    one_step = tuple(i for i, c in enumerate(cases) if c["x"].shape[1] == 1)
    assert e.failing == one_step and not e.mistakes
    assert e.features[0] == "T = 1"
    assert "fails only when T = 1" in e.text()
    expected = reference(**cases[one_step[0]])[0]
    assert e.first_wrong.case == one_step[0] and e.first_wrong.where == "[0][0, 0, 0]"
    assert e.first_wrong.expected == f"{expected[0, 0, 0]:.6g}"
    assert e.first_wrong.got == f"{1.5 * expected[0, 0, 0]:.6g}"
    # nothing of the reference beyond that first element: its other values do not appear
    assert f"{expected.ravel()[1]:.6g}" not in e.text()
    assert [c["case"] for c in e.failing_cases()] == list(one_step)


def test_the_solution_explains_nothing(runner):
    from rnn_helpers.output_layer import softmax

    check, cases, outputs = _student("02_simple_rnn", "softmax", softmax)
    e = explain("02_simple_rnn", "softmax", cases, outputs, 1e-7, 1e-12, check=check, runner=runner)
    assert not e.failed and not e.mistakes and e.first_wrong is None


def test_errors_match_only_the_same_error(runner):
    check = checks_for("02_simple_rnn")["output_probs"]
    cases = check.cases()
    mistake = ex.catalogue("02_simple_rnn")["output_probs.untransposed"]
    same = runner.outputs("02_simple_rnn", check, mistake, cases)
    assert all(isinstance(o, CaseError) for o in same)  # h @ W_out fails on every case
    e = explain("02_simple_rnn", "output_probs", cases, list(same), 1e-7, 1e-12, check=check, runner=runner)
    assert "output_probs.untransposed" in e.mistakes
    other = [CaseError("ValueError: something else (line 3)")] * len(cases)
    e = explain("02_simple_rnn", "output_probs", cases, other, 1e-7, 1e-12, check=check, runner=runner)
    assert e.failed and not e.mistakes and "fails on every case" in e.text()


def test_case_features():
    case = {"x": np.zeros((1, 1, 3)), "h0": np.zeros((1, 4)), "variant": "pytorch", "k": 2, "clip": None,
            "mask": np.ones((1, 1), dtype=bool), "big": np.array([0.0, -250.0])}
    found = case_features(case, lambda c: {"custom"})
    assert {"B = 1", "T = 1", "D > 1", "H > 1", "zero initial state", "large inputs", "variant = 'pytorch'",
            "k = 2", "clip = None", "mask holds booleans", "x is 3-D", "custom"} <= found
    stacked = case_features({"x": np.ones((2, 3, 1)), "h0": np.ones((3, 2, 5))})
    assert {"L > 1", "B > 1", "D = 1", "H > 1"} <= stacked and "zero initial state" not in stacked


def test_distinguishing_features():
    features = [{"T > 1", "B > 1"}, {"T = 1", "B > 1"}, {"T = 1", "B = 1"}, {"T > 1", "B = 1"}]
    assert distinguishing(features, [1, 2]) == ["T = 1"]
    assert distinguishing(features, [0, 1, 2, 3]) == []  # every case fails: nothing sets them apart
    assert distinguishing(features, [1, 3]) == []


def test_first_difference():
    got = ({"W": np.array([[1.0, 2.0], [3.0, 4.0]])}, 5)
    want = ({"W": np.array([[1.0, 2.0], [3.5, 4.0]])}, 5)
    assert first_difference(got, want, 1e-7, 1e-9) == ("[0]['W'][1, 0]", "3", "3.5")
    assert first_difference("abcd", "abxd", 0, 0) == ("[2]", "'c'", "'x'")
    assert first_difference(np.ones(3), np.ones(4), 0, 0) is None  # a shape difference: the reason says it
    assert first_difference(np.ones(3), np.ones(3), 0, 0) is None


def test_an_explainer_given_anothers_mistakes_explains_alike_without_running_one(monkeypatch):
    """``--jobs``: the coordinator computes every catalogued mistake's outputs once (``FailureExplainer.computed``)
    and its workers load them; a worker then explains a failure as the coordinator does, without running the
    solution notebook with a mistake in place (which would import torch in the worker)."""
    import pickle

    from rnn_helpers.grader.reference_cache import ReferenceCache
    from rnn_helpers.grader.verify_records import FailureExplainer

    a = "02_simple_rnn"
    references = ReferenceCache(checks_for)
    computing = FailureExplainer(ROOT / "solutions")
    known = pickle.loads(pickle.dumps(computing.computed(a, references)))
    assert {key[1] for key in known} >= {"rnn_forward", "softmax"}  # every check's mistakes, not one student's
    (key, got), = [(k, v) for k, v in known.items() if k[1] == "rnn_forward" and k[2] == "rnn_forward.shifted_store"]
    check, cases, expected = checks_for(a)["rnn_forward"], references.cases(a, "rnn_forward"), \
        references.outputs(a, "rnn_forward")
    reasons = [check.compare_output(s, e, 1e-5, 1e-8) for s, e in zip(got, expected)]
    assert any(reasons)
    here = computing.explain(a, check, cases, got, expected, reasons, 1e-5, 1e-8).entry()
    loaded = FailureExplainer(ROOT / "solutions")
    loaded.load(known)
    monkeypatch.setattr(MistakeRunner, "namespace", lambda *args: pytest.fail("ran a mistake it was given"))
    there = loaded.explain(a, check, cases, got, expected, reasons, 1e-5, 1e-8)
    assert there is not None and there.entry() == here
    assert "rnn_forward.shifted_store" in here["mistakes"]
