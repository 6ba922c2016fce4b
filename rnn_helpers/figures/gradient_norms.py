"""Measured gradient norms against distance in time, one curve per model or per spectral radius.

The figure only draws: the norms are measured elsewhere (``rnn_helpers.gradient_flow``), so this
module holds no model and can ship in every build of the package.

Used in: chapters 03 (BPTT), 04 (GRU), 05 (LSTM).
"""
from __future__ import annotations

from collections.abc import Mapping

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

from rnn_helpers.figures.style import COLORS


def _colour(label: str, i: int, n: int):
    key = label.split()[0].lower() if label.strip() else ""
    if key in ("rnn", "gru", "lstm"):
        return COLORS[key]
    return mpl.colormaps["viridis"](0.1 + 0.8 * i / max(n - 1, 1))


def gradient_norms(curves: Mapping[str, np.ndarray], *, ylabel: str = r"$\|\partial h_T / \partial h_{T-d}\|_2$",
                   xlabel: str = "distance in time $d$ (steps back from the last step)",
                   title: str | None = None) -> Figure:
    """Plot each curve of ``curves`` (label -> 1-D array of norms indexed by distance d = 0, 1, ...).

    The y axis is logarithmic, so geometric decay or growth shows as a straight line. Zeros (a gradient
    that underflowed) cannot be drawn on it and are left out. Labels starting with "RNN", "GRU" or
    "LSTM" get the book's colour of that model; other labels get shades of one colour map in order.

    Returns a Figure with 1 axes holding one line per curve, with a legend of the labels.
    """
    if not isinstance(curves, Mapping) or len(curves) == 0:
        raise ValueError(f"curves must be a non-empty mapping label -> 1-D array, got {type(curves).__name__}")
    fig = Figure(figsize=(6.4, 3.4))
    ax = fig.subplots()
    for i, (label, norms) in enumerate(curves.items()):
        norms = np.asarray(norms, dtype=float)
        if norms.ndim != 1 or norms.size == 0:
            raise ValueError(f"curves[{label!r}] must be a non-empty 1-D array (D,), got shape {norms.shape}")
        if np.any(norms < 0) or not np.all(np.isfinite(norms)):
            raise ValueError(f"curves[{label!r}] must hold finite non-negative norms")
        shown = np.where(norms > 0, norms, np.nan)
        ax.semilogy(np.arange(norms.size), shown, marker="o", markersize=2.5, linewidth=1.4,
                    color=_colour(label, i, len(curves)), label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8, loc="best")
    return fig
