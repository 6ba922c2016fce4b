"""The book's one figure style: sizes, colours and the colour of each concept.

Colours name concepts, not chapters, so the same thing is drawn the same way everywhere:
inputs, hidden states, outputs, and each gate.

Used in: every chapter (every figure).
"""
from __future__ import annotations

import matplotlib as mpl

COLORS = {
    "input": "#4C72B0",     # x_t
    "hidden": "#55A868",    # h_t
    "cell": "#8172B2",      # c_t (LSTM cell state)
    "output": "#C44E52",    # y_t
    "gate": "#DD8452",      # a sigmoid gate
    "candidate": "#937860", # tanh candidate
    "rnn": "#4C72B0",
    "gru": "#DD8452",
    "lstm": "#55A868",
    "baseline": "#8C8C8C",
    "text": "#222222",
}

FIGSIZE = (7.0, 3.2)
WIDE = (9.0, 3.2)


def apply() -> None:
    """Set matplotlib's defaults to the book's style (call once per notebook)."""
    mpl.rcParams.update({
        "figure.figsize": FIGSIZE,
        "figure.dpi": 110,
        "savefig.dpi": 110,
        "font.size": 10,
        "axes.titlesize": 11,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.alpha": 0.25,
        "legend.frameon": False,
        "figure.constrained_layout.use": True,
    })
