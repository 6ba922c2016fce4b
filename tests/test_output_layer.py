"""Affine output over time and softmax cross-entropy over time (with mask): against torch and numeric gradients."""
import numpy as np
import pytest
import torch

from rnn_helpers.gradcheck import numerical_gradient, rel_error
from rnn_helpers.output_layer import affine_backward, affine_forward, softmax, softmax_cross_entropy


def test_affine_matches_torch_and_numeric():
    rng = np.random.default_rng(0)
    h, W, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((5, 4)), rng.standard_normal(5)
    dlogits = rng.standard_normal((2, 3, 5))
    logits, cache = affine_forward(h, W, b)
    ht, Wt, bt = (torch.tensor(a, requires_grad=True) for a in (h, W, b))
    out = torch.nn.functional.linear(ht, Wt, bt)
    assert rel_error(logits, out.detach().numpy()) < 1e-12
    out.backward(torch.tensor(dlogits))
    grads = affine_backward(dlogits, cache)
    for name, ten in (("h", ht), ("W", Wt), ("b", bt)):
        assert rel_error(grads[name], ten.grad.numpy()) < 1e-10
    for name, arr in (("h", h), ("W", W), ("b", b)):
        num = numerical_gradient(lambda: affine_forward(h, W, b)[0], arr, dlogits)
        assert rel_error(grads[name], num) < 1e-7


def test_softmax_hand_values_and_stability():
    p = softmax(np.array([0.0, np.log(3.0)]))
    assert np.allclose(p, [0.25, 0.75])
    big = softmax(np.array([[1000.0, 1000.0]]))
    assert np.allclose(big, 0.5) and np.all(np.isfinite(big))


@pytest.mark.parametrize("use_mask", [False, True])
def test_cross_entropy_matches_torch(use_mask):
    rng = np.random.default_rng(1)
    B, T, V = 3, 4, 6
    logits = rng.standard_normal((B, T, V)) * 3
    targets = rng.integers(0, V, size=(B, T))
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]], dtype=bool) if use_mask else None
    loss, dlogits = softmax_cross_entropy(logits, targets, mask)
    lt = torch.tensor(logits, requires_grad=True)
    tt = torch.tensor(np.where(mask, targets, -100) if use_mask else targets)
    ref = torch.nn.functional.cross_entropy(lt.reshape(-1, V), tt.reshape(-1), ignore_index=-100)
    ref.backward()
    assert abs(loss - ref.item()) < 1e-12 * max(1.0, abs(loss))
    assert rel_error(dlogits, lt.grad.numpy()) < 1e-10
    num = numerical_gradient(lambda: np.array(softmax_cross_entropy(logits, targets, mask)[0]), logits,
                             np.array(1.0))
    assert np.allclose(dlogits, num, rtol=1e-6, atol=1e-9)
    if use_mask:
        assert np.all(dlogits[~mask] == 0)


def test_cross_entropy_hand_value():
    # uniform logits over V = 4 classes: loss = log 4
    loss, d = softmax_cross_entropy(np.zeros((1, 2, 4)), np.array([[0, 3]]))
    assert loss == pytest.approx(np.log(4))
    assert np.allclose(d[0, 0], [-0.375, 0.125, 0.125, 0.125])


def test_bad_targets_are_refused():
    with pytest.raises(ValueError, match="targets has shape"):
        softmax_cross_entropy(np.zeros((1, 2, 4)), np.array([0, 3]))
    with pytest.raises(ValueError, match="W has shape"):
        affine_forward(np.zeros((1, 2, 3)), np.zeros((4, 2)), np.zeros(4))
