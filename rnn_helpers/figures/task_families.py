"""The sequence task families, told apart by how many inputs go in and how many outputs come out.

Used in: chapter 01 (motivation).
"""
from __future__ import annotations

from matplotlib.figure import Figure

from rnn_helpers.figures.style import COLORS
from rnn_helpers.figures.unrolled import BOX_H, arrow, diagram_axes, node

# name -> (example task, steps that read an input, steps that emit an output, number of steps,
#          first decoder step or None). Steps are numbered from 0.
FAMILIES = {
    "one-to-one": ("image classification", [0], [0], 1, None),
    "one-to-many": ("music generation,\nimage captioning", [0], [0, 1, 2, 3], 4, None),
    "many-to-one": ("sentiment of a review", [0, 1, 2, 3], [3], 4, None),
    "many-to-many (aligned)": ("named entities,\nvideo frame labels", [0, 1, 2, 3], [0, 1, 2, 3], 4, None),
    "many-to-many\n(encoder-decoder)": ("translation,\nspeech to text", [0, 1, 2], [3, 4, 5], 6, 3),
}


def _draw_family(ax, example, inputs, outputs, steps, decoder_start):
    y_in, y_cell, y_out = 0.0, 1.0, 2.0
    centre = (steps - 1) * 0.9 / 2
    half_width = max((steps - 1) * 0.9 / 2 + 0.4, 0.95)
    diagram_axes(ax, (centre - half_width, centre + half_width), (-1.05, 2.3))
    for t in range(steps):
        in_decoder = decoder_start is not None and t >= decoder_start
        # The decoder's cells get the output colour's edge so the two halves read as two networks.
        node(ax, (t * 0.9, y_cell), "", "hidden", w=0.5, h=0.38,
             color=COLORS["candidate"] if in_decoder else None)
        if t > 0:
            arrow(ax, ((t - 1) * 0.9 + 0.25, y_cell), (t * 0.9 - 0.25, y_cell), gid="recurrent",
                  color=COLORS["hidden"], linewidth=1.1)
        if t in inputs:
            node(ax, (t * 0.9, y_in), "", "input", w=0.5, h=0.38)
            arrow(ax, (t * 0.9, y_in + 0.19), (t * 0.9, y_cell - 0.19), linewidth=1.0)
        if t in outputs:
            node(ax, (t * 0.9, y_out), "", "output", w=0.5, h=0.38)
            arrow(ax, (t * 0.9, y_cell + 0.19), (t * 0.9, y_out - 0.19), linewidth=1.0)
    ax.text(centre, -0.4, example, ha="center", va="top", fontsize=8.5, color=COLORS["text"], style="italic")


def task_families() -> Figure:
    """The five families of sequence tasks, one panel each, inputs below, outputs above.

    Panels (in order): one-to-one, one-to-many, many-to-one, many-to-many with aligned inputs and outputs,
    and many-to-many as an encoder that reads everything followed by a decoder that writes (its cells drawn
    in a second colour). Each panel is titled with its family and names an example task.

    Returns a Figure with 5 axes; in each, the patches with gid "input", "cell" and "output" are the
    boxes of that family (e.g. many-to-one: 4 inputs, 4 cells, 1 output).
    """
    # Two rows (3 + 2 panels), not one: in a single row the labels came out about 6 px tall at the book's width.
    fig = Figure(figsize=(7.2, 4.8))
    widths = [max((steps - 1) * 0.9 + 0.8, 1.9) for (_, _, _, steps, _) in FAMILIES.values()]
    rows = fig.add_gridspec(2, 1, hspace=0.45)
    top = rows[0].subgridspec(1, 3, width_ratios=widths[:3])
    bottom = rows[1].subgridspec(1, 2, width_ratios=widths[3:])
    axes = [fig.add_subplot(top[0, k]) for k in range(3)] + [fig.add_subplot(bottom[0, k]) for k in range(2)]
    for ax, (name, (example, inputs, outputs, steps, decoder_start)) in zip(axes, FAMILIES.items()):
        _draw_family(ax, example, inputs, outputs, steps, decoder_start)
        ax.set_title(name, fontsize=9.5)
    return fig
