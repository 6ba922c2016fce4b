"""What repeated squashing does: a sigmoid or tanh applied n times, and the slope of that composition.

An unrolled RNN applies its squashing non-linearity once per time step, so a signal (and, going back,
a gradient) that crosses n steps has been through n of them. These curves show it with the weights
left out: the composition flattens, and its slope is a product of n derivatives, each at most 1.

Used in: chapter 03 (BPTT).
"""
from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

_SQUASH = {
    "sigmoid": (lambda a: 1.0 / (1.0 + np.exp(-a)), lambda s: s * (1.0 - s)),   # derivative from the output
    "tanh": (np.tanh, lambda s: 1.0 - s * s),
}


def compose(name: str, x: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Apply the squashing function ``name`` ("sigmoid" or "tanh") ``n`` times to ``x``.

    Returns (value, slope), both shaped like ``x``: f(f(...f(x))) and its derivative d/dx, the product
    of the n local derivatives along the way (the chain rule, as in backpropagation).
    """
    if name not in _SQUASH:
        raise ValueError(f"name must be 'sigmoid' or 'tanh', got {name!r}")
    f, df = _SQUASH[name]
    value, slope = np.asarray(x, dtype=float), np.ones_like(x, dtype=float)
    for _ in range(n):
        value = f(value)
        slope = slope * df(value)
    return value, slope


def squashing(depths: Sequence[int] = (1, 2, 4, 8, 16), x_range: tuple[float, float] = (-6.0, 6.0)) -> Figure:
    """Three panels: sigmoid applied n times, tanh applied n times, and |slope| of tanh applied n times.

    One line per depth n in ``depths`` in each panel (darker = more applications); the third panel
    has a logarithmic y axis.

    Returns a Figure with 3 axes, each holding ``len(depths)`` lines labelled "n = ...".
    """
    depths = list(depths)
    if not depths or any(not isinstance(n, (int, np.integer)) or n < 1 for n in depths):
        raise ValueError(f"depths must be a non-empty sequence of positive ints, got {depths!r}")
    x = np.linspace(*x_range, 601)
    fig = Figure(figsize=(9.0, 3.0))
    ax_sig, ax_tanh, ax_slope = fig.subplots(1, 3)
    shades = np.linspace(0.35, 1.0, len(depths))
    cmap = mpl.colormaps["Blues"]
    for shade, n in zip(shades, depths):
        label = f"n = {n}"
        ax_sig.plot(x, compose("sigmoid", x, n)[0], color=cmap(shade), label=label)
        value, slope = compose("tanh", x, n)
        ax_tanh.plot(x, value, color=cmap(shade), label=label)
        ax_slope.semilogy(x, np.abs(slope), color=cmap(shade), label=label)
    ax_sig.set_title(r"$\sigma$ applied $n$ times")
    ax_tanh.set_title(r"$\tanh$ applied $n$ times")
    ax_slope.set_title(r"slope of $\tanh$ applied $n$ times")
    ax_slope.set_ylim(top=2.0)
    for ax in (ax_sig, ax_tanh, ax_slope):
        ax.set_xlabel("$x$")
    ax_sig.legend(fontsize=8)
    return fig
