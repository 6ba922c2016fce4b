"""Shared pieces of the ``ch<assignment>`` checks modules: seeded generators, random inputs, edge shapes.

Everything here runs in the student's kernel too (to build the cases), so it imports numpy only and never a
reference module. References are imported lazily, grader side, inside ``reference_call`` adapters
(:func:`ref_module`). Every case's seed comes from :func:`rnn_helpers.checks.seeds.case_seed` and the comparison
of outputs from :mod:`rnn_helpers.checks.compare`.
"""
from __future__ import annotations

import importlib

import numpy as np

from rnn_helpers.checks.seeds import case_seed

# (B, D, H) for single-step cells: a generic case, then the edge shapes B = 1, D = 1, H = 1 and all ones.
CELL_SHAPES = [(3, 4, 5), (1, 3, 2), (2, 1, 3), (4, 3, 1), (1, 1, 1)]
# (B, T, D, H) for sequences: generic, B = 1, T = 1, D = 1 / H = 1, all ones.
SEQ_SHAPES = [(3, 5, 4, 6), (1, 4, 3, 2), (2, 1, 3, 4), (2, 3, 1, 1), (1, 1, 1, 1)]


def rng(seed: int) -> np.random.Generator:
    """numpy's generator for ``seed`` (a :func:`~rnn_helpers.checks.seeds.case_seed`)."""
    return np.random.default_rng(seed)


def case_rng(assignment: str, check: str, index: int) -> np.random.Generator:
    """The generator of case ``index`` of ``check``: ``rng(case_seed(assignment, check, index))``, under the
    assignment's active case key (the term's grading secret, :func:`~rnn_helpers.checks.seeds.active_key`)."""
    return rng(case_seed(assignment, check, index))


def randn(r: np.random.Generator, *shape, scale: float = 1.0) -> np.ndarray:
    return scale * r.standard_normal(shape)


def cell_params(r: np.random.Generator, D: int, H: int, G: int, scale: float = 0.5) -> dict:
    """W_ih (G*H, D), W_hh (G*H, H), b_ih (G*H,), b_hh (G*H,), float64, N(0, scale^2)."""
    return {"W_ih": randn(r, G * H, D, scale=scale), "W_hh": randn(r, G * H, H, scale=scale),
            "b_ih": randn(r, G * H, scale=scale), "b_hh": randn(r, G * H, scale=scale)}


def sigmoid(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


def ref_module(name: str):
    """Import ``rnn_helpers.<name>`` (grader side only, called inside reference adapters)."""
    return importlib.import_module(f"rnn_helpers.{name}")

