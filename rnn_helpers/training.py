r"""Training support: gradient clipping and truncated backpropagation through time (TBPTT) for the simple RNN.

Clipping (Pascanu et al. 2013):
- by value: every entry is clamped to [-limit, limit] (changes the direction of the gradient);
- by global norm: with n = sqrt(sum over all arrays of sum g^2), every array is scaled by max_norm / n when
  n > max_norm (keeps the direction).

Truncated BPTT: the sequence is cut into chunks of k steps; the hidden state is carried forward from one chunk to
the next (the forward pass sees the whole past), but the gradient is stopped at chunk boundaries (each backward
pass goes back at most k steps). It is what ``h = h.detach()`` between chunks does in torch.

Used in: chapter 03 (BPTT); exercise 03 grades against it.
"""
from __future__ import annotations

import numpy as np

from rnn_helpers.simple_rnn import rnn_backward, rnn_forward

RNN_PARAMS = ("W_ih", "W_hh", "b_ih", "b_hh")


def clip_by_value(grads, limit):
    """Clamp every entry of every gradient to ``[-limit, limit]``.

    Inputs: grads dict name -> array (any shapes); limit > 0.
    Returns a new dict with arrays of the same shapes (the input is not modified).
    """
    if not limit > 0:
        raise ValueError(f"limit is {limit}; expected a positive number")
    return {k: np.clip(g, -limit, limit) for k, g in grads.items()}


def global_norm(grads):
    """sqrt(sum over all arrays of the sum of squared entries): the norm of all gradients as one vector."""
    return float(np.sqrt(sum(float(np.sum(np.square(np.asarray(g, dtype=np.float64)))) for g in grads.values())))


def clip_by_global_norm(grads, max_norm):
    """Rescale all gradients together so that their global norm is at most ``max_norm``.

    n = sqrt(sum_k ||g_k||^2);  g_k <- g_k * max_norm / n  if n > max_norm, unchanged otherwise.
    (torch.nn.utils.clip_grad_norm_ divides by n + 1e-6 instead of n; the difference is below 1e-6 relative.)

    Inputs: grads dict name -> array; max_norm > 0.
    Returns ``(clipped, n)``: a new dict with arrays of the same shapes and dtypes, and the norm n *before*
    clipping (a float; log it to see how often clipping fires).
    """
    if not max_norm > 0:
        raise ValueError(f"max_norm is {max_norm}; expected a positive number")
    n = global_norm(grads)
    scale = max_norm / n if n > max_norm else 1.0
    return {k: (np.asarray(g) * scale).astype(np.asarray(g).dtype, copy=False) for k, g in grads.items()}, n


def truncated_bptt(x, h0, params, dh_fn, k, *, nonlinearity="tanh"):
    """Gradients of a simple RNN by truncated BPTT: chunks of k steps, state carried, gradient stopped between.

    For each chunk [s, e) (e = min(s + k, T)): run :func:`rnn_forward` on ``x[:, s:e]`` from the state carried
    out of the previous chunk; ask ``dh_fn(h_chunk, s)`` for the upstream gradient on the chunk's states; run
    :func:`rnn_backward`; add the weight gradients; drop the gradient on the carried-in state (the stop).

    Inputs:
    - x ``(B, T, D)``; h0 ``(B, H)``
    - params: dict ``W_ih (H, D)``, ``W_hh (H, H)``, ``b_ih (H,)``, ``b_hh (H,)``
    - dh_fn: function ``(h_chunk (B, e-s, H), s) -> dh_chunk (B, e-s, H)``, the loss's gradient on those states
    - k: chunk length (int >= 1); k >= T is full BPTT
    - nonlinearity: ``"tanh"`` or ``"relu"``

    Returns ``(grads, h)``: grads a dict ``x`` ``(B, T, D)`` (within-chunk gradient), ``W_ih``, ``W_hh``,
    ``b_ih``, ``b_hh`` summed over chunks; h the hidden states ``(B, T, H)`` of the whole sequence.
    """
    if int(k) != k or k < 1:
        raise ValueError(f"k is {k}; expected a positive integer chunk length")
    x = np.asarray(x)
    T = x.shape[1]
    grads = None
    h_prev, hs, dxs = h0, [], []
    for s in range(0, T, int(k)):
        e = min(s + int(k), T)
        h, cache = rnn_forward(x[:, s:e], h_prev, *(params[n] for n in RNN_PARAMS), nonlinearity=nonlinearity)
        g = rnn_backward(dh_fn(h, s), cache)
        if grads is None:
            grads = {n: g[n].copy() for n in RNN_PARAMS}
        else:
            for n in RNN_PARAMS:
                grads[n] += g[n]
        dxs.append(g["x"])
        hs.append(h)
        h_prev = h[:, -1]          # carried forward; g["h0"] is discarded: the gradient stops here
    grads["x"] = np.concatenate(dxs, axis=1)
    return grads, np.concatenate(hs, axis=1)


def train_rnn_tbptt(x, y, params, *, k, lr, epochs, clip=None):
    """Fit a simple tanh RNN with a linear readout to a sequence by truncated BPTT and plain SGD.

    Model: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) from h_0 = 0, y^_t = h_t W_out^T + b_out.
    Each epoch walks the sequence in chunks of k steps, carrying h across chunks; after each chunk it takes one
    SGD step ``p <- p - lr * dp`` on the chunk's loss, the mean squared error over the chunk's steps and
    outputs: L = mean_{t in chunk, o} (y^_t[o] - y_t[o])^2. With ``clip``, gradients are first clipped by global
    norm to ``clip``. Deterministic: no randomness; the input dict is not modified.

    Inputs:
    - x ``(1, T, D)``, y ``(1, T, O)``
    - params: dict ``W_ih (H, D)``, ``W_hh (H, H)``, ``b_ih (H,)``, ``b_hh (H,)``, ``W_out (O, H)``, ``b_out (O,)``
    - k (int >= 1), lr (float), epochs (int), clip (float or None)

    Returns ``(params, losses)``: the trained parameters (new arrays) and a float64 array ``(epochs,)`` of each
    epoch's loss, the mean of its chunk losses weighted by chunk length (computed before each chunk's update).
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 3 or x.shape[0] != 1 or y.shape[:2] != x.shape[:2] or y.ndim != 3:
        raise ValueError(f"x has shape {x.shape} and y has shape {y.shape}; expected (1, T, D) and (1, T, O)")
    if int(k) != k or k < 1:
        raise ValueError(f"k is {k}; expected a positive integer chunk length")
    p = {name: np.array(v, dtype=np.float64, copy=True) for name, v in params.items()}
    T, H = x.shape[1], p["W_hh"].shape[0]
    losses = np.empty(epochs)
    for epoch in range(epochs):
        h_prev = np.zeros((1, H))
        total = 0.0
        for s in range(0, T, int(k)):
            e = min(s + int(k), T)
            h, cache = rnn_forward(x[:, s:e], h_prev, *(p[n] for n in RNN_PARAMS))
            err = h @ p["W_out"].T + p["b_out"] - y[:, s:e]          # (1, e-s, O)
            total += float(np.mean(err ** 2)) * (e - s)
            dyhat = 2.0 * err / err.size
            grads = rnn_backward(dyhat @ p["W_out"], cache)
            grads = {n: grads[n] for n in RNN_PARAMS}
            grads["W_out"] = dyhat[0].T @ h[0]
            grads["b_out"] = dyhat[0].sum(axis=0)
            if clip is not None:
                grads, _ = clip_by_global_norm(grads, clip)
            for n, g in grads.items():
                p[n] -= lr * g
            h_prev = h[:, -1]
        losses[epoch] = total / T
    return p, losses
