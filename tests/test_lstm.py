"""The LSTM reference against torch.nn.LSTM / LSTMCell (forward and autograd) and numeric gradients."""
import numpy as np
import pytest
import torch

from rnn_helpers.gradcheck import numerical_gradient, rel_error
from rnn_helpers.initialization import init_params
from rnn_helpers.lstm import lstm_backward, lstm_cell_backward, lstm_cell_forward, lstm_forward
from rnn_helpers.torch_bridge import module_from_params

from cell_testing import (PARAM_NAMES, SHAPES, TORCH_CELL, TORCH_SEQ, assert_numeric_close,  # noqa: F401
                          assert_param_grads_match_torch, t)


def make_case(B, T, D, H, seed):
    rng = np.random.default_rng(seed)
    p = {k: 2.0 * v for k, v in init_params("lstm", D, H, rng=rng).items()}
    x, h0, c0 = rng.standard_normal((B, T, D)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    return x, h0, c0, p, rng.standard_normal((B, T, H)), rng.standard_normal((B, T, H))


@pytest.mark.parametrize("with_dc", [False, True])
@pytest.mark.parametrize("shape", SHAPES)
def test_lstm_matches_torch(shape, with_dc):
    x, h0, c0, p, dh, dc = make_case(*shape, seed=sum(shape))
    h, c, cache = lstm_forward(x, h0, c0, **p)
    m = module_from_params("lstm", **p)
    xt, h0t, c0t = t(x), t(h0), t(c0)
    out, (hn, cn) = m(xt, (h0t[None], c0t[None]))
    assert h.shape == c.shape == shape[:2] + (shape[3],)
    assert rel_error(h, out.detach().numpy()) < 1e-10
    assert rel_error(h[:, -1], hn[0].detach().numpy()) < 1e-10
    assert rel_error(c[:, -1], cn[0].detach().numpy()) < 1e-10
    if with_dc:
        # torch exposes only the last cell state: upstream on c_T only
        dc_up = np.zeros_like(dc)
        dc_up[:, -1] = dc[:, -1]
        grads = lstm_backward(dh, cache, dc=dc_up)
        ((out * torch.tensor(dh)).sum() + (cn[0] * torch.tensor(dc[:, -1])).sum()).backward()
    else:
        grads = lstm_backward(dh, cache)
        out.backward(torch.tensor(dh))
    assert rel_error(grads["x"], xt.grad.numpy()) < 1e-8
    assert rel_error(grads["h0"], h0t.grad.numpy()) < 1e-8
    assert rel_error(grads["c0"], c0t.grad.numpy()) < 1e-8
    assert_param_grads_match_torch(grads, p, m, TORCH_SEQ)


@pytest.mark.parametrize("shape", SHAPES)
def test_lstm_cell_matches_torch(shape):
    x, h0, c0, p, dh, dc = make_case(*shape, seed=70 + sum(shape))
    h_next, c_next, cache = lstm_cell_forward(x[:, 0], h0, c0, **p)
    m = module_from_params("lstm", **p, cell=True)
    xt, ht, ct = t(x[:, 0]), t(h0), t(c0)
    ho, co = m(xt, (ht, ct))
    assert rel_error(h_next, ho.detach().numpy()) < 1e-10
    assert rel_error(c_next, co.detach().numpy()) < 1e-10
    grads = lstm_cell_backward(dh[:, 0], dc[:, 0], cache)
    ((ho * torch.tensor(dh[:, 0])).sum() + (co * torch.tensor(dc[:, 0])).sum()).backward()
    for name, ten in (("x_t", xt), ("h_prev", ht), ("c_prev", ct)):
        assert rel_error(grads[name], ten.grad.numpy()) < 1e-8, name
    assert_param_grads_match_torch(grads, p, m, TORCH_CELL)


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 3, 2, 3), (3, 2, 1, 2)])
def test_lstm_backward_numeric(shape):
    x, h0, c0, p, dh, dc = make_case(*shape, seed=13 + sum(shape))
    args = {"x": x, "h0": h0, "c0": c0, **p}
    _, _, cache = lstm_forward(**args)
    grads = lstm_backward(dh, cache, dc=dc)   # upstream on every h_t and every c_t

    def loss_terms():
        h, c, _ = lstm_forward(**args)
        return np.stack([h, c])

    for name, arr in args.items():
        assert_numeric_close(grads[name], numerical_gradient(loss_terms, arr, np.stack([dh, dc])), name)
    cargs = {"x_t": x[:, 0], "h_prev": h0, "c_prev": c0, **p}
    _, _, ccache = lstm_cell_forward(**cargs)
    cgrads = lstm_cell_backward(dh[:, 0], dc[:, 0], ccache)

    def cell_terms():
        h, c, _ = lstm_cell_forward(**cargs)
        return np.stack([h, c])

    for name, arr in cargs.items():
        assert_numeric_close(cgrads[name], numerical_gradient(cell_terms, arr, np.stack([dh[:, 0], dc[:, 0]])), name)


def test_many_to_one():
    x, h0, c0, p, dh, _ = make_case(2, 6, 3, 4, seed=8)
    dh_last = np.zeros_like(dh)
    dh_last[:, -1] = dh[:, -1]
    _, _, cache = lstm_forward(x, h0, c0, **p)
    grads = lstm_backward(dh_last, cache)
    m = module_from_params("lstm", **p)
    xt = t(x)
    _, (hn, _) = m(xt, (torch.tensor(h0)[None], torch.tensor(c0)[None]))
    (hn[0] * torch.tensor(dh[:, -1])).sum().backward()
    assert rel_error(grads["x"], xt.grad.numpy()) < 1e-8
    assert rel_error(grads["W_hh"], m.weight_hh_l0.grad.numpy()) < 1e-8
    assert rel_error(grads["b_ih"], m.bias_ih_l0.grad.numpy()) < 1e-8


def test_cell_dc_none_means_zero():
    x, h0, c0, p, dh, _ = make_case(2, 1, 3, 4, seed=1)
    _, _, cache = lstm_cell_forward(x[:, 0], h0, c0, **p)
    a = lstm_cell_backward(dh[:, 0], None, cache)
    b = lstm_cell_backward(dh[:, 0], np.zeros_like(h0), cache)
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_float32_in_float32_out():
    x, h0, c0, p, dh, dc = make_case(2, 3, 4, 5, seed=5)
    f32 = lambda a: a.astype(np.float32)  # noqa: E731
    p32 = {k: f32(v) for k, v in p.items()}
    h, c, cache = lstm_forward(f32(x), f32(h0), f32(c0), **p32)
    assert h.dtype == c.dtype == np.float32
    grads = lstm_backward(f32(dh), cache, dc=f32(dc))
    assert all(g.dtype == np.float32 for g in grads.values())
    h64, _, cache64 = lstm_forward(x, h0, c0, **p)
    assert np.allclose(h, h64, atol=1e-5)
    g64 = lstm_backward(dh, cache64, dc=dc)
    assert all(np.allclose(grads[k], g64[k], rtol=1e-4, atol=1e-4) for k in grads)
    hc, cc, ccache = lstm_cell_forward(f32(x[:, 0]), f32(h0), f32(c0), **p32)
    assert hc.dtype == cc.dtype == np.float32
    assert all(g.dtype == np.float32 for g in lstm_cell_backward(f32(dh[:, 0]), None, ccache).values())


def test_inputs_are_not_modified():
    x, h0, c0, p, dh, dc = make_case(2, 3, 4, 5, seed=9)
    before = [a.copy() for a in (x, h0, c0, dh, dc, *p.values())]
    _, _, cache = lstm_forward(x, h0, c0, **p)
    lstm_backward(dh, cache, dc=dc)
    assert all(np.array_equal(b, a) for b, a in zip(before, (x, h0, c0, dh, dc, *p.values())))
