"""Embedding lookup: integer token ids to rows of a learned matrix (the first layer of a character/word model).

    x[b, t] = W[idx[b, t]]      (equals ``torch.nn.Embedding`` / one_hot(idx) @ W)

Used in: chapter 01 (motivation); exercise 01 grades against it.
"""
from __future__ import annotations

import numpy as np

from rnn_helpers._validate import as_array


def embedding_forward(idx, W):
    """Look up one row of ``W`` per token.

    Inputs:
    - idx: integer token ids, ``(B, T)`` (any integer shape ``S`` works), each in ``[0, V)``
    - W: embedding matrix, ``(V, D)``

    Returns:
    - x: ``(B, T, D)`` (``S + (D,)``), in W's dtype
    - cache: dict with ``idx`` and ``W_shape``
    """
    idx = np.asarray(idx)
    W = as_array("W", W)
    if idx.dtype.kind not in "iu":
        raise ValueError(f"idx has dtype {idx.dtype}; expected integer token ids")
    if W.ndim != 2:
        raise ValueError(f"W has shape {W.shape}; expected (V, D)")
    if idx.size and (idx.min() < 0 or idx.max() >= W.shape[0]):
        raise ValueError(f"idx has values in [{idx.min()}, {idx.max()}]; expected ids in [0, V) = [0, {W.shape[0]})")
    return W[idx], {"idx": idx, "W_shape": W.shape}


def embedding_backward(dx, cache):
    """Gradient of the lookup: every occurrence of token v adds its upstream row to dW[v].

    ``np.add.at`` accumulates repeated indices (``dW[idx] += dx`` would keep only one of them).

    Inputs:
    - dx: upstream gradient, ``(B, T, D)``
    - cache: from :func:`embedding_forward`

    Returns a dict: ``W`` ``(V, D)``.
    """
    dx = np.asarray(dx)
    idx, (V, D) = cache["idx"], cache["W_shape"]
    if dx.shape != idx.shape + (D,):
        raise ValueError(f"dx has shape {dx.shape}; expected idx.shape + (D,) = {idx.shape + (D,)}")
    dW = np.zeros((V, D), dtype=dx.dtype if dx.dtype.kind == "f" else np.float64)
    np.add.at(dW, idx.reshape(-1), dx.reshape(-1, D))
    return {"W": dW}
