"""Checks of assignment 02 (the simple RNN): cell and sequence forward, parameter count, output layer,
stacked RNN and the torch bridge. Cases are seeded float64 inputs with edge shapes; no reference import here.
"""
from __future__ import annotations

import numpy as np

from rnn_helpers.checks.cases import CELL_SHAPES, SEQ_SHAPES, case_rng, cell_params, randn, ref_module
from rnn_helpers.checks.compare import exact_compare
from rnn_helpers.checks.registry import Check

ASSIGNMENT = "02_simple_rnn"


def _cell_cases():
    out = []
    for seed, (B, D, H) in enumerate(CELL_SHAPES):
        r = case_rng(ASSIGNMENT, "rnn_cell_forward", seed)
        out.append({"x_t": randn(r, B, D), "h_prev": randn(r, B, H), **cell_params(r, D, H, 1)})
    return out


def _seq_cases():
    out = []
    for seed, (B, T, D, H) in enumerate(SEQ_SHAPES):
        r = case_rng(ASSIGNMENT, "rnn_forward", seed)
        out.append({"x": randn(r, B, T, D), "h0": randn(r, B, H), **cell_params(r, D, H, 1)})
    return out


def _count_cases():
    rows = [(10, 20, "rnn", True, 1), (1, 1, "rnn", True, 1), (3, 5, "gru", True, 1), (3, 5, "lstm", True, 1),
            (4, 6, "rnn", False, 1), (4, 6, "lstm", True, 3), (2, 1, "gru", False, 2), (7, 8, "rnn", True, 2)]
    return [{"D": D, "H": H, "kind": k, "bias": b, "num_layers": L} for D, H, k, b, L in rows]


def _softmax_cases():
    out = []
    for seed, shape in enumerate([(2, 3, 5), (1, 1, 4), (4, 1), (3, 2, 1), (6,)]):
        r = case_rng(ASSIGNMENT, "softmax", seed)
        out.append({"logits": randn(r, *shape, scale=3.0)})
    out.append({"logits": np.array([[1000.0, 0.0, -1000.0], [5.0, 5.0, 5.0]])})  # overflow guard
    return out


def _output_cases():
    out = []
    for seed, (B, T, H, V) in enumerate([(2, 4, 3, 5), (1, 1, 2, 3), (3, 2, 1, 4), (1, 3, 4, 1), (2, 5, 6, 7)]):
        r = case_rng(ASSIGNMENT, "output_probs", seed)
        out.append({"h": np.tanh(randn(r, B, T, H)), "W_out": randn(r, V, H), "b_out": randn(r, V)})
    return out


def _stacked_cases():
    out = []
    for seed, ((B, T, D, H), L) in enumerate(zip(SEQ_SHAPES, [2, 2, 3, 2, 1])):
        r = case_rng(ASSIGNMENT, "stacked_rnn_forward", seed)
        layers = [cell_params(r, D if l == 0 else H, H, 1) for l in range(L)]
        out.append({"x": randn(r, B, T, D), "h0": randn(r, L, B, H), "layers": layers})
    return out


def _torch_cases():
    return _seq_cases()


def _run_torch_rnn(module, case):
    import torch

    x = torch.from_numpy(case["x"])
    h0 = torch.from_numpy(case["h0"])[None]
    with torch.no_grad():
        out, h_n = module(x, h0)
    return out.detach().numpy(), h_n.detach().numpy()


def _torch_call(fn, case):
    module = fn(case["W_ih"], case["W_hh"], case["b_ih"], case["b_hh"])
    return _run_torch_rnn(module, case)


def _torch_ref(ref, case):
    return _run_torch_rnn(ref("rnn", case["W_ih"], case["W_hh"], case["b_ih"], case["b_hh"]), case)


def _seq_ref(ref, case):
    h, _ = ref(**case)
    return h, h[:, -1]


def _output_ref(ref, case):
    logits, _ = ref(case["h"], case["W_out"], case["b_out"])
    return ref_module("output_layer").softmax(logits, axis=-1)


def _stacked_ref(ref, case):
    h_top, h_last, _ = ref(**case)
    return h_top, h_last


CHECKS = [
    Check("rnn_cell_forward", cases=_cell_cases, reference="rnn_helpers.simple_rnn:rnn_cell_forward",
          reference_call=lambda ref, c: ref(**c)[0]),
    Check("rnn_forward", cases=_seq_cases, reference="rnn_helpers.simple_rnn:rnn_forward", reference_call=_seq_ref),
    Check("rnn_param_count", cases=_count_cases, reference="rnn_helpers.param_count:rnn_param_count",
          compare=exact_compare),
    Check("softmax", cases=_softmax_cases, reference="rnn_helpers.output_layer:softmax"),
    Check("output_probs", cases=_output_cases, reference="rnn_helpers.output_layer:affine_forward",
          reference_call=_output_ref),
    Check("stacked_rnn_forward", cases=_stacked_cases, reference="rnn_helpers.deep_rnn:stacked_rnn_forward",
          reference_call=_stacked_ref),
    Check("torch_rnn_from_params", cases=_torch_cases, reference="rnn_helpers.torch_bridge:module_from_params",
          call=_torch_call, reference_call=_torch_ref, from_scratch=False),
]
