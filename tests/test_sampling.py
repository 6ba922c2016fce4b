"""``rnn_helpers.sampling`` (chapter 06, graded): softmax with a temperature and sampling from it, on small fixed
cases and seeded draws."""
import numpy as np
import pytest

from rnn_helpers import sampling


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
