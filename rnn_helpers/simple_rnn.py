r"""The simple (Elman) recurrent layer: one step and a whole sequence, forward and backward.

Equation (row-vector form, PyTorch's names; ``phi`` is tanh, or relu with ``nonlinearity="relu"``)::

    h_t = phi(x_t @ W_ih.T + b_ih + h_{t-1} @ W_hh.T + b_hh)

Parameters (exactly :class:`torch.nn.RNN`'s, so a parameter set loads into it):

- ``W_ih`` ``(H, D)``: input-to-hidden weights (W in the prose)
- ``W_hh`` ``(H, H)``: hidden-to-hidden (recurrent) weights (U in the prose)
- ``b_ih`` ``(H,)``, ``b_hh`` ``(H,)``: two bias vectors, as torch keeps them (only their sum matters)

Forward functions return ``(output, cache)``; backward functions take the upstream gradient and the cache and
return a dict of gradients keyed by the forward function's argument names, each with that argument's shape.

Used in: chapters 02 (simple RNN), 03 (BPTT), 04 (GRU); exercises 02, 03 grade against it.
"""
from __future__ import annotations

import numpy as np

from rnn_helpers._validate import check_choice, check_recurrent_args, check_upstream

NONLINEARITIES = ("tanh", "relu")


def _activate(a: np.ndarray, nonlinearity: str) -> np.ndarray:
    """phi(a) in place; returns ``a``."""
    if nonlinearity == "tanh":
        return np.tanh(a, out=a)
    return np.maximum(a, 0, out=a)


def _activation_derivative(h: np.ndarray, nonlinearity: str) -> np.ndarray:
    """phi'(a) written with the output h = phi(a): 1 - h**2 for tanh, [h > 0] for relu (torch's choice at 0)."""
    if nonlinearity == "tanh":
        d = np.multiply(h, h)
        np.subtract(1, d, out=d)
        return d
    return (h > 0).astype(h.dtype)


def rnn_cell_forward(x_t, h_prev, W_ih, W_hh, b_ih, b_hh, *, nonlinearity="tanh"):
    r"""One step of the simple RNN (equals :class:`torch.nn.RNNCell`).

    h_next = phi(x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh),  phi = tanh or relu

    Inputs:
    - x_t: input at this step, ``(B, D)``
    - h_prev: previous hidden state h_{t-1}, ``(B, H)``
    - W_ih: input weights, ``(H, D)``
    - W_hh: recurrent weights, ``(H, H)``
    - b_ih, b_hh: biases, ``(H,)`` each
    - nonlinearity: ``"tanh"`` (default) or ``"relu"``, as torch's ``nonlinearity`` argument

    Returns:
    - h_next: next hidden state h_t, ``(B, H)``, in the inputs' float dtype
    - cache: dict with ``x_t``, ``h_prev``, ``W_ih``, ``W_hh``, ``h_next``, ``nonlinearity`` (for the backward)

    Raises ``ValueError`` naming the argument when a shape is wrong.
    """
    check_choice("nonlinearity", nonlinearity, NONLINEARITIES)
    (x_t, h_prev, W_ih, W_hh, b_ih, b_hh), _ = check_recurrent_args(
        "rnn", x_t, h_prev, W_ih, W_hh, b_ih, b_hh, sequence=False
    )
    a = x_t @ W_ih.T
    a += h_prev @ W_hh.T
    a += b_ih + b_hh
    h_next = _activate(a, nonlinearity)
    cache = {"x_t": x_t, "h_prev": h_prev, "W_ih": W_ih, "W_hh": W_hh, "h_next": h_next,
             "nonlinearity": nonlinearity}
    return h_next, cache


def rnn_cell_backward(dh_next, cache):
    r"""Backward pass of one RNN step.

    With a = x_t W_ih^T + b_ih + h_prev W_hh^T + b_hh and h_next = phi(a):

        da = dh_next * phi'(a)          (tanh: 1 - h_next**2; relu: [h_next > 0])
        dx_t = da @ W_ih,   dh_prev = da @ W_hh
        dW_ih = da.T @ x_t, dW_hh = da.T @ h_prev, db_ih = db_hh = sum_batch(da)

    Inputs:
    - dh_next: upstream gradient dL/dh_next, ``(B, H)``
    - cache: from :func:`rnn_cell_forward`

    Returns a dict: ``x_t`` ``(B, D)``, ``h_prev`` ``(B, H)``, ``W_ih`` ``(H, D)``, ``W_hh`` ``(H, H)``,
    ``b_ih`` ``(H,)``, ``b_hh`` ``(H,)``.
    """
    h_next = cache["h_next"]
    dh_next = check_upstream("dh_next", dh_next, h_next.shape, ("B", "H"), h_next.dtype)
    da = dh_next * _activation_derivative(h_next, cache["nonlinearity"])
    db = da.sum(axis=0)
    return {
        "x_t": da @ cache["W_ih"],
        "h_prev": da @ cache["W_hh"],
        "W_ih": da.T @ cache["x_t"],
        "W_hh": da.T @ cache["h_prev"],
        "b_ih": db,
        "b_hh": db.copy(),
    }


def rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh, *, nonlinearity="tanh"):
    r"""The simple RNN over a whole sequence (equals ``torch.nn.RNN(D, H, batch_first=True)``).

    For t = 1..T:  h_t = phi(x_t @ W_ih.T + b_ih + h_{t-1} @ W_hh.T + b_hh), starting from h0.

    The input projection x_t @ W_ih.T + b_ih + b_hh of every step is one matrix product before the time loop;
    the loop then does one (B, H) x (H, H) product and the nonlinearity per step, in preallocated buffers.

    Inputs:
    - x: input sequence, ``(B, T, D)``
    - h0: initial hidden state, ``(B, H)``
    - W_ih ``(H, D)``, W_hh ``(H, H)``, b_ih ``(H,)``, b_hh ``(H,)``
    - nonlinearity: ``"tanh"`` (default) or ``"relu"``

    Returns:
    - h: every hidden state h_1..h_T, ``(B, T, H)`` (``h[:, -1]`` is the last state, torch's ``h_n``)
    - cache: dict for :func:`rnn_backward` (time-major buffers ``xs (T, B, D)``, ``hs (T+1, B, H)`` holding
      h_0..h_T, the weights, ``nonlinearity``)
    """
    check_choice("nonlinearity", nonlinearity, NONLINEARITIES)
    (x, h0, W_ih, W_hh, b_ih, b_hh), (B, T, D, H) = check_recurrent_args(
        "rnn", x, h0, W_ih, W_hh, b_ih, b_hh, sequence=True
    )
    # Time-major copies so that each step reads and writes one contiguous (B, H) block.
    xs = np.ascontiguousarray(x.transpose(1, 0, 2))
    hs = np.empty((T + 1, B, H), dtype=x.dtype)
    hs[0] = h0
    # All input projections in one GEMM, written where h_1..h_T will be: a separate (T, B, H) buffer would be
    # fresh memory on every call, and its page faults cost more than the product (float64, this machine).
    np.dot(xs.reshape(T * B, D), W_ih.T, out=hs[1:].reshape(T * B, H))
    hs[1:] += b_ih + b_hh
    W_hh_T = W_hh.T
    rec = np.empty((B, H), dtype=x.dtype)
    for t in range(T):
        np.dot(hs[t], W_hh_T, out=rec)
        h = hs[t + 1]
        h += rec
        _activate(h, nonlinearity)
    h = np.ascontiguousarray(hs[1:].transpose(1, 0, 2))
    cache = {"xs": xs, "hs": hs, "W_ih": W_ih, "W_hh": W_hh, "nonlinearity": nonlinearity}
    return h, cache


def rnn_backward(dh, cache):
    r"""Backpropagation through time for :func:`rnn_forward`.

    ``dh[:, t]`` is the gradient of the loss with respect to h_t coming from *outside* the recurrence (an output
    layer on every step: many-to-many). For a many-to-one model pass zeros except ``dh[:, -1]``.
    Going backward, the gradient on h_t is that upstream term plus what flows back from step t+1::

        g_t = dh[:, t] + da_{t+1} @ W_hh,   da_t = g_t * phi'(a_t)
        dx_t = da_t @ W_ih,   dh0 = da_1 @ W_hh
        dW_ih = sum_t da_t.T @ x_t,  dW_hh = sum_t da_t.T @ h_{t-1},  db_ih = db_hh = sum_{t,b} da_t

    The sums over time are single matrix products after the loop.

    Inputs:
    - dh: upstream gradients on every hidden state, ``(B, T, H)``
    - cache: from :func:`rnn_forward`

    Returns a dict: ``x`` ``(B, T, D)``, ``h0`` ``(B, H)``, ``W_ih`` ``(H, D)``, ``W_hh`` ``(H, H)``,
    ``b_ih`` ``(H,)``, ``b_hh`` ``(H,)``.
    """
    xs, hs, W_ih, W_hh = cache["xs"], cache["hs"], cache["W_ih"], cache["W_hh"]
    T, B, D = xs.shape
    H = hs.shape[2]
    dh = check_upstream("dh", dh, (B, T, H), ("B", "T", "H"), hs.dtype)
    dh_tm = dh.transpose(1, 0, 2)
    da = _activation_derivative(hs[1:], cache["nonlinearity"])  # phi'(a_t) for all t, then times g_t below
    g = np.empty((B, H), dtype=hs.dtype)
    carry = np.zeros((B, H), dtype=hs.dtype)  # gradient reaching h_t from step t+1
    for t in range(T - 1, -1, -1):
        np.add(dh_tm[t], carry, out=g)
        da[t] *= g
        np.dot(da[t], W_hh, out=carry)
    da2 = da.reshape(T * B, H)
    db = da2.sum(axis=0)
    # dx_t = da_t @ W_ih, one product per step written straight into the batch-major result (BLAS takes the
    # strided rows): cheaper than one product into a time-major buffer and a transposing copy.
    dx = np.empty((B, T, D), dtype=hs.dtype)
    np.matmul(da, W_ih, out=dx.transpose(1, 0, 2))
    return {
        "x": dx,
        "h0": carry,
        "W_ih": np.dot(da2.T, xs.reshape(T * B, D)),
        "W_hh": np.dot(da2.T, hs[:-1].reshape(T * B, H)),
        "b_ih": db,
        "b_hh": db.copy(),
    }
