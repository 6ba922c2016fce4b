"""Encoder-decoder diagrams: translation (RNN encoder -> RNN decoder) and captioning (CNN -> RNN decoder).

The encoder reads the whole input and leaves its last state, a single vector, as the summary that
starts the decoder; the decoder then emits one word per step, each fed back as its next input.

Used in: chapter 06 (applications).
"""
from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

from rnn_helpers.figures.style import COLORS


def _box(ax, x, y, text, colour, *, w=0.9, h=0.6, fontsize=8, text_colour="white"):
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.1",
                                fc=colour, ec="none"))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, color=text_colour)


def _arrow(ax, a, b, colour="#555555", style="-|>"):
    ax.add_patch(FancyArrowPatch(a, b, arrowstyle=style, mutation_scale=9, color=colour, lw=1.1,
                                 shrinkA=0, shrinkB=0))


def _decoder(ax, x0, words, state_colour):
    """Decoder cells from x0 rightwards: inputs below (<s> then the previous word), words above."""
    prev = ["<s>"] + words[:-1]
    for k, (w_in, w_out) in enumerate(zip(prev, words)):
        x = x0 + 1.3 * k
        _box(ax, x, 1.0, "dec", state_colour)
        ax.text(x, -0.05, w_in, ha="center", va="center", fontsize=8, color=COLORS["input"])
        _arrow(ax, (x, 0.15), (x, 0.7))
        _arrow(ax, (x, 1.3), (x, 1.75))
        ax.text(x, 1.95, w_out, ha="center", va="center", fontsize=8, color=COLORS["output"])
        if k:
            _arrow(ax, (x - 0.85, 1.0), (x - 0.45, 1.0))


def encoder_decoder() -> Figure:
    """Two panels. Top: translation, an encoder RNN reads "the cat sat ." and its last state starts
    a decoder RNN that writes "le chat s'est assis .". Bottom: captioning, a CNN turns an image into
    a feature vector that starts the same kind of decoder, which writes "a dog runs ."."""
    fig = Figure(figsize=(9.0, 5.2))
    top, bottom = fig.subplots(2, 1)
    for ax in (top, bottom):
        ax.set_xlim(-0.7, 12.9)
        ax.set_ylim(-0.5, 2.4)
        ax.set_aspect("equal")
        ax.axis("off")
    # translation
    src = ["the", "cat", "sat", "."]
    for k, w in enumerate(src):
        x = 1.1 * k
        _box(top, x, 1.0, "enc", COLORS["hidden"])
        top.text(x, -0.05, w, ha="center", va="center", fontsize=8, color=COLORS["input"])
        _arrow(top, (x, 0.15), (x, 0.7))
        if k:
            _arrow(top, (x - 0.65, 1.0), (x - 0.45, 1.0))
    ctx_x = 1.1 * len(src) + 0.2
    _box(top, ctx_x, 1.0, "summary\nvector", COLORS["cell"], w=1.0, h=0.8, fontsize=7)
    _arrow(top, (1.1 * (len(src) - 1) + 0.45, 1.0), (ctx_x - 0.5, 1.0))
    _arrow(top, (ctx_x + 0.5, 1.0), (ctx_x + 1.05, 1.0))
    _decoder(top, ctx_x + 1.5, ["le", "chat", "s'est", "assis", "."], COLORS["gru"])
    top.set_title("translation: encoder RNN, then decoder RNN (many-to-many, unaligned)", fontsize=9, loc="left")
    # captioning
    bottom.add_patch(Rectangle((-0.5, 0.3), 1.4, 1.4, fc="#F2E6D0", ec="#999999"))
    bottom.text(0.2, 1.0, "image", ha="center", va="center", fontsize=8)
    _arrow(bottom, (0.95, 1.0), (1.45, 1.0))
    _box(bottom, 2.2, 1.0, "CNN", COLORS["input"], w=1.3, h=1.0)
    _arrow(bottom, (2.9, 1.0), (3.5, 1.0))
    _box(bottom, 4.2, 1.0, "feature\nvector", COLORS["cell"], w=1.1, h=0.8, fontsize=7)
    _arrow(bottom, (4.8, 1.0), (5.45, 1.0))
    _decoder(bottom, 5.9, ["a", "dog", "runs", "."], COLORS["gru"])
    bottom.set_title("captioning: CNN encoder, then decoder RNN (one-to-many)", fontsize=9, loc="left")
    fig.text(0.01, 0.01, "Each decoder step's input (below) is the word it emitted at the step before (above); "
             "<s> starts the sentence.", fontsize=8, color="#555555")
    return fig
