"""The recurrence drawn two ways: folded (one cell with a loop) and unrolled over T time steps.

The module also holds the three drawing primitives (``node``, ``arrow``, ``diagram_axes``) that the other
diagram figures of chapters 01-03 reuse, so every box and arrow in those chapters looks the same.
Every patch carries a ``gid`` naming what it draws ("input", "cell", "output", "forward", ...), which
lets the tests count the parts of a figure.

Used in: chapter 02 (simple RNN).
"""
from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from rnn_helpers.figures.style import COLORS

# Box size in data units: diagrams place one time step per unit of x.
BOX_W, BOX_H = 0.62, 0.46


def diagram_axes(ax: Axes, xlim: tuple[float, float], ylim: tuple[float, float]) -> Axes:
    """Turn ``ax`` into a blank drawing canvas with equal scales on both axes."""
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def node(ax: Axes, xy: tuple[float, float], text: str, kind: str, *, w: float = BOX_W,
         h: float = BOX_H, fontsize: float = 10, color: str | None = None) -> FancyBboxPatch:
    """Draw a rounded box centred at ``xy`` with ``text`` inside; ``kind`` picks the colour and the gid.

    ``kind`` is a key of ``style.COLORS`` ("input", "hidden", "output", ...); the patch's gid is
    ``kind`` itself, except that hidden-state boxes are called "cell".
    """
    edge = color or COLORS[kind]
    x, y = xy
    box = FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
                         facecolor=to_rgba(edge, 0.16), edgecolor=edge, linewidth=1.5)
    box.set_gid("cell" if kind == "hidden" else kind)
    ax.add_patch(box)
    if text:
        ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, color=COLORS["text"])
    return box


def arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float], *, gid: str = "forward",
          color: str | None = None, label: str | None = None, label_xy: tuple[float, float] | None = None,
          rad: float = 0.0, linestyle: str = "-", linewidth: float = 1.3, fontsize: float = 9) -> FancyArrowPatch:
    """Draw an arrow from ``start`` to ``end`` (curved when ``rad`` is non-zero), with an optional label."""
    patch = FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=11, linewidth=linewidth,
                            color=color or COLORS["text"], linestyle=linestyle,
                            connectionstyle=f"arc3,rad={rad}", shrinkA=0, shrinkB=0)
    patch.set_gid(gid)
    ax.add_patch(patch)
    if label is not None:
        lx, ly = label_xy if label_xy is not None else ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
        ax.text(lx, ly, label, ha="center", va="center", fontsize=fontsize, color=color or COLORS["text"])
    return patch


def unrolled(T: int = 4) -> Figure:
    """The simple RNN folded into one cell with a loop (left) and unrolled over ``T`` steps (right).

    Inputs x_t enter from below through W, states h_t leave to the right through U, outputs y_t leave
    upwards through V; the same W, U, b are used in every column.

    Returns a Figure with 2 axes: the folded cell (1 input, 1 cell, 1 output box) and the unrolled chain
    (T input, T cell and T output boxes, T recurrent arrows including the one from h_0).
    """
    if not isinstance(T, int) or T < 1 or T > 8:
        raise ValueError(f"T must be an int between 1 and 8 (the drawing's width), got {T!r}")
    fig = Figure(figsize=(1.9 + 1.2 * T, 3.0))
    left, right = fig.subplots(1, 2, width_ratios=[1.2, 1.2 * T + 0.6])
    y_in, y_cell, y_out = 0.0, 1.25, 2.5

    # Folded: one cell whose state loops back into itself.
    diagram_axes(left, (-0.5, 1.0), (-0.4, 2.9))
    node(left, (0, y_in), r"$x_t$", "input")
    node(left, (0, y_cell), r"$h_t$", "hidden")
    node(left, (0, y_out), r"$y_t$", "output")
    arrow(left, (0, y_in + BOX_H / 2), (0, y_cell - BOX_H / 2), label=r"$W$", label_xy=(-0.2, (y_in + y_cell) / 2))
    arrow(left, (0, y_cell + BOX_H / 2), (0, y_out - BOX_H / 2), label=r"$V$", label_xy=(-0.2, (y_cell + y_out) / 2))
    loop = FancyArrowPatch((BOX_W / 2, y_cell + 0.12), (BOX_W / 2, y_cell - 0.12), arrowstyle="-|>",
                           mutation_scale=11, linewidth=1.3, color=COLORS["hidden"],
                           connectionstyle="bar,fraction=-0.9", shrinkA=0, shrinkB=0)
    loop.set_gid("recurrent")
    left.add_patch(loop)
    left.text(0.78, y_cell, r"$U$", ha="center", va="center", fontsize=9, color=COLORS["hidden"])
    left.set_title("folded", fontsize=10)

    # Unrolled: one column per time step, h_0 entering from the left.
    diagram_axes(right, (-0.75, T + 0.05), (-0.4, 2.9))
    right.text(-0.6, y_cell, r"$h_0$", ha="center", va="center", fontsize=10, color=COLORS["hidden"])
    for t in range(1, T + 1):
        x = t - 0.5
        node(right, (x, y_in), rf"$x_{t}$", "input")
        node(right, (x, y_cell), rf"$h_{t}$", "hidden")
        node(right, (x, y_out), rf"$y_{t}$", "output")
        arrow(right, (x, y_in + BOX_H / 2), (x, y_cell - BOX_H / 2), label=r"$W$",
              label_xy=(x - 0.17, (y_in + y_cell) / 2), fontsize=8)
        arrow(right, (x, y_cell + BOX_H / 2), (x, y_out - BOX_H / 2), label=r"$V$",
              label_xy=(x - 0.17, (y_cell + y_out) / 2), fontsize=8)
        start_x = -0.45 if t == 1 else x - 1 + BOX_W / 2
        arrow(right, (start_x, y_cell), (x - BOX_W / 2, y_cell), gid="recurrent", color=COLORS["hidden"],
              label=r"$U$", label_xy=((start_x + x - BOX_W / 2) / 2, y_cell + 0.17), fontsize=8)
    right.set_title(f"unrolled over T = {T} steps: one W, U, V, b for all", fontsize=10)
    return fig
