"""Clipping on hand-computed cases; truncated BPTT and train_rnn_tbptt against torch with detach between chunks."""
import numpy as np
import pytest
import torch

from rnn_helpers.gradcheck import rel_error
from rnn_helpers.initialization import init_params
from rnn_helpers.simple_rnn import rnn_backward, rnn_forward
from rnn_helpers.torch_bridge import module_from_params
from rnn_helpers.training import clip_by_global_norm, clip_by_value, train_rnn_tbptt, truncated_bptt


def test_clip_by_value_hand():
    grads = {"a": np.array([-3.0, 0.5, 2.0]), "b": np.array([[0.9, -1.5]])}
    out = clip_by_value(grads, 1.0)
    assert np.array_equal(out["a"], [-1.0, 0.5, 1.0])
    assert np.array_equal(out["b"], [[0.9, -1.0]])
    assert np.array_equal(grads["a"], [-3.0, 0.5, 2.0])       # input untouched
    with pytest.raises(ValueError, match="limit"):
        clip_by_value(grads, 0)


def test_clip_by_global_norm_hand():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}   # global norm sqrt(9 + 16) = 5
    out, norm = clip_by_global_norm(grads, 1.0)
    assert norm == pytest.approx(5.0)
    assert np.allclose(out["a"], [0.6, 0.0]) and np.allclose(out["b"], [[0.8]])
    same, norm = clip_by_global_norm(grads, 10.0)
    assert norm == pytest.approx(5.0)
    assert np.array_equal(same["a"], grads["a"]) and np.array_equal(same["b"], grads["b"])
    assert np.array_equal(grads["a"], [3.0, 0.0])                 # input untouched
    f32, _ = clip_by_global_norm({"a": np.ones(4, dtype=np.float32)}, 1.0)
    assert f32["a"].dtype == np.float32 and np.allclose(f32["a"], 0.5)


def test_clip_by_global_norm_agrees_with_torch():
    rng = np.random.default_rng(0)
    grads = {"a": rng.standard_normal((3, 4)), "b": rng.standard_normal(5)}
    ts = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads.values()]
    for t_, g in zip(ts, grads.values()):
        t_.grad = torch.tensor(g)
    tnorm = torch.nn.utils.clip_grad_norm_(ts, 0.5)
    out, norm = clip_by_global_norm(grads, 0.5)
    assert norm == pytest.approx(tnorm.item(), rel=1e-12)
    for t_, g in zip(ts, out.values()):
        assert rel_error(g, t_.grad.numpy()) < 1e-5    # torch divides by norm + 1e-6


@pytest.mark.parametrize("T,k", [(7, 3), (6, 2), (5, 1), (4, 10)])
def test_truncated_bptt_matches_torch_detach(T, k):
    B, D, H = 2, 3, 4
    rng = np.random.default_rng(T * 10 + k)
    p = init_params("rnn", D, H, rng=rng)
    x, h0, dh = rng.standard_normal((B, T, D)), rng.standard_normal((B, H)), rng.standard_normal((B, T, H))
    grads, h = truncated_bptt(x, h0, p, lambda h_chunk, s: dh[:, s:s + h_chunk.shape[1]], k)
    assert rel_error(h, rnn_forward(x, h0, **p)[0]) < 1e-12      # the forward sees the whole past
    m = module_from_params("rnn", **p)
    xt = torch.tensor(x, requires_grad=True)
    state = torch.tensor(h0)[None]
    for s in range(0, T, k):
        out, state = m(xt[:, s:s + k], state.detach())           # detach: the gradient stops at the boundary
        (out * torch.tensor(dh[:, s:s + k])).sum().backward()
    assert rel_error(grads["x"], xt.grad.numpy()) < 1e-8
    for name, tname in (("W_ih", "weight_ih_l0"), ("W_hh", "weight_hh_l0"), ("b_ih", "bias_ih_l0"),
                        ("b_hh", "bias_hh_l0")):
        assert rel_error(grads[name], getattr(m, tname).grad.numpy()) < 1e-8, name
    full = rnn_backward(dh, rnn_forward(x, h0, **p)[1])
    if k >= T:
        assert rel_error(grads["W_hh"], full["W_hh"]) < 1e-12
    else:
        assert rel_error(grads["W_hh"], full["W_hh"]) > 1e-6          # truncation changes the gradient


def _sine_task(T=24, H=5, seed=0):
    rng = np.random.default_rng(seed)
    s = np.sin(0.3 * np.arange(T + 1))
    p = init_params("rnn", 1, H, rng=rng)
    p["W_out"] = rng.uniform(-0.5, 0.5, (1, H))
    p["b_out"] = np.zeros(1)
    return s[:-1].reshape(1, T, 1), s[1:].reshape(1, T, 1), p


def test_train_rnn_tbptt_matches_torch_sgd():
    x, y, p = _sine_task(T=10, H=3)
    k, lr, epochs = 4, 0.2, 2
    trained, losses = train_rnn_tbptt(x, y, p, k=k, lr=lr, epochs=epochs)
    m = module_from_params("rnn", p["W_ih"], p["W_hh"], p["b_ih"], p["b_hh"])
    W_out = torch.tensor(p["W_out"], requires_grad=True)
    b_out = torch.tensor(p["b_out"], requires_grad=True)
    params = [*m.parameters(), W_out, b_out]
    xt, yt = torch.tensor(x), torch.tensor(y)
    torch_losses = []
    for _ in range(epochs):
        state, total = torch.zeros(1, 1, 3, dtype=torch.float64), 0.0
        for s in range(0, x.shape[1], k):
            out, state = m(xt[:, s:s + k], state.detach())
            loss = torch.mean((out @ W_out.T + b_out - yt[:, s:s + k]) ** 2)
            total += loss.item() * out.shape[1]
            for q in params:
                q.grad = None
            loss.backward()
            with torch.no_grad():
                for q in params:
                    q -= lr * q.grad
        torch_losses.append(total / x.shape[1])
    assert np.allclose(losses, torch_losses, rtol=1e-10)
    assert rel_error(trained["W_hh"], m.weight_hh_l0.detach().numpy()) < 1e-10
    assert rel_error(trained["W_out"], W_out.detach().numpy()) < 1e-10


def test_train_rnn_tbptt_learns_and_is_deterministic():
    x, y, p = _sine_task()
    before = {n: v.copy() for n, v in p.items()}
    a, la = train_rnn_tbptt(x, y, p, k=6, lr=0.1, epochs=40, clip=1.0)
    b, lb = train_rnn_tbptt(x, y, p, k=6, lr=0.1, epochs=40, clip=1.0)
    assert np.array_equal(la, lb) and all(np.array_equal(a[n], b[n]) for n in a)
    assert all(np.array_equal(p[n], before[n]) for n in p)        # input untouched
    assert la.shape == (40,) and la[-1] < 0.2 * la[0]
    # a clip far above every gradient norm changes nothing; a tight one changes the trajectory
    _, l_loose = train_rnn_tbptt(x, y, p, k=6, lr=0.1, epochs=3, clip=1e9)
    _, l_none = train_rnn_tbptt(x, y, p, k=6, lr=0.1, epochs=3)
    _, l_tight = train_rnn_tbptt(x, y, p, k=6, lr=0.1, epochs=3, clip=1e-3)
    assert np.array_equal(l_loose, l_none) and not np.allclose(l_tight, l_none)
