"""Short reviews whose sentiment depends on negation and on word order.

Every review is an optional opening ("the film was", ...) followed by one of six patterns over
a positive adjective P and a negative adjective N (label 1 = positive, 0 = negative):

====================  ============================  =====================================
pattern               example                       label
====================  ============================  =====================================
plain                 "good"                        polarity of the adjective
negated               "not good"                    the opposite polarity
contrast              "good, not bad"               polarity of the first adjective
but                   "good but boring"             polarity of the second adjective
not_but               "not bad but great"           polarity of the second adjective
not_only              "not only good but great"     polarity of both (they agree)
====================  ============================  =====================================

In the contrast, but and not_but patterns the two adjectives have opposite polarities, so swapping
them keeps every word and flips the label: a bag of words cannot tell the two reviews apart, a
model that reads in order can. ``make_order_pairs`` makes exactly such pairs.

Used in: chapter 06 (applications).
"""
from __future__ import annotations

import re

import numpy as np

POSITIVE = ("good", "great", "fine", "nice", "excellent", "superb", "lovely", "brilliant")
NEGATIVE = ("bad", "awful", "poor", "boring", "terrible", "dull", "weak", "dreadful")
OPENINGS = ("", "the film was", "the movie is", "the plot was", "the acting was", "the ending felt",
            "the music is", "this book was", "the cast seemed")
PATTERNS = ("plain", "negated", "contrast", "but", "not_but", "not_only")
ORDER_PATTERNS = ("contrast", "but", "not_but")  # swapping the two adjectives flips the label
VOCAB = tuple(sorted({",", "not", "only", "but", *POSITIVE, *NEGATIVE,
                      *(w for o in OPENINGS for w in o.split())}))


def tokenize(text: str) -> list[str]:
    """Words and commas: "good, not bad" -> ["good", ",", "not", "bad"]."""
    return re.findall(r"[a-z]+|,", text.lower())


def _render(opening: str, pattern: str, a: str, b: str) -> str:
    body = {"plain": f"{a}", "negated": f"not {a}", "contrast": f"{a}, not {b}", "but": f"{a} but {b}",
            "not_but": f"not {a} but {b}", "not_only": f"not only {a} but {b}"}[pattern]
    return f"{opening} {body}".strip()


def _label(pattern: str, a_positive: bool) -> int:
    # a is the first adjective; in the two-adjective patterns b has the opposite polarity, except not_only
    if pattern in ("plain", "contrast", "not_only"):
        return int(a_positive)
    return int(not a_positive)  # negated; but and not_but follow the second adjective, which is opposite to a


def _draw(rng: np.random.Generator, pattern: str) -> tuple[str, str, str, bool]:
    opening = OPENINGS[rng.integers(len(OPENINGS))]
    a_positive = bool(rng.integers(2))
    first, other = (POSITIVE, NEGATIVE) if a_positive else (NEGATIVE, POSITIVE)
    a = first[rng.integers(len(first))]
    if pattern == "not_only":  # two different adjectives of the same polarity
        b = first[(first.index(a) + 1 + rng.integers(len(first) - 1)) % len(first)]
    else:
        b = other[rng.integers(len(other))]
    return opening, a, b, a_positive


def make_reviews(n: int, *, seed: int, patterns=PATTERNS) -> tuple[list[str], np.ndarray]:
    """n reviews, each pattern equally likely, drawn with a seeded numpy Generator.

    Inputs:
    - n: number of reviews (>= 1).
    - seed: int seed (same seed, same reviews).
    - patterns: the patterns to draw from (default: all six of ``PATTERNS``).

    Returns:
    - texts: list of n strings, e.g. "the film was good, not bad".
    - labels: int64 array (n,), 1 = positive, 0 = negative.
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    unknown = set(patterns) - set(PATTERNS)
    if unknown or not patterns:
        raise ValueError(f"patterns must be a non-empty subset of {PATTERNS}, got {patterns!r}")
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(n):
        pattern = patterns[rng.integers(len(patterns))]
        opening, a, b, a_positive = _draw(rng, pattern)
        texts.append(_render(opening, pattern, a, b))
        labels.append(_label(pattern, a_positive))
    return texts, np.array(labels, dtype=np.int64)


def make_order_pairs(n: int, *, seed: int) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """n pairs of reviews made of the same words in a different order, with opposite labels.

    Each pair uses one of ``ORDER_PATTERNS`` and swaps its two adjectives:
    ("good, not bad", "bad, not good"), ("good but dull", "dull but good"), ...

    Returns:
    - first, second: two lists of n strings; first[k] and second[k] hold the same multiset of words.
    - labels_first, labels_second: int64 arrays (n,), labels_second == 1 - labels_first.
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    rng = np.random.default_rng(seed)
    first, second, lab1, lab2 = [], [], [], []
    for _ in range(n):
        pattern = ORDER_PATTERNS[rng.integers(len(ORDER_PATTERNS))]
        opening, a, b, a_positive = _draw(rng, pattern)
        first.append(_render(opening, pattern, a, b))
        second.append(_render(opening, pattern, b, a))
        lab1.append(_label(pattern, a_positive))
        lab2.append(_label(pattern, not a_positive))
    return first, second, np.array(lab1, dtype=np.int64), np.array(lab2, dtype=np.int64)


def encode_reviews(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Token ids (id 0 is padding, word w has id 1 + VOCAB.index(w)) and lengths.

    Returns:
    - ids: int64 array (n, T_max), right-padded with 0.
    - lengths: int64 array (n,), the number of tokens of each review.
    """
    index = {w: i + 1 for i, w in enumerate(VOCAB)}
    rows = [[index[w] for w in tokenize(t)] for t in texts]
    lengths = np.array([len(r) for r in rows], dtype=np.int64)
    if lengths.size and lengths.min() == 0:
        raise ValueError("every review needs at least one token")
    ids = np.zeros((len(rows), int(lengths.max()) if rows else 0), dtype=np.int64)
    for k, r in enumerate(rows):
        ids[k, : len(r)] = r
    return ids, lengths
