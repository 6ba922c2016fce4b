"""The graded helpers of chapter 06 (text, sampling, forecasting, char_model): small fixed cases."""
import numpy as np
import pytest
import torch

from rnn_helpers import char_model, forecasting, sampling, text


# ---------------------------------------------------------------- text
def test_vocab_is_sorted_unique_and_round_trips():
    vocab = text.build_vocab("hello")
    assert vocab == ["e", "h", "l", "o"]
    ids = text.encode("hello", vocab)
    assert ids.dtype == np.int64 and ids.tolist() == [1, 0, 2, 2, 3]
    assert text.decode(ids, vocab) == "hello"
    assert text.decode([], vocab) == ""


def test_text_errors_name_the_problem():
    with pytest.raises(ValueError, match="not in vocab"):
        text.encode("help", ["e", "h", "l", "o"])
    with pytest.raises(ValueError, match="empty"):
        text.build_vocab("")
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        text.decode([0, 4], ["e", "h", "l", "o"])


# ---------------------------------------------------------------- sampling
def test_softmax_with_temperature_one_is_softmax():
    p = sampling.softmax_with_temperature(np.log([1.0, 2.0, 5.0]), 1.0)
    assert np.allclose(p, [0.125, 0.25, 0.625])


def test_temperature_sharpens_and_flattens():
    logits = np.array([1.0, 3.0, 0.5, 2.0])
    cold = sampling.softmax_with_temperature(logits, 1e-3)
    assert np.allclose(cold, [0, 1, 0, 0])  # tau -> 0: argmax
    hot = sampling.softmax_with_temperature(logits, 1e4)
    assert np.allclose(hot, 0.25, atol=1e-3)  # tau -> infinity: uniform
    p_half = sampling.softmax_with_temperature(logits, 0.5)
    assert np.allclose(p_half, sampling.softmax_with_temperature(2 * logits, 1.0))
    # entropy grows with the temperature
    ent = [-(q * np.log(q + 1e-300)).sum() for q in (sampling.softmax_with_temperature(logits, t) for t in (0.3, 1, 3))]
    assert ent[0] < ent[1] < ent[2]


def test_softmax_is_stable_for_large_logits():
    p = sampling.softmax_with_temperature(np.array([1000.0, 1000.0, -1000.0]), 0.1)
    assert np.all(np.isfinite(p)) and np.allclose(p, [0.5, 0.5, 0.0])


def test_bad_temperature_raises():
    for tau in (0.0, -1.0):
        with pytest.raises(ValueError, match="temperature"):
            sampling.softmax_with_temperature(np.zeros(3), tau)


def test_sample_with_low_temperature_is_argmax():
    rng = np.random.default_rng(0)
    logits = np.array([0.2, -1.0, 2.5, 2.4])
    assert {sampling.sample_with_temperature(logits, 1e-3, rng) for _ in range(50)} == {2}


def test_sample_frequencies_match_probabilities():
    rng = np.random.default_rng(123)
    logits = np.log(np.array([0.1, 0.2, 0.3, 0.4]))
    draws = np.array([sampling.sample_with_temperature(logits, 1.0, rng) for _ in range(20000)])
    freq = np.bincount(draws, minlength=4) / draws.size
    assert np.allclose(freq, [0.1, 0.2, 0.3, 0.4], atol=0.015)
    assert isinstance(sampling.sample_with_temperature(logits, 1.0, rng), int)


def test_sample_is_reproducible_with_a_seeded_generator():
    logits = np.array([0.0, 0.5, 1.0])
    a = [sampling.sample_with_temperature(logits, 1.0, np.random.default_rng(5)) for _ in range(3)]
    r = np.random.default_rng(5)
    b = [sampling.sample_with_temperature(logits, 1.0, r) for _ in range(30)]
    r2 = np.random.default_rng(5)
    assert b == [sampling.sample_with_temperature(logits, 1.0, r2) for _ in range(30)]
    assert len(set(a)) == 1


# ---------------------------------------------------------------- forecasting
def test_make_windows_small_case():
    X, y = forecasting.make_windows(np.arange(6.0), 3)
    assert X.tolist() == [[0, 1, 2], [1, 2, 3], [2, 3, 4]] and y.tolist() == [3, 4, 5]
    with pytest.raises(ValueError, match="window"):
        forecasting.make_windows(np.arange(6.0), 6)
    with pytest.raises(ValueError, match="1-D"):
        forecasting.make_windows(np.zeros((3, 2)), 1)


def test_baselines_read_the_right_column():
    X = np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]])
    assert forecasting.persistence_forecast(X).tolist() == [4.0, 8.0]
    assert forecasting.seasonal_naive_forecast(X, 1).tolist() == [4.0, 8.0]
    assert forecasting.seasonal_naive_forecast(X, 4).tolist() == [1.0, 5.0]
    with pytest.raises(ValueError, match="season"):
        forecasting.seasonal_naive_forecast(X, 5)


def test_seasonal_naive_is_exact_on_a_periodic_series():
    s = np.tile([3.0, 1.0, 4.0, 1.0, 5.0], 6)
    X, y = forecasting.make_windows(s, 7)
    assert np.array_equal(forecasting.seasonal_naive_forecast(X, 5), y)
    assert not np.array_equal(forecasting.persistence_forecast(X), y)


# ---------------------------------------------------------------- char model
@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_char_model_shapes_and_parameter_names(cell):
    torch.manual_seed(0)
    m = char_model.CharModel(7, 5, 6, cell=cell)
    logits = m(torch.zeros(3, 4, dtype=torch.int64))
    assert logits.shape == (3, 4, 7)
    G = {"rnn": 1, "gru": 3, "lstm": 4}[cell]
    shapes = {k: tuple(v.shape) for k, v in m.state_dict().items()}
    assert shapes["embedding.weight"] == (7, 5) and shapes["rnn.weight_ih_l0"] == (G * 6, 5)
    assert shapes["rnn.weight_hh_l0"] == (G * 6, 6) and shapes["head.weight"] == (7, 6)


def test_char_model_state_continues_a_sequence():
    torch.manual_seed(1)
    m = char_model.CharModel(5, 4, 8, cell="lstm")
    idx = torch.tensor([[0, 3, 1, 4, 2]])
    whole = m(idx)
    first, state = m.forward_with_state(idx[:, :2])
    rest, _ = m.forward_with_state(idx[:, 2:], state)
    assert torch.allclose(torch.cat([first, rest], 1), whole, atol=1e-6)


def test_char_model_rejects_bad_input():
    with pytest.raises(ValueError, match="cell"):
        char_model.CharModel(5, 4, 8, cell="transformer")
    m = char_model.CharModel(5, 4, 8)
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        m(torch.zeros(4, dtype=torch.int64))


def test_train_step_learns_hello():
    torch.manual_seed(0)
    vocab = text.build_vocab("hello")
    ids = torch.from_numpy(text.encode("hello", vocab))[None]
    m = char_model.CharModel(len(vocab), 8, 16, cell="gru")
    opt = torch.optim.Adam(m.parameters(), lr=0.05)
    losses = [char_model.train_step(m, opt, ids[:, :-1], ids[:, 1:], 1.0)[0] for _ in range(60)]
    assert losses[-1] < 0.1 * losses[0]
    assert m(ids[:, :-1]).argmax(-1)[0].tolist() == ids[0, 1:].tolist()  # h->e, e->l, l->l, l->o


def test_train_step_returns_norm_before_clipping_and_clips():
    torch.manual_seed(0)
    m = char_model.CharModel(4, 3, 5, cell="rnn")
    opt = torch.optim.SGD(m.parameters(), lr=0.0)  # lr 0: the step leaves the weights, we look at the grads
    x = torch.tensor([[0, 1, 2, 3]])
    y = torch.tensor([[1, 2, 3, 0]])
    loss, norm = char_model.train_step(m, opt, x, y, max_norm=1e-3)
    total = torch.sqrt(sum((p.grad ** 2).sum() for p in m.parameters()))
    assert norm > 1e-3 and float(total) == pytest.approx(1e-3, rel=1e-3)
    expected = torch.nn.functional.cross_entropy(m(x)[0], y[0]).detach()
    assert loss == pytest.approx(float(expected), rel=1e-6)


def test_train_step_ignores_padding_targets():
    torch.manual_seed(0)
    m = char_model.CharModel(4, 3, 5, cell="gru")
    opt = torch.optim.SGD(m.parameters(), lr=0.0)
    x = torch.tensor([[0, 1, 2, 3]])
    loss_pad, _ = char_model.train_step(m, opt, x, torch.tensor([[1, 2, -100, -100]]), None)
    expected = torch.nn.functional.cross_entropy(m(x)[0, :2], torch.tensor([1, 2])).detach()
    assert loss_pad == pytest.approx(float(expected), rel=1e-6)
