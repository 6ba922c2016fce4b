r"""Stacked (deep) simple RNNs: layer l reads the hidden states of layer l-1 as its input sequence.

    h^(1)_t = phi(x_t W_ih^(1)T + b_ih^(1) + h^(1)_{t-1} W_hh^(1)T + b_hh^(1))
    h^(l)_t = phi(h^(l-1)_t W_ih^(l)T + b_ih^(l) + h^(l)_{t-1} W_hh^(l)T + b_hh^(l)),   l = 2..L

This is ``torch.nn.RNN(D, H, num_layers=L, batch_first=True)`` (without dropout): layer 1 has ``W_ih (H, D)``,
layers 2..L have ``W_ih (H, H)``; every layer has ``W_hh (H, H)``, ``b_ih (H,)``, ``b_hh (H,)``.
Each layer adds T sequential steps of work per layer, which is the cost of depth.

Used in: chapter 02 (simple RNN); exercise 02 grades against it.
"""
from __future__ import annotations

import numpy as np

from rnn_helpers._validate import as_array, check_shape
from rnn_helpers.simple_rnn import rnn_backward, rnn_forward


def stacked_rnn_forward(x, h0, layers, *, nonlinearity="tanh"):
    """Forward pass of an L-layer simple RNN.

    Inputs:
    - x: ``(B, T, D)``
    - h0: initial states of every layer, ``(L, B, H)`` (torch's layout for ``h_0``)
    - layers: list of L dicts with ``W_ih`` (``(H, D)`` for the first layer, ``(H, H)`` after), ``W_hh (H, H)``,
      ``b_ih (H,)``, ``b_hh (H,)``
    - nonlinearity: ``"tanh"`` or ``"relu"``

    Returns:
    - h_top: hidden states of the last layer, ``(B, T, H)`` (torch's ``output``)
    - h_last: last hidden state of every layer, ``(L, B, H)`` (torch's ``h_n``)
    - cache: list of the layers' :func:`rnn_forward` caches
    """
    h0 = as_array("h0", h0)
    L = len(layers)
    if h0.ndim != 3 or h0.shape[0] != L:
        raise ValueError(f"h0 has shape {h0.shape}; expected (L, B, H) with L={L} (one state per layer)")
    inp, caches, last = x, [], []
    for layer, params in enumerate(layers):
        inp, cache = rnn_forward(inp, h0[layer], params["W_ih"], params["W_hh"], params["b_ih"], params["b_hh"],
                                 nonlinearity=nonlinearity)
        caches.append(cache)
        last.append(inp[:, -1])
    return inp, np.stack(last), caches


def stacked_rnn_backward(dh_top, cache, dh_last=None):
    """Backward pass of :func:`stacked_rnn_forward`.

    Inputs:
    - dh_top: upstream gradient on the last layer's states, ``(B, T, H)``
    - cache: from :func:`stacked_rnn_forward`
    - dh_last: optional upstream gradient on ``h_last``, ``(L, B, H)``

    Returns a dict: ``x`` ``(B, T, D)``, ``h0`` ``(L, B, H)``, ``layers``: list of L dicts of gradients with keys
    ``W_ih``, ``W_hh``, ``b_ih``, ``b_hh``.
    """
    L = len(cache)
    dh = np.array(dh_top, dtype=cache[-1]["hs"].dtype, copy=True)
    if dh_last is not None:
        dh_last = as_array("dh_last", dh_last)
        B, H = dh.shape[0], dh.shape[2]
        check_shape("dh_last", dh_last, ("L", "B", "H"), (L, B, H))
    dlayers, dh0 = [None] * L, [None] * L
    for layer in range(L - 1, -1, -1):
        if dh_last is not None:
            dh[:, -1] += dh_last[layer]
        g = rnn_backward(dh, cache[layer])
        dlayers[layer] = {k: g[k] for k in ("W_ih", "W_hh", "b_ih", "b_hh")}
        dh0[layer] = g["h0"]
        dh = g["x"]   # the input of this layer is the output of the one below
    return {"x": dh, "h0": np.stack(dh0), "layers": dlayers}
