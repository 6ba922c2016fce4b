"""Turning tokens into numbers: one-hot vectors, bag-of-words counts, and padding variable-length sequences.

Used in: chapters 01 (motivation), 02 (simple RNN), 03 (BPTT), 06 (applications); exercise 01 grades against it.
"""
from __future__ import annotations

import numpy as np


def one_hot(idx, num_classes):
    """One-hot encoding.

    Inputs: idx integer array of any shape ``S`` with values in ``[0, V)``; num_classes V.
    Returns a float64 array of shape ``S + (V,)`` with a single 1 per position.
    """
    idx = np.asarray(idx)
    if idx.dtype.kind not in "iu":
        raise ValueError(f"idx has dtype {idx.dtype}; expected integers")
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        raise ValueError(f"idx has values in [{idx.min()}, {idx.max()}]; expected [0, num_classes) = [0, {num_classes})")
    return np.eye(num_classes, dtype=np.float64)[idx]


def bag_of_words(tokens, vocab):
    """Word counts, in vocabulary order; the order of the words is lost (the point of the motivation chapter).

    Inputs:
    - tokens: a list of tokens, or a string (split on whitespace)
    - vocab: dict token -> index in ``[0, V)``

    Returns a float64 count vector, ``(V,)``. Tokens not in ``vocab`` are ignored.
    """
    if isinstance(tokens, str):
        tokens = tokens.split()
    V = max(vocab.values(), default=-1) + 1
    counts = np.zeros(V, dtype=np.float64)
    for tok in tokens:
        j = vocab.get(tok)
        if j is not None:
            counts[j] += 1
    return counts


def pad_sequences(seqs, pad_value=0):
    """Right-pad integer sequences of different lengths into one batch, with a mask of the real positions.

    Inputs:
    - seqs: list of B one-dimensional integer sequences (lists or arrays), lengths T_1..T_B
    - pad_value: the id written into padded positions

    Returns:
    - padded: ``(B, Tmax)`` int64, ``padded[b, :T_b] = seqs[b]``
    - mask: ``(B, Tmax)`` bool, True on real positions (``mask.sum(1)`` gives the lengths)
    """
    arrays = [np.asarray(s) for s in seqs]
    for b, a in enumerate(arrays):
        if a.ndim != 1 or (a.size and a.dtype.kind not in "iu"):
            raise ValueError(f"seqs[{b}] has shape {a.shape} and dtype {a.dtype}; expected a 1-D integer sequence")
    T = max((a.size for a in arrays), default=0)
    padded = np.full((len(arrays), T), pad_value, dtype=np.int64)
    mask = np.zeros((len(arrays), T), dtype=bool)
    for b, a in enumerate(arrays):
        padded[b, : a.size] = a
        mask[b, : a.size] = True
    return padded, mask
