"""Curves of chapter 06: training losses with their baselines, and a forecast against the truth.

Each function takes plain numbers (histories from ``rnn_helpers.applications.torch_training.fit``), draws, and
returns a ``matplotlib.figure.Figure``; nothing here trains a model.

Used in: chapter 06 (applications).
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

from rnn_helpers.figures.style import COLORS, FIGSIZE


def _colour(label: str, k: int) -> str:
    for key in ("lstm", "gru", "rnn"):
        if key in label.lower():
            return COLORS[key]
    return ("#C44E52", "#8172B2", "#937860", "#DA8BC3")[k % 4]


def running_mean(values, width: int) -> np.ndarray:
    """Mean of the last ``width`` values at each step (fewer at the start): (n,) -> (n,)."""
    v = np.asarray(values, dtype=float)
    c = np.cumsum(np.insert(v, 0, 0.0))
    idx = np.arange(1, v.size + 1)
    lo = np.maximum(0, idx - width)
    return (c[idx] - c[lo]) / (idx - lo)


def loss_curves(curves: Mapping[str, object], *, ylabel: str, baselines: Mapping[str, float] | None = None,
                smooth: int = 1, logy: bool = False, xlabel: str = "training step", title: str | None = None,
                ax=None) -> Figure:
    """One line per model, dashed grey lines for baselines.

    Inputs:
    - curves: label -> either a 1-D array of per-step values (smoothed with a running mean of
      ``smooth`` steps) or a pair (steps, values) drawn with markers (held-out evaluations).
    - baselines: label -> constant value (e.g. the bigram model's loss, the trivial MSE 1/6).
    - logy: log scale on y (MSE curves that span decades).
    - ax: draw into this Axes instead of a new figure.

    Returns the Figure.
    """
    if not curves:
        raise ValueError("curves must hold at least one curve")
    if ax is None:
        fig = Figure(figsize=FIGSIZE)
        ax = fig.subplots()
    else:
        fig = ax.figure
    for k, (label, curve) in enumerate(curves.items()):
        colour = _colour(label, k)
        if isinstance(curve, tuple) and len(curve) == 2:
            steps, values = (np.asarray(a, dtype=float) for a in curve)
            ax.plot(steps, values, "o-", ms=3, color=colour, label=label)
        else:
            values = np.asarray(curve, dtype=float)
            ax.plot(np.arange(1, values.size + 1), running_mean(values, smooth), color=colour, label=label, lw=1.4)
    for k, (label, value) in enumerate((baselines or {}).items()):
        ax.axhline(value, color=COLORS["baseline"], ls=("--", ":", "-.")[k % 3], lw=1.2, label=label)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    return fig


def loss_curve_grid(panels: Mapping[str, Mapping[str, object]], *, ylabel: str,
                    baselines: Mapping[str, float] | None = None, smooth: int = 1, logy: bool = False) -> Figure:
    """``loss_curves`` side by side, one panel per entry of ``panels`` (title -> curves), sharing y."""
    n = len(panels)
    if n == 0:
        raise ValueError("panels must hold at least one panel")
    fig = Figure(figsize=(3.6 * n, 3.2))
    axes = fig.subplots(1, n, sharey=True, squeeze=False)[0]
    for ax, (title, curves) in zip(axes, panels.items()):
        loss_curves(curves, ylabel=ylabel, baselines=baselines, smooth=smooth, logy=logy, title=title, ax=ax)
    return fig


def forecast_vs_truth(time, truth, forecasts: Mapping[str, np.ndarray], *, context_time=None, context=None,
                      context_label: str = "earlier data", xlabel: str = "time", ylabel: str = "value",
                      title: str | None = None) -> Figure:
    """The held-out stretch: the true series in black, each forecast in its colour.

    Inputs:
    - time, truth: (n,) time stamps and true values of the held-out stretch.
    - forecasts: label -> (n,) one-step-ahead forecasts.
    - context_time, context: optional (m,) earlier values, drawn in grey for context, labelled ``context_label``.
    """
    fig = Figure(figsize=(8.0, 3.4))
    ax = fig.subplots()
    if context is not None:
        ax.plot(context_time, context, color=COLORS["baseline"], lw=1.0, label=context_label)
    ax.plot(time, truth, color="black", lw=1.8, label="truth")
    # the model is drawn solid and thick; the baselines thinner, dashed or dotted
    styles, colours = ("--", ":", "-."), ("#C44E52", "#8172B2", "#DD8452")
    k = 0
    for label, values in forecasts.items():
        if np.shape(values) != np.shape(truth):
            raise ValueError(f"forecast {label!r} has shape {np.shape(values)}, truth has {np.shape(truth)}")
        if any(key in label.lower() for key in ("lstm", "gru", "rnn")):
            ax.plot(time, values, "-", color=_colour(label, 0), lw=2.0, label=label)
        else:
            ax.plot(time, values, styles[k % 3], color=colours[k % 3], lw=1.2, label=label)
            k += 1
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8, ncol=2)
    return fig
