"""The simple RNN reference against torch.nn.RNN / RNNCell (forward and autograd) and numeric gradients."""
import numpy as np
import pytest
import torch

from rnn_helpers.gradcheck import numerical_gradient, rel_error
from rnn_helpers.initialization import init_params
from rnn_helpers.simple_rnn import rnn_backward, rnn_cell_backward, rnn_cell_forward, rnn_forward
from rnn_helpers.torch_bridge import module_from_params

from cell_testing import (PARAM_NAMES, SHAPES, TORCH_CELL, TORCH_SEQ, assert_numeric_close,  # noqa: F401
                          assert_param_grads_match_torch, t)

NONLIN = ["tanh", "relu"]


def make_case(B, T, D, H, seed):
    rng = np.random.default_rng(seed)
    p = init_params("rnn", D, H, rng=rng)
    # scale up a little so that tanh is not in its linear regime and relu units switch
    p = {k: 2.0 * v for k, v in p.items()}
    x = rng.standard_normal((B, T, D))
    h0 = rng.standard_normal((B, H))
    dh = rng.standard_normal((B, T, H))
    return x, h0, p, dh


@pytest.mark.parametrize("nonlinearity", NONLIN)
@pytest.mark.parametrize("shape", SHAPES)
def test_rnn_forward_backward_match_torch(shape, nonlinearity):
    x, h0, p, dh = make_case(*shape, seed=sum(shape))
    h, cache = rnn_forward(x, h0, **p, nonlinearity=nonlinearity)
    m = module_from_params("rnn", **p, nonlinearity=nonlinearity)
    xt, h0t = t(x), t(h0)
    out, hn = m(xt, h0t[None])
    assert h.shape == shape[:2] + (shape[3],)
    assert rel_error(h, out.detach().numpy()) < 1e-10
    assert rel_error(h[:, -1], hn[0].detach().numpy()) < 1e-10

    grads = rnn_backward(dh, cache)
    out.backward(torch.tensor(dh))
    assert rel_error(grads["x"], xt.grad.numpy()) < 1e-8
    assert rel_error(grads["h0"], h0t.grad.numpy()) < 1e-8
    assert_param_grads_match_torch(grads, p, m, TORCH_SEQ)


@pytest.mark.parametrize("nonlinearity", NONLIN)
@pytest.mark.parametrize("shape", SHAPES)
def test_rnn_cell_matches_torch(shape, nonlinearity):
    B, _, D, H = shape
    x, h0, p, dh = make_case(*shape, seed=100 + sum(shape))
    x_t, dh_next = x[:, 0], dh[:, 0]
    h_next, cache = rnn_cell_forward(x_t, h0, **p, nonlinearity=nonlinearity)
    m = module_from_params("rnn", **p, cell=True, nonlinearity=nonlinearity)
    xt, ht = t(x_t), t(h0)
    out = m(xt, ht)
    assert h_next.shape == (B, H)
    assert rel_error(h_next, out.detach().numpy()) < 1e-10
    grads = rnn_cell_backward(dh_next, cache)
    out.backward(torch.tensor(dh_next))
    assert rel_error(grads["x_t"], xt.grad.numpy()) < 1e-8
    assert rel_error(grads["h_prev"], ht.grad.numpy()) < 1e-8
    assert_param_grads_match_torch(grads, p, m, TORCH_CELL)


def _numeric_check(forward, args, dout, grads):
    for name, arr in args.items():
        num = numerical_gradient(lambda: forward(**args)[0], arr, dout)
        assert_numeric_close(grads[name], num, name)


@pytest.mark.parametrize("nonlinearity", NONLIN)
@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 3, 2, 3), (3, 2, 1, 2)])
def test_rnn_backward_numeric(shape, nonlinearity):
    x, h0, p, dh = make_case(*shape, seed=7 + sum(shape))
    args = {"x": x, "h0": h0, **p}
    fwd = lambda **kw: rnn_forward(**kw, nonlinearity=nonlinearity)  # noqa: E731
    _, cache = fwd(**args)
    _numeric_check(fwd, args, dh, rnn_backward(dh, cache))
    # the cell on its own
    cargs = {"x_t": x[:, 0], "h_prev": h0, **p}
    cfwd = lambda **kw: rnn_cell_forward(**kw, nonlinearity=nonlinearity)  # noqa: E731
    _, ccache = cfwd(**cargs)
    _numeric_check(cfwd, cargs, dh[:, 0], rnn_cell_backward(dh[:, 0], ccache))


def test_many_to_one_equals_loss_on_last_state_only():
    """Upstream zeros but the last step: same gradients as torch's loss on h_n only."""
    x, h0, p, dh = make_case(2, 6, 3, 4, seed=3)
    dh_last = np.zeros_like(dh)
    dh_last[:, -1] = dh[:, -1]
    _, cache = rnn_forward(x, h0, **p)
    grads = rnn_backward(dh_last, cache)
    m = module_from_params("rnn", **p)
    xt, h0t = t(x), t(h0)
    _, hn = m(xt, h0t[None])
    (hn[0] * torch.tensor(dh[:, -1])).sum().backward()
    assert rel_error(grads["x"], xt.grad.numpy()) < 1e-8
    assert rel_error(grads["h0"], h0t.grad.numpy()) < 1e-8
    assert rel_error(grads["W_hh"], m.weight_hh_l0.grad.numpy()) < 1e-8
    # and it differs from the many-to-many gradient (the upstream terms on earlier states matter)
    assert rel_error(rnn_backward(dh, cache)["W_hh"], grads["W_hh"]) > 1e-3


def test_sequence_equals_repeated_cell():
    x, h0, p, dh = make_case(3, 4, 2, 3, seed=11)
    h, _ = rnn_forward(x, h0, **p)
    h_prev = h0
    for step in range(x.shape[1]):
        h_prev, _ = rnn_cell_forward(x[:, step], h_prev, **p)
        assert rel_error(h[:, step], h_prev) < 1e-12


@pytest.mark.parametrize("nonlinearity", NONLIN)
def test_float32_in_float32_out(nonlinearity):
    x, h0, p, dh = make_case(2, 3, 4, 5, seed=5)
    f32 = lambda a: a.astype(np.float32)  # noqa: E731
    p32 = {k: f32(v) for k, v in p.items()}
    h, cache = rnn_forward(f32(x), f32(h0), **p32, nonlinearity=nonlinearity)
    assert h.dtype == np.float32
    grads = rnn_backward(f32(dh), cache)
    assert all(g.dtype == np.float32 for g in grads.values())
    h64, cache64 = rnn_forward(x, h0, **p, nonlinearity=nonlinearity)
    assert np.allclose(h, h64, atol=1e-5)
    g64 = rnn_backward(dh, cache64)
    for k in grads:
        assert np.allclose(grads[k], g64[k], rtol=1e-4, atol=1e-4), k
    hc, ccache = rnn_cell_forward(f32(x[:, 0]), f32(h0), **p32, nonlinearity=nonlinearity)
    assert hc.dtype == np.float32
    assert all(g.dtype == np.float32 for g in rnn_cell_backward(f32(dh[:, 0]), ccache).values())


def test_inputs_are_not_modified():
    x, h0, p, dh = make_case(2, 3, 4, 5, seed=9)
    copies = [a.copy() for a in (x, h0, dh, *p.values())]
    _, cache = rnn_forward(x, h0, **p)
    rnn_backward(dh, cache)
    _, ccache = rnn_cell_forward(x[:, 0], h0, **p)
    rnn_cell_backward(dh[:, 0], ccache)
    for before, after in zip(copies, (x, h0, dh, *p.values())):
        assert np.array_equal(before, after)


def test_unknown_nonlinearity_is_refused():
    x, h0, p, _ = make_case(1, 2, 1, 1, seed=0)
    with pytest.raises(ValueError, match="nonlinearity is 'sigmoid'"):
        rnn_forward(x, h0, **p, nonlinearity="sigmoid")
