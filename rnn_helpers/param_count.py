"""Parameter counts: recurrent layers (torch's convention) against a feed-forward net on concatenated words.

Used in: chapters 01 (motivation), 02 (simple RNN), 06 (applications); exercises 01, 02 grade against it.
"""
from __future__ import annotations

from rnn_helpers._validate import gate_count


def rnn_param_count(D, H, *, kind="rnn", bias=True, num_layers=1):
    """Number of parameters of ``torch.nn.RNN/GRU/LSTM(D, H, num_layers, bias)`` (unidirectional).

    Each layer has G gate blocks (G = 1 rnn, 3 gru, 4 lstm): ``G*H*D_l`` input weights, ``G*H*H`` recurrent
    weights and, with ``bias=True``, two bias vectors ``b_ih`` and ``b_hh`` of ``G*H`` each (torch keeps both;
    a single bias, as in most textbooks, would be ``G*H`` fewer per layer). D_1 = D, D_l = H for l > 1.
    So one simple RNN layer has H*(D + H) + 2*H parameters, i.e. H*(D + H + 1) with a single bias.

    Inputs: D input size, H hidden size, kind ``"rnn"``/``"gru"``/``"lstm"``, bias, num_layers (ints >= 1).
    Returns an int.
    """
    G = gate_count(kind)
    total = 0
    for layer in range(num_layers):
        d_in = D if layer == 0 else H
        total += G * H * (d_in + H) + (2 * G * H if bias else 0)
    return total


def concat_feedforward_param_count(T, D, H):
    """Parameters of one hidden layer of H units reading T concatenated D-dimensional word vectors:
    a ``(H, T*D)`` weight matrix and an ``(H,)`` bias, i.e. ``T*D*H + H``. It grows with the sequence length T
    (and fixes T), unlike a recurrent layer whose weights are shared across time steps.

    Inputs: T sequence length, D word-vector size, H hidden units (ints >= 1). Returns an int.
    """
    return T * D * H + H
