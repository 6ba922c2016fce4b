"""Gate activations over a sequence: one heatmap per gate (and the cell state), time along x, units along y.

The figure only draws: the activations come from a forward pass run elsewhere (``rnn_helpers.lstm``
in chapter 05, a trained torch model in chapter 06), so this module holds no model.

Used in: chapters 05 (LSTM), 06 (applications).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

# Gates live in (0, 1): one sequential colour map with fixed limits so panels compare.
# Anything else (the cell state c_t, the candidate) is signed: a diverging map centred on 0.
GATE_NAMES = {"i": "input gate $i_t$", "f": "forget gate $f_t$", "o": "output gate $o_t$",
              "g": r"candidate $\tilde c_t$", "c": "cell state $c_t$", "h": "hidden state $h_t$"}
_GATES = ("i", "f", "o", "r", "z")


def gate_activations(tokens: Sequence[str], activations: Mapping[str, np.ndarray], *,
                     title: str | None = None, annotate: bool | None = None,
                     unit_labels: Sequence[str] | None = None) -> Figure:
    """Draw each entry of ``activations`` (name -> array (T, H)) as a heatmap with ``tokens`` (T,) on x.

    Names "i", "f", "o" (and "r", "z") are gates, drawn in [0, 1] with one colour map; any other name
    ("c", "g", "h", ...) is drawn with a diverging colour map centred on 0. Panels are stacked top to
    bottom in the mapping's order, each with its own colour bar. ``annotate`` writes each value in its
    square (default: when every panel has at most 60 squares, small enough to read). ``unit_labels``
    names the hidden units on the y axis (default: their indices 0..H-1).

    Returns a Figure with one heatmap axes per entry (titled with the entry's name) plus one colour-bar
    axes per entry; every heatmap's x tick labels are ``tokens``.
    """
    tokens = [str(t) for t in tokens]
    if len(tokens) == 0:
        raise ValueError("tokens must be a non-empty sequence of strings (T,)")
    if not isinstance(activations, Mapping) or len(activations) == 0:
        raise ValueError(f"activations must be a non-empty mapping name -> array (T, H), got {type(activations).__name__}")
    T = len(tokens)
    arrays = {}
    for name, a in activations.items():
        a = np.asarray(a, dtype=float)
        if a.ndim != 2 or a.shape[0] != T:
            raise ValueError(f"activations[{name!r}] must have shape (T, H) = ({T}, H), got {a.shape}")
        arrays[name] = a
    H = max(a.shape[1] for a in arrays.values())
    n = len(arrays)
    if annotate is None:
        annotate = all(a.size <= 60 for a in arrays.values())
    fig = Figure(figsize=(1.6 + 0.62 * T, 0.6 + n * (0.45 + 0.22 * H)))
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    for ax, (name, a) in zip(axes, arrays.items()):
        lim = 1.0
        if name in _GATES:
            img = ax.imshow(a.T, aspect="auto", cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest")
        else:
            lim = max(float(np.abs(a).max()), 1e-12)
            img = ax.imshow(a.T, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
        if annotate:
            for (t, k), v in np.ndenumerate(a):
                # Dark text on the light end of each map, light text on the dark end.
                light = (v > 0.55) if name in _GATES else (abs(v) < 0.5 * lim)
                ax.text(t, k, f"{v:.2f}", ha="center", va="center", fontsize=6.5,
                        color="#222222" if light else "white")
        ax.set_title(GATE_NAMES.get(name, name), fontsize=9, loc="left")
        ax.set_xticks(range(T), tokens if ax is axes[-1] else [""] * T)
        names = list(unit_labels) if unit_labels is not None else [str(k) for k in range(a.shape[1])]
        if len(names) != a.shape[1]:
            raise ValueError(f"unit_labels has {len(names)} names; activations[{name!r}] has H = {a.shape[1]} units")
        ax.set_yticks(range(a.shape[1]), names, fontsize=7)
        ax.set_ylabel("unit", fontsize=8)
        ax.grid(False)
        fig.colorbar(img, ax=ax, fraction=0.04, pad=0.01)
    axes[-1].set_xlabel("time step (token read)")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
