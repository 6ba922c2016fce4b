r"""How gradients travel back through time: Jacobian norms, spectral radius, gradient norm against distance.

For the simple tanh RNN, dh_s/dh_{s-1} = diag(1 - h_s^2) W_hh, so

    dh_T/dh_t = prod_{s=t+1..T} diag(1 - h_s^2) W_hh

a product of T - t Jacobians: its norm tends to shrink (vanish) or grow (explode) geometrically with the
distance T - t, at a rate set by the spectral radius of W_hh and the tanh derivatives (which are in (0, 1]).

Used in: chapters 03 (BPTT), 04 (GRU), 05 (LSTM); exercise 03 grades against it.
"""
from __future__ import annotations

import numpy as np

from rnn_helpers._validate import check_choice


def hidden_jacobian_norms(x, h0, W_ih, W_hh, b_ih, b_hh, *, nonlinearity="tanh"):
    """Spectral norms ||dh_T/dh_t||_2 of a simple RNN run on one sequence, for t = 1..T.

    Inputs:
    - x ``(1, T, D)`` (a single sequence), h0 ``(1, H)``
    - W_ih ``(H, D)``, W_hh ``(H, H)``, b_ih ``(H,)``, b_hh ``(H,)``
    - nonlinearity: ``"tanh"`` or ``"relu"``

    Returns a float64 array ``(T,)``: entry t-1 is ||dh_T/dh_t||_2, so the last entry is 1 (the identity) and
    entry t-1 sits at distance T - t from the end.
    """
    from rnn_helpers.simple_rnn import rnn_forward

    x = np.asarray(x)
    if x.ndim != 3 or x.shape[0] != 1:
        raise ValueError(f"x has shape {x.shape}; expected (1, T, D): one sequence")
    h, _ = rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh, nonlinearity=nonlinearity)
    h = h[0].astype(np.float64)
    T, H = h.shape
    deriv = 1 - h * h if nonlinearity == "tanh" else (h > 0).astype(np.float64)
    W_hh = np.asarray(W_hh, dtype=np.float64)
    norms = np.empty(T)
    J = np.eye(H)
    norms[T - 1] = 1.0
    for s in range(T - 1, 0, -1):       # J = dh_T/dh_s  ->  dh_T/dh_{s-1}  (0-based s: h[s] is h_{s+1})
        J = J @ (deriv[s][:, None] * W_hh)
        norms[s - 1] = np.linalg.norm(J, 2)
    return norms


def scale_to_spectral_radius(W, rho):
    """W rescaled so that its spectral radius (largest |eigenvalue|) is ``rho``.

    Inputs: W ``(H, H)`` (not nilpotent), rho >= 0. Returns an ``(H, H)`` array: ``W * rho / max|eig(W)|``.
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"W has shape {W.shape}; expected a square (H, H) matrix")
    radius = np.max(np.abs(np.linalg.eigvals(W)))
    if radius == 0:
        raise ValueError("W has spectral radius 0; it cannot be rescaled")
    return W * (rho / radius)


def gradient_norm_by_distance(kind, x, h0, params, *, c0=None, dh_last=None, variant="pytorch"):
    """Norms of dLoss/dx_t when the loss sits on the last hidden state only (many-to-one), by distance.

    The upstream gradient is ``dh_last`` on h_T (default: all ones) and zero on every other state; the gradient
    is computed with the reference backward functions (``rnn_backward``, ``gru_backward``, ``lstm_backward``).

    Inputs:
    - kind: ``"rnn"``, ``"gru"`` or ``"lstm"``
    - x ``(B, T, D)``, h0 ``(B, H)``, c0 ``(B, H)`` for the LSTM (default zeros)
    - params: dict ``W_ih``, ``W_hh``, ``b_ih``, ``b_hh`` (torch shapes for that kind)
    - dh_last: ``(B, H)`` upstream gradient on h_T, or None (ones)
    - variant: the GRU variant (``"pytorch"`` or ``"reset_before"``)

    Returns a float64 array ``(T,)``: entry d is the Frobenius norm of dLoss/dx_{T-d} over the batch and the
    features, for distances d = 0 (the last step) .. T-1 (the first step).
    """
    check_choice("kind", kind, ("rnn", "gru", "lstm"))
    x = np.asarray(x)
    h0 = np.asarray(h0)
    p = [params[k] for k in ("W_ih", "W_hh", "b_ih", "b_hh")]
    if kind == "rnn":
        from rnn_helpers.simple_rnn import rnn_backward, rnn_forward
        h, cache = rnn_forward(x, h0, *p)
        backward = rnn_backward
    elif kind == "gru":
        from rnn_helpers.gru import gru_backward, gru_forward
        h, cache = gru_forward(x, h0, *p, variant=variant)
        backward = gru_backward
    else:
        from rnn_helpers.lstm import lstm_backward, lstm_forward
        h, _, cache = lstm_forward(x, h0, np.zeros_like(h0) if c0 is None else c0, *p)
        backward = lstm_backward
    dh = np.zeros_like(h)
    dh[:, -1] = 1.0 if dh_last is None else dh_last
    dx = backward(dh, cache)["x"]
    norms = np.sqrt((dx.astype(np.float64) ** 2).sum(axis=(0, 2)))
    return norms[::-1].copy()
