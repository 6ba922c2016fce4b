"""The GRU cell drawn as a wiring diagram, in either of its two variants.

Boxes are learned layers (a sigmoid gate or the tanh candidate), circles are element-wise operations
(multiply, add, one-minus), coloured wires carry vectors: green the hidden state, blue the input,
orange a gate's output, brown the candidate. Every patch carries a ``gid`` naming what it draws
("gate", "candidate", "pointwise", "wire"), which lets the tests count the parts of a figure.

The module also holds the two primitives ``pointwise`` and ``wire`` that the LSTM diagram reuses; the
boxes and arrows themselves are chapter 02's (``unrolled.node``, ``unrolled.arrow``), so every diagram
of the book looks the same.

Used in: chapter 04 (GRU).
"""
from __future__ import annotations

from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle

from rnn_helpers.figures.style import COLORS
from rnn_helpers.figures.unrolled import arrow, diagram_axes, node

GATE_W, GATE_H = 0.95, 0.62   # a learned layer's box, in data units
OP_R = 0.24                   # a point-wise operation's circle radius

VARIANTS = ("reset_before", "pytorch")


def pointwise(ax: Axes, xy: tuple[float, float], symbol: str, *, r: float = OP_R) -> Circle:
    """Draw an element-wise operation (``symbol`` is e.g. r"$\\times$", "+", "1-") as a labelled circle."""
    circle = Circle(xy, r, facecolor="white", edgecolor=COLORS["text"], linewidth=1.2, zorder=3)
    circle.set_gid("pointwise")
    ax.add_patch(circle)
    ax.text(xy[0], xy[1], symbol, ha="center", va="center", fontsize=9 if len(symbol) < 3 else 7.5,
            color=COLORS["text"], zorder=4)
    return circle


def wire(ax: Axes, points: Sequence[tuple[float, float]], color: str, *, head: bool = True) -> None:
    """Draw a wire through ``points`` (right angles), with an arrow head on the last segment if ``head``."""
    if len(points) < 2:
        raise ValueError(f"a wire needs at least 2 points, got {len(points)}")
    body = points[:-1] if head else points
    if len(body) >= 2:
        xs, ys = zip(*body)
        line = Line2D(xs, ys, color=color, linewidth=1.4, solid_capstyle="round", zorder=1)
        line.set_gid("wire")
        ax.add_line(line)
    if head:
        arrow(ax, points[-2], points[-1], gid="wire", color=color, linewidth=1.4)


def _label(ax: Axes, xy: tuple[float, float], text: str, color: str, **kw) -> None:
    ax.text(xy[0], xy[1], text, ha=kw.pop("ha", "center"), va=kw.pop("va", "center"), fontsize=kw.pop("fontsize", 10),
            color=color, **kw)


def gru_cell(variant: str = "reset_before") -> Figure:
    """One GRU step: h_{t-1} and x_t in, h_t out, with the reset gate r_t, update gate z_t and candidate.

    ``variant="reset_before"`` (the seeds, Chung et al. 2014): the reset gate scales h_{t-1} *before* the
    recurrent product, and h_t = (1 - z_t) * h_{t-1} + z_t * h~_t.
    ``variant="pytorch"`` (torch.nn.GRU, cuDNN): the reset gate scales the recurrent product W_hn h_{t-1} + b_hn
    *after* it is computed, and h_t = (1 - z_t) * n_t + z_t * h_{t-1}.

    Returns a Figure with one axis (no ticks) holding 3 gate/candidate boxes (gids "gate", "gate",
    "candidate"; the pytorch variant adds a "linear" box for W_hn h_{t-1} + b_hn), the point-wise
    circles (gid "pointwise": 5 in each variant: x r, x z-share, x (1-z)-share, +, 1-) and labelled wires.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    green, blue, orange, brown = COLORS["hidden"], COLORS["input"], COLORS["gate"], COLORS["candidate"]
    fig = Figure(figsize=(7.4, 4.4))
    ax = fig.subplots()
    diagram_axes(ax, (-0.3, 12.3), (-0.55, 7.3))

    y_top, y_hbus, y_xbus, y_box = 6.3, 1.85, 1.05, 3.1
    x_r, x_cand, x_z = 2.5, 5.0, 7.2       # the three learned layers, left to right
    x_keep, x_new = 9.0, 10.6              # the multiplications that feed the final sum
    x_plus = x_new
    bottom = y_box - GATE_H / 2

    # The cell's outline, then the state line through its top: h_{t-1} -> (x) -> (+) -> h_t.
    outline = node(ax, (6.1, 3.35), "", "hidden", w=11.0, h=6.4)
    outline.set_alpha(0.18)
    outline.set_gid("outline")
    _label(ax, (-0.05, y_top + 0.45), r"$h_{t-1}$", green, ha="left")
    _label(ax, (12.25, y_top + 0.45), r"$h_t$", green, ha="right")
    wire(ax, [(-0.25, y_top), (x_keep - OP_R, y_top)], green)
    wire(ax, [(x_keep + OP_R, y_top), (x_plus - OP_R, y_top)], green)
    wire(ax, [(x_plus + OP_R, y_top), (12.25, y_top)], green)
    wire(ax, [(11.6, y_top), (11.6, 7.25)], green)
    _label(ax, (11.35, 6.95), "output", green, fontsize=8, ha="right")

    # h_{t-1} drops to a bus feeding the gates; x_t rises to a bus feeding gates and candidate.
    wire(ax, [(0.6, y_top), (0.6, y_hbus), (x_z + 0.15, y_hbus)], green, head=False)
    _label(ax, (-0.05, -0.35), r"$x_t$", blue, ha="left")
    wire(ax, [(0.35, -0.45), (1.2, -0.45), (1.2, y_xbus), (x_z - 0.15, y_xbus)], blue, head=False)

    # Learned layers: two sigmoid gates and the tanh candidate.
    node(ax, (x_r, y_box), r"$\sigma$", "gate", w=GATE_W, h=GATE_H)
    node(ax, (x_z, y_box), r"$\sigma$", "gate", w=GATE_W, h=GATE_H)
    cand = node(ax, (x_cand, y_box), r"$\tanh$", "candidate", w=GATE_W, h=GATE_H)
    _label(ax, (x_r - 0.75, y_box), "reset", orange, fontsize=8, ha="right")
    _label(ax, (x_z + 0.75, y_box - 0.05), "update", orange, fontsize=8, ha="left")
    cand.set_gid("candidate")
    for x_gate in (x_r, x_z):
        wire(ax, [(x_gate + 0.15, y_hbus), (x_gate + 0.15, bottom)], green)
        wire(ax, [(x_gate - 0.15, y_xbus), (x_gate - 0.15, bottom)], blue)
    wire(ax, [(x_cand - 0.15, y_xbus), (x_cand - 0.15, bottom)], blue)

    # The reset gate's output multiplies either h_{t-1} (reset_before) or W_hn h_{t-1} + b_hn (pytorch).
    x_mul, y_reset = 3.75, 4.75
    wire(ax, [(x_r, y_box + GATE_H / 2), (x_r, y_reset), (x_mul - OP_R, y_reset)], orange)
    _label(ax, (x_r - 0.3, 4.05), r"$r_t$", orange)
    pointwise(ax, (x_mul, y_reset), r"$\times$")
    wire(ax, [(x_mul + OP_R, y_reset), (x_cand, y_reset), (x_cand, y_box + GATE_H / 2)], green)
    if variant == "reset_before":
        wire(ax, [(x_mul, y_top), (x_mul, y_reset + OP_R)], green)
        _label(ax, (x_cand + 0.1, y_reset + 0.3), r"$r_t \odot h_{t-1}$", green, fontsize=9, ha="left")
        _label(ax, (x_cand + 0.2, 4.05), r"$U_h$", green, fontsize=9, ha="left")
        cand_name = r"$\tilde h_t$"
    else:
        y_lin = 5.5
        lin = node(ax, (x_mul, y_lin), r"$W_{hn} h_{t-1} + b_{hn}$", "hidden", w=1.85, h=0.46, fontsize=8)
        lin.set_gid("linear")
        wire(ax, [(x_mul, y_top), (x_mul, y_lin + 0.23)], green)
        wire(ax, [(x_mul, y_lin - 0.23), (x_mul, y_reset + OP_R)], green)
        _label(ax, (x_cand - 0.1, y_reset + 0.3), r"$r_t \odot (W_{hn} h_{t-1} + b_{hn})$", green, fontsize=8,
               ha="left")
        cand_name = r"$n_t$"

    # The candidate and the update gate meet at the interpolation on the state line.
    y_z, y_one, y_mul = 4.0, 4.7, 5.4
    x_cand_out = x_cand + GATE_W / 2
    y_cand = 3.68   # between the boxes' tops and the z_t wire: the one crossing is the z_t riser
    wire(ax, [(x_cand_out, y_box), (x_cand_out + 0.35, y_box), (x_cand_out + 0.35, y_cand), (x_new + 0.8, y_cand),
              (x_new + 0.8, y_mul), (x_new + OP_R, y_mul)], brown)
    _label(ax, (x_cand_out + 0.3, y_box - 0.35), cand_name, brown, ha="left")
    _label(ax, (x_z + 0.35, y_z + 0.25), r"$z_t$", orange)
    wire(ax, [(x_z, y_box + GATE_H / 2), (x_z, y_z), (x_new, y_z), (x_new, y_mul - OP_R)], orange)
    pointwise(ax, (x_new, y_mul), r"$\times$")
    wire(ax, [(x_new, y_mul + OP_R), (x_plus, y_top - OP_R)], brown)
    pointwise(ax, (x_keep, y_top), r"$\times$")
    pointwise(ax, (x_plus, y_top), "+")
    # Which product gets 1 - z_t is the only difference on this side of the drawing.
    x_one = x_keep if variant == "reset_before" else x_new
    wire(ax, [(x_keep, y_z), (x_keep, y_top - OP_R)], orange)
    pointwise(ax, (x_one, y_one), "1-")
    _label(ax, (x_one - 0.35, y_one + 0.45), r"$1-z_t$", orange, fontsize=8, ha="right")
    _label(ax, (12.25, -0.35), "boxes: learned layers   circles: element-wise operations", COLORS["text"],
           fontsize=7.5, ha="right")
    if variant == "reset_before":
        title = r"GRU, reset before the product (the seeds, Chung et al. 2014): $h_t = (1-z_t)\,h_{t-1} + z_t\,\tilde h_t$"
    else:
        title = r"GRU, PyTorch/cuDNN: $h_t = (1-z_t)\,n_t + z_t\,h_{t-1}$"
    ax.set_title(title, fontsize=10)
    return fig
