r"""Long short-term memory (LSTM): one step and a whole sequence, forward and backward.

Parameters (PyTorch's names, shapes and gate order i, f, g, o; :class:`torch.nn.LSTM` loads them unchanged):

- ``W_ih`` ``(4*H, D)`` = [W_ii; W_if; W_ig; W_io], input weights of the input gate, forget gate, candidate, output gate
- ``W_hh`` ``(4*H, H)`` = [W_hi; W_hf; W_hg; W_ho], recurrent weights in the same order
- ``b_ih`` ``(4*H,)``, ``b_hh`` ``(4*H,)``: biases in the same order (only their sum matters)

Equations (sigma the logistic sigmoid, * the elementwise product)::

    i_t = sigma(x_t W_ii^T + b_ii + h_{t-1} W_hi^T + b_hi)      input gate
    f_t = sigma(x_t W_if^T + b_if + h_{t-1} W_hf^T + b_hf)      forget gate
    g_t = tanh (x_t W_ig^T + b_ig + h_{t-1} W_hg^T + b_hg)      candidate c~_t
    o_t = sigma(x_t W_io^T + b_io + h_{t-1} W_ho^T + b_ho)      output gate
    c_t = f_t * c_{t-1} + i_t * g_t                             cell state (the additive "conveyor belt")
    h_t = o_t * tanh(c_t)

The four gates are *fused*: one product ``x_t @ W_ih.T + h_{t-1} @ W_hh.T`` of width 4*H, then split.

Used in: chapter 05 (LSTM); exercise 05 grades against it.
"""
from __future__ import annotations

import numpy as np

from rnn_helpers._validate import check_recurrent_args, check_upstream


def _sigmoid(a):
    return 0.5 * np.tanh(0.5 * a) + 0.5   # = 1 / (1 + exp(-a)), without overflow for large |a|


def lstm_cell_forward(x_t, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    r"""One LSTM step (equals :class:`torch.nn.LSTMCell`).

    a = x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh  (B, 4H), split into a_i, a_f, a_g, a_o;
    i, f, o = sigma(a_i), sigma(a_f), sigma(a_o);  g = tanh(a_g)
    c_next = f * c_prev + i * g;   h_next = o * tanh(c_next)

    Inputs:
    - x_t ``(B, D)``, h_prev ``(B, H)``, c_prev ``(B, H)``
    - W_ih ``(4*H, D)``, W_hh ``(4*H, H)``, b_ih ``(4*H,)``, b_hh ``(4*H,)`` (gate order i, f, g, o)

    Returns:
    - h_next ``(B, H)``, c_next ``(B, H)``
    - cache: dict with ``x_t``, ``h_prev``, ``c_prev``, ``W_ih``, ``W_hh``, gates ``i``, ``f``, ``g``, ``o``
      and ``tanh_c`` = tanh(c_next), each ``(B, H)``
    """
    (x_t, h_prev, W_ih, W_hh, b_ih, b_hh, c_prev), (_, _, _, H) = check_recurrent_args(
        "lstm", x_t, h_prev, W_ih, W_hh, b_ih, b_hh, c=c_prev, sequence=False
    )
    a = x_t @ W_ih.T + h_prev @ W_hh.T + b_ih + b_hh      # all four gates in one product each
    i, f, o = _sigmoid(a[:, :H]), _sigmoid(a[:, H: 2 * H]), _sigmoid(a[:, 3 * H:])
    g = np.tanh(a[:, 2 * H: 3 * H])
    c_next = f * c_prev + i * g
    tanh_c = np.tanh(c_next)
    h_next = o * tanh_c
    cache = {"x_t": x_t, "h_prev": h_prev, "c_prev": c_prev, "W_ih": W_ih, "W_hh": W_hh,
             "i": i, "f": f, "g": g, "o": o, "tanh_c": tanh_c}
    return h_next, c_next, cache


def lstm_cell_backward(dh_next, dc_next, cache):
    r"""Backward pass of one LSTM step.

    dc = dc_next + dh_next * o * (1 - tanh(c_next)^2)       (both paths into c_next)
    da_i = dc g i (1 - i),  da_f = dc c_prev f (1 - f),  da_g = dc i (1 - g^2),  da_o = dh_next tanh(c_next) o (1 - o)
    da = [da_i, da_f, da_g, da_o]  (B, 4H);  dx_t = da @ W_ih,  dh_prev = da @ W_hh,  dc_prev = dc * f
    dW_ih = da.T @ x_t,  dW_hh = da.T @ h_prev,  db_ih = db_hh = sum_batch(da)

    Inputs:
    - dh_next ``(B, H)``: upstream gradient on h_next
    - dc_next ``(B, H)`` or None (zeros): upstream gradient on c_next
    - cache: from :func:`lstm_cell_forward`

    Returns a dict: ``x_t`` ``(B, D)``, ``h_prev`` ``(B, H)``, ``c_prev`` ``(B, H)``, ``W_ih`` ``(4*H, D)``,
    ``W_hh`` ``(4*H, H)``, ``b_ih`` ``(4*H,)``, ``b_hh`` ``(4*H,)``.
    """
    i, f, g, o, tanh_c = cache["i"], cache["f"], cache["g"], cache["o"], cache["tanh_c"]
    c_prev = cache["c_prev"]
    dt = c_prev.dtype
    dh = check_upstream("dh_next", dh_next, c_prev.shape, ("B", "H"), dt)
    dc = np.zeros_like(c_prev) if dc_next is None else check_upstream("dc_next", dc_next, c_prev.shape, ("B", "H"), dt)
    dc = dc + dh * o * (1 - tanh_c * tanh_c)
    da = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g * g),
                         dh * tanh_c * o * (1 - o)], axis=1)
    db = da.sum(axis=0)
    return {
        "x_t": da @ cache["W_ih"],
        "h_prev": da @ cache["W_hh"],
        "c_prev": dc * f,
        "W_ih": da.T @ cache["x_t"],
        "W_hh": da.T @ cache["h_prev"],
        "b_ih": db,
        "b_hh": db.copy(),
    }


def _ifog(H):
    """Row indices taking torch's gate order i, f, g, o to the internal order i, f, o, g (its own inverse)."""
    return np.r_[0: 2 * H, 3 * H: 4 * H, 2 * H: 3 * H]


def lstm_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    r"""An LSTM over a whole sequence (equals ``torch.nn.LSTM(D, H, batch_first=True)``).

    The equations are those of :func:`lstm_cell_forward` at each step t = 1..T from (h0, c0).

    How it is made fast (the results are the same up to rounding):

    - the input projections of all steps are one matrix product before the loop;
    - inside the loop the gate rows are held in the order i, f, o, g so that the three sigmoids are one block,
      with their rows pre-scaled by 1/2 (exact in floating point) so that sigma(a) = 0.5 tanh(a/2) + 0.5 and
      the candidate's tanh become one ``np.tanh`` over all four gates;
    - the per-step gate buffer is *gate-major*, ``(4, B, H)``: each gate is one contiguous block, so every
      ufunc runs over contiguous memory (a (B, H) column block of a (B, 4H) row-major array is 32 short rows,
      which costs numpy about twice as much per call); the products are taken per gate, (B, H) x (H, H)
      in one ``np.matmul`` (as fast here as one (B, H) x (H, 4H) product), so they come out gate-major;
    - all buffers are preallocated; the weights are split and transposed into contiguous copies once.

    Inputs:
    - x ``(B, T, D)``, h0 ``(B, H)``, c0 ``(B, H)``
    - W_ih ``(4*H, D)``, W_hh ``(4*H, H)``, b_ih ``(4*H,)``, b_hh ``(4*H,)`` (gate order i, f, g, o)

    Returns:
    - h: hidden states h_1..h_T, ``(B, T, H)``
    - c: cell states c_1..c_T, ``(B, T, H)``
    - cache: dict for :func:`lstm_backward` with time-major buffers ``xs (T, B, D)``, ``hs (T+1, B, H)``
      (h_0..h_T), ``cs (T+1, B, H)`` (c_0..c_T), ``tanh_c (T, B, H)``, ``gates (4, T, B, H)`` holding i, f, o, g
      (note: this internal order, not torch's), and the weights
    """
    (x, h0, W_ih, W_hh, b_ih, b_hh, c0), (B, T, D, H) = check_recurrent_args(
        "lstm", x, h0, W_ih, W_hh, b_ih, b_hh, c=c0, sequence=True
    )
    dt = x.dtype
    perm = _ifog(H)
    scale = np.ones(4 * H, dtype=dt)
    scale[: 3 * H] = 0.5                              # rows i, f, o halved for the tanh form of the sigmoid
    # per-gate transposed weights, (4, D, H) and (4, H, H): a product with them gives gate-major (4, ..., H)
    W_ih_g = np.ascontiguousarray((W_ih[perm] * scale[:, None]).reshape(4, H, D).transpose(0, 2, 1))
    W_hh_g = np.ascontiguousarray((W_hh[perm] * scale[:, None]).reshape(4, H, H).transpose(0, 2, 1))
    xs = np.ascontiguousarray(x.transpose(1, 0, 2))
    # The input part of all steps, four products, written straight into the gate buffer (a separate buffer
    # would be one more fresh 4*T*B*H allocation per call, and page faults on fresh memory cost time too).
    gates = np.matmul(xs.reshape(T * B, D), W_ih_g).reshape(4, T, B, H)
    gates += ((b_ih + b_hh)[perm] * scale).reshape(4, 1, 1, H)
    hs = np.empty((T + 1, B, H), dtype=dt)
    cs = np.empty((T + 1, B, H), dtype=dt)
    hs[0], cs[0] = h0, c0
    tanh_c = np.empty((T, B, H), dtype=dt)
    gh = np.empty((4, B, H), dtype=dt)
    ig = np.empty((B, H), dtype=dt)
    for t in range(T):
        G = gates[:, t]
        np.matmul(hs[t], W_hh_g, out=gh)              # one (B, H) x (H, H) product per gate
        G += gh
        np.tanh(G, out=G)
        sig = G[:3]
        sig *= 0.5
        sig += 0.5
        i, f, o, g = G
        np.multiply(f, cs[t], out=cs[t + 1])
        np.multiply(i, g, out=ig)
        cs[t + 1] += ig
        np.tanh(cs[t + 1], out=tanh_c[t])
        np.multiply(o, tanh_c[t], out=hs[t + 1])
    h = np.ascontiguousarray(hs[1:].transpose(1, 0, 2))
    c = np.ascontiguousarray(cs[1:].transpose(1, 0, 2))
    cache = {"xs": xs, "hs": hs, "cs": cs, "tanh_c": tanh_c, "gates": gates, "W_ih": W_ih, "W_hh": W_hh}
    return h, c, cache


def lstm_backward(dh, cache, dc=None):
    r"""Backpropagation through time for :func:`lstm_forward`.

    ``dh[:, t]`` (and ``dc[:, t]`` if given) are upstream gradients on h_t (and c_t) from outside the recurrence;
    for many-to-one pass zeros except ``dh[:, -1]``. Going backward, the gradients reaching h_t and c_t from step
    t+1 are added to them, then the per-step formulas of :func:`lstm_cell_backward` apply.
    The per-step factors are formed in contiguous (B, H) and (3, B, H) buffers (cheaper per ufunc than column
    blocks of a (B, 4H) array); each gate's final value is written into a (T, B, 4H) buffer, in the internal
    order i, f, o, g, which the weight gradients after the loop read as one (T*B, 4H) matrix.

    Inputs:
    - dh: upstream gradients on every hidden state, ``(B, T, H)``
    - cache: from :func:`lstm_forward`
    - dc: upstream gradients on every cell state, ``(B, T, H)``, or None (zeros)

    Returns a dict: ``x`` ``(B, T, D)``, ``h0`` ``(B, H)``, ``c0`` ``(B, H)``, ``W_ih`` ``(4*H, D)``,
    ``W_hh`` ``(4*H, H)``, ``b_ih`` ``(4*H,)``, ``b_hh`` ``(4*H,)``.
    """
    xs, hs, cs, tanh_c, gates = cache["xs"], cache["hs"], cache["cs"], cache["tanh_c"], cache["gates"]
    W_ih, W_hh = cache["W_ih"], cache["W_hh"]
    T, B, D = xs.shape
    H = hs.shape[2]
    dt = hs.dtype
    dh = check_upstream("dh", dh, (B, T, H), ("B", "T", "H"), dt)
    dh_tm = dh.transpose(1, 0, 2)
    dc_tm = None if dc is None else check_upstream("dc", dc, (B, T, H), ("B", "T", "H"), dt).transpose(1, 0, 2)
    perm = _ifog(H)
    W_hh_p = W_hh[perm]                               # rows in the internal order, like dA's columns
    c_prev = cs[:-1]
    dA = np.empty((T, B, 4, H), dtype=dt)             # gradient on the pre-activations, order i, f, o, g
    dA_ifo = dA[:, :, :3].transpose(0, 2, 1, 3)       # (T, 3, B, H) view
    carry_h = np.zeros((B, H), dtype=dt)
    carry_c = np.zeros((B, H), dtype=dt)
    gh = np.empty((B, H), dtype=dt)
    u = np.empty((B, H), dtype=dt)
    up = np.empty((3, B, H), dtype=dt)                # what multiplies sigma'(a) for i, f, o
    ds = np.empty((3, B, H), dtype=dt)                # sigma'(a) = s (1 - s) for i, f, o
    for t in range(T - 1, -1, -1):
        S = gates[:3, t]
        i, f, o, g = gates[:, t]
        tc = tanh_c[t]
        np.add(dh_tm[t], carry_h, out=gh)             # total gradient on h_t
        if dc_tm is not None:
            carry_c += dc_tm[t]
        np.multiply(hs[t + 1], tc, out=u)             # dc_t += dh_t o (1 - tanh(c_t)^2), as o - h_t tanh(c_t)
        np.subtract(o, u, out=u)
        u *= gh
        carry_c += u                                  # total gradient on c_t
        np.multiply(carry_c, g, out=up[0])            # i: dc_t g;  f: dc_t c_{t-1};  o: dh_t tanh(c_t)
        np.multiply(carry_c, c_prev[t], out=up[1])
        np.multiply(gh, tc, out=up[2])
        np.subtract(1, S, out=ds)
        ds *= S
        np.multiply(up, ds, out=dA_ifo[t])
        np.multiply(g, g, out=u)                      # g: dc_t i (1 - g^2)
        np.subtract(1, u, out=u)
        u *= i
        np.multiply(u, carry_c, out=dA[t, :, 3])
        carry_c *= f                                  # dc_{t-1} through the forget gate
        np.dot(dA[t].reshape(B, 4 * H), W_hh_p, out=carry_h)
    # Weight gradients summed over time as single products; X^T dA (then transposed) is the faster
    # orientation for OpenBLAS in float64 with these long, thin operands (about even in float32).
    # Rows go back to torch's gate order i, f, g, o.
    dA2 = dA.reshape(T * B, 4 * H)
    db = dA2.sum(axis=0)[perm]
    # One product and a transposing copy: with 4H = 512 columns in dA this is faster than the per-step
    # products into the batch-major result that the RNN and GRU use (measured: benchmarks/README.md, "Cells").
    dx = np.dot(dA2, W_ih[perm]).reshape(T, B, D).transpose(1, 0, 2)
    return {
        "x": np.ascontiguousarray(dx),
        "h0": carry_h,
        "c0": carry_c,
        "W_ih": np.dot(xs.reshape(T * B, D).T, dA2).T[perm],
        "W_hh": np.dot(hs[:-1].reshape(T * B, H).T, dA2).T[perm],
        "b_ih": db,
        "b_hh": db.copy(),
    }
