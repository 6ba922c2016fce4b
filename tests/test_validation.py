"""Wrong shapes raise a ValueError that names the argument, the shape given and the shape expected."""
import re

import numpy as np
import pytest

from rnn_helpers.gru import gru_backward, gru_cell_forward, gru_forward
from rnn_helpers.lstm import lstm_backward, lstm_cell_forward, lstm_forward
from rnn_helpers.simple_rnn import rnn_backward, rnn_cell_backward, rnn_cell_forward, rnn_forward

z = np.zeros


def raises(msg, fn, *args, **kwargs):
    with pytest.raises(ValueError, match=re.escape(msg)):
        fn(*args, **kwargs)


def test_wrong_recurrent_columns_gru():
    # H = 3 from h0; W_hh (12, 4) has neither 3*H rows nor H columns: the row count is reported first
    raises("W_hh has 12 rows; a GRU needs 3*H = 9 rows (gates r, z, n)",
           gru_forward, z((2, 5, 4)), z((2, 3)), z((9, 4)), z((12, 4)), z(9), z(9))
    raises("W_hh has shape (9, 4); expected (3*H, H) = (9, 3) for a GRU with H=3",
           gru_forward, z((2, 5, 4)), z((2, 3)), z((9, 4)), z((9, 4)), z(9), z(9))


def test_wrong_gate_rows():
    raises("W_ih has 8 rows; a GRU needs 3*H = 12 rows (gates r, z, n)",
           gru_cell_forward, z((2, 5)), z((2, 4)), z((8, 5)), z((12, 4)), z(12), z(12))
    raises("W_ih has 12 rows; an LSTM needs 4*H = 16 rows (gates i, f, g, o)",
           lstm_forward, z((2, 3, 5)), z((2, 4)), z((2, 4)), z((12, 5)), z((16, 4)), z(16), z(16))
    raises("b_hh has 12 entries; an LSTM needs 4*H = 16 entries (gates i, f, g, o)",
           lstm_cell_forward, z((2, 5)), z((2, 4)), z((2, 4)), z((16, 5)), z((16, 4)), z(16), z(12))
    raises("W_ih has 4 rows; an RNN needs H = 3 rows; H=3 comes from h0 of shape (2, 3)",
           rnn_forward, z((2, 5, 4)), z((2, 3)), z((4, 4)), z((3, 3)), z(3), z(3))


def test_wrong_input_columns_and_bias_shape():
    raises("W_ih has shape (3, 5); expected (H, D) = (3, 4) for an RNN with H=3",
           rnn_forward, z((2, 5, 4)), z((2, 3)), z((3, 5)), z((3, 3)), z(3), z(3))
    raises("b_ih has shape (12, 1); expected (3*H,) = (12,) for a GRU with H=4",
           gru_forward, z((2, 5, 4)), z((2, 4)), z((12, 4)), z((12, 4)), z((12, 1)), z(12))


def test_wrong_input_and_state_shapes():
    raises("x has shape (2, 5); expected (B, T, D)", rnn_forward, z((2, 5)), z((2, 3)), z((3, 5)), z((3, 3)),
           z(3), z(3))
    raises("x_t has shape (2, 5, 1); expected (B, D)", rnn_cell_forward, z((2, 5, 1)), z((2, 3)), z((3, 5)),
           z((3, 3)), z(3), z(3))
    raises("h0 has shape (3,); expected (B, H)", rnn_forward, z((2, 5, 4)), z(3), z((3, 4)), z((3, 3)), z(3), z(3))
    raises("h0 has shape (3, 3); expected (B, H) = (2, 3) (B=2 from x of shape (2, 5, 4))",
           rnn_forward, z((2, 5, 4)), z((3, 3)), z((3, 4)), z((3, 3)), z(3), z(3))
    raises("c0 has shape (2, 5); expected (B, H) = (2, 4) like h0",
           lstm_forward, z((2, 3, 5)), z((2, 4)), z((2, 5)), z((16, 5)), z((16, 4)), z(16), z(16))


def test_wrong_upstream_gradient_shapes():
    x, h0 = np.ones((2, 5, 4)), np.ones((2, 3))
    _, cache = rnn_forward(x, h0, z((3, 4)), z((3, 3)), z(3), z(3))
    raises("dh has shape (2, 3); expected (B, T, H) = (2, 5, 3)", rnn_backward, z((2, 3)), cache)
    _, ccache = rnn_cell_forward(x[:, 0], h0, z((3, 4)), z((3, 3)), z(3), z(3))
    raises("dh_next has shape (3, 2); expected (B, H) = (2, 3)", rnn_cell_backward, z((3, 2)), ccache)
    _, gcache = gru_forward(x, h0, z((9, 4)), z((9, 3)), z(9), z(9))
    raises("dh has shape (2, 4, 3)", gru_backward, z((2, 4, 3)), gcache)
    _, _, lcache = lstm_forward(x, h0, h0, z((12, 4)), z((12, 3)), z(12), z(12))
    raises("dc has shape (2, 5); expected (B, T, H) = (2, 5, 3)", lstm_backward, z((2, 5, 3)), lcache, dc=z((2, 5)))


def test_non_numeric_input_is_refused():
    raises("x has dtype <U1; expected a real floating-point array", rnn_forward, np.full((2, 5, 4), "a"),
           z((2, 3)), z((3, 4)), z((3, 3)), z(3), z(3))
    raises("W_hh has dtype complex128", rnn_forward, z((2, 5, 4)), z((2, 3)), z((3, 4)), z((3, 3), complex),
           z(3), z(3))


def test_lists_and_integer_arrays_are_accepted_as_float64():
    h, _ = rnn_forward([[[1], [0]]], [[0]], [[1]], [[1]], [0], [0])
    assert h.dtype == np.float64 and h.shape == (1, 2, 1)
    assert np.allclose(h[0, :, 0], [np.tanh(1), np.tanh(np.tanh(1))])
