"""The figures of time and gradients (chapters 01-03): each function runs, returns a Figure, and draws the parts
it promises.

``figures.unrolled`` (the unrolled recurrence), ``figures.task_families`` (one-to-one ... encoder-decoder),
``figures.tbptt`` (full and truncated BPTT), ``figures.squashing`` (repeated squashing and its slope) and
``figures.gradient_norms`` (gradient norm against distance). The gated cells are in test_figures_gated_cells.py.
"""
from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

matplotlib.use("Agg")

from rnn_helpers.figures import style  # noqa: E402
from rnn_helpers.figures.gradient_norms import gradient_norms  # noqa: E402
from rnn_helpers.figures.squashing import compose, squashing  # noqa: E402
from rnn_helpers.figures.task_families import task_families  # noqa: E402
from rnn_helpers.figures.tbptt import tbptt  # noqa: E402
from rnn_helpers.figures.unrolled import unrolled  # noqa: E402


@pytest.fixture(autouse=True)
def _style():
    style.apply()


def gids(ax) -> list[str]:
    return [p.get_gid() for p in ax.patches]


def texts(ax) -> set[str]:
    return {t.get_text() for t in ax.texts}


def rendered(fig: Figure) -> None:
    """Draw the figure for real (layout, text, mathtext), which is where broken TeX or patches fail."""
    fig.canvas.draw()


@pytest.mark.parametrize("T", [1, 3, 5])
def test_unrolled_draws_T_columns_and_a_folded_cell(T):
    fig = unrolled(T)
    assert isinstance(fig, Figure)
    rendered(fig)
    folded, chain = fig.axes
    assert len(fig.axes) == 2
    assert gids(folded).count("cell") == 1 and gids(folded).count("recurrent") == 1
    for kind in ("input", "cell", "output"):
        assert gids(chain).count(kind) == T, kind
    # h_0 -> h_1 plus one arrow between each pair of neighbours.
    assert gids(chain).count("recurrent") == T
    labels = texts(chain)
    assert {"$h_0$", f"$x_{T}$", f"$h_{T}$", f"$y_{T}$"} <= labels
    assert f"$x_{T + 1}$" not in labels


@pytest.mark.parametrize("T", [0, 9, 2.0])
def test_unrolled_rejects_bad_T(T):
    with pytest.raises(ValueError, match="T must be"):
        unrolled(T)


def test_task_families_panels_count_their_inputs_and_outputs():
    fig = task_families()
    rendered(fig)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["one-to-one", "one-to-many", "many-to-one", "many-to-many (aligned)",
                      "many-to-many\n(encoder-decoder)"]
    expected = {  # (inputs, cells, outputs)
        "one-to-one": (1, 1, 1),
        "one-to-many": (1, 4, 4),
        "many-to-one": (4, 4, 1),
        "many-to-many (aligned)": (4, 4, 4),
        "many-to-many\n(encoder-decoder)": (3, 6, 3),
    }
    for ax in fig.axes:
        g = gids(ax)
        assert (g.count("input"), g.count("cell"), g.count("output")) == expected[ax.get_title()], ax.get_title()
        assert len(ax.texts) == 1, "each panel names one example task"


@pytest.mark.parametrize("T, k", [(16, 4), (10, 3), (6, 6), (5, 1)])
def test_tbptt_windows_and_arrows(T, k):
    fig = tbptt(T, k)
    rendered(fig)
    assert len(fig.axes) == 2
    full, truncated = fig.axes
    assert gids(full).count("window") == 1
    assert gids(full).count("backward") == T - 1
    assert gids(full).count("carried") == 0
    n_windows = math.ceil(T / k)
    assert gids(truncated).count("window") == n_windows
    assert gids(truncated).count("backward") == T - n_windows
    assert gids(truncated).count("carried") == n_windows - 1
    # The state always travels forward between every pair of neighbours.
    assert gids(truncated).count("forward") + gids(truncated).count("carried") == T - 1
    assert gids(truncated).count("cell") == T


@pytest.mark.parametrize("T, k", [(1, 1), (8, 0), (8, 9), (50, 5)])
def test_tbptt_rejects_bad_sizes(T, k):
    with pytest.raises(ValueError, match="T"):
        tbptt(T, k)


def test_compose_matches_explicit_nesting_and_chain_rule():
    x = np.array([-2.0, 0.3, 1.7])
    value, slope = compose("tanh", x, 3)
    np.testing.assert_allclose(value, np.tanh(np.tanh(np.tanh(x))))
    eps = 1e-6
    numeric = (compose("tanh", x + eps, 3)[0] - compose("tanh", x - eps, 3)[0]) / (2 * eps)
    np.testing.assert_allclose(slope, numeric, rtol=1e-6)
    s_value, s_slope = compose("sigmoid", x, 2)
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    np.testing.assert_allclose(s_value, sig(sig(x)))
    # Each sigmoid derivative is at most 1/4, so two of them at most 1/16.
    assert np.all(s_slope <= 1 / 16 + 1e-15)
    with pytest.raises(ValueError, match="name"):
        compose("relu", x, 2)


def test_squashing_panels_flatten_with_depth():
    depths = (1, 3, 12)
    fig = squashing(depths)
    rendered(fig)
    assert len(fig.axes) == 3
    for ax in fig.axes:
        assert [line.get_label() for line in ax.get_lines()] == [f"n = {n}" for n in depths]
    sig_lines = fig.axes[0].get_lines()
    spread = [np.ptp(line.get_ydata()) for line in sig_lines]
    assert spread[0] > 0.99 and spread[-1] < 0.01, spread   # sigmoid^12 is flat to the eye
    assert fig.axes[2].get_yscale() == "log"
    # The slope of tanh^n is 1 at x = 0 for every n and decays away from 0 as n grows.
    slope_lines = fig.axes[2].get_lines()
    x = slope_lines[0].get_xdata()
    mid, edge = np.argmin(np.abs(x)), 0
    for line in slope_lines:
        assert line.get_ydata()[mid] == pytest.approx(1.0, abs=1e-3)
    assert slope_lines[-1].get_ydata()[edge] < slope_lines[0].get_ydata()[edge] / 10


def test_squashing_rejects_bad_depths():
    with pytest.raises(ValueError, match="depths"):
        squashing(())
    with pytest.raises(ValueError, match="depths"):
        squashing((1, 0))


def test_gradient_norms_one_line_per_curve_with_model_colours():
    d = np.arange(20)
    curves = {"RNN": 0.8 ** d, "GRU": 0.95 ** d, "LSTM": np.r_[1.0, 0.99 ** d[1:]]}
    fig = gradient_norms(curves, title="three models")
    rendered(fig)
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["RNN", "GRU", "LSTM"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["RNN", "GRU", "LSTM"]
    assert matplotlib.colors.to_hex(lines[0].get_color()) == style.COLORS["rnn"].lower()
    assert matplotlib.colors.to_hex(lines[2].get_color()) == style.COLORS["lstm"].lower()
    assert ax.get_yscale() == "log" and ax.get_title() == "three models"
    np.testing.assert_array_equal(lines[1].get_xdata(), d)


def test_gradient_norms_leaves_out_zeros_and_rejects_bad_input():
    fig = gradient_norms({"rho = 0.1": np.array([1.0, 0.1, 0.0])})
    y = fig.axes[0].get_lines()[0].get_ydata()
    assert np.isnan(y[2]) and y[1] == pytest.approx(0.1)
    with pytest.raises(ValueError, match="non-empty mapping"):
        gradient_norms({})
    with pytest.raises(ValueError, match=r"1-D array"):
        gradient_norms({"a": np.ones((2, 2))})
    with pytest.raises(ValueError, match="non-negative"):
        gradient_norms({"a": np.array([1.0, -1.0])})
