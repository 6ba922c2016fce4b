"""The adding problem (Hochreiter & Schmidhuber 1997), the usual modern variant.

Each sequence has T steps of two features: a value drawn uniformly from [0, 1] and a marker that
is 1 at exactly two steps, one in the first half [0, T//2) and one in the second half [T//2, T),
and 0 elsewhere. The target is the sum of the two marked values. The first marked value must be
kept for at least T/2 steps, so T sets the lag.

Predicting the constant 1 (the mean of the target) gives a mean squared error equal to the
target's variance, 2 * (1/12) = 1/6 = 0.167: the bar a model must get under to show it learned.

Used in: chapter 06 (applications).
"""
from __future__ import annotations

import numpy as np

TRIVIAL_MSE = 1.0 / 6.0


def adding_problem(n: int, T: int, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Make n sequences of the adding problem with lag T.

    Inputs:
    - n: number of sequences (>= 1).
    - T: sequence length (>= 2).
    - seed: seed of the numpy Generator (same seed, same data).

    Returns:
    - X: float32 array (n, T, 2); X[..., 0] values in [0, 1), X[..., 1] markers (two ones per row).
    - y: float32 array (n,), y[k] = sum of X[k, t, 0] over the two t where X[k, t, 1] == 1.
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if not isinstance(T, (int, np.integer)) or T < 2:
        raise ValueError(f"T must be an int >= 2, got {T!r}")
    rng = np.random.default_rng(seed)
    values = rng.random((n, T))
    first = rng.integers(0, T // 2, size=n)
    second = rng.integers(T // 2, T, size=n)
    markers = np.zeros((n, T))
    rows = np.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    X = np.stack([values, markers], axis=-1).astype(np.float32)
    y = (values[rows, first] + values[rows, second]).astype(np.float32)
    return X, y
