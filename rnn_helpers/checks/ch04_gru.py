"""Checks of assignment 04 (GRU): the cell in the seeds' form (reset before the
recurrent product, z weighing the candidate), in PyTorch's form,
and the sequence forward in either variant. Seeded float64 cases with edge shapes; no reference import here.

The cell backward (PyTorch's variant) reads the cache the notebook fixes for its ``gru_cell_forward``:
``(x_t, h_prev, W_ih, W_hh, r, z, n, hn)`` with ``hn = h_prev @ W_hn.T + b_hn``. The ``call`` adapter builds it
from each case's raw inputs with a plain numpy forward; the grader compares with the reference backward (on the
reference's own cache) and with centered differences of the reference forward.
"""
from __future__ import annotations

import numpy as np

from rnn_helpers.checks.cases import CELL_SHAPES, SEQ_SHAPES, case_rng, cell_params, randn, ref_module, sigmoid
from rnn_helpers.checks.registry import Check

ASSIGNMENT = "04_gru"


def _cell_cases():
    out = []
    for seed, (B, D, H) in enumerate(CELL_SHAPES):
        r = case_rng(ASSIGNMENT, "gru_cell_forward", seed)  # the cell checks share these inputs
        out.append({"x_t": randn(r, B, D), "h_prev": randn(r, B, H), **cell_params(r, D, H, 3, scale=0.8)})
    return out


def _seq_cases():
    out = []
    for seed, (B, T, D, H) in enumerate(SEQ_SHAPES + [(2, 4, 3, 2)]):
        r = case_rng(ASSIGNMENT, "gru_forward", seed)
        out.append({"x": randn(r, B, T, D), "h0": randn(r, B, H), **cell_params(r, D, H, 3, scale=0.8),
                    "variant": "reset_before" if seed % 2 else "pytorch"})
    return out


# ----- cell backward (PyTorch's variant)
CELL_INPUTS = ("x_t", "h_prev", "W_ih", "W_hh", "b_ih", "b_hh")


def _cell_cache(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):
    """The notebook's cache of gru_cell_forward: (x_t, h_prev, W_ih, W_hh, r, z, n, hn)."""
    H = h_prev.shape[1]
    gi, gh = x_t @ W_ih.T + b_ih, h_prev @ W_hh.T + b_hh
    r, z = sigmoid(gi[:, :H] + gh[:, :H]), sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
    hn = gh[:, 2 * H:]
    n = np.tanh(gi[:, 2 * H:] + r * hn)
    return (x_t, h_prev, W_ih, W_hh, r, z, n, hn)


def _cell_back_cases():
    out = []
    for seed, c in enumerate(_cell_cases()):
        r = case_rng(ASSIGNMENT, "gru_cell_backward", seed)  # the upstream gradient
        out.append({**c, "dh_next": randn(r, *c["h_prev"].shape)})
    return out


def _cell_back_call(fn, c):
    return fn(c["dh_next"], _cell_cache(**{k: c[k] for k in CELL_INPUTS}))


def _cell_back_ref(ref, c):
    _, cache = ref_module("gru").gru_cell_forward(**{k: c[k] for k in CELL_INPUTS}, variant="pytorch")
    return ref(c["dh_next"], cache)


def _cell_back_numeric(ref, c):
    """Centered differences of sum(h_next * dh_next) through the reference forward (grader side)."""
    forward = ref_module("gru").gru_cell_forward
    arrays = {k: np.array(c[k], dtype=np.float64, copy=True) for k in CELL_INPUTS}
    return {k: ref(lambda: forward(**arrays, variant="pytorch")[0], arrays[k], c["dh_next"]) for k in arrays}


CHECKS = [
    Check("gru_cell_reset_before", cases=_cell_cases, reference="rnn_helpers.gru:gru_cell_forward",
          reference_call=lambda ref, c: ref(**c, variant="reset_before")[0]),
    Check("gru_cell_forward", cases=_cell_cases, reference="rnn_helpers.gru:gru_cell_forward",
          call=lambda fn, c: fn(**c)[0], reference_call=lambda ref, c: ref(**c, variant="pytorch")[0]),
    Check("gru_forward", cases=_seq_cases, reference="rnn_helpers.gru:gru_forward",
          reference_call=lambda ref, c: ref(**c)[0]),
    Check("gru_cell_backward", cases=_cell_back_cases, reference="rnn_helpers.gru:gru_cell_backward",
          call=_cell_back_call, reference_call=_cell_back_ref),
    Check("gru_cell_backward_numeric", cases=_cell_back_cases, reference="rnn_helpers.gradcheck:numerical_gradient",
          call=_cell_back_call, reference_call=_cell_back_numeric),
]
