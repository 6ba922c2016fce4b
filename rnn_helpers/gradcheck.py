"""Numeric gradient checking: centered differences and the relative error used to compare gradients.

Given a function ``f`` whose output ``y = f()`` depends on an array ``x`` (read through the closure), and an
upstream gradient ``df`` with the shape of ``y``, the gradient of the scalar ``sum(f() * df)`` with respect to
each entry of ``x`` is approximated by

    (sum(f(x + eps e_i) * df) - sum(f(x - eps e_i) * df)) / (2 eps)

whose error is O(eps**2) (a one-sided difference would be O(eps)).

Used in: chapters 03 (BPTT), 04 (GRU), 05 (LSTM); exercises 03, 04, 05 grade against it.
"""
from __future__ import annotations

import numpy as np


def rel_error(a, b) -> float:
    """Largest elementwise relative error ``|a - b| / max(1e-8, |a| + |b|)`` between two arrays of one shape.

    Inputs: ``a``, ``b`` arrays (or scalars) of the same shape. Returns a Python float (0.0 for empty arrays).
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: a has shape {a.shape} and b has shape {b.shape}; expected equal shapes")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def numerical_gradient(f, x, df, eps=1e-6):
    """Centered-difference gradient of ``sum(f() * df)`` with respect to ``x``, modified in place and restored.

    Inputs:
    - f: function of no arguments returning an array ``y`` (it must read ``x`` itself, e.g. via a closure)
    - x: the array to perturb, any shape ``S`` (float64 recommended: the difference quotient loses digits)
    - df: upstream gradient with the shape of ``y``
    - eps: step size

    Returns the gradient, an array of shape ``S``.
    """
    if not isinstance(x, np.ndarray):
        raise ValueError("numerical_gradient: x must be a numpy array (it is perturbed in place)")
    grad = np.zeros_like(x, dtype=np.float64)
    df = np.asarray(df)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        i = it.multi_index
        old = x[i]
        x[i] = old + eps
        plus = np.sum(np.asarray(f(), dtype=np.float64) * df)
        x[i] = old - eps
        minus = np.sum(np.asarray(f(), dtype=np.float64) * df)
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
        it.iternext()
    return grad.astype(x.dtype, copy=False)
