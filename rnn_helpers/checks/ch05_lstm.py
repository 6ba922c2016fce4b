"""Checks of assignment 05 (LSTM): the cell with separate gates, the fused cell, the sequence forward, and the
cell and sequence backward (against the reference and against centered differences of the reference forward).

The notebook fixes the caches the student's backward functions read:

- cell cache: ``(x_t, h_prev, c_prev, W_ih, W_hh, i, f, g, o, c_next)``;
- sequence cache: the list of the T cell caches, in time order.

The ``call`` adapters build these from each case's raw inputs with a plain numpy forward.
"""
from __future__ import annotations

import numpy as np

from rnn_helpers.checks.cases import CELL_SHAPES, SEQ_SHAPES, case_rng, cell_params, randn, ref_module, sigmoid
from rnn_helpers.checks.registry import Check

ASSIGNMENT = "05_lstm"
PARAMS = ("W_ih", "W_hh", "b_ih", "b_hh")
GATES = "ifgo"


def _cell_cache(x_t, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    H = h_prev.shape[1]
    a = x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh
    i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 3 * H:])
    g = np.tanh(a[:, 2 * H:3 * H])
    c_next = f * c_prev + i * g
    h_next = o * np.tanh(c_next)
    return h_next, c_next, (x_t, h_prev, c_prev, W_ih, W_hh, i, f, g, o, c_next)


def _seq_cache(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    caches, h, c = [], h0, c0
    for t in range(x.shape[1]):
        h, c, cache = _cell_cache(x[:, t], h, c, W_ih, W_hh, b_ih, b_hh)
        caches.append(cache)
    return caches


def _cell_inputs(c):
    return {k: c[k] for k in ("x_t", "h_prev", "c_prev", *PARAMS)}


def _seq_inputs(c):
    return {k: c[k] for k in ("x", "h0", "c0", *PARAMS)}


# ----- forward cases
def _cell_cases():
    out = []
    for seed, (B, D, H) in enumerate(CELL_SHAPES):
        r = case_rng(ASSIGNMENT, "lstm_cell_forward", seed)  # also lstm_cell_separate's inputs
        out.append({"x_t": randn(r, B, D), "h_prev": randn(r, B, H), "c_prev": randn(r, B, H),
                    **cell_params(r, D, H, 4, scale=0.8)})
    return out


def _split(case):
    """The fused parameters of a case as PyTorch's per-gate names W_ii, W_hi, b_ii, b_hi, ... (i, f, g, o)."""
    H = case["h_prev"].shape[1]
    p = {}
    for k, gate in enumerate(GATES):
        rows = slice(k * H, (k + 1) * H)
        p[f"W_i{gate}"] = case["W_ih"][rows].copy()
        p[f"W_h{gate}"] = case["W_hh"][rows].copy()
        p[f"b_i{gate}"] = case["b_ih"][rows].copy()
        p[f"b_h{gate}"] = case["b_hh"][rows].copy()
    return p


def _separate_cases():
    return [{"x_t": c["x_t"], "h_prev": c["h_prev"], "c_prev": c["c_prev"], "params": _split(c)}
            for c in _cell_cases()]


def _separate_ref(ref, c):
    p = c["params"]
    fused = {"W_ih": np.concatenate([p[f"W_i{g}"] for g in GATES]),
             "W_hh": np.concatenate([p[f"W_h{g}"] for g in GATES]),
             "b_ih": np.concatenate([p[f"b_i{g}"] for g in GATES]),
             "b_hh": np.concatenate([p[f"b_h{g}"] for g in GATES])}
    h, cc, _ = ref(c["x_t"], c["h_prev"], c["c_prev"], **fused)
    return h, cc


def _seq_cases():
    out = []
    for seed, (B, T, D, H) in enumerate(SEQ_SHAPES):
        r = case_rng(ASSIGNMENT, "lstm_forward", seed)
        out.append({"x": randn(r, B, T, D), "h0": randn(r, B, H), "c0": randn(r, B, H),
                    **cell_params(r, D, H, 4, scale=0.8)})
    return out


# ----- backward cases
def _cell_back_cases():
    out = []
    for seed, c in enumerate(_cell_cases()):
        r = case_rng(ASSIGNMENT, "lstm_cell_backward", seed)  # the upstream gradients
        B, H = c["h_prev"].shape
        out.append({**c, "dh_next": randn(r, B, H), "dc_next": randn(r, B, H)})
    return out


def _seq_back_cases():
    out = []
    for seed, c in enumerate(_seq_cases()):
        r = case_rng(ASSIGNMENT, "lstm_backward", seed)  # the upstream gradients
        B, T, H = c["x"].shape[0], c["x"].shape[1], c["h0"].shape[1]
        out.append({**c, "dh": randn(r, B, T, H), "dc": randn(r, B, T, H) if seed % 2 == 0 else None})
    return out


def _cell_back_call(fn, c):
    _, _, cache = _cell_cache(**_cell_inputs(c))
    return fn(c["dh_next"], c["dc_next"], cache)


def _seq_back_call(fn, c):
    cache = _seq_cache(**_seq_inputs(c))
    return fn(c["dh"], cache) if c["dc"] is None else fn(c["dh"], cache, c["dc"])


def _cell_back_ref(ref, c):
    _, _, cache = ref_module("lstm").lstm_cell_forward(**_cell_inputs(c))
    return ref(c["dh_next"], c["dc_next"], cache)


def _seq_back_ref(ref, c):
    _, _, cache = ref_module("lstm").lstm_forward(**_seq_inputs(c))
    return ref(c["dh"], cache, c["dc"])


def _numeric(forward, inputs, dh, dc):
    """Centered differences of sum(h * dh) + sum(c * dc) through the reference forward (grader side)."""
    numerical_gradient = ref_module("gradcheck").numerical_gradient
    arrays = {k: np.array(v, dtype=np.float64, copy=True) for k, v in inputs.items()}
    dc = np.zeros_like(dh) if dc is None else dc

    def loss_terms():
        h, c, _ = forward(**arrays)
        return np.stack([h, c])

    upstream = np.stack([dh, dc])
    return {k: numerical_gradient(loss_terms, arrays[k], upstream) for k in arrays}


def _cell_numeric(ref, c):
    return _numeric(ref_module("lstm").lstm_cell_forward, _cell_inputs(c), c["dh_next"], c["dc_next"])


def _seq_numeric(ref, c):
    return _numeric(ref_module("lstm").lstm_forward, _seq_inputs(c), c["dh"], c["dc"])


CHECKS = [
    Check("lstm_cell_separate", cases=_separate_cases, reference="rnn_helpers.lstm:lstm_cell_forward",
          reference_call=_separate_ref),
    Check("lstm_cell_forward", cases=_cell_cases, reference="rnn_helpers.lstm:lstm_cell_forward",
          call=lambda fn, c: fn(**c)[:2], reference_call=lambda ref, c: ref(**c)[:2]),
    Check("lstm_forward", cases=_seq_cases, reference="rnn_helpers.lstm:lstm_forward",
          call=lambda fn, c: fn(**c)[:2], reference_call=lambda ref, c: ref(**c)[:2]),
    Check("lstm_cell_backward", cases=_cell_back_cases, reference="rnn_helpers.lstm:lstm_cell_backward",
          call=_cell_back_call, reference_call=_cell_back_ref),
    Check("lstm_cell_backward_numeric", cases=_cell_back_cases, reference="rnn_helpers.gradcheck:numerical_gradient",
          call=_cell_back_call, reference_call=_cell_numeric),
    Check("lstm_backward", cases=_seq_back_cases, reference="rnn_helpers.lstm:lstm_backward",
          call=_seq_back_call, reference_call=_seq_back_ref),
    Check("lstm_backward_numeric", cases=_seq_back_cases, reference="rnn_helpers.gradcheck:numerical_gradient",
          call=_seq_back_call, reference_call=_seq_numeric),
]
