"""Stacked simple RNN against torch.nn.RNN(num_layers=L) (forward and autograd)."""
import numpy as np
import pytest
import torch

from rnn_helpers.deep_rnn import stacked_rnn_backward, stacked_rnn_forward
from rnn_helpers.gradcheck import rel_error
from rnn_helpers.initialization import init_params
from rnn_helpers.torch_bridge import params_from_module


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("B,T,D,H,L", [(1, 1, 1, 1, 1), (2, 4, 3, 5, 2), (3, 2, 2, 1, 3)])
def test_stacked_rnn_matches_torch(B, T, D, H, L, nonlinearity):
    torch.manual_seed(B + T + D + H + L)
    m = torch.nn.RNN(D, H, num_layers=L, batch_first=True, nonlinearity=nonlinearity, dtype=torch.float64)
    layers = [params_from_module(m, layer=i) for i in range(L)]
    rng = np.random.default_rng(L)
    x, h0 = rng.standard_normal((B, T, D)), rng.standard_normal((L, B, H))
    dh_top, dh_last = rng.standard_normal((B, T, H)), rng.standard_normal((L, B, H))
    h_top, h_last, cache = stacked_rnn_forward(x, h0, layers, nonlinearity=nonlinearity)
    xt = torch.tensor(x, requires_grad=True)
    h0t = torch.tensor(h0, requires_grad=True)
    out, hn = m(xt, h0t)
    assert h_top.shape == (B, T, H) and h_last.shape == (L, B, H)
    assert rel_error(h_top, out.detach().numpy()) < 1e-10
    assert rel_error(h_last, hn.detach().numpy()) < 1e-10
    grads = stacked_rnn_backward(dh_top, cache, dh_last=dh_last)
    ((out * torch.tensor(dh_top)).sum() + (hn * torch.tensor(dh_last)).sum()).backward()
    assert rel_error(grads["x"], xt.grad.numpy()) < 1e-8
    assert rel_error(grads["h0"], h0t.grad.numpy()) < 1e-8
    for i in range(L):
        for name, tname in (("W_ih", "weight_ih"), ("W_hh", "weight_hh"), ("b_ih", "bias_ih"), ("b_hh", "bias_hh")):
            assert rel_error(grads["layers"][i][name], getattr(m, f"{tname}_l{i}").grad.numpy()) < 1e-8


def test_wrong_number_of_initial_states():
    layers = [init_params("rnn", 2, 3, rng=np.random.default_rng(0)) for _ in range(2)]
    layers[1] = init_params("rnn", 3, 3, rng=np.random.default_rng(1))
    with pytest.raises(ValueError, match=r"h0 has shape \(1, 4, 3\); expected \(L, B, H\) with L=2"):
        stacked_rnn_forward(np.zeros((4, 5, 2)), np.zeros((1, 4, 3)), layers)
