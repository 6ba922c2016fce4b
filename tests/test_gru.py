"""The GRU reference: variant "pytorch" against torch.nn.GRU / GRUCell, variant "reset_before" (the seeds' form)
against a separate transcription of its equations, both against autograd and numeric gradients."""
import numpy as np
import pytest
import torch

from rnn_helpers.gradcheck import numerical_gradient, rel_error
from rnn_helpers.gru import gru_backward, gru_backward_loop, gru_cell_backward, gru_cell_forward, gru_forward
from rnn_helpers.initialization import init_params
from rnn_helpers.torch_bridge import module_from_params

from cell_testing import (PARAM_NAMES, SHAPES, TORCH_CELL, TORCH_SEQ, assert_numeric_close,  # noqa: F401
                          assert_param_grads_match_torch, t)

VARIANTS = ("pytorch", "reset_before")


def make_case(B, T, D, H, seed):
    rng = np.random.default_rng(seed)
    p = {k: 2.0 * v for k, v in init_params("gru", D, H, rng=rng).items()}
    return rng.standard_normal((B, T, D)), rng.standard_normal((B, H)), p, rng.standard_normal((B, T, H))


def sig(a):
    return 1.0 / (1.0 + np.exp(-a))


def reset_before_gru_numpy(x, h0, W_ih, W_hh, b_ih, b_hh):
    """The seeds' GRU (reset before the product, z on the candidate), written out gate by gate, independently of rnn_helpers.gru."""
    H = h0.shape[1]
    W_ir, W_iz, W_in = W_ih[:H], W_ih[H:2 * H], W_ih[2 * H:]
    W_hr, W_hz, W_hn = W_hh[:H], W_hh[H:2 * H], W_hh[2 * H:]
    b_ir, b_iz, b_in = b_ih[:H], b_ih[H:2 * H], b_ih[2 * H:]
    b_hr, b_hz, b_hn = b_hh[:H], b_hh[H:2 * H], b_hh[2 * H:]
    h, out = h0, []
    for step in range(x.shape[1]):
        xt = x[:, step]
        r = sig(xt @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
        z = sig(xt @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
        h_tilde = np.tanh(xt @ W_in.T + b_in + (r * h) @ W_hn.T + b_hn)
        h = (1 - z) * h + z * h_tilde
        out.append(h)
    return np.stack(out, axis=1)


def reset_before_gru_torch(x, h0, W_ih, W_hh, b_ih, b_hh):
    """The same transcription on torch tensors, for autograd."""
    H = h0.shape[1]
    h, out = h0, []
    for step in range(x.shape[1]):
        gi = x[:, step] @ W_ih.T + b_ih
        r = torch.sigmoid(gi[:, :H] + h @ W_hh[:H].T + b_hh[:H])
        z = torch.sigmoid(gi[:, H:2 * H] + h @ W_hh[H:2 * H].T + b_hh[H:2 * H])
        h_tilde = torch.tanh(gi[:, 2 * H:] + (r * h) @ W_hh[2 * H:].T + b_hh[2 * H:])
        h = (1 - z) * h + z * h_tilde
        out.append(h)
    return torch.stack(out, dim=1)


@pytest.mark.parametrize("shape", SHAPES)
def test_pytorch_variant_matches_torch_gru(shape):
    x, h0, p, dh = make_case(*shape, seed=sum(shape))
    h, cache = gru_forward(x, h0, **p, variant="pytorch")
    m = module_from_params("gru", **p)
    xt, h0t = t(x), t(h0)
    out, hn = m(xt, h0t[None])
    assert rel_error(h, out.detach().numpy()) < 1e-10
    assert rel_error(h[:, -1], hn[0].detach().numpy()) < 1e-10
    grads = gru_backward(dh, cache)
    out.backward(torch.tensor(dh))
    assert rel_error(grads["x"], xt.grad.numpy()) < 1e-8
    assert rel_error(grads["h0"], h0t.grad.numpy()) < 1e-8
    assert_param_grads_match_torch(grads, p, m, TORCH_SEQ)


@pytest.mark.parametrize("shape", SHAPES)
def test_pytorch_variant_cell_matches_torch_grucell(shape):
    x, h0, p, dh = make_case(*shape, seed=50 + sum(shape))
    h_next, cache = gru_cell_forward(x[:, 0], h0, **p)
    m = module_from_params("gru", **p, cell=True)
    xt, ht = t(x[:, 0]), t(h0)
    out = m(xt, ht)
    assert rel_error(h_next, out.detach().numpy()) < 1e-10
    grads = gru_cell_backward(dh[:, 0], cache)
    out.backward(torch.tensor(dh[:, 0]))
    assert rel_error(grads["x_t"], xt.grad.numpy()) < 1e-8
    assert rel_error(grads["h_prev"], ht.grad.numpy()) < 1e-8
    assert_param_grads_match_torch(grads, p, m, TORCH_CELL)


@pytest.mark.parametrize("shape", SHAPES)
def test_reset_before_variant_matches_transcription_and_autograd(shape):
    x, h0, p, dh = make_case(*shape, seed=200 + sum(shape))
    h, cache = gru_forward(x, h0, **p, variant="reset_before")
    assert rel_error(h, reset_before_gru_numpy(x, h0, **p)) < 1e-10
    # it is a different model from torch's (reset placement), not a relabelling
    assert rel_error(h, gru_forward(x, h0, **p, variant="pytorch")[0]) > 1e-6
    tens = {k: t(v) for k, v in {"x": x, "h0": h0, **p}.items()}
    out = reset_before_gru_torch(**tens)
    assert rel_error(h, out.detach().numpy()) < 1e-10
    out.backward(torch.tensor(dh))
    grads = gru_backward(dh, cache)
    for name in ("x", "h0", *PARAM_NAMES):
        assert grads[name].shape == tens[name].shape
        assert rel_error(grads[name], tens[name].grad.numpy()) < 1e-8, name
    # the cell
    h_next, ccache = gru_cell_forward(x[:, :1][:, 0], h0, **p, variant="reset_before")
    assert rel_error(h_next, h[:, 0]) < 1e-12
    tens = {k: t(v) for k, v in {"x": x[:, :1], "h0": h0, **p}.items()}
    out = reset_before_gru_torch(**tens)
    out[:, 0].backward(torch.tensor(dh[:, 0]))
    cgrads = gru_cell_backward(dh[:, 0], ccache)
    assert rel_error(cgrads["x_t"], tens["x"].grad.numpy()[:, 0]) < 1e-8
    assert rel_error(cgrads["h_prev"], tens["h0"].grad.numpy()) < 1e-8
    for name in PARAM_NAMES:
        assert rel_error(cgrads[name], tens[name].grad.numpy()) < 1e-8, name


def test_z_relabelling_is_exact():
    """The seeds' update h = (1 - z') h_prev + z' n with z' = 1 - z is torch's h = (1 - z) n + z h_prev:
    since sigma(-a) = 1 - sigma(a), negating the z rows of W_ih, W_hh and the z biases turns one into the other.
    (Written out here with torch's reset placement, so only the z convention differs.)"""
    x, h0, p, _ = make_case(3, 6, 2, 4, seed=42)
    H = 4
    flipped = {k: v.copy() for k, v in p.items()}
    for k in flipped:
        flipped[k][H:2 * H] *= -1
    W_ih, W_hh, b_ih, b_hh = (flipped[k] for k in PARAM_NAMES)
    h, out = h0, []
    for step in range(x.shape[1]):
        gi, gh = x[:, step] @ W_ih.T + b_ih, h @ W_hh.T + b_hh
        r = sig(gi[:, :H] + gh[:, :H])
        z_seed = sig(gi[:, H:2 * H] + gh[:, H:2 * H])     # weight of the new candidate
        n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
        h = (1 - z_seed) * h + z_seed * n
        out.append(h)
    seeds_form = np.stack(out, axis=1)
    m = module_from_params("gru", **p)
    torch_out = m(torch.tensor(x), torch.tensor(h0)[None])[0].detach().numpy()
    assert rel_error(seeds_form, torch_out) < 1e-12
    assert rel_error(seeds_form, gru_forward(x, h0, **p)[0]) < 1e-12


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 3, 2, 3), (3, 2, 1, 2)])
def test_gru_backward_numeric(shape, variant):
    x, h0, p, dh = make_case(*shape, seed=9 + sum(shape))
    args = {"x": x, "h0": h0, **p}
    _, cache = gru_forward(**args, variant=variant)
    grads = gru_backward(dh, cache)
    for name, arr in args.items():
        num = numerical_gradient(lambda: gru_forward(**args, variant=variant)[0], arr, dh)
        assert_numeric_close(grads[name], num, name)
    cargs = {"x_t": x[:, 0], "h_prev": h0, **p}
    _, ccache = gru_cell_forward(**cargs, variant=variant)
    cgrads = gru_cell_backward(dh[:, 0], ccache)
    for name, arr in cargs.items():
        num = numerical_gradient(lambda: gru_cell_forward(**cargs, variant=variant)[0], arr, dh[:, 0])
        assert_numeric_close(cgrads[name], num, name)


@pytest.mark.parametrize("variant", VARIANTS)
def test_many_to_one(variant):
    x, h0, p, dh = make_case(2, 5, 3, 4, seed=4)
    dh_last = np.zeros_like(dh)
    dh_last[:, -1] = dh[:, -1]
    h, cache = gru_forward(x, h0, **p, variant=variant)
    grads = gru_backward(dh_last, cache)
    tens = {k: t(v) for k, v in {"x": x, "h0": h0, **p}.items()}
    if variant == "pytorch":
        m = module_from_params("gru", **p)
        last = m(tens["x"], tens["h0"][None])[1][0]
        (last * torch.tensor(dh[:, -1])).sum().backward()
        want = {"x": tens["x"].grad, "h0": tens["h0"].grad, "W_hh": m.weight_hh_l0.grad, "b_ih": m.bias_ih_l0.grad}
    else:
        last = reset_before_gru_torch(**tens)[:, -1]
        (last * torch.tensor(dh[:, -1])).sum().backward()
        want = {k: tens[k].grad for k in ("x", "h0", "W_hh", "b_ih")}
    for name, g in want.items():
        assert rel_error(grads[name], g.numpy()) < 1e-8, name


@pytest.mark.parametrize("variant", VARIANTS)
def test_float32_in_float32_out(variant):
    x, h0, p, dh = make_case(2, 3, 4, 5, seed=5)
    f32 = lambda a: a.astype(np.float32)  # noqa: E731
    h, cache = gru_forward(f32(x), f32(h0), **{k: f32(v) for k, v in p.items()}, variant=variant)
    assert h.dtype == np.float32
    grads = gru_backward(f32(dh), cache)
    assert all(g.dtype == np.float32 for g in grads.values())
    h64, cache64 = gru_forward(x, h0, **p, variant=variant)
    assert np.allclose(h, h64, atol=1e-5)
    g64 = gru_backward(dh, cache64)
    assert all(np.allclose(grads[k], g64[k], rtol=1e-4, atol=1e-4) for k in grads)
    hc, cc = gru_cell_forward(f32(x[:, 0]), f32(h0), **{k: f32(v) for k, v in p.items()}, variant=variant)
    assert hc.dtype == np.float32
    assert all(g.dtype == np.float32 for g in gru_cell_backward(f32(dh[:, 0]), cc).values())


def test_unknown_variant_is_refused():
    x, h0, p, _ = make_case(1, 2, 1, 1, seed=0)
    with pytest.raises(ValueError, match="variant is 'cho'"):
        gru_forward(x, h0, **p, variant="cho")


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("shape", SHAPES)
def test_readable_backward_loop_equals_fast_backward(shape, variant):
    """gru_backward_loop (the loop over gru_cell_backward that chapter 4 prints) and the fused gru_backward
    compute the same gradients, key for key, to rounding error in float64."""
    x, h0, p, dh = make_case(*shape, seed=300 + sum(shape))
    _, cache = gru_forward(x, h0, **p, variant=variant)
    fast, loop = gru_backward(dh, cache), gru_backward_loop(dh, cache)
    assert list(loop) == list(fast)
    for name in fast:
        assert loop[name].shape == fast[name].shape and loop[name].dtype == np.float64, name
        assert rel_error(loop[name], fast[name]) < 1e-12, (name, rel_error(loop[name], fast[name]))


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 4, 3, 2)])
def test_readable_backward_loop_numeric(shape, variant):
    x, h0, p, dh = make_case(*shape, seed=400 + sum(shape))
    args = {"x": x, "h0": h0, **p}
    grads = gru_backward_loop(dh, gru_forward(**args, variant=variant)[1])
    for name, arr in args.items():
        num = numerical_gradient(lambda: gru_forward(**args, variant=variant)[0], arr, dh)
        assert_numeric_close(grads[name], num, name)


def test_readable_backward_loop_float32_and_bad_upstream():
    x, h0, p, dh = make_case(2, 3, 2, 3, seed=6)
    f32 = lambda a: a.astype(np.float32)  # noqa: E731
    _, cache = gru_forward(f32(x), f32(h0), **{k: f32(v) for k, v in p.items()}, variant="reset_before")
    assert all(g.dtype == np.float32 for g in gru_backward_loop(f32(dh), cache).values())
    with pytest.raises(ValueError, match="dh has shape"):
        gru_backward_loop(dh[:, :2], cache)
