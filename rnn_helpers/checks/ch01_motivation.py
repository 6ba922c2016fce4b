"""Checks of assignment 01 (motivation): encodings, embeddings, padding and parameter counts.

Cases are built from fixed seeds and never import the reference (see ``registry``).
"""
from __future__ import annotations

import numpy as np

from rnn_helpers.checks.cases import case_rng, randn
from rnn_helpers.checks.compare import exact_compare
from rnn_helpers.checks.registry import Check

ASSIGNMENT = "01_motivation"

WORDS = ["good", "bad", "not", "movie", "the", "was", "very", "boring", "fun", "plot"]


def _one_hot_cases():
    out = []
    for seed, (shape, V) in enumerate([((6,), 4), ((2, 3), 5), ((1, 1), 3), ((1,), 1), ((3, 4), 7)]):
        r = case_rng(ASSIGNMENT, "one_hot", seed)
        out.append({"idx": r.integers(0, V, size=shape).astype(np.int64), "num_classes": V})
    return out


def _embedding_cases():
    out = []
    for seed, (B, T, V, D) in enumerate([(2, 5, 7, 3), (1, 4, 5, 2), (3, 1, 4, 6), (2, 3, 1, 1), (1, 1, 2, 1)]):
        r = case_rng(ASSIGNMENT, "embedding_lookup", seed)
        out.append({"idx": r.integers(0, V, size=(B, T)).astype(np.int64), "W": randn(r, V, D)})
    return out


def _bow_cases():
    vocab = {w: i for i, w in enumerate(WORDS)}
    out = [{"tokens": ["the", "movie", "was", "good", "not", "bad"], "vocab": vocab},
           {"tokens": ["bad", "not", "good"], "vocab": vocab},
           {"tokens": ["fun"], "vocab": vocab},
           {"tokens": ["good"], "vocab": {"good": 0}}]
    for seed in range(3):
        r = case_rng(ASSIGNMENT, "bag_of_words", seed)
        n = int(r.integers(1, 15))
        out.append({"tokens": [WORDS[int(i)] for i in r.integers(0, len(WORDS), size=n)], "vocab": vocab})
    return out


def _pad_cases():
    out = []
    for seed, lengths in enumerate([[3, 1, 4], [2], [1, 1], [5, 2, 2, 3], [1]]):
        r = case_rng(ASSIGNMENT, "pad_sequences", seed)
        seqs = [r.integers(1, 20, size=n).astype(np.int64) for n in lengths]
        out.append({"seqs": seqs, "pad_value": 0 if seed % 2 == 0 else -1})
    out.append({"seqs": [[4, 5], [6]], "pad_value": 0})  # plain lists work too
    return out


def _ff_count_cases():
    return [{"T": T, "D": D, "H": H} for T, D, H in [(10, 300, 128), (1, 1, 1), (5, 50, 1), (20, 1, 64), (3, 7, 11)]]


def _rnn_count_cases():
    return [{"D": D, "H": H} for D, H in [(300, 128), (1, 1), (50, 1), (1, 64), (7, 11)]]


CHECKS = [
    Check("one_hot", cases=_one_hot_cases, reference="rnn_helpers.encoding:one_hot"),
    Check("embedding_lookup", cases=_embedding_cases, reference="rnn_helpers.embedding:embedding_forward",
          reference_call=lambda ref, c: ref(**c)[0]),
    Check("bag_of_words", cases=_bow_cases, reference="rnn_helpers.encoding:bag_of_words"),
    Check("pad_sequences", cases=_pad_cases, reference="rnn_helpers.encoding:pad_sequences",
          compare=exact_compare),
    Check("feedforward_param_count", cases=_ff_count_cases,
          reference="rnn_helpers.param_count:concat_feedforward_param_count", compare=exact_compare),
    Check("rnn_layer_param_count", cases=_rnn_count_cases, reference="rnn_helpers.param_count:rnn_param_count",
          compare=exact_compare),
]
