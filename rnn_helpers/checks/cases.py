"""Shared pieces of the ``checks_<assignment>.py`` modules: seeded inputs, edge shapes, exact comparison.

Everything here runs in the student's kernel too (to build the cases), so it imports numpy only and never a
reference module. References are imported lazily, grader side, inside ``reference_call`` adapters
(:func:`ref_module`).
"""
from __future__ import annotations

import importlib

import numpy as np

# (B, D, H) for single-step cells: a generic case, then the edge shapes B = 1, D = 1, H = 1 and all ones.
CELL_SHAPES = [(3, 4, 5), (1, 3, 2), (2, 1, 3), (4, 3, 1), (1, 1, 1)]
# (B, T, D, H) for sequences: generic, B = 1, T = 1, D = 1 / H = 1, all ones.
SEQ_SHAPES = [(3, 5, 4, 6), (1, 4, 3, 2), (2, 1, 3, 4), (2, 3, 1, 1), (1, 1, 1, 1)]


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


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


def exact_compare(student, expected, rtol: float = 0.0, atol: float = 0.0) -> str | None:
    """Equality for discrete outputs (counts, ids, masks, strings): ``None`` if equal, else a one-line reason."""
    return _exact(student, expected, "output")


def _exact(s, e, where: str) -> str | None:
    if type(s).__name__ == "CaseError":
        return f"{where}: the function raised {s.message}"
    if isinstance(e, np.ndarray):
        if not isinstance(s, np.ndarray):
            return f"{where}: expected an array, got {type(s).__name__}"
        if s.shape != e.shape:
            return f"{where}: shape {s.shape}, expected {e.shape}"
        if s.dtype.kind == "f" and e.dtype.kind != "f":
            return f"{where}: float array, expected integers/booleans"
        if not np.array_equal(s, e):
            return f"{where}: values differ"
        return None
    if isinstance(e, dict):
        if not isinstance(s, dict) or set(s) != set(e):
            return f"{where}: expected a dict with keys {sorted(e)}"
        for k in e:
            msg = _exact(s[k], e[k], f"{where}[{k!r}]")
            if msg:
                return msg
        return None
    if isinstance(e, (list, tuple)):
        if not isinstance(s, (list, tuple)) or len(s) != len(e):
            return f"{where}: expected a sequence of length {len(e)}"
        for i, (a, b) in enumerate(zip(s, e)):
            msg = _exact(a, b, f"{where}[{i}]")
            if msg:
                return msg
        return None
    if isinstance(e, (bool, np.bool_)) or isinstance(s, (bool, np.bool_)):
        return None if bool(s) == bool(e) and type(s) in (bool, np.bool_) else f"{where}: {s!r}, expected {e!r}"
    if isinstance(e, (int, np.integer)):
        if isinstance(s, np.ndarray) and s.shape == () and s.dtype.kind in "iu":
            s = int(s)
        if not isinstance(s, (int, np.integer)):
            return f"{where}: expected an int, got {type(s).__name__}"
        return None if int(s) == int(e) else f"{where}: {s}, expected {e}"
    if isinstance(e, str):
        return None if s == e else f"{where}: {s!r}, expected {e!r}"
    return None if s == e else f"{where}: {s!r}, expected {e!r}"
