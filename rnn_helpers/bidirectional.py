r"""Bidirectional recurrent layers: one layer reads the sequence forwards, a second one backwards (chapter 06).

For t = 1..T the forward layer computes h^f_t = cell(x_t, h^f_{t-1}) from h^f_0, the backward layer
h^b_t = cell(x_t, h^b_{t+1}) from h^b_{T+1}, each with its own parameters, and the output at step t is the
concatenation [h^f_t ; h^b_t] of shape (2H,). This is ``torch.nn.RNN/GRU/LSTM(..., bidirectional=True)``:
its output holds the forward half in columns ``:H`` and the backward half in ``H:``, and its final state
``h_n`` of shape (2, B, H) holds h^f_T (index 0) and h^b_1 (index 1), the backward layer's *last* step.

With ``lengths`` (a padded batch, each sequence b real in its first ``lengths[b]`` steps) the backward layer
starts at each sequence's own last real step, as it does on a ``torch.nn.utils.rnn.PackedSequence``; padded
positions of the output are 0 (as ``pad_packed_sequence`` writes them) and the final states are taken at
each sequence's end.

The directions are the existing reference forwards (``rnn_forward``, ``gru_forward``, ``lstm_forward``) run
on the input and on the input reversed in time; nothing here repeats a cell's equations. There is no
bidirectional backward (so no cache is returned): the gradient of each half is its direction's own backward
applied to the reversed input.

Used in: chapter 06 (applications).
"""
from __future__ import annotations

import numpy as np

from rnn_helpers._validate import as_array, check_choice, check_ndim, check_shape
from rnn_helpers.gru import gru_forward
from rnn_helpers.lstm import lstm_forward
from rnn_helpers.simple_rnn import rnn_forward
from rnn_helpers.torch_bridge import params_from_module

KINDS = ("rnn", "gru", "lstm")
PARAM_NAMES = ("W_ih", "W_hh", "b_ih", "b_hh")


def reverse_in_time(x, lengths=None):
    """Each sequence of a batch in reverse order, within its own length.

    Inputs:
    - x: ``(B, T, F)``
    - lengths: None (every sequence has T steps), or int ``(B,)`` with 1 <= lengths[b] <= T

    Returns ``(B, T, F)``: ``out[b, :L] = x[b, L-1::-1]`` with ``L = lengths[b]``; the padded positions
    ``out[b, L:]`` are copied unchanged. Applying it twice gives ``x`` back.
    """
    x = np.asarray(x)
    if lengths is None:
        return x[:, ::-1].copy()
    out = x.copy()
    for b, L in enumerate(lengths):
        out[b, :L] = x[b, L - 1::-1] if L > 0 else x[b, :0]
    return out


def _check_lengths(lengths, B, T):
    if lengths is None:
        return None
    lengths = np.asarray(lengths)
    if lengths.shape != (B,) or lengths.dtype.kind not in "iu":
        raise ValueError(f"lengths must be an integer array of shape (B,) = ({B},), got {lengths.dtype} {lengths.shape}")
    if lengths.min() < 1 or lengths.max() > T:
        raise ValueError(f"every one of lengths must lie in [1, T] = [1, {T}], got min {lengths.min()}, max {lengths.max()}")
    return lengths.astype(np.int64)


def _one_direction(kind, x, h0, c0, params, variant, nonlinearity):
    """(h (B, T, H), c (B, T, H) or None) of one direction, from the package's forward of ``kind``."""
    missing = [n for n in PARAM_NAMES if n not in params]
    if missing:
        raise ValueError(f"a parameter set needs {PARAM_NAMES}; missing {missing}")
    W = [params[n] for n in PARAM_NAMES]
    if kind == "rnn":
        return rnn_forward(x, h0, *W, nonlinearity=nonlinearity)[0], None
    if kind == "gru":
        return gru_forward(x, h0, *W, variant=variant)[0], None
    h, c, _ = lstm_forward(x, h0, c0, *W)
    return h, c


def bidirectional_forward(kind, x, h0, params_forward, params_backward, *, c0=None, lengths=None,
                          variant="pytorch", nonlinearity="tanh"):
    """A bidirectional recurrent layer over a whole sequence (equals ``torch.nn.RNN/GRU/LSTM(D, H,
    batch_first=True, bidirectional=True)``, and with ``lengths`` the same module on a packed sequence).

    Inputs:
    - kind: ``"rnn"``, ``"gru"`` or ``"lstm"``
    - x: ``(B, T, D)``
    - h0: ``(2, B, H)`` initial states, [0] of the forward layer, [1] of the backward layer (torch's ``h_0``
      layout for one bidirectional layer)
    - params_forward, params_backward: dicts ``W_ih (G*H, D)``, ``W_hh (G*H, H)``, ``b_ih (G*H,)``,
      ``b_hh (G*H,)`` (G = 1, 3, 4), torch's ``*_l0`` and ``*_l0_reverse`` parameters
    - c0: ``(2, B, H)`` initial cell states (LSTM only, required there)
    - lengths: None, or int ``(B,)``: the real length of each (right-padded) sequence
    - variant: the GRU variant (see ``rnn_helpers.gru.VARIANTS``); nonlinearity: the RNN's (``"tanh"``/``"relu"``)

    Returns:
    - out: ``(B, T, 2H)``, ``out[:, t] = [h^f_t ; h^b_t]`` (0 at padded positions when ``lengths`` is given)
    - h_n: ``(2, B, H)``, [h^f at each sequence's last real step ; h^b_1]
    - c_n: ``(2, B, H)`` the cell states at the same steps, LSTM only (so an LSTM returns three arrays,
      like torch's ``out, (h_n, c_n)``)
    """
    check_choice("kind", kind, KINDS)
    x = as_array("x", x)
    check_ndim("x", x, ("B", "T", "D"), "a batch-first sequence (batch, time, features)")
    B, T, _ = x.shape
    h0 = as_array("h0", h0)
    check_ndim("h0", h0, ("2", "B", "H"), "the initial states of the two directions")
    H = h0.shape[2]
    check_shape("h0", h0, ("2", "B", "H"), (2, B, H), "(index 0: forward layer, 1: backward layer)")
    if kind == "lstm":
        if c0 is None:
            raise ValueError("an LSTM needs c0 of shape (2, B, H)")
        c0 = as_array("c0", c0)
        check_shape("c0", c0, ("2", "B", "H"), (2, B, H), "like h0")
    elif c0 is not None:
        raise ValueError(f"c0 is for an LSTM only; kind is {kind!r}")
    lengths = _check_lengths(lengths, B, T)
    c0f, c0b = (c0[0], c0[1]) if c0 is not None else (None, None)

    hf, cf = _one_direction(kind, x, h0[0], c0f, params_forward, variant, nonlinearity)
    hb_rev, cb_rev = _one_direction(kind, reverse_in_time(x, lengths), h0[1], c0b, params_backward, variant,
                                    nonlinearity)
    hb = reverse_in_time(hb_rev, lengths)       # hb[:, t] is the backward state at step t
    last = np.full(B, T - 1) if lengths is None else lengths - 1
    rows = np.arange(B)
    h_n = np.stack([hf[rows, last], hb[:, 0]])
    out = np.concatenate([hf, hb], axis=2)
    if lengths is not None:
        out[np.arange(T)[None, :] >= lengths[:, None]] = 0.0
    if kind != "lstm":
        return out, h_n
    c_n = np.stack([cf[rows, last], reverse_in_time(cb_rev, lengths)[:, 0]])
    return out, h_n, c_n


def bidirectional_params_from_module(module, layer=0):
    """The two parameter sets of one layer of ``nn.RNN/GRU/LSTM(bidirectional=True)``, as numpy arrays.

    Returns ``(params_forward, params_backward)``, dicts ``W_ih, W_hh, b_ih, b_hh`` read from torch's
    ``weight_ih_l{layer}`` ... and ``weight_ih_l{layer}_reverse`` ... (``torch_bridge.params_from_module``).
    """
    return params_from_module(module, layer), params_from_module(module, layer, reverse=True)
