"""Parameter sets to and from torch modules (round trips), and parameter counts against torch's."""
import numpy as np
import pytest
import torch

from rnn_helpers._validate import gate_count
from rnn_helpers.initialization import init_params
from rnn_helpers.param_count import concat_feedforward_param_count, rnn_param_count
from rnn_helpers.torch_bridge import module_from_params, params_from_module

KINDS = ["rnn", "gru", "lstm"]
SEQ = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}
CELL = {"rnn": torch.nn.RNNCell, "gru": torch.nn.GRUCell, "lstm": torch.nn.LSTMCell}


@pytest.mark.parametrize("cell", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_round_trip_numpy_torch_numpy(kind, cell):
    p = init_params(kind, 3, 4, rng=np.random.default_rng(0))
    m = module_from_params(kind, **p, cell=cell)
    assert isinstance(m, (CELL if cell else SEQ)[kind])
    if not cell:
        assert m.batch_first
    back = params_from_module(m)
    assert set(back) == {"W_ih", "W_hh", "b_ih", "b_hh"}
    for name in p:
        assert back[name].dtype == np.float64 and np.array_equal(back[name], p[name])


@pytest.mark.parametrize("cell", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_round_trip_torch_numpy_torch(kind, cell):
    torch.manual_seed(1)
    m = (CELL[kind](2, 3) if cell else SEQ[kind](2, 3, batch_first=True)).double()
    m2 = module_from_params(kind, **params_from_module(m), cell=cell)
    x = torch.randn(4, 5, 2, dtype=torch.float64)
    inp = x[:, 0] if cell else x
    a, b = m(inp), m2(inp)
    a, b = (a[0], b[0]) if isinstance(a, tuple) else (a, b)
    assert torch.equal(a, b)


def test_float32_modules_and_relu():
    p = init_params("rnn", 2, 3, rng=np.random.default_rng(0), dtype=np.float32)
    m = module_from_params("rnn", **p, dtype=torch.float32, nonlinearity="relu")
    assert m.nonlinearity == "relu" and m.weight_hh_l0.dtype == torch.float32
    assert params_from_module(m)["W_hh"].dtype == np.float32


def test_layers_of_a_deep_module_and_errors():
    m = torch.nn.LSTM(3, 4, num_layers=2, batch_first=True)
    assert params_from_module(m, layer=1)["W_ih"].shape == (16, 4)
    assert params_from_module(m, layer=0)["W_ih"].shape == (16, 3)
    with pytest.raises(ValueError, match="num_layers=2"):
        params_from_module(m, layer=2)
    with pytest.raises(ValueError, match="bias=False"):
        params_from_module(torch.nn.GRU(2, 3, bias=False))
    with pytest.raises(ValueError, match="not bidirectional"):
        params_from_module(torch.nn.GRU(2, 3), reverse=True)
    with pytest.raises(ValueError, match="not bidirectional"):
        params_from_module(torch.nn.GRUCell(2, 3), reverse=True)


@pytest.mark.parametrize("kind", KINDS)
def test_reverse_reads_the_backward_direction_of_each_layer(kind):
    torch.manual_seed(2)
    m = SEQ[kind](3, 4, num_layers=2, bidirectional=True)
    for layer in range(2):
        fwd, bwd = params_from_module(m, layer), params_from_module(m, layer, reverse=True)
        assert np.array_equal(fwd["W_hh"], getattr(m, f"weight_hh_l{layer}").detach().numpy())
        assert np.array_equal(bwd["W_hh"], getattr(m, f"weight_hh_l{layer}_reverse").detach().numpy())
        assert np.array_equal(bwd["b_ih"], getattr(m, f"bias_ih_l{layer}_reverse").detach().numpy())
        assert not np.array_equal(fwd["W_ih"], bwd["W_ih"])
    # layer 1 reads both directions of layer 0: D_1 = 2H
    assert params_from_module(m, 1, reverse=True)["W_ih"].shape == (gate_count(kind) * 4, 8)
    with pytest.raises(ValueError, match="W_hh has shape"):
        module_from_params("gru", np.zeros((9, 2)), np.zeros((6, 3)), np.zeros(9), np.zeros(9))
    with pytest.raises(ValueError, match="kind is 'elman'"):
        module_from_params("elman", np.zeros((3, 2)), np.zeros((3, 3)), np.zeros(3), np.zeros(3))


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("num_layers", [1, 3])
@pytest.mark.parametrize("kind", KINDS)
def test_param_count_equals_torch(kind, num_layers, bias):
    m = SEQ[kind](7, 5, num_layers=num_layers, bias=bias)
    assert rnn_param_count(7, 5, kind=kind, bias=bias, num_layers=num_layers) == sum(q.numel() for q in m.parameters())


def test_param_count_hand_values():
    # one simple RNN layer: H (D + H) weights + two biases of H (torch) = H (D + H + 2)
    assert rnn_param_count(10, 20) == 20 * (10 + 20) + 2 * 20
    # one hidden layer on T concatenated words: T D H weights + H biases; grows with T
    assert concat_feedforward_param_count(5, 100, 50) == 5 * 100 * 50 + 50
    assert concat_feedforward_param_count(5, 100, 50) == sum(q.numel() for q in torch.nn.Linear(500, 50).parameters())
