"""Exact-match accuracy against input length (chapter 06, sequence to sequence): the encoder's bottleneck, measured.

The function takes plain numbers ({model: {length: accuracy}}), draws and returns a ``matplotlib.figure.Figure``;
nothing here trains or decodes.

Used in: chapter 06 (applications).
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

from rnn_helpers.figures.style import COLORS, FIGSIZE

_STYLES = (("-", "o", COLORS["gru"]), ("--", "s", COLORS["cell"]), (":", "^", COLORS["baseline"]),
           ("-.", "d", COLORS["output"]))


def accuracy_by_length(curves: Mapping[str, Mapping[int, float]], *, ylabel: str = "exact match",
                       xlabel: str = "input length (symbols)", train_range: tuple[int, int] | None = None) -> Figure:
    """One line per model of accuracy (0..1) against the input length.

    Inputs:
    - curves: label -> {length: accuracy in [0, 1]} (e.g. ``seq2seq_reversal.exact_match_by_length``); a length
      may be an int or its string, as in ``benchmarks/applications_report.json``.
    - train_range: optional (shortest, longest) length seen in training, shaded.

    Returns the Figure.
    """
    if not curves:
        raise ValueError("curves must hold at least one curve")
    fig = Figure(figsize=FIGSIZE)
    ax = fig.subplots()
    if train_range is not None:
        ax.axvspan(train_range[0] - 0.5, train_range[1] + 0.5, color=COLORS["baseline"], alpha=0.08, lw=0)
    for k, (label, by_length) in enumerate(curves.items()):
        # int(L): the keys are ints from exact_match_by_length but strings in the report's JSON (and "10" < "4")
        items = sorted(by_length.items(), key=lambda kv: int(kv[0]))
        lengths = np.array([int(L) for L, _ in items], dtype=float)
        acc = np.array([a for _, a in items], dtype=float)
        if np.any((acc < 0) | (acc > 1)):
            raise ValueError(f"accuracies of {label!r} must lie in [0, 1]")
        line, marker, colour = _STYLES[k % len(_STYLES)]
        ax.plot(lengths, acc, linestyle=line, marker=marker, ms=4, color=colour, label=label)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="best")
    return fig
