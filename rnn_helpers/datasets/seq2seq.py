"""A seeded sequence-to-sequence task: reverse a string of symbols (chapter 06, sequence to sequence).

Each example is a string of ``length`` symbols drawn uniformly from ``ALPHABET``; its target is the same
string reversed ("cabd" -> "dbac"). The output has the input's length but not its order, and its first
symbol is the input's *last*: a decoder can only write it once the whole input has been read.

Ids: 0 is padding, 1 is <bos> (begin of sequence, the decoder's first input), 2 is <eos> (end of
sequence, the decoder's last target), and the symbols follow from 3. ``encode_batch`` builds the three
padded arrays an encoder-decoder trained with teacher forcing needs.

Used in: chapter 06 (applications).
"""
from __future__ import annotations

import numpy as np

from rnn_helpers.encoding import pad_sequences

ALPHABET = "abcdefghij"
PAD, BOS, EOS = 0, 1, 2
SPECIALS = ("<pad>", "<bos>", "<eos>")
VOCAB = SPECIALS + tuple(ALPHABET)


def make_reversal(n: int, min_len: int, max_len: int, *, seed: int):
    """n random strings with lengths uniform in [min_len, max_len], and their reversals.

    Inputs:
    - n: number of examples (>= 1).
    - min_len, max_len: shortest and longest string (1 <= min_len <= max_len).
    - seed: seed of the numpy Generator (same seed, same data). The symbols are ``ALPHABET``'s 10 letters.

    Returns:
    - sources: list of n strings.
    - targets: list of n strings, ``targets[k] == sources[k][::-1]``.
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if not (isinstance(min_len, (int, np.integer)) and isinstance(max_len, (int, np.integer))
            and 1 <= min_len <= max_len):
        raise ValueError(f"need 1 <= min_len <= max_len, got min_len={min_len!r}, max_len={max_len!r}")
    rng = np.random.default_rng(seed)
    lengths = rng.integers(min_len, max_len + 1, size=n)
    symbols = np.array(list(ALPHABET))
    sources = ["".join(symbols[rng.integers(0, len(ALPHABET), size=L)]) for L in lengths]
    return sources, [s[::-1] for s in sources]


def encode(s: str) -> list[int]:
    """Symbol ids of a string (no <bos>/<eos>): "abc" -> [3, 4, 5]."""
    try:
        return [VOCAB.index(c, len(SPECIALS)) for c in s]
    except ValueError:
        raise ValueError(f"{s!r} has a symbol outside {ALPHABET!r}") from None


def decode(ids) -> str:
    """The string of symbol ids, stopping at the first <eos> and skipping <bos> and padding."""
    out = []
    for i in ids:
        i = int(i)
        if i == EOS:
            break
        if i >= len(SPECIALS):
            out.append(VOCAB[i])
    return "".join(out)


def encode_batch(sources: list[str], targets: list[str]):
    """Padded id arrays for an encoder-decoder trained with teacher forcing.

    For a pair ("abc", "cba"):
    - src         = a b c                (encoder input; padded with 0 after its end)
    - dec_in      = <bos> c b a          (decoder input: the target shifted right by one)
    - dec_out     = c b a <eos>          (decoder target: what it must predict at each step)

    Returns:
    - src: int64 ``(N, S)``, S the longest source.
    - src_len: int64 ``(N,)``, the real source lengths.
    - dec_in: int64 ``(N, T)``, T = longest target + 1.
    - dec_out: int64 ``(N, T)``; padding positions hold 0 (``PAD``), which the loss masks out.
    """
    if len(sources) != len(targets) or not sources:
        raise ValueError(f"need as many targets as sources (>= 1), got {len(sources)} and {len(targets)}")
    src, src_mask = pad_sequences([encode(s) for s in sources], pad_value=PAD)
    tgt_ids = [encode(t) for t in targets]
    dec_in, _ = pad_sequences([[BOS, *ids] for ids in tgt_ids], pad_value=PAD)
    dec_out, _ = pad_sequences([[*ids, EOS] for ids in tgt_ids], pad_value=PAD)
    return src, src_mask.sum(1).astype(np.int64), dec_in, dec_out
