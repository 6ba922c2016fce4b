"""The LSTM cell drawn as a wiring diagram: the cell state runs along the top like a conveyor belt.

Same drawing language as the GRU diagram (``gru_cell``): boxes are learned layers, circles element-wise
operations; wires are purple for the cell state c, green for the hidden state h, blue for the input x,
orange for a gate's output and brown for the candidate. Patches carry a ``gid`` ("gate", "candidate",
"pointwise", "wire") so that the tests can count the parts.

Used in: chapter 05 (LSTM).
"""
from __future__ import annotations

from matplotlib.figure import Figure

from rnn_helpers.figures.gru_cell import GATE_H, GATE_W, OP_R, _label, pointwise, wire
from rnn_helpers.figures.style import COLORS
from rnn_helpers.figures.unrolled import diagram_axes, node

# (name in the course, PyTorch's name, what the box computes, x position), in the order the wires reach them.
LAYERS = (
    ("f_t", "forget", r"$\sigma$", 2.2),
    ("i_t", "input", r"$\sigma$", 3.9),
    (r"\tilde c_t", "candidate", r"$\tanh$", 5.4),
    ("o_t", "output", r"$\sigma$", 7.6),
)


def lstm_cell() -> Figure:
    """One LSTM step: (h_{t-1}, c_{t-1}) and x_t in, (h_t, c_t) out.

    c_t = f_t * c_{t-1} + i_t * c~_t runs along the top (the only path from c_{t-1} to c_t is one
    multiplication by f_t and one addition); h_t = o_t * tanh(c_t) leaves to the right and upwards.

    Returns a Figure with one axis (no ticks) holding 4 learned layers (3 boxes with gid "gate" for
    f, i, o and 1 with gid "candidate" for c~), 4 element-wise circles (gid "pointwise": x f, x i,
    +, x o) plus the tanh applied to c_t (gid "squash"), and labelled wires.
    """
    cell, green, blue, orange, brown = (COLORS[k] for k in ("cell", "hidden", "input", "gate", "candidate"))
    fig = Figure(figsize=(7.4, 4.4))
    ax = fig.subplots()
    diagram_axes(ax, (-0.3, 12.3), (-0.55, 7.3))

    y_top, y_hbus, y_xbus, y_box = 6.3, 1.85, 1.05, 3.1
    x_f, x_i, x_g, x_o = (layer[3] for layer in LAYERS)
    x_squash, x_out = 9.4, 10.9
    y_ig, y_o = 4.7, 4.1
    bottom = y_box - GATE_H / 2

    outline = node(ax, (5.9, 3.35), "", "hidden", w=10.6, h=6.4)
    outline.set_alpha(0.18)
    outline.set_gid("outline")

    # The conveyor belt: c_{t-1} -> (x f_t) -> (+ i_t c~_t) -> c_t, nothing else touches it.
    _label(ax, (-0.05, y_top + 0.45), r"$c_{t-1}$", cell, ha="left")
    _label(ax, (12.25, y_top + 0.45), r"$c_t$", cell, ha="right")
    wire(ax, [(-0.25, y_top), (x_f - OP_R, y_top)], cell)
    wire(ax, [(x_f + OP_R, y_top), (x_g - OP_R, y_top)], cell)
    wire(ax, [(x_g + OP_R, y_top), (12.25, y_top)], cell)
    _label(ax, (7.4, y_top + 0.35), "cell state: the conveyor belt", cell, fontsize=8)

    # h_{t-1} and x_t feed all four layers.
    _label(ax, (-0.05, y_hbus + 0.35), r"$h_{t-1}$", green, ha="left")
    wire(ax, [(-0.25, y_hbus), (x_o + 0.15, y_hbus)], green, head=False)
    _label(ax, (-0.05, -0.35), r"$x_t$", blue, ha="left")
    wire(ax, [(0.35, -0.45), (0.9, -0.45), (0.9, y_xbus), (x_o - 0.15, y_xbus)], blue, head=False)
    for name, role, fn, x in LAYERS:
        box = node(ax, (x, y_box), fn, "candidate" if role == "candidate" else "gate", w=GATE_W, h=GATE_H)
        box.set_gid("candidate" if role == "candidate" else "gate")
        wire(ax, [(x + 0.15, y_hbus), (x + 0.15, bottom)], green)
        wire(ax, [(x - 0.15, y_xbus), (x - 0.15, bottom)], blue)
        color = brown if role == "candidate" else orange
        ax.text(x, y_box + GATE_H / 2 + 0.12, role, ha="center", va="bottom", fontsize=7.5, color=color)

    # Forget: f_t scales the old cell state.
    wire(ax, [(x_f, y_box + GATE_H / 2 + 0.45), (x_f, y_top - OP_R)], orange)
    _label(ax, (x_f - 0.3, 5.0), r"$f_t$", orange)
    pointwise(ax, (x_f, y_top), r"$\times$")

    # Input: i_t scales the candidate c~_t, and the product is added to the belt.
    wire(ax, [(x_i, y_box + GATE_H / 2 + 0.45), (x_i, y_ig), (x_g - OP_R, y_ig)], orange)
    _label(ax, (x_i - 0.3, 4.35), r"$i_t$", orange)
    wire(ax, [(x_g, y_box + GATE_H / 2 + 0.45), (x_g, y_ig - OP_R)], brown)
    _label(ax, (x_g + 0.35, 4.2), r"$\tilde c_t$", brown)
    pointwise(ax, (x_g, y_ig), r"$\times$")
    wire(ax, [(x_g, y_ig + OP_R), (x_g, y_top - OP_R)], brown)
    pointwise(ax, (x_g, y_top), "+")

    # Output: h_t = o_t * tanh(c_t), read off the belt without changing it.
    squash = node(ax, (x_squash, 5.3), r"$\tanh$", "cell", w=0.8, h=0.42, fontsize=8)
    squash.set_gid("squash")
    wire(ax, [(x_squash, y_top), (x_squash, 5.3 + 0.21)], cell)
    wire(ax, [(x_squash, 5.3 - 0.21), (x_squash, y_o + OP_R)], cell)
    wire(ax, [(x_o, y_box + GATE_H / 2 + 0.45), (x_o, y_o), (x_squash - OP_R, y_o)], orange)
    _label(ax, (x_o - 0.3, y_o + 0.3), r"$o_t$", orange)
    pointwise(ax, (x_squash, y_o), r"$\times$")
    wire(ax, [(x_squash + OP_R, y_o), (x_out, y_o), (x_out, y_hbus), (12.25, y_hbus)], green)
    wire(ax, [(x_out, y_o), (x_out, 7.25)], green)
    _label(ax, (x_out - 0.2, 6.95), "output", green, fontsize=8, ha="right")
    _label(ax, (12.25, y_hbus + 0.35), r"$h_t$", green, ha="right")

    _label(ax, (12.25, -0.35), "boxes: learned layers   circles: element-wise operations", COLORS["text"],
           fontsize=7.5, ha="right")
    ax.set_title(r"LSTM: $c_t = f_t \odot c_{t-1} + i_t \odot \tilde c_t$,   $h_t = o_t \odot \tanh(c_t)$",
                 fontsize=10)
    return fig
