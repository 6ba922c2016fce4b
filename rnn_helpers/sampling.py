"""Drawing the next character from a model's scores, with a temperature.

Dividing the logits by a temperature tau before the softmax,

    p_k = exp(z_k / tau) / sum_j exp(z_j / tau),

keeps the ranking of the characters but changes how peaked the distribution is: tau -> 0 puts
all the mass on the largest logit (greedy decoding), tau = 1 is the model's own distribution, and
tau -> infinity tends to the uniform distribution.

Used in: chapter 06 (applications); exercise 06 grades against it.
"""
from __future__ import annotations

import numpy as np


def softmax_with_temperature(logits, temperature: float) -> np.ndarray:
    """Softmax of ``logits / temperature`` over the last axis.

    Inputs:
    - logits: array of shape (V,) (or (..., V): the softmax runs over the last axis).
    - temperature: float > 0.

    Returns:
    - probs: float64 array, same shape as logits, non-negative, summing to 1 over the last axis.
    """
    if not np.isscalar(temperature) or not temperature > 0:
        raise ValueError(f"temperature must be a positive number, got {temperature!r}")
    z = np.asarray(logits, dtype=np.float64) / float(temperature)
    if z.ndim == 0:
        raise ValueError("logits must have shape (V,), got a scalar")
    z = z - z.max(axis=-1, keepdims=True)  # exp never overflows; the result is unchanged
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def sample_with_temperature(logits, temperature: float, rng: np.random.Generator) -> int:
    """Draw one index from ``softmax_with_temperature(logits, temperature)``.

    Inputs:
    - logits: array of shape (V,).
    - temperature: float > 0.
    - rng: a ``numpy.random.Generator``; exactly one draw is taken from it, as
      ``rng.choice(V, p=probs)``, so a seeded generator gives a reproducible sequence.

    Returns:
    - k: int in [0, V).
    """
    logits = np.asarray(logits)
    if logits.ndim != 1:
        raise ValueError(f"logits must have shape (V,), got {logits.shape}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    probs = softmax_with_temperature(logits, temperature)
    return int(rng.choice(probs.shape[0], p=probs))
