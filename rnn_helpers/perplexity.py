"""Perplexity of a sequence model, from the log-probabilities it gives the target tokens (chapter 06).

A language model (or a decoder under teacher forcing) assigns the target token y_{b,t} the probability
p_{b,t} = p(y_{b,t} | y_{b,<t}). Over the N = sum_{b,t} m_{b,t} real tokens of a padded batch (mask m = 1 on real
tokens, 0 on padding), the average negative log-likelihood is the cross-entropy in nats per token, and perplexity is
its exponential:

    nats_per_token = -(1/N) * sum_{b,t} m_{b,t} * log p_{b,t}
    perplexity     = exp(nats_per_token)

Perplexity is the size of a uniform distribution that would be as uncertain as the model: 1 for a model that is
always sure and right, V for the uniform model over V tokens. Bits per token is nats_per_token / ln 2.

Used in: chapter 06 (applications); exercise 06 grades against it.
"""
from __future__ import annotations

import numpy as np

from rnn_helpers._validate import as_array, check_ndim


def _checked(log_probs, mask):
    lp = as_array("log_probs", log_probs)
    check_ndim("log_probs", lp, ("B", "T"), "the log-probability of every target token of a padded batch")
    m = np.asarray(mask)
    if m.shape != lp.shape:
        raise ValueError(f"mask has shape {m.shape}; expected the shape of log_probs (B, T) = {lp.shape}")
    if m.dtype.kind not in "biuf" or not np.isin(m, (0, 1)).all():
        raise ValueError("mask must hold only 0 and 1 (1 marks a real token, 0 padding)")
    m = m.astype(bool)
    n = int(m.sum())
    if n == 0:
        raise ValueError("mask selects no token (all zeros): the average over zero tokens is undefined")
    real = lp[m].astype(np.float64)  # padding entries are ignored, whatever they hold (often -inf or garbage)
    if np.isnan(real).any() or np.isposinf(real).any():
        raise ValueError("log_probs holds NaN or +inf at a masked-in token; expected log-probabilities (<= 0 or -inf)")
    return real, n


def nats_per_token(log_probs, mask) -> float:
    """Average negative log-likelihood over the real tokens, -(1/N) sum m * log p, in nats.

    Inputs:
    - log_probs: array (B, T), natural-log probabilities log p_{b,t} the model gives the target tokens.
    - mask: array (B, T) of 0/1 (or bool), 1 on real tokens; at least one 1. Entries of log_probs where mask is 0
      are ignored.

    Returns:
    - float >= 0 for proper log-probabilities (inf if a real token has probability 0).
    """
    real, n = _checked(log_probs, mask)
    return float(-real.sum() / n)


def perplexity(log_probs, mask) -> float:
    """Perplexity exp(-(1/N) sum m * log p) over the real tokens of a padded batch.

    Inputs:
    - log_probs: array (B, T), natural-log probabilities log p_{b,t} the model gives the target tokens.
    - mask: array (B, T) of 0/1 (or bool), 1 on real tokens; at least one 1. Entries of log_probs where mask is 0
      are ignored.

    Returns:
    - float >= 1 for proper log-probabilities: exp(nats_per_token(log_probs, mask)).
    """
    return float(np.exp(nats_per_token(log_probs, mask)))
