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

``variant="original"`` (Cho et al. 2014, the course's seeds, Ng's full GRU): the reset gate multiplies the
old state *before* the recurrent product, and z_t is the weight of the *new* candidate::

    h~_t = tanh(x_t W_in^T + b_in + (r_t * h_{t-1}) W_hn^T + b_hn)
    h_t  = (1 - z_t) * h_{t-1} + z_t * h~_t

The z convention alone is a relabelling (sigma(-a) = 1 - sigma(a): negate the z rows and biases to go from
one to the other); the reset placement is a different model, which torch does not implement.
"""
from __future__ import annotations

import numpy as np

from rnn_helpers._validate import check_choice, check_recurrent_args, check_upstream

VARIANTS = ("pytorch", "original")


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
    r"""One GRU step. ``variant="pytorch"`` equals :class:`torch.nn.GRUCell`; ``"original"`` is Cho et al. 2014.

    pytorch:  n = tanh(x_t W_in^T + b_in + r * (h_prev W_hn^T + b_hn));   h_next = (1 - z) * n + z * h_prev
    original: h~ = tanh(x_t W_in^T + b_in + (r * h_prev) W_hn^T + b_hn);  h_next = (1 - z) * h_prev + z * h~
    with r = sigma(x_t W_ir^T + b_ir + h_prev W_hr^T + b_hr), z = sigma(x_t W_iz^T + b_iz + h_prev W_hz^T + b_hz).

    Inputs:
    - x_t: input at this step, ``(B, D)``
    - h_prev: previous hidden state, ``(B, H)``
    - W_ih ``(3*H, D)``, W_hh ``(3*H, H)``, b_ih ``(3*H,)``, b_hh ``(3*H,)``: gate blocks in the order r, z, n
    - variant: ``"pytorch"`` (default) or ``"original"``

    Returns:
    - h_next: ``(B, H)``
    - cache: dict with ``x_t``, ``h_prev``, ``W_ih``, ``W_hh``, gates ``r``, ``z``, ``n`` (the candidate, n or h~,
      each ``(B, H)``), ``hn`` (pytorch: h_prev W_hn^T + b_hn; original: r * h_prev), ``variant``
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
    original: dh~ = dh z,  dz = dh (h~ - h_prev),  da_n = dh~ (1 - h~^2),  d(r h_prev) = da_n @ W_hn,
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
    ``variant="original"`` is Cho et al. 2014 (see the module docstring for both sets of equations).

    The input projections x_t W_ih^T + b_ih of all steps are one matrix product before the time loop; each step
    then does the recurrent product(s) and the gate arithmetic in preallocated buffers.

    Inputs:
    - x: ``(B, T, D)``; h0: ``(B, H)``
    - W_ih ``(3*H, D)``, W_hh ``(3*H, H)``, b_ih ``(3*H,)``, b_hh ``(3*H,)`` (gate order r, z, n)
    - variant: ``"pytorch"`` (default) or ``"original"``

    Returns:
    - h: every hidden state h_1..h_T, ``(B, T, H)``
    - cache: dict for :func:`gru_backward` with time-major buffers ``xs (T, B, D)``, ``hs (T+1, B, H)`` (h_0..h_T),
      ``gates (T, B, 3*H)`` holding r, z and the candidate, ``hn (T, B, H)`` (as in the cell's cache),
      the weights and ``variant``
    """
    check_choice("variant", variant, VARIANTS)
    (x, h0, W_ih, W_hh, b_ih, b_hh), (B, T, D, H) = check_recurrent_args(
        "gru", x, h0, W_ih, W_hh, b_ih, b_hh, sequence=True
    )
    dt = x.dtype
    W_hh_given = W_hh
    xs = np.ascontiguousarray(x.transpose(1, 0, 2))
    gi = np.dot(xs.reshape(T * B, D), W_ih.T).reshape(T, B, 3 * H)   # one GEMM for every step's input part
    gi += b_ih
    gi[:, :, : 2 * H] += b_hh[: 2 * H]                                  # r, z biases add up; b_hn stays inside r*(.)
    # r and z pre-activations are kept halved (exact in floating point): sigma(a) = 0.5 tanh(a / 2) + 0.5
    gi[:, :, : 2 * H] *= 0.5
    W_hh = W_hh.copy()
    W_hh[: 2 * H] *= 0.5
    hs = np.empty((T + 1, B, H), dtype=dt)
    hs[0] = h0
    gates = np.empty((T, B, 3 * H), dtype=dt)
    hn = np.empty((T, B, H), dtype=dt)
    b_hn = b_hh[2 * H:]
    if variant == "pytorch":
        W_hh_T = W_hh.T
        gh = np.empty((B, 3 * H), dtype=dt)
        for t in range(T):
            rz, n, h_prev, h = gates[t, :, : 2 * H], gates[t, :, 2 * H:], hs[t], hs[t + 1]
            np.dot(h_prev, W_hh_T, out=gh)
            np.add(gi[t, :, : 2 * H], gh[:, : 2 * H], out=rz)
            _half_sigmoid_(rz)
            np.add(gh[:, 2 * H:], b_hn, out=hn[t])
            np.multiply(rz[:, :H], hn[t], out=n)
            n += gi[t, :, 2 * H:]
            np.tanh(n, out=n)
            np.subtract(h_prev, n, out=h)       # h = n + z (h_prev - n) = (1 - z) n + z h_prev
            h *= rz[:, H:]
            h += n
    else:
        W_rz_T, W_hn_T = W_hh[: 2 * H].T, W_hh[2 * H:].T
        gh_rz = np.empty((B, 2 * H), dtype=dt)
        gh_n = np.empty((B, H), dtype=dt)
        for t in range(T):
            rz, n, h_prev, h = gates[t, :, : 2 * H], gates[t, :, 2 * H:], hs[t], hs[t + 1]
            np.dot(h_prev, W_rz_T, out=gh_rz)
            np.add(gi[t, :, : 2 * H], gh_rz, out=rz)
            _half_sigmoid_(rz)
            np.multiply(rz[:, :H], h_prev, out=hn[t])
            np.dot(hn[t], W_hn_T, out=gh_n)
            np.add(gh_n, gi[t, :, 2 * H:], out=n)
            n += b_hn
            np.tanh(n, out=n)
            np.subtract(n, h_prev, out=h)       # h = h_prev + z (h~ - h_prev) = (1 - z) h_prev + z h~
            h *= rz[:, H:]
            h += h_prev
    h_out = np.ascontiguousarray(hs[1:].transpose(1, 0, 2))
    cache = {"xs": xs, "hs": hs, "gates": gates, "hn": hn, "W_ih": W_ih, "W_hh": W_hh_given, "variant": variant}
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
    xs, hs, gates, hn = cache["xs"], cache["hs"], cache["gates"], cache["hn"]
    W_ih, W_hh = cache["W_ih"], cache["W_hh"]
    T, B, D = xs.shape
    H = hs.shape[2]
    dt = hs.dtype
    dh = check_upstream("dh", dh, (B, T, H), ("B", "T", "H"), dt)
    dh_tm = dh.transpose(1, 0, 2)
    G3 = gates.reshape(T, B, 3, H)                   # r, z, candidate
    h_prev = hs[:-1]
    X2 = xs.reshape(T * B, D)
    carry = np.zeros((B, H), dtype=dt)               # gradient reaching h_t from step t+1
    g = np.empty((B, H), dtype=dt)
    u = np.empty((B, H), dtype=dt)
    tmp = np.empty((B, H), dtype=dt)
    # All factors are formed per step on (B, H) blocks that stay in cache (cheaper than (T, B, H) temporaries).
    if cache["variant"] == "pytorch":
        da_n_all = np.empty((T, B, H), dtype=dt)
        dgh = np.empty((T, B, 3, H), dtype=dt)       # gradient on h_{t-1} W_hh^T + b_hh: [da_r, da_z, da_n * r]
        for t in range(T - 1, -1, -1):
            r, z, n = G3[t, :, 0], G3[t, :, 1], G3[t, :, 2]
            np.add(dh_tm[t], carry, out=g)
            np.subtract(1, z, out=u)
            da_n = da_n_all[t]                       # g (1 - z) (1 - n^2)
            np.multiply(n, n, out=da_n)
            np.subtract(1, da_n, out=da_n)
            da_n *= u
            da_n *= g
            da_z = dgh[t, :, 1]                      # g (h_prev - n) z (1 - z)
            np.subtract(h_prev[t], n, out=da_z)
            da_z *= z
            da_z *= u
            da_z *= g
            da_r = dgh[t, :, 0]                      # da_n (h_prev W_hn^T + b_hn) r (1 - r)
            np.subtract(1, r, out=da_r)
            da_r *= r
            da_r *= hn[t]
            da_r *= da_n
            np.multiply(da_n, r, out=dgh[t, :, 2])
            np.multiply(g, z, out=carry)
            np.dot(dgh[t].reshape(B, 3 * H), W_hh, out=tmp)
            carry += tmp
        dgh2 = dgh.reshape(T * B, 3 * H)
        da_n2 = da_n_all.reshape(T * B, H)
        d_rz = dgh2[:, : 2 * H]
        dW_ih = np.empty_like(W_ih)
        np.dot(d_rz.T, X2, out=dW_ih[: 2 * H])
        np.dot(da_n2.T, X2, out=dW_ih[2 * H:])
        dx = np.dot(d_rz, W_ih[: 2 * H])
        dx += np.dot(da_n2, W_ih[2 * H:])
        dW_hh = np.dot(dgh2.T, h_prev.reshape(T * B, H))
        db_hh = dgh2.sum(axis=0)
        db_ih = np.concatenate([db_hh[: 2 * H], da_n2.sum(axis=0)])
    else:
        dA = np.empty((T, B, 3, H), dtype=dt)        # gradient on the pre-activations [a_r, a_z, a_n]
        W_rz, W_hn = W_hh[: 2 * H], W_hh[2 * H:]
        d_rh = np.empty((B, H), dtype=dt)
        for t in range(T - 1, -1, -1):
            r, z, n = G3[t, :, 0], G3[t, :, 1], G3[t, :, 2]
            np.add(dh_tm[t], carry, out=g)
            np.subtract(1, z, out=u)
            da_n = dA[t, :, 2]                       # g z (1 - h~^2)
            np.multiply(n, n, out=da_n)
            np.subtract(1, da_n, out=da_n)
            da_n *= z
            da_n *= g
            da_z = dA[t, :, 1]                       # g (h~ - h_prev) z (1 - z)
            np.subtract(n, h_prev[t], out=da_z)
            da_z *= z
            da_z *= u
            da_z *= g
            np.dot(da_n, W_hn, out=d_rh)             # gradient on r * h_prev
            da_r = dA[t, :, 0]                       # d(r h_prev) h_prev r (1 - r)
            np.subtract(1, r, out=da_r)
            da_r *= r
            da_r *= h_prev[t]
            da_r *= d_rh
            np.multiply(g, u, out=carry)             # direct path: (1 - z)
            d_rh *= r
            carry += d_rh
            np.dot(dA[t, :, :2].reshape(B, 2 * H), W_rz, out=tmp)
            carry += tmp
        dA2 = dA.reshape(T * B, 3 * H)
        dW_ih = np.dot(dA2.T, X2)
        dx = np.dot(dA2, W_ih)
        dW_hh = np.empty_like(W_hh)
        np.dot(dA2[:, : 2 * H].T, h_prev.reshape(T * B, H), out=dW_hh[: 2 * H])
        np.dot(dA2[:, 2 * H:].T, hn.reshape(T * B, H), out=dW_hh[2 * H:])
        db_ih = dA2.sum(axis=0)
        db_hh = db_ih.copy()
    return {
        "x": np.ascontiguousarray(dx.reshape(T, B, D).transpose(1, 0, 2)),
        "h0": carry,
        "W_ih": dW_ih,
        "W_hh": dW_hh,
        "b_ih": db_ih,
        "b_hh": db_hh,
    }
