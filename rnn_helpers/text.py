"""Characters to integer ids and back: the vocabulary of a character-level model.

A vocabulary is a plain sorted list of the distinct characters of a text, so that the id of a
character is its position in that list. Sorting makes the ids reproducible: the same text always
gives the same vocabulary, whatever order its characters first appear in.

Used in: chapter 06 (applications); exercise 06 grades against it.
"""
from __future__ import annotations

import numpy as np


def build_vocab(text: str) -> list[str]:
    """The sorted list of distinct characters of ``text``.

    Inputs:
    - text: a string (at least one character).

    Returns:
    - vocab: list of V single-character strings, sorted, no duplicates; ``vocab[i]`` is the
      character whose id is ``i``.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if not text:
        raise ValueError("text is empty: a vocabulary needs at least one character")
    return sorted(set(text))


def encode(text: str, vocab: list[str]) -> np.ndarray:
    """Map each character of ``text`` to its id in ``vocab``.

    Inputs:
    - text: a string of length T.
    - vocab: list of V distinct characters (as returned by ``build_vocab``).

    Returns:
    - ids: int64 array of shape (T,), ``ids[t] = vocab.index(text[t])``.
    """
    index = {ch: i for i, ch in enumerate(vocab)}
    unknown = sorted(set(text) - index.keys())
    if unknown:
        raise ValueError(f"text has characters that are not in vocab: {unknown!r}")
    return np.array([index[ch] for ch in text], dtype=np.int64)


def decode(ids, vocab: list[str]) -> str:
    """Map ids back to characters: the inverse of ``encode``.

    Inputs:
    - ids: 1-D sequence of T integer ids, each in [0, V).
    - vocab: list of V characters.

    Returns:
    - text: string of length T.
    """
    ids = np.asarray(ids)
    if ids.ndim != 1:
        raise ValueError(f"ids must be 1-D (T,), got shape {ids.shape}")
    if ids.size and (ids.min() < 0 or ids.max() >= len(vocab)):
        raise ValueError(f"ids must lie in [0, {len(vocab)}), got range [{ids.min()}, {ids.max()}]")
    return "".join(vocab[int(i)] for i in ids)
