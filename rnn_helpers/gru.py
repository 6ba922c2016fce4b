r"""The gated recurrent unit (GRU): one step and a whole sequence, forward and backward, in two variants.

Parameters (PyTorch's names, shapes and gate order r, z, n; :class:`torch.nn.GRU` loads them unchanged):

- ``W_ih`` ``(3*H, D)`` = [W_ir; W_iz; W_in], input weights of the reset gate, update gate and candidate
- ``W_hh`` ``(3*H, H)`` = [W_hr; W_hz; W_hn], recurrent weights in the same order
- ``b_ih`` ``(3*H,)`` = [b_ir; b_iz; b_in], ``b_hh`` ``(3*H,)`` = [b_hr; b_hz; b_hn]

The two variants share the gates (sigma is the logistic sigmoid, * the elementwise product)::

    r_t = sigma(x_t W_ir^T + b_ir + h_{t-1} W_hr^T + b_hr)        reset gate
    z_t = sigma(x_t W_iz^T + b_iz + h_{t-1} W_hz^T + b_hz)        update gate

``variant="pytorch"`` (torch.nn.GRU, cuDNN): the reset gate multiplies the recurrent product *after* it is
taken, and z_t is the weight of the *old* state::

    n_t = tanh(x_t W_in^T + b_in + r_t * (h_{t-1} W_hn^T + b_hn))
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}

``variant="reset_before"`` (the course's seeds and Ng's full GRU; Chung et al. 2014 write it this way): the
reset gate multiplies the old state *before* the recurrent product, and z_t is the weight of the *new* candidate::

    h~_t = tanh(x_t W_in^T + b_in + (r_t * h_{t-1}) W_hn^T + b_hn)
    h_t  = (1 - z_t) * h_{t-1} + z_t * h~_t

The two variants differ in two independent choices. Where the reset gate acts is a different model, which torch
does not implement: before the product as published by Cho et al. 2014 and used by Chung et al. 2014, after it
in cuDNN and PyTorch. Which side z weighs is a relabelling (sigma(-a) = 1 - sigma(a): negate the z rows and
biases to go from one to the other): Cho et al. 2014 and PyTorch let z weigh the old state, Chung et al. 2014
and Ng let it weigh the candidate.

Used in: chapters 04 (GRU), 05 (LSTM); exercise 04 grades against it.
"""
from __future__ import annotations

import numpy as np

from rnn_helpers._validate import check_choice, check_recurrent_args, check_upstream

VARIANTS = ("pytorch", "reset_before")


def _sigmoid_(a: np.ndarray) -> np.ndarray:
    """sigma(a) in place, as 0.5 * tanh(a / 2) + 0.5 (no overflow for large |a|); returns ``a``."""
    a *= 0.5
    np.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


def _half_sigmoid_(a: np.ndarray) -> np.ndarray:
    """sigma(2 a) in place, for pre-activations stored halved; returns ``a``."""
    np.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return _sigmoid_(np.array(a, copy=True))


# ----------------------------------------------------------------------------------------------- one step


def gru_cell_forward(x_t, h_prev, W_ih, W_hh, b_ih, b_hh, *, variant="pytorch"):
    r"""One GRU step. ``variant="pytorch"`` equals :class:`torch.nn.GRUCell`; ``"reset_before"`` is the seeds' form.

    pytorch:  n = tanh(x_t W_in^T + b_in + r * (h_prev W_hn^T + b_hn));   h_next = (1 - z) * n + z * h_prev
    reset_before: h~ = tanh(x_t W_in^T + b_in + (r * h_prev) W_hn^T + b_hn);  h_next = (1 - z) * h_prev + z * h~
    with r = sigma(x_t W_ir^T + b_ir + h_prev W_hr^T + b_hr), z = sigma(x_t W_iz^T + b_iz + h_prev W_hz^T + b_hz).

    Inputs:
    - x_t: input at this step, ``(B, D)``
    - h_prev: previous hidden state, ``(B, H)``
    - W_ih ``(3*H, D)``, W_hh ``(3*H, H)``, b_ih ``(3*H,)``, b_hh ``(3*H,)``: gate blocks in the order r, z, n
    - variant: ``"pytorch"`` (default) or ``"reset_before"``

    Returns:
    - h_next: ``(B, H)``
    - cache: dict with ``x_t``, ``h_prev``, ``W_ih``, ``W_hh``, gates ``r``, ``z``, ``n`` (the candidate, n or h~,
      each ``(B, H)``), ``hn`` (pytorch: h_prev W_hn^T + b_hn; reset_before: r * h_prev), ``variant``
    """
    check_choice("variant", variant, VARIANTS)
    (x_t, h_prev, W_ih, W_hh, b_ih, b_hh), (_, _, _, H) = check_recurrent_args(
        "gru", x_t, h_prev, W_ih, W_hh, b_ih, b_hh, sequence=False
    )
    gi = x_t @ W_ih.T + b_ih                       # (B, 3H): input part of r, z, n
    gh_rz = h_prev @ W_hh[: 2 * H].T + b_hh[: 2 * H]
    r = _sigmoid(gi[:, :H] + gh_rz[:, :H])
    z = _sigmoid(gi[:, H: 2 * H] + gh_rz[:, H:])
    if variant == "pytorch":
        hn = h_prev @ W_hh[2 * H:].T + b_hh[2 * H:]  # recurrent product first, then the reset gate
        n = np.tanh(gi[:, 2 * H:] + r * hn)
        h_next = (1 - z) * n + z * h_prev
    else:
        hn = r * h_prev                              # reset gate first, then the recurrent product
        n = np.tanh(gi[:, 2 * H:] + hn @ W_hh[2 * H:].T + b_hh[2 * H:])
        h_next = (1 - z) * h_prev + z * n
    cache = {"x_t": x_t, "h_prev": h_prev, "W_ih": W_ih, "W_hh": W_hh, "r": r, "z": z, "n": n, "hn": hn,
             "variant": variant}
    return h_next, cache


def gru_cell_backward(dh_next, cache):
    r"""Backward pass of one GRU step (either variant, read from the cache).

    With a_r, a_z, a_n the pre-activations of r, z and the candidate:

    pytorch:  dn = dh (1 - z),  dz = dh (h_prev - n),  da_n = dn (1 - n^2),  dr = da_n * hn,
              d(hn) = da_n * r,  dh_prev = dh z + [da_r, da_z, d(hn)] @ W_hh
    reset_before: dh~ = dh z,  dz = dh (h~ - h_prev),  da_n = dh~ (1 - h~^2),  d(r h_prev) = da_n @ W_hn,
              dr = d(r h_prev) * h_prev,  dh_prev = dh (1 - z) + d(r h_prev) * r + [da_r, da_z] @ [W_hr; W_hz]
    both:     da_r = dr r (1 - r),  da_z = dz z (1 - z)

    Inputs:
    - dh_next: upstream gradient, ``(B, H)``
    - cache: from :func:`gru_cell_forward`

    Returns a dict: ``x_t`` ``(B, D)``, ``h_prev`` ``(B, H)``, ``W_ih`` ``(3*H, D)``, ``W_hh`` ``(3*H, H)``,
    ``b_ih`` ``(3*H,)``, ``b_hh`` ``(3*H,)``.
    """
    x_t, h_prev, W_ih, W_hh = cache["x_t"], cache["h_prev"], cache["W_ih"], cache["W_hh"]
    r, z, n, hn = cache["r"], cache["z"], cache["n"], cache["hn"]
    H = h_prev.shape[1]
    dh = check_upstream("dh_next", dh_next, h_prev.shape, ("B", "H"), h_prev.dtype)
    if cache["variant"] == "pytorch":
        da_n = dh * (1 - z) * (1 - n * n)
        da_z = dh * (h_prev - n) * z * (1 - z)
        da_r = da_n * hn * r * (1 - r)
        dgi = np.concatenate([da_r, da_z, da_n], axis=1)          # gradient on x W_ih^T + b_ih
        dgh = np.concatenate([da_r, da_z, da_n * r], axis=1)      # gradient on h_prev W_hh^T + b_hh
        dh_prev = dh * z + dgh @ W_hh
        dW_hh = dgh.T @ h_prev
        db_hh = dgh.sum(axis=0)
    else:
        da_n = dh * z * (1 - n * n)
        da_z = dh * (n - h_prev) * z * (1 - z)
        d_rh = da_n @ W_hh[2 * H:]
        da_r = d_rh * h_prev * r * (1 - r)
        dgi = np.concatenate([da_r, da_z, da_n], axis=1)
        dh_prev = dh * (1 - z) + d_rh * r + dgi[:, : 2 * H] @ W_hh[: 2 * H]
        dW_hh = np.concatenate([dgi[:, : 2 * H].T @ h_prev, da_n.T @ hn], axis=0)
        db_hh = dgi.sum(axis=0)
    return {
        "x_t": dgi @ W_ih,
        "h_prev": dh_prev,
        "W_ih": dgi.T @ x_t,
        "W_hh": dW_hh,
        "b_ih": dgi.sum(axis=0),
        "b_hh": db_hh,
    }


# ----------------------------------------------------------------------------------------------- sequence


def gru_forward(x, h0, W_ih, W_hh, b_ih, b_hh, *, variant="pytorch"):
    r"""A GRU over a whole sequence. ``variant="pytorch"`` equals ``torch.nn.GRU(D, H, batch_first=True)``;
    ``variant="reset_before"`` is the seeds' form (see the module docstring for both sets of equations).

    The input projections x_t W_ih^T + b_ih of all steps are one matrix product before the time loop; each step
    then does the recurrent product(s) and the gate arithmetic in preallocated buffers.

    How it is made fast (the results are the same up to rounding):

    - per-step buffers are *gate-major*, ``(gate, B, H)``: every gate is one contiguous block, so each ufunc
      runs over contiguous memory (a (B, H) slice of a (B, 3H) row-major array is 32 short rows, which
      costs numpy about twice as much per call); the products are taken per gate, (B, H) x (H, H) in one
      ``np.matmul`` (as fast here as one (B, H) x (H, 3H) product), so they come out gate-major;
    - the r and z rows of the weights and biases are halved once (exact in floating point) so that
      sigma(a) = 0.5 tanh(a / 2) + 0.5 is one ``np.tanh`` and two in-place ops over both gates;
    - the weights are split per gate and transposed into contiguous copies once (OpenBLAS multiplies
      faster by a contiguous copy than by the transposed view).

    Inputs:
    - x: ``(B, T, D)``; h0: ``(B, H)``
    - W_ih ``(3*H, D)``, W_hh ``(3*H, H)``, b_ih ``(3*H,)``, b_hh ``(3*H,)`` (gate order r, z, n)
    - variant: ``"pytorch"`` (default) or ``"reset_before"``

    Returns:
    - h: every hidden state h_1..h_T, ``(B, T, H)``
    - cache: dict for :func:`gru_backward` with time-major buffers ``xs (T, B, D)``, ``hs (T+1, B, H)``
      (h_0..h_T), ``rz (2, T, B, H)`` (r_t and z_t), ``n (T, B, H)`` (the candidate), ``hn (T, B, H)``
      (as in the cell's cache), the weights and ``variant``
    """
    check_choice("variant", variant, VARIANTS)
    (x, h0, W_ih, W_hh, b_ih, b_hh), (B, T, D, H) = check_recurrent_args(
        "gru", x, h0, W_ih, W_hh, b_ih, b_hh, sequence=True
    )
    dt = x.dtype
    half = np.ones((3, 1), dtype=dt)
    half[:2] = 0.5                                    # r and z rows halved, n rows unchanged
    # per-gate transposed weights, (3, D, H) and (3, H, H): a product with them gives gate-major (3, ..., H)
    W_ih_g = np.ascontiguousarray((W_ih.reshape(3, H, D) * half[:, :, None]).transpose(0, 2, 1))
    W_hh_g = np.ascontiguousarray((W_hh.reshape(3, H, H) * half[:, :, None]).transpose(0, 2, 1))
    xs = np.ascontiguousarray(x.transpose(1, 0, 2))
    # The input part of all steps, three products, written straight into the gate buffer (a separate buffer
    # would be one more fresh 3*T*B*H allocation per call, and page faults on fresh memory cost time too).
    gates = np.matmul(xs.reshape(T * B, D), W_ih_g).reshape(3, T, B, H)
    b = b_ih.reshape(3, H) + b_hh.reshape(3, H)
    if variant == "pytorch":
        b[2] = b_ih[2 * H:]                           # b_hn stays inside r * (.)
    gates += (b * half).reshape(3, 1, 1, H)
    rz, n = gates[:2], gates[2]                       # (2, T, B, H) and (T, B, H) views
    hs = np.empty((T + 1, B, H), dtype=dt)
    hs[0] = h0
    hn = np.empty((T, B, H), dtype=dt)
    if variant == "pytorch":
        b_hn = b_hh[2 * H:]
        gh = np.empty((3, B, H), dtype=dt)
        for t in range(T):
            r, z, h_prev, h = rz[0, t], rz[1, t], hs[t], hs[t + 1]
            np.matmul(h_prev, W_hh_g, out=gh)    # one (B, H) x (H, H) product per gate
            rz[:, t] += gh[:2]
            _half_sigmoid_(rz[:, t])
            np.add(gh[2], b_hn, out=hn[t])       # recurrent product first, then the reset gate
            np.multiply(r, hn[t], out=gh[2])
            n[t] += gh[2]
            np.tanh(n[t], out=n[t])
            np.subtract(h_prev, n[t], out=h)    # h = n + z (h_prev - n) = (1 - z) n + z h_prev
            h *= z
            h += n[t]
    else:
        W_rz_g, W_hn_T = W_hh_g[:2], W_hh_g[2]
        gh = np.empty((2, B, H), dtype=dt)
        gh_n = np.empty((B, H), dtype=dt)
        for t in range(T):
            r, z, h_prev, h = rz[0, t], rz[1, t], hs[t], hs[t + 1]
            np.matmul(h_prev, W_rz_g, out=gh)
            rz[:, t] += gh
            _half_sigmoid_(rz[:, t])
            np.multiply(r, h_prev, out=hn[t])   # reset gate first, then the recurrent product
            np.dot(hn[t], W_hn_T, out=gh_n)
            n[t] += gh_n
            np.tanh(n[t], out=n[t])
            np.subtract(n[t], h_prev, out=h)    # h = h_prev + z (h~ - h_prev) = (1 - z) h_prev + z h~
            h *= z
            h += h_prev
    h_out = np.ascontiguousarray(hs[1:].transpose(1, 0, 2))
    cache = {"xs": xs, "hs": hs, "rz": rz, "n": n, "hn": hn, "W_ih": W_ih, "W_hh": W_hh, "variant": variant}
    return h_out, cache


def gru_backward(dh, cache):
    r"""Backpropagation through time for :func:`gru_forward` (either variant, read from the cache).

    ``dh[:, t]`` is the upstream gradient on h_t from outside the recurrence (many-to-many); for many-to-one pass
    zeros except ``dh[:, -1]``. At each step the total gradient on h_t is that term plus the gradient flowing back
    from step t+1; the per-step formulas are those of :func:`gru_cell_backward`, computed in preallocated (B, H)
    buffers, and the weight gradients are summed over time as single matrix products after the loop.

    Inputs:
    - dh: upstream gradients on every hidden state, ``(B, T, H)``
    - cache: from :func:`gru_forward`

    Returns a dict: ``x`` ``(B, T, D)``, ``h0`` ``(B, H)``, ``W_ih`` ``(3*H, D)``, ``W_hh`` ``(3*H, H)``,
    ``b_ih`` ``(3*H,)``, ``b_hh`` ``(3*H,)``.
    """
    xs, hs, rz_all, n_all, hn = cache["xs"], cache["hs"], cache["rz"], cache["n"], cache["hn"]
    W_ih, W_hh = cache["W_ih"], cache["W_hh"]
    T, B, D = xs.shape
    H = hs.shape[2]
    dt = hs.dtype
    dh = check_upstream("dh", dh, (B, T, H), ("B", "T", "H"), dt)
    dh_tm = dh.transpose(1, 0, 2)
    h_prev = hs[:-1]
    X2 = xs.reshape(T * B, D)
    carry = np.zeros((B, H), dtype=dt)               # gradient reaching h_t from step t+1
    g = np.empty((B, H), dtype=dt)
    u = np.empty((B, H), dtype=dt)
    da_n = np.empty((B, H), dtype=dt)
    tmp = np.empty((B, H), dtype=dt)
    s_rz = np.empty((2, B, H), dtype=dt)             # upstream factors of r and z
    d_rz = np.empty((2, B, H), dtype=dt)             # r (1 - r), z (1 - z)
    # Per-step factors are formed in contiguous (B, H) / (2, B, H) buffers (a (B, H) column block of a
    # (B, 3H) array is 32 short rows: about twice the cost per ufunc); each gate's final value is written
    # into the (T, B, 3H) gradient buffers that the matrix products after the loop read as one (T*B, 3H) matrix.
    dAi = np.empty((T, B, 3, H), dtype=dt)           # gradient on x_t W_ih^T + b_ih: [da_r, da_z, da_n]
    dAi_rz = dAi[:, :, :2].transpose(0, 2, 1, 3)     # (T, 2, B, H) view
    if cache["variant"] == "pytorch":
        dAh = np.empty((T, B, 3, H), dtype=dt)       # gradient on h_{t-1} W_hh^T + b_hh: [da_r, da_z, da_n * r]
        for t in range(T - 1, -1, -1):
            r, z, n = rz_all[0, t], rz_all[1, t], n_all[t]
            np.add(dh_tm[t], carry, out=g)
            np.subtract(1, z, out=u)
            np.multiply(n, n, out=da_n)              # da_n = g (1 - z) (1 - n^2)
            np.subtract(1, da_n, out=da_n)
            da_n *= u
            da_n *= g
            np.copyto(dAi[t, :, 2], da_n)
            np.multiply(da_n, hn[t], out=s_rz[0])    # dr = da_n (h_prev W_hn^T + b_hn)
            np.subtract(h_prev[t], n, out=s_rz[1])   # dz = g (h_prev - n)
            s_rz[1] *= g
            np.subtract(1, rz_all[:, t], out=d_rz)
            d_rz *= rz_all[:, t]
            np.multiply(s_rz, d_rz, out=dAi_rz[t])   # da_r, da_z
            np.copyto(dAh[t, :, :2], dAi[t, :, :2])
            np.multiply(da_n, r, out=dAh[t, :, 2])
            np.multiply(g, z, out=carry)
            np.dot(dAh[t].reshape(B, 3 * H), W_hh, out=tmp)
            carry += tmp
        dAh2 = dAh.reshape(T * B, 3 * H)
        dW_hh = np.dot(h_prev.reshape(T * B, H).T, dAh2).T
        db_hh = dAh2.sum(axis=0)
    else:
        W_rz, W_hn = W_hh[: 2 * H], W_hh[2 * H:]
        d_rh = np.empty((B, H), dtype=dt)
        for t in range(T - 1, -1, -1):
            r, z, n = rz_all[0, t], rz_all[1, t], n_all[t]
            np.add(dh_tm[t], carry, out=g)
            np.subtract(1, z, out=u)
            np.multiply(n, n, out=da_n)              # da_n = g z (1 - h~^2)
            np.subtract(1, da_n, out=da_n)
            da_n *= z
            da_n *= g
            np.copyto(dAi[t, :, 2], da_n)
            np.dot(da_n, W_hn, out=d_rh)             # gradient on r * h_prev
            np.multiply(d_rh, h_prev[t], out=s_rz[0])     # dr = d(r h_prev) h_prev
            np.subtract(n, h_prev[t], out=s_rz[1])        # dz = g (h~ - h_prev)
            s_rz[1] *= g
            np.subtract(1, rz_all[:, t], out=d_rz)
            d_rz *= rz_all[:, t]
            np.multiply(s_rz, d_rz, out=dAi_rz[t])   # da_r, da_z
            np.multiply(g, u, out=carry)             # direct path: (1 - z)
            d_rh *= r
            carry += d_rh
            np.dot(dAi[t, :, :2].reshape(B, 2 * H), W_rz, out=tmp)
            carry += tmp
        dAi3 = dAi.reshape(T * B, 3 * H)
        dW_hh = np.concatenate([np.dot(h_prev.reshape(T * B, H).T, dAi3[:, : 2 * H]),
                                np.dot(hn.reshape(T * B, H).T, dAi3[:, 2 * H:])], axis=1).T
        db_hh = dAi3.sum(axis=0)                     # both biases sit next to each other outside r
    # Weight gradients summed over time as single products; X^T dA (then transposed) is the faster
    # orientation for OpenBLAS in float64 with these long, thin operands (about even in float32).
    dAi2 = dAi.reshape(T * B, 3 * H)
    dW_ih = np.dot(X2.T, dAi2).T
    dx = np.empty((B, T, D), dtype=dt)                # dx_t = dA_t @ W_ih, written batch-major (see simple_rnn)
    np.matmul(dAi.reshape(T, B, 3 * H), W_ih, out=dx.transpose(1, 0, 2))
    db_ih = dAi2.sum(axis=0)
    return {
        "x": dx,
        "h0": carry,
        "W_ih": np.ascontiguousarray(dW_ih),
        "W_hh": np.ascontiguousarray(dW_hh),
        "b_ih": db_ih,
        "b_hh": db_hh,
    }


# ---------------------------------------------------------------- sequence, readable (chapter 4 prints it)


def _step_cache(cache, t):
    """The cache :func:`gru_cell_forward` would have returned at step ``t``, read from :func:`gru_forward`'s."""
    return {"x_t": cache["xs"][t], "h_prev": cache["hs"][t], "W_ih": cache["W_ih"], "W_hh": cache["W_hh"],
            "r": cache["rz"][0, t], "z": cache["rz"][1, t], "n": cache["n"][t], "hn": cache["hn"][t],
            "variant": cache["variant"]}


def gru_backward_loop(dh, cache):
    r"""Backpropagation through time for :func:`gru_forward`, as one loop over :func:`gru_cell_backward`.

    The readable twin of :func:`gru_backward` (same inputs, same outputs, tested equal): every derivative is
    written once, in the step backward. Going back from t = T to 1, the total gradient on h_t is the upstream
    ``dh[:, t]`` plus what step t+1 sent back to its h_prev; the step backward turns it into gradients on x_t,
    h_{t-1} and the parameters, and the parameter gradients add up over time because every step uses the same
    weights. The last h_prev gradient, at t = 1, is the gradient on h_0.

    Inputs:
    - dh: upstream gradients on every hidden state, ``(B, T, H)``
    - cache: from :func:`gru_forward` (either variant)

    Returns a dict: ``x`` ``(B, T, D)``, ``h0`` ``(B, H)``, ``W_ih`` ``(3*H, D)``, ``W_hh`` ``(3*H, H)``,
    ``b_ih`` ``(3*H,)``, ``b_hh`` ``(3*H,)``.
    """
    T, B, D = cache["xs"].shape
    H = cache["hs"].shape[2]
    dt = cache["hs"].dtype
    dh = check_upstream("dh", dh, (B, T, H), ("B", "T", "H"), dt)
    dx = np.empty((B, T, D), dtype=dt)
    dparams = {"W_ih": np.zeros((3 * H, D), dtype=dt), "W_hh": np.zeros((3 * H, H), dtype=dt),
               "b_ih": np.zeros(3 * H, dtype=dt), "b_hh": np.zeros(3 * H, dtype=dt)}
    dh_from_next = np.zeros((B, H), dtype=dt)        # gradient reaching h_t through step t+1 (none at t = T)
    for t in reversed(range(T)):
        step = gru_cell_backward(dh[:, t] + dh_from_next, _step_cache(cache, t))
        dx[:, t] = step["x_t"]
        dh_from_next = step["h_prev"]
        for name in dparams:
            dparams[name] += step[name]              # shared weights: the steps' gradients add up
    return {"x": dx, "h0": dh_from_next, **dparams}
