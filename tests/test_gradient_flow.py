"""Jacobian norms through time, spectral-radius rescaling and gradient norm by distance, against torch autograd."""
import numpy as np
import pytest
import torch

from rnn_helpers.gradcheck import rel_error
from rnn_helpers.gradient_flow import gradient_norm_by_distance, hidden_jacobian_norms, scale_to_spectral_radius
from rnn_helpers.initialization import init_params
from rnn_helpers.torch_bridge import module_from_params


def test_scale_to_spectral_radius():
    W = np.random.default_rng(0).standard_normal((6, 6))
    for rho in (0.5, 1.0, 2.5):
        assert np.max(np.abs(np.linalg.eigvals(scale_to_spectral_radius(W, rho)))) == pytest.approx(rho)
    with pytest.raises(ValueError, match="square"):
        scale_to_spectral_radius(np.zeros((2, 3)), 1.0)


def test_hidden_jacobian_norms_match_autograd():
    rng = np.random.default_rng(1)
    T, D, H = 6, 2, 3
    p = init_params("rnn", D, H, rng=rng)
    p["W_hh"] = scale_to_spectral_radius(p["W_hh"], 1.2)
    x, h0 = rng.standard_normal((1, T, D)), rng.standard_normal((1, H))
    norms = hidden_jacobian_norms(x, h0, **p)
    cell = module_from_params("rnn", **p, cell=True)
    states = []
    h = torch.tensor(h0)
    for t in range(T):
        h = h.detach().requires_grad_(True) if t == 0 else h
        h = cell(torch.tensor(x[:, t]), h)
        h.retain_grad()
        states.append(h)
    want = []
    for t in range(T):
        rows = []
        for j in range(H):   # row j of dh_T/dh_t
            g = torch.autograd.grad(states[-1][0, j], states[t], retain_graph=True)[0]
            rows.append(g[0].numpy())
        want.append(np.linalg.norm(np.array(rows), 2))
    assert norms.shape == (T,) and norms[-1] == 1.0
    assert rel_error(norms, np.array(want)) < 1e-10


def test_small_spectral_radius_vanishes():
    rng = np.random.default_rng(2)
    p = init_params("rnn", 1, 8, rng=rng)
    p["W_hh"] = scale_to_spectral_radius(p["W_hh"], 0.5)
    norms = hidden_jacobian_norms(rng.standard_normal((1, 30, 1)), np.zeros((1, 8)), **p)
    assert norms[0] < 1e-5 * norms[-1]


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_gradient_norm_by_distance_matches_autograd(kind):
    rng = np.random.default_rng(3)
    B, T, D, H = 2, 7, 3, 4
    p = init_params(kind, D, H, rng=rng)
    x, h0 = rng.standard_normal((B, T, D)), rng.standard_normal((B, H))
    norms = gradient_norm_by_distance(kind, x, h0, p)
    m = module_from_params(kind, **p)
    xt = torch.tensor(x, requires_grad=True)
    state = torch.tensor(h0)[None]
    out, _ = m(xt, (state, torch.zeros_like(state)) if kind == "lstm" else state)
    out[:, -1].sum().backward()
    want = np.linalg.norm(xt.grad.numpy(), axis=(0, 2))[::-1]
    assert norms.shape == (T,)
    assert rel_error(norms, want) < 1e-8


def test_lstm_with_open_forget_gate_keeps_gradient_longer_than_rnn():
    """The book's point: an additive cell path with f close to 1 carries gradient far back; a contracting
    tanh recurrence does not."""
    rng = np.random.default_rng(4)
    T, D, H = 40, 2, 6
    x, h0 = rng.standard_normal((1, T, D)), np.zeros((1, H))
    rnn = init_params("rnn", D, H, rng=rng)
    rnn["W_hh"] = scale_to_spectral_radius(rnn["W_hh"], 0.9)
    lstm = init_params("lstm", D, H, rng=rng)
    lstm["b_ih"][H:2 * H] = 5.0     # forget-gate bias: f = sigma(~5) ~ 0.99
    r, l = gradient_norm_by_distance("rnn", x, h0, rnn), gradient_norm_by_distance("lstm", x, h0, lstm)
    assert l[-1] / l[0] > 100 * (r[-1] / r[0])
