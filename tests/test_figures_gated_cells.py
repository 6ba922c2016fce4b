"""The figures of the gated cells, chapters 04 (GRU) and 05 (LSTM): ``figures.gru_cell``, ``figures.lstm_cell`` and
``figures.gate_activations``. Each function runs, returns a Figure, and draws what it says.

The diagrams tag their patches with a gid ("gate", "candidate", "pointwise", ...), so the tests count parts
and check where the parts that distinguish the GRU variants sit.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from rnn_helpers.figures.gate_activations import gate_activations
from rnn_helpers.figures.gru_cell import gru_cell
from rnn_helpers.figures.lstm_cell import lstm_cell


def _patches(fig: Figure, gid: str) -> list:
    return [p for p in fig.axes[0].patches if p.get_gid() == gid]


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.axes[0].texts]


def _circle_with(fig: Figure, symbol: str) -> list[Circle]:
    """The point-wise circles whose label is ``symbol`` (a text drawn at the circle's centre)."""
    centres = [t.get_position() for t in fig.axes[0].texts if t.get_text() == symbol]
    return [c for c in _patches(fig, "pointwise") if any(np.allclose(c.center, xy) for xy in centres)]


@pytest.mark.parametrize("variant", ["reset_before", "pytorch"])
def test_gru_cell_draws_two_gates_one_candidate_and_the_interpolation(variant):
    fig = gru_cell(variant)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 1 and not fig.axes[0].axison
    assert len(_patches(fig, "gate")) == 2          # reset and update
    assert len(_patches(fig, "candidate")) == 1     # the tanh layer
    # x r_t, x for the candidate's share, x for the old state's share, the sum, and one 1 - z.
    assert len(_patches(fig, "pointwise")) == 5
    assert len(_circle_with(fig, "+")) == 1 and len(_circle_with(fig, "1-")) == 1
    texts = _texts(fig)
    for label in (r"$h_{t-1}$", r"$h_t$", r"$x_t$", r"$r_t$", r"$z_t$"):
        assert label in texts, f"{variant}: missing label {label}"
    wires = [p for p in fig.axes[0].patches if p.get_gid() == "wire"]
    assert len(wires) >= 15, "every connection is drawn as a wire with an arrow head"


def test_gru_cell_variants_differ_where_the_models_differ():
    reset_before, pytorch = gru_cell("reset_before"), gru_cell("pytorch")
    # Candidate name: the seeds' h~_t against PyTorch's n_t.
    assert r"$\tilde h_t$" in _texts(reset_before) and r"$\tilde h_t$" not in _texts(pytorch)
    assert r"$n_t$" in _texts(pytorch) and r"$n_t$" not in _texts(reset_before)
    # Reset after the product: only the pytorch drawing has the linear box U_n h + b_hn before the x r_t.
    assert len(_patches(reset_before, "linear")) == 0 and len(_patches(pytorch, "linear")) == 1
    # Which share gets 1 - z_t: the old state's product (leftmost circle on the state line) in the reset-before form,
    # the candidate's in pytorch.
    for fig, old_state_gets_one_minus_z in ((reset_before, True), (pytorch, False)):
        circles = _patches(fig, "pointwise")
        y_top = max(c.center[1] for c in circles)
        keep = min((c for c in circles if np.isclose(c.center[1], y_top)), key=lambda c: c.center[0])
        (one_minus,) = _circle_with(fig, "1-")
        assert np.isclose(one_minus.center[0], keep.center[0]) == old_state_gets_one_minus_z
    assert "Chung" in reset_before.axes[0].get_title() and "PyTorch" in pytorch.axes[0].get_title()
    assert "Cho" not in reset_before.axes[0].get_title(), "Cho et al. 2014 let z weigh the old state, not the candidate"


def test_gru_cell_rejects_unknown_variant():
    with pytest.raises(ValueError, match="variant"):
        gru_cell("keras")


def test_lstm_cell_has_four_layers_and_a_belt_touched_only_by_x_and_plus():
    fig = lstm_cell()
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    assert len(_patches(fig, "gate")) == 3           # forget, input, output
    assert len(_patches(fig, "candidate")) == 1      # c~_t
    assert len(_patches(fig, "squash")) == 1         # tanh(c_t)
    circles = _patches(fig, "pointwise")
    assert len(circles) == 4                         # x f, x i, +, x o
    y_top = max(c.center[1] for c in circles)
    on_belt = sorted((c for c in circles if np.isclose(c.center[1], y_top)), key=lambda c: c.center[0])
    assert len(on_belt) == 2, "the cell state meets exactly one multiply and one add"
    assert on_belt[0] in _circle_with(fig, r"$\times$") and on_belt[1] in _circle_with(fig, "+")
    texts = _texts(fig)
    for label in (r"$c_{t-1}$", r"$c_t$", r"$h_{t-1}$", r"$h_t$", r"$x_t$",
                  r"$f_t$", r"$i_t$", r"$o_t$", r"$\tilde c_t$"):
        assert label in texts, f"missing label {label}"
    for role in ("forget", "input", "candidate", "output"):
        assert role in texts


def _demo_activations(T=5, H=3, seed=0):
    rng = np.random.default_rng(seed)
    return {"i": rng.random((T, H)), "f": rng.random((T, H)), "o": rng.random((T, H)),
            "c": 3.0 * rng.standard_normal((T, H))}


def test_gate_activations_one_heatmap_per_entry_with_tokens_on_x():
    tokens = "Jane saw Spot . Doug".split()
    acts = _demo_activations()
    fig = gate_activations(tokens, acts, title="demo")
    assert isinstance(fig, Figure)
    heatmaps = [ax for ax in fig.axes if ax.images and ax.get_title(loc="left")]
    assert len(heatmaps) == 4 and len(fig.axes) == 8   # plus one colour bar each
    titles = [ax.get_title(loc="left") for ax in heatmaps]
    assert "forget" in titles[1] and "cell state" in titles[3]
    assert [t.get_text() for t in heatmaps[-1].get_xticklabels()] == tokens
    for ax, (name, a) in zip(heatmaps, acts.items()):
        img = ax.images[0]
        np.testing.assert_allclose(img.get_array(), a.T)     # units on y, time on x
        lo, hi = img.get_clim()
        if name in ("i", "f", "o"):
            assert (lo, hi) == (0.0, 1.0), "gates share one fixed scale"
        else:
            assert lo == -hi and hi == pytest.approx(np.abs(a).max()), "signed values centred on 0"
    # Small panels are annotated with their values.
    assert f"{acts['f'][2, 1]:.2f}" in [t.get_text() for t in heatmaps[1].texts]


def test_gate_activations_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"\(T, H\) = \(5, H\)"):
        gate_activations("a b c d e".split(), {"i": np.zeros((4, 2))})
    with pytest.raises(ValueError, match="tokens"):
        gate_activations([], {"i": np.zeros((0, 2))})
    with pytest.raises(ValueError, match="activations"):
        gate_activations(["a"], {})


def test_gate_activations_names_units_when_asked():
    acts = _demo_activations(T=2, H=3)
    fig = gate_activations(["a", "b"], acts, unit_labels=["x", "y", "z"])
    heatmaps = [ax for ax in fig.axes if ax.get_title(loc="left")]
    assert [t.get_text() for t in heatmaps[0].get_yticklabels()] == ["x", "y", "z"]
    with pytest.raises(ValueError, match="unit_labels"):
        gate_activations(["a", "b"], acts, unit_labels=["x"])
