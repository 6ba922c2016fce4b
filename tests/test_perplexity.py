"""Perplexity and nats per token (rnn_helpers.perplexity) against a direct transcription and torch's cross-entropy."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnn_helpers.perplexity import nats_per_token, perplexity


def padded_batch(seed, B=3, T=5, V=7):
    """Logits (B, T, V), targets (B, T) and a mask (B, T) whose rows have lengths T, T-2, 1."""
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((B, T, V)) * 2
    targets = rng.integers(0, V, size=(B, T))
    lengths = [T, T - 2, 1][:B]
    mask = (np.arange(T)[None, :] < np.array(lengths)[:, None]).astype(np.int64)
    log_softmax = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    log_probs = np.take_along_axis(log_softmax, targets[..., None], axis=-1)[..., 0]
    return logits, targets, mask, log_probs


@pytest.mark.parametrize("seed", range(4))
def test_direct_transcription(seed):
    _, _, mask, lp = padded_batch(seed)
    total, n = 0.0, 0
    for b in range(lp.shape[0]):
        for t in range(lp.shape[1]):
            if mask[b, t]:
                total += lp[b, t]
                n += 1
    assert nats_per_token(lp, mask) == pytest.approx(-total / n, rel=1e-12)
    assert perplexity(lp, mask) == pytest.approx(math.exp(-total / n), rel=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_equals_exp_of_torch_cross_entropy(seed):
    logits, targets, mask, lp = padded_batch(seed)
    ignored = np.where(mask == 1, targets, -100)  # torch's ignore_index marks the padding
    ce = F.cross_entropy(torch.from_numpy(logits).reshape(-1, logits.shape[-1]),
                         torch.from_numpy(ignored).reshape(-1), ignore_index=-100, reduction="mean")
    assert nats_per_token(lp, mask) == pytest.approx(ce.item(), rel=1e-12)
    assert perplexity(lp, mask) == pytest.approx(torch.exp(ce).item(), rel=1e-12)


def test_uniform_model_has_perplexity_V_and_a_sure_model_1():
    V = 11
    lp = np.full((2, 4), -math.log(V))
    assert perplexity(lp, np.ones((2, 4))) == pytest.approx(V, rel=1e-12)
    assert perplexity(np.zeros((2, 4)), np.ones((2, 4))) == 1.0


def test_padding_is_ignored_whatever_it_holds():
    lp = np.array([[-1.0, -2.0, -np.inf], [-0.5, np.nan, 7.0]])
    mask = np.array([[1, 1, 0], [1, 0, 0]], dtype=bool)
    assert nats_per_token(lp, mask) == pytest.approx(3.5 / 3)
    assert perplexity(lp.astype(np.float32), mask) == pytest.approx(math.exp(3.5 / 3), rel=1e-6)


def test_a_real_token_of_probability_zero_gives_infinite_perplexity():
    lp = np.array([[-1.0, -np.inf]])
    assert perplexity(lp, np.ones((1, 2))) == math.inf


@pytest.mark.parametrize("lp,mask,match", [
    (np.zeros((2, 3)), np.ones((2, 4)), r"mask has shape \(2, 4\); expected the shape of log_probs"),
    (np.zeros(3), np.ones(3), r"log_probs has shape \(3,\); expected \(B, T\)"),
    (np.zeros((2, 3)), np.zeros((2, 3)), "mask selects no token"),
    (np.zeros((1, 2)), np.array([[1, 2]]), "mask must hold only 0 and 1"),
    (np.zeros((1, 2)), np.array([[0.5, 1.0]]), "mask must hold only 0 and 1"),
    (np.array([[np.nan, 0.0]]), np.ones((1, 2)), "NaN or \\+inf"),
    (np.array([["a", "b"]]), np.ones((1, 2)), "dtype"),
])
def test_bad_input_raises_clear_errors(lp, mask, match):
    with pytest.raises(ValueError, match=match):
        perplexity(lp, mask)
    with pytest.raises(ValueError, match=match):
        nats_per_token(lp, mask)
