r"""Outputs on top of the hidden states: an affine map at every time step and softmax cross-entropy over time.

    logits_t = h_t W^T + b                                  (B, T, V): scores over V classes at every step
    p_t = softmax(logits_t),  loss = -(1/N) sum_{b,t: mask} log p_t[targets_t]     (N = number of counted steps)

Used in: chapters 02 (simple RNN), 03 (BPTT); exercise 02 grades against it.
"""
from __future__ import annotations

import numpy as np

from rnn_helpers._validate import as_array


def affine_forward(h, W, b):
    """The same affine output layer applied at every time step.

    Inputs: h ``(B, T, H)``, W ``(V, H)``, b ``(V,)``.
    Returns: logits ``(B, T, V)`` = h @ W.T + b, and a cache (``h``, ``W``).
    """
    h, W, b = as_array("h", h), as_array("W", W), as_array("b", b)
    if h.ndim != 3:
        raise ValueError(f"h has shape {h.shape}; expected (B, T, H)")
    H = h.shape[2]
    if W.ndim != 2 or W.shape[1] != H:
        raise ValueError(f"W has shape {W.shape}; expected (V, H) with H={H} from h")
    if b.shape != (W.shape[0],):
        raise ValueError(f"b has shape {b.shape}; expected (V,) = ({W.shape[0]},)")
    return h @ W.T + b, {"h": h, "W": W}


def affine_backward(dlogits, cache):
    """Backward of :func:`affine_forward`: dh = dlogits W, dW = sum_{b,t} dlogits^T h, db = sum_{b,t} dlogits.

    Inputs: dlogits ``(B, T, V)``; cache from the forward.
    Returns a dict: ``h`` ``(B, T, H)``, ``W`` ``(V, H)``, ``b`` ``(V,)``.
    """
    h, W = cache["h"], cache["W"]
    dlogits = np.asarray(dlogits)
    B, T, H = h.shape
    V = W.shape[0]
    if dlogits.shape != (B, T, V):
        raise ValueError(f"dlogits has shape {dlogits.shape}; expected (B, T, V) = {(B, T, V)}")
    d2 = dlogits.reshape(B * T, V)
    return {"h": dlogits @ W, "W": d2.T @ h.reshape(B * T, H), "b": d2.sum(axis=0)}


def softmax(logits, axis=-1):
    """Numerically stable softmax (the maximum is subtracted first). Returns an array of the shape of ``logits``."""
    z = np.asarray(logits)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_cross_entropy(logits, targets, mask=None):
    """Mean cross-entropy of a softmax at every (unmasked) time step, and its gradient.

    loss = -(1/N) sum_{b,t with mask[b,t]} log softmax(logits[b,t])[targets[b,t]],  N = mask.sum()
    dlogits[b,t] = (softmax(logits[b,t]) - one_hot(targets[b,t])) * mask[b,t] / N

    This is ``torch.nn.functional.cross_entropy`` with reduction "mean" over the counted positions (padding
    excluded, like ``ignore_index``).

    Inputs:
    - logits ``(B, T, V)``
    - targets ``(B, T)`` integer classes in ``[0, V)`` (any value at masked positions)
    - mask ``(B, T)`` bool (True = counted), or None (all counted)

    Returns: loss (float), dlogits ``(B, T, V)``.
    """
    logits = as_array("logits", logits)
    targets = np.asarray(targets)
    if logits.ndim != 3:
        raise ValueError(f"logits has shape {logits.shape}; expected (B, T, V)")
    B, T, V = logits.shape
    if targets.shape != (B, T) or targets.dtype.kind not in "iu":
        raise ValueError(f"targets has shape {targets.shape} and dtype {targets.dtype}; expected integers (B, T) = {(B, T)}")
    m = np.ones((B, T), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if m.shape != (B, T):
        raise ValueError(f"mask has shape {m.shape}; expected (B, T) = {(B, T)}")
    tgt = np.where(m, targets, 0)
    if tgt.size and (tgt.min() < 0 or tgt.max() >= V):
        raise ValueError(f"targets has values outside [0, V) = [0, {V}) at counted positions")
    N = max(int(m.sum()), 1)
    shifted = logits - logits.max(axis=2, keepdims=True)
    log_z = np.log(np.exp(shifted).sum(axis=2, keepdims=True))
    log_p = shifted - log_z
    picked = np.take_along_axis(log_p, tgt[..., None], axis=2)[..., 0]
    loss = -float((picked * m).sum()) / N
    dlogits = np.exp(log_p)
    np.put_along_axis(dlogits, tgt[..., None], np.take_along_axis(dlogits, tgt[..., None], axis=2) - 1, axis=2)
    dlogits *= (m / N)[..., None]
    return loss, dlogits
