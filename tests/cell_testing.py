"""What the cell tests (simple RNN, GRU, LSTM) share: shapes, torch tensors, and the two gradient comparisons."""
import numpy as np
import torch

from rnn_helpers.gradcheck import rel_error

# (B, T, D, H) including the edge sizes 1
SHAPES = [(1, 1, 1, 1), (2, 3, 4, 5), (3, 5, 2, 1), (1, 4, 1, 3), (4, 1, 3, 2)]
PARAM_NAMES = ("W_ih", "W_hh", "b_ih", "b_hh")
TORCH_SEQ = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")  # nn.RNN/GRU/LSTM, layer 0
TORCH_CELL = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")             # nn.*Cell


def t(a):
    """A float64 leaf tensor whose .grad autograd fills."""
    return torch.tensor(a, dtype=torch.float64, requires_grad=True)


def assert_numeric_close(analytic, numeric, name):
    """Centered differences with eps=1e-6 carry ~1e-10 absolute noise: relative 1e-6 or absolute 1e-9."""
    assert analytic.shape == numeric.shape, name
    assert np.allclose(analytic, numeric, rtol=1e-6, atol=1e-9), (name, rel_error(analytic, numeric))


def assert_param_grads_match_torch(grads, params, module, torch_names):
    """Each reference weight gradient has its parameter's shape and equals autograd's to 1e-8."""
    for name, tname in zip(PARAM_NAMES, torch_names):
        assert grads[name].shape == params[name].shape, name
        assert rel_error(grads[name], getattr(module, tname).grad.numpy()) < 1e-8, name
