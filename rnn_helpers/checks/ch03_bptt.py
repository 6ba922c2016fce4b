"""Checks of assignment 03 (backpropagation through time).

The notebook fixes the caches the student's backward functions read (the forward is given there):

- cell cache: ``(x_t, h_prev, W_ih, W_hh, h_next)``;
- sequence cache: the list of the T cell caches, in time order.

The ``call`` adapters build those caches from each case's raw inputs with a plain numpy forward, then call the
student's backward; the reference adapters run the reference forward and backward on the same inputs. Every
backward is also held to centered differences of the reference forward (the ``*_numeric`` checks).
"""
from __future__ import annotations

import numpy as np

from rnn_helpers.checks.cases import CELL_SHAPES, SEQ_SHAPES, case_rng, cell_params, randn, ref_module
from rnn_helpers.checks.registry import Check

ASSIGNMENT = "03_bptt"
PARAMS = ("W_ih", "W_hh", "b_ih", "b_hh")


# ----- caches in the notebook's layout (numpy only) -----
def _cell_cache(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):
    h_next = np.tanh(x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh)
    return h_next, (x_t, h_prev, W_ih, W_hh, h_next)


def _seq_cache(x, h0, W_ih, W_hh, b_ih, b_hh):
    caches, h = [], h0
    for t in range(x.shape[1]):
        h, cache = _cell_cache(x[:, t], h, W_ih, W_hh, b_ih, b_hh)
        caches.append(cache)
    return caches


# ----- cases -----
def _cell_cases():
    out = []
    for seed, (B, D, H) in enumerate(CELL_SHAPES):
        r = case_rng(ASSIGNMENT, "rnn_cell_backward", seed)  # shared with the *_numeric check
        out.append({"x_t": randn(r, B, D), "h_prev": randn(r, B, H), **cell_params(r, D, H, 1),
                    "dh_next": randn(r, B, H)})
    return out


def _seq_cases():
    out = []
    for seed, (B, T, D, H) in enumerate(SEQ_SHAPES):
        r = case_rng(ASSIGNMENT, "rnn_backward", seed)
        out.append({"x": randn(r, B, T, D), "h0": randn(r, B, H), **cell_params(r, D, H, 1),
                    "dh": randn(r, B, T, H)})
    return out


def _last_cases():
    out = []
    for seed, (B, T, D, H) in enumerate(SEQ_SHAPES):
        r = case_rng(ASSIGNMENT, "many_to_one_backward", seed)
        out.append({"x": randn(r, B, T, D), "h0": randn(r, B, H), **cell_params(r, D, H, 1),
                    "dh_last": randn(r, B, H)})
    return out


def _cell_inputs(c):
    return {k: c[k] for k in ("x_t", "h_prev", *PARAMS)}


def _seq_inputs(c):
    return {k: c[k] for k in ("x", "h0", *PARAMS)}


# ----- student side -----
def _cell_call(fn, c):
    _, cache = _cell_cache(**_cell_inputs(c))
    return fn(c["dh_next"], cache)


def _seq_call(fn, c):
    return fn(c["dh"], _seq_cache(**_seq_inputs(c)))


def _last_call(fn, c):
    return fn(c["dh_last"], _seq_cache(**_seq_inputs(c)))


# ----- reference side -----
def _cell_ref(ref, c):
    _, cache = ref_module("simple_rnn").rnn_cell_forward(**_cell_inputs(c))
    return ref(c["dh_next"], cache)


def _seq_ref(ref, c):
    _, cache = ref_module("simple_rnn").rnn_forward(**_seq_inputs(c))
    return ref(c["dh"], cache)


def _last_dh(c):
    B, T, H = c["x"].shape[0], c["x"].shape[1], c["h0"].shape[1]
    dh = np.zeros((B, T, H))
    dh[:, -1] = c["dh_last"]
    return dh


def _last_ref(ref, c):
    _, cache = ref_module("simple_rnn").rnn_forward(**_seq_inputs(c))
    return ref(_last_dh(c), cache)


def _numeric(forward, inputs: dict, upstream) -> dict:
    """Centered differences of ``sum(forward(**inputs)[0] * upstream)`` for every input (grader side)."""
    numerical_gradient = ref_module("gradcheck").numerical_gradient
    arrays = {k: np.array(v, dtype=np.float64, copy=True) for k, v in inputs.items()}
    return {k: numerical_gradient(lambda: forward(**arrays)[0], arrays[k], upstream) for k in arrays}


def _cell_numeric(ref, c):
    return _numeric(ref_module("simple_rnn").rnn_cell_forward, _cell_inputs(c), c["dh_next"])


def _seq_numeric(ref, c):
    return _numeric(ref_module("simple_rnn").rnn_forward, _seq_inputs(c), c["dh"])


def _last_numeric(ref, c):
    return _numeric(ref_module("simple_rnn").rnn_forward, _seq_inputs(c), _last_dh(c))


# ----- numerical gradient -----
def _numgrad_cases():
    out = []
    for seed, (shape, n_out, eps) in enumerate([((3, 4), 2, 1e-6), ((1,), 1, 1e-6), ((2, 1), 3, 1e-5),
                                                ((5,), 4, 1e-6)]):
        r = case_rng(ASSIGNMENT, "numerical_gradient", seed)
        x = randn(r, *shape)
        A = randn(r, shape[-1], n_out)
        df = randn(r, *(shape[:-1] + (n_out,)))
        # f reads x through its closure; the gradient function perturbs x in place
        out.append({"f": (lambda x=x, A=A: np.tanh(x @ A) + (x ** 2).sum()), "x": x, "df": df, "eps": eps})
    return out


# ----- clipping -----
def _grads(r, scale):
    return {"W_ih": randn(r, 3, 2, scale=scale), "W_hh": randn(r, 3, 3, scale=scale), "b_ih": randn(r, 3, scale=scale)}


def _clip_value_cases():
    out = []
    for seed, (scale, limit) in enumerate([(2.0, 1.0), (0.1, 5.0), (3.0, 0.5), (1.0, 1e-3)]):
        out.append({"grads": _grads(case_rng(ASSIGNMENT, "clip_by_value", seed), scale), "limit": limit})
    out.append({"grads": {"w": np.array([-2.0, 0.5, 3.0])}, "limit": 1.0})
    return out


def _clip_norm_cases():
    out = []
    for seed, (scale, max_norm) in enumerate([(2.0, 1.0), (0.1, 5.0), (3.0, 0.5), (1.0, 100.0)]):
        out.append({"grads": _grads(case_rng(ASSIGNMENT, "clip_by_global_norm", seed), scale), "max_norm": max_norm})
    out.append({"grads": {"w": np.array([3.0, 4.0])}, "max_norm": 1.0})
    return out


# ----- truncated BPTT training
def _tbptt_cases():
    out = []
    rows = [(12, 1, 4, 1, 4, None), (10, 2, 3, 2, 3, 0.5), (5, 1, 2, 1, 10, None), (1, 1, 1, 1, 1, None),
            (9, 3, 1, 1, 2, 0.1)]
    for seed, (T, D, H, O, k, clip) in enumerate(rows):
        r = case_rng(ASSIGNMENT, "train_rnn_tbptt", seed)
        params = {**cell_params(r, D, H, 1), "W_out": randn(r, O, H, scale=0.5), "b_out": randn(r, O, scale=0.5)}
        out.append({"x": randn(r, 1, T, D), "y": randn(r, 1, T, O), "params": params, "k": k, "lr": 0.05,
                    "epochs": 3, "clip": clip})
    return out


# ----- vanishing / exploding
def _radius(W):
    return float(np.max(np.abs(np.linalg.eigvals(W))))


def _jacobian_cases():
    out = []
    for seed, (T, D, H, rho) in enumerate([(8, 2, 4, 0.5), (8, 2, 4, 1.5), (1, 1, 3, 1.0), (6, 1, 1, 0.9),
                                           (15, 3, 5, 2.0)]):
        r = case_rng(ASSIGNMENT, "hidden_jacobian_norms", seed)
        W_hh = randn(r, H, H)
        W_hh *= rho / _radius(W_hh)
        out.append({"x": randn(r, 1, T, D, scale=0.3), "h0": randn(r, 1, H, scale=0.3),
                    "W_ih": randn(r, H, D), "W_hh": W_hh, "b_ih": randn(r, H, scale=0.1), "b_hh": randn(r, H, scale=0.1)})
    return out


def _spectral_cases():
    out = []
    for seed, (H, rho) in enumerate([(4, 0.5), (3, 1.5), (1, 2.0), (2, 1.0), (6, 0.9)]):
        out.append({"W": randn(case_rng(ASSIGNMENT, "scale_to_spectral_radius", seed), H, H), "rho": rho})
    return out


CHECKS = [
    Check("rnn_cell_backward", cases=_cell_cases, reference="rnn_helpers.simple_rnn:rnn_cell_backward",
          call=_cell_call, reference_call=_cell_ref),
    Check("rnn_cell_backward_numeric", cases=_cell_cases, reference="rnn_helpers.gradcheck:numerical_gradient",
          call=_cell_call, reference_call=_cell_numeric),
    Check("rnn_backward", cases=_seq_cases, reference="rnn_helpers.simple_rnn:rnn_backward",
          call=_seq_call, reference_call=_seq_ref),
    Check("rnn_backward_numeric", cases=_seq_cases, reference="rnn_helpers.gradcheck:numerical_gradient",
          call=_seq_call, reference_call=_seq_numeric),
    Check("many_to_one_backward", cases=_last_cases, reference="rnn_helpers.simple_rnn:rnn_backward",
          call=_last_call, reference_call=_last_ref),
    Check("many_to_one_backward_numeric", cases=_last_cases, reference="rnn_helpers.gradcheck:numerical_gradient",
          call=_last_call, reference_call=_last_numeric),
    Check("numerical_gradient", cases=_numgrad_cases, reference="rnn_helpers.gradcheck:numerical_gradient"),
    Check("clip_by_value", cases=_clip_value_cases, reference="rnn_helpers.training:clip_by_value"),
    Check("clip_by_global_norm", cases=_clip_norm_cases, reference="rnn_helpers.training:clip_by_global_norm"),
    Check("train_rnn_tbptt", cases=_tbptt_cases, reference="rnn_helpers.training:train_rnn_tbptt"),
    Check("scale_to_spectral_radius", cases=_spectral_cases,
          reference="rnn_helpers.gradient_flow:scale_to_spectral_radius"),
    Check("hidden_jacobian_norms", cases=_jacobian_cases, reference="rnn_helpers.gradient_flow:hidden_jacobian_norms"),
]
