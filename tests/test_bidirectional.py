"""The numpy bidirectional layer against torch.nn.RNN/GRU/LSTM(bidirectional=True), float64, to 1e-10."""
import numpy as np
import pytest
import torch

from rnn_helpers import bidirectional
from rnn_helpers.param_count import rnn_param_count
from rnn_helpers.torch_bridge import _SEQUENCE as MODULES
TOL = 1e-10


def _case(kind, B, T, D, H, seed):
    torch.manual_seed(seed)
    module = MODULES[kind](D, H, batch_first=True, bidirectional=True, dtype=torch.float64)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((B, T, D))
    h0 = rng.standard_normal((2, B, H))
    c0 = rng.standard_normal((2, B, H)) if kind == "lstm" else None
    return module, x, h0, c0


def _torch(module, x, h0, c0, lengths=None):
    state = torch.from_numpy(h0) if c0 is None else (torch.from_numpy(h0), torch.from_numpy(c0))
    inp = torch.from_numpy(x)
    if lengths is not None:
        inp = torch.nn.utils.rnn.pack_padded_sequence(inp, torch.as_tensor(lengths), batch_first=True,
                                                      enforce_sorted=False)
    with torch.no_grad():
        out, s = module(inp, state)
    if lengths is not None:
        out = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])[0]
    finals = (s,) if c0 is None else s
    return [out.numpy()] + [f.numpy() for f in finals]


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("B,T,D,H,seed", [(3, 5, 4, 6, 0), (1, 1, 1, 1, 1), (2, 7, 3, 1, 2), (4, 2, 5, 3, 3)])
def test_equals_torch_bidirectional(kind, B, T, D, H, seed):
    module, x, h0, c0 = _case(kind, B, T, D, H, seed)
    fwd, bwd = bidirectional.bidirectional_params_from_module(module)
    ours = bidirectional.bidirectional_forward(kind, x, h0, fwd, bwd, c0=c0)
    theirs = _torch(module, x, h0, c0)
    assert len(ours) == len(theirs) == (3 if kind == "lstm" else 2)
    assert ours[0].shape == (B, T, 2 * H) and ours[1].shape == (2, B, H)
    for a, b in zip(ours, theirs):
        assert np.max(np.abs(a - b)) < TOL


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_equals_torch_on_a_packed_batch(kind):
    module, x, h0, c0 = _case(kind, 4, 6, 3, 5, 7)
    lengths = np.array([6, 2, 4, 1])
    fwd, bwd = bidirectional.bidirectional_params_from_module(module)
    ours = bidirectional.bidirectional_forward(kind, x, h0, fwd, bwd, c0=c0, lengths=lengths)
    theirs = _torch(module, x, h0, c0, lengths)
    for a, b in zip(ours, theirs):
        assert np.max(np.abs(a - b)) < TOL
    # the padding after a sequence's end changes nothing, in either direction
    x2 = x.copy()
    x2[1, 2:] = 99.0
    again = bidirectional.bidirectional_forward(kind, x2, h0, fwd, bwd, c0=c0, lengths=lengths)
    for a, b in zip(ours, again):
        assert np.array_equal(a, b)


def test_the_halves_are_the_two_directions():
    """The forward half ignores the future, the backward half ignores the past."""
    module, x, h0, _ = _case("gru", 2, 6, 3, 4, 5)
    fwd, bwd = bidirectional.bidirectional_params_from_module(module)
    out, h_n = bidirectional.bidirectional_forward("gru", x, h0, fwd, bwd)
    x2 = x.copy()
    x2[:, 4] += 1.0                        # change step 4 only
    out2, _ = bidirectional.bidirectional_forward("gru", x2, h0, fwd, bwd)
    H = 4
    assert np.array_equal(out[:, :4, :H], out2[:, :4, :H]) and not np.allclose(out[:, 4, :H], out2[:, 4, :H])
    assert np.array_equal(out[:, 5:, H:], out2[:, 5:, H:]) and not np.allclose(out[:, 4, H:], out2[:, 4, H:])
    assert np.array_equal(h_n[0], out[:, -1, :H]) and np.array_equal(h_n[1], out[:, 0, H:])


def test_reset_before_variant_is_passed_through():
    module, x, h0, _ = _case("gru", 2, 4, 3, 4, 6)
    fwd, bwd = bidirectional.bidirectional_params_from_module(module)
    a = bidirectional.bidirectional_forward("gru", x, h0, fwd, bwd)[0]
    b = bidirectional.bidirectional_forward("gru", x, h0, fwd, bwd, variant="reset_before")[0]
    assert not np.allclose(a, b)


def test_float32_works():
    module, x, h0, c0 = _case("lstm", 2, 3, 2, 3, 8)
    fwd, bwd = bidirectional.bidirectional_params_from_module(module)
    f32 = {k: v.astype(np.float32) for k, v in fwd.items()}, {k: v.astype(np.float32) for k, v in bwd.items()}
    out, h_n, c_n = bidirectional.bidirectional_forward("lstm", x.astype(np.float32), h0.astype(np.float32), *f32,
                                                        c0=c0.astype(np.float32))
    assert out.dtype == np.float32
    assert np.allclose(out, _torch(module, x, h0, c0)[0], atol=1e-5)


@pytest.mark.parametrize("kind,G", [("rnn", 1), ("gru", 3), ("lstm", 4)])
def test_parameter_count_is_twice_one_direction(kind, G):
    module = MODULES[kind](5, 7, batch_first=True, bidirectional=True)
    assert sum(p.numel() for p in module.parameters()) == 2 * rnn_param_count(5, 7, kind=kind)
    assert 2 * rnn_param_count(5, 7, kind=kind) == 2 * (G * 7 * (5 + 7) + 2 * G * 7)


def test_reverse_in_time_within_lengths():
    x = np.arange(2 * 4).reshape(2, 4, 1)
    r = bidirectional.reverse_in_time(x, np.array([4, 2]))
    assert r[..., 0].tolist() == [[3, 2, 1, 0], [5, 4, 6, 7]]
    assert np.array_equal(bidirectional.reverse_in_time(r, np.array([4, 2])), x)
    assert bidirectional.reverse_in_time(x)[..., 0].tolist() == [[3, 2, 1, 0], [7, 6, 5, 4]]


def test_bad_input_gets_a_clear_error():
    module, x, h0, c0 = _case("lstm", 2, 3, 2, 3, 9)
    fwd, bwd = bidirectional.bidirectional_params_from_module(module)
    with pytest.raises(ValueError, match="c0"):
        bidirectional.bidirectional_forward("lstm", x, h0, fwd, bwd)
    with pytest.raises(ValueError, match="c0 is for an LSTM"):
        bidirectional.bidirectional_forward("gru", x, h0, fwd, bwd, c0=c0)
    with pytest.raises(ValueError, match="h0"):
        bidirectional.bidirectional_forward("lstm", x, h0[0], fwd, bwd, c0=c0)
    with pytest.raises(ValueError, match="lengths"):
        bidirectional.bidirectional_forward("lstm", x, h0, fwd, bwd, c0=c0, lengths=np.array([3, 4]))
    with pytest.raises(ValueError, match="missing"):
        bidirectional.bidirectional_forward("lstm", x, h0, {"W_ih": fwd["W_ih"]}, bwd, c0=c0)
    with pytest.raises(ValueError, match="kind"):
        bidirectional.bidirectional_forward("tcn", x, h0, fwd, bwd)
    with pytest.raises(ValueError, match="not bidirectional"):
        bidirectional.bidirectional_params_from_module(torch.nn.GRU(2, 3))
