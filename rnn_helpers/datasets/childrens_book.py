"""The children's book of the LSTM walk-through: "Doug saw Jane. Jane saw Spot. Spot saw Doug. ..."

The dictionary has five words, {Doug, Jane, Spot, saw, .}. Every sentence is "<name> saw <name> ."
with two different names, so after "Doug saw" the next word is Jane or Spot, never Doug: to predict
it a model must remember who the subject was, which is the job of an LSTM's cell state.

Used in: chapter 06 (applications).
"""
from __future__ import annotations

import numpy as np

NAMES = ("Doug", "Jane", "Spot")
VOCAB = ("Doug", "Jane", "Spot", "saw", ".")


def tokenize(text: str) -> list[str]:
    """Split a story into words, the full stop being a word of its own: "Jane saw Spot." -> 4 tokens."""
    tokens = text.replace(".", " . ").split()
    unknown = sorted(set(tokens) - set(VOCAB))
    if unknown:
        raise ValueError(f"text has words outside the vocabulary {VOCAB}: {unknown}")
    return tokens


def make_sentences(n: int, *, seed: int) -> list[str]:
    """n sentences "<subject> saw <object>." with subject != object, drawn uniformly with a seed.

    Returns:
    - sentences: list of n strings such as "Jane saw Spot.".
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        subject, obj = rng.choice(len(NAMES), size=2, replace=False)
        out.append(f"{NAMES[subject]} saw {NAMES[obj]}.")
    return out


def encode_words(tokens: list[str]) -> np.ndarray:
    """Word ids in VOCAB order: int64 array of shape (len(tokens),)."""
    index = {w: i for i, w in enumerate(VOCAB)}
    try:
        return np.array([index[w] for w in tokens], dtype=np.int64)
    except KeyError as exc:
        raise ValueError(f"word {exc.args[0]!r} is not in the vocabulary {VOCAB}") from None
