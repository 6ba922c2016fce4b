"""Full backpropagation through time next to truncated BPTT's windows.

Used in: chapter 03 (BPTT).
"""
from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from rnn_helpers.figures.style import COLORS
from rnn_helpers.figures.unrolled import arrow, diagram_axes, node

_STEP = 0.8   # horizontal distance between two time steps, in data units


def _chain(ax, T, k):
    """One row of T cells: forward arrows along the top, backward arrows below inside each window of k."""
    diagram_axes(ax, (-0.6, (T - 1) * _STEP + 0.6), (-0.75, 0.75))
    for t in range(T):
        node(ax, (t * _STEP, 0.0), "", "hidden", w=0.42, h=0.36)
    for t in range(1, T):
        crosses = t % k == 0
        # Across a window boundary the state still travels forward, but as a constant: no gradient returns.
        arrow(ax, ((t - 1) * _STEP + 0.21, 0.08), (t * _STEP - 0.21, 0.08),
              gid="carried" if crosses else "forward", color=COLORS["hidden"],
              linestyle="--" if crosses else "-", linewidth=1.1)
        if not crosses:
            arrow(ax, (t * _STEP - 0.15, -0.18), ((t - 1) * _STEP + 0.15, -0.18), gid="backward",
                  color=COLORS["output"], rad=-0.6, linewidth=1.1)
    for start in range(0, T, k):
        stop = min(start + k, T)
        window = Rectangle((start * _STEP - 0.33, -0.62), (stop - start - 1) * _STEP + 0.66, 1.24,
                           facecolor=COLORS["output"], alpha=0.07, edgecolor=COLORS["output"], linewidth=0.8)
        window.set_gid("window")
        ax.add_patch(window)


def tbptt(T: int = 16, k: int = 4) -> Figure:
    """Full BPTT (top: one window over all ``T`` steps) against truncated BPTT with windows of ``k`` steps.

    Green arrows carry the hidden state forward, red arrows carry gradients backward. In the truncated
    row the state crosses each window boundary (dashed arrow) but no gradient flows back across it.

    Returns a Figure with 2 axes. Top: 1 "window" patch and T-1 "backward" arrows. Bottom: ceil(T/k)
    "window" patches, T - ceil(T/k) "backward" arrows and ceil(T/k) - 1 "carried" arrows.
    """
    if not isinstance(T, int) or not isinstance(k, int) or T < 2 or not 1 <= k <= T or T > 40:
        raise ValueError(f"need ints 2 <= T <= 40 and 1 <= k <= T, got T={T!r}, k={k!r}")
    fig = Figure(figsize=(max(4.0, 0.42 * T + 0.6), 2.9))
    top, bottom = fig.subplots(2, 1)
    _chain(top, T, T)
    top.set_title(f"full BPTT: forward over all {T} steps, then backward over all {T}", fontsize=10)
    _chain(bottom, T, k)
    bottom.set_title(f"truncated BPTT, k = {k}: the state is carried forward, gradients stop at each boundary",
                     fontsize=10)
    return fig
