"""Framing a series as supervised pairs, and the two baselines every forecaster must beat.

A window of the ``window`` most recent values is the input; the value right after it is the
target. The baselines read only that window:

- persistence: tomorrow equals today, y_hat = x_{t};
- seasonal naive: the value one season ago repeats, y_hat = x_{t+1-season}.

Used in: chapter 06 (applications); exercise 06 grades against it.
"""
from __future__ import annotations

import numpy as np


def make_windows(series, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Slide a window over a series: every run of ``window`` values, and the value after it.

    Inputs:
    - series: 1-D array of shape (N,).
    - window: int, 1 <= window < N.

    Returns:
    - X: float array of shape (N - window, window), ``X[i] = series[i : i + window]``.
    - y: float array of shape (N - window,), ``y[i] = series[i + window]``.
    """
    series = np.asarray(series, dtype=np.float64)
    if series.ndim != 1:
        raise ValueError(f"series must be 1-D (N,), got shape {series.shape}")
    if not isinstance(window, (int, np.integer)) or not 1 <= window < series.shape[0]:
        raise ValueError(f"window must be an int in [1, N) with N = {series.shape[0]}, got {window!r}")
    n = series.shape[0] - window
    X = np.stack([series[i : i + window] for i in range(n)])
    y = series[window:].copy()
    return X, y


def persistence_forecast(X) -> np.ndarray:
    """Forecast the next value as the last observed one.

    Inputs:
    - X: array of shape (n, window).

    Returns:
    - y_hat: array of shape (n,), ``y_hat[i] = X[i, -1]``.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] < 1:
        raise ValueError(f"X must have shape (n, window) with window >= 1, got {X.shape}")
    return X[:, -1].copy()


def seasonal_naive_forecast(X, season: int) -> np.ndarray:
    """Forecast the next value as the value one season before it.

    The target follows the window, at position ``window``; one season earlier is position
    ``window - season`` of the window, i.e. ``X[:, -season]``.

    Inputs:
    - X: array of shape (n, window).
    - season: int, 1 <= season <= window (season = 1 is the persistence forecast).

    Returns:
    - y_hat: array of shape (n,), ``y_hat[i] = X[i, window - season]``.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must have shape (n, window), got {X.shape}")
    if not isinstance(season, (int, np.integer)) or not 1 <= season <= X.shape[1]:
        raise ValueError(f"season must be an int in [1, window] with window = {X.shape[1]}, got {season!r}")
    return X[:, -season].copy()
