"""Checks of assignment 04 (GRU): the cell in the seeds' form (reset before the
recurrent product, z weighing the candidate), in PyTorch's form,
and the sequence forward in either variant. Seeded float64 cases with edge shapes; no reference import here.
"""
from __future__ import annotations

from rnn_helpers.checks.cases import CELL_SHAPES, SEQ_SHAPES, cell_params, randn, rng
from rnn_helpers.checks.registry import Check


def _cell_cases():
    out = []
    for seed, (B, D, H) in enumerate(CELL_SHAPES):
        r = rng(4000 + seed)
        out.append({"x_t": randn(r, B, D), "h_prev": randn(r, B, H), **cell_params(r, D, H, 3, scale=0.8)})
    return out


def _seq_cases():
    out = []
    for seed, (B, T, D, H) in enumerate(SEQ_SHAPES + [(2, 4, 3, 2)]):
        r = rng(4100 + seed)
        out.append({"x": randn(r, B, T, D), "h0": randn(r, B, H), **cell_params(r, D, H, 3, scale=0.8),
                    "variant": "reset_before" if seed % 2 else "pytorch"})
    return out


CHECKS = [
    Check("gru_cell_reset_before", cases=_cell_cases, reference="rnn_helpers.gru:gru_cell_forward",
          reference_call=lambda ref, c: ref(**c, variant="reset_before")[0]),
    Check("gru_cell_forward", cases=_cell_cases, reference="rnn_helpers.gru:gru_cell_forward",
          reference_call=lambda ref, c: ref(**c, variant="pytorch")[0]),
    Check("gru_forward", cases=_seq_cases, reference="rnn_helpers.gru:gru_forward",
          reference_call=lambda ref, c: ref(**c)[0]),
]
