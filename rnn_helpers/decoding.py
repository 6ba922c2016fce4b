"""Decoding a sequence from a next-token model: greedy search and beam search (chapter 06, sequence to sequence).

A decoder that has been trained with teacher forcing gives, for any prefix ``(bos, y_1, ..., y_{t-1})``, the
log-probabilities of the next token, log p(y_t | y_<t). Both functions below only see that as a *step function*::

    step(prefix: tuple[int, ...]) -> np.ndarray of shape (V,)    # log p(next token = v | prefix), v in [0, V)

``prefix`` always starts with ``bos``; the model behind ``step`` (an encoder-decoder with its source sentence, a
language model, a table in a test) is the caller's business. A hypothesis y = (y_1, ..., y_L) ends when it
produces ``eos`` (which it keeps, and which counts in its length L) or when it reaches ``max_len`` tokens. Its score is

    s(y) = (1 / L**alpha) * sum_{t=1..L} log p(y_t | bos, y_1, ..., y_{t-1})

alpha = 0 is the plain log-probability of the sequence, which favours short outputs because every token adds a
negative term; alpha = 1 is the mean log-probability per token. This is the length normalisation of Wu et al. (2016,
Google's NMT system), simplified: they divide by ((5 + L) / 6)**alpha; we divide by L**alpha.

Ties are broken deterministically: among equal scores the lexicographically smaller token sequence wins (Python's
tuple order, so a sequence comes before its own extensions). For the greedy search this means the smallest token
index among the most probable ones.

Used in: chapter 06 (applications); exercise 06 grades against it.
"""
from __future__ import annotations

import math
import operator

import numpy as np

from rnn_helpers._validate import as_array, check_ndim


def _int_arg(name: str, value, minimum: int) -> int:
    try:
        v = operator.index(value)  # accepts int and numpy integers; refuses floats, even 2.0
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}") from None
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, got the bool {value!r}")
    if v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {v}")
    return v


def _call_step(step, prefix: tuple, eos: int, vocab_size: int | None) -> np.ndarray:
    """``step(prefix)`` as a float64 array of shape (V,), checked: same V at every call, eos < V, no NaN or +inf."""
    name = f"the output of step{prefix}"
    out = as_array(name, step(prefix)).astype(np.float64)
    check_ndim(name, out, ("V",), "one next-token log-probability per token of the vocabulary")
    if out.shape[0] == 0:
        raise ValueError(f"{name} is empty; expected (V,) with V >= 1")
    if vocab_size is not None and out.shape[0] != vocab_size:
        raise ValueError(f"step{prefix} returned {out.shape[0]} log-probabilities; "
                         f"earlier calls returned V={vocab_size}")
    if not eos < out.shape[0]:
        raise ValueError(f"eos is {eos} but step returns only V={out.shape[0]} log-probabilities "
                         f"(tokens 0..{out.shape[0] - 1})")
    if np.isnan(out).any() or np.isposinf(out).any():
        raise ValueError(f"step{prefix} returned NaN or +inf; expected log-probabilities (finite or -inf)")
    return out


def _normalised(total: float, length: int, alpha: float) -> float:
    """s = total / length**alpha (length >= 1 counts eos)."""
    return total / length ** alpha


def _check_common(bos, eos, max_len, alpha):
    bos = _int_arg("bos", bos, 0)
    eos = _int_arg("eos", eos, 0)
    max_len = _int_arg("max_len", max_len, 1)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)):
        raise TypeError(f"alpha must be a real number, got {type(alpha).__name__} {alpha!r}")
    alpha = float(alpha)
    if not math.isfinite(alpha) or alpha < 0:
        raise ValueError(f"alpha must be a finite number >= 0, got {alpha}")
    return bos, eos, max_len, alpha


def greedy_decode(step, bos: int, eos: int, max_len: int, alpha: float = 0.0):
    """Greedy decoding: at every step take the most probable next token, y_t = argmax_v log p(v | bos, y_<t).

    Inputs:
    - step: callable, step(prefix: tuple[int, ...]) -> array (V,) of next-token log-probabilities; prefix starts
      with bos and holds the tokens chosen so far.
    - bos: int >= 0, the start token given to step (not part of the output).
    - eos: int in [0, V), the end token; decoding stops after producing it.
    - max_len: int >= 1, the most tokens produced (eos included).
    - alpha: float >= 0, only rescales the returned score (see the module docstring); the greedy choices do not
      depend on it.

    Returns:
    - tokens: tuple of L ints (1 <= L <= max_len), without bos; ends with eos unless max_len was reached first.
    - score: float, sum_t log p(y_t | y_<t) / L**alpha.

    Ties: the smallest token index among the most probable ones, so greedy_decode equals beam_search with
    beam_width=1 exactly.
    """
    bos, eos, max_len, alpha = _check_common(bos, eos, max_len, alpha)
    if not callable(step):
        raise TypeError(f"step must be callable, got {type(step).__name__}")
    tokens: tuple = ()
    total = 0.0
    vocab_size = None
    while len(tokens) < max_len and (not tokens or tokens[-1] != eos):
        logp = _call_step(step, (bos,) + tokens, eos, vocab_size)
        vocab_size = logp.shape[0]
        # argmax of the running total rather than of logp: the same choice in exact arithmetic, and it keeps the
        # tie-break identical to beam_search's even when rounding (or a -inf total) makes two sums equal.
        v = int(np.argmax(total + logp))  # np.argmax returns the first (smallest) index among ties
        total = float(total + logp[v])
        tokens = tokens + (v,)
    return tokens, _normalised(total, len(tokens), alpha)


def beam_search(step, bos: int, eos: int, beam_width: int, max_len: int, alpha: float = 0.0):
    """Beam search: keep the beam_width most probable prefixes at every step; return the best finished hypothesis.

    At step t every live prefix y_<t is extended by every token v, with log-probability
    log p(y_<t, v) = log p(y_<t) + log p(v | bos, y_<t). Of these V * (live prefixes) candidates the beam_width
    with the largest log-probability are kept (all candidates have length t, so dividing by t**alpha would not change
    the ranking). A kept candidate that ends with eos is finished and leaves the beam, so the beam can shrink; the
    others are extended at step t + 1. After max_len steps the remaining prefixes are finished as they are. The
    result is the finished hypothesis with the largest length-normalised score s(y) = log p(y) / L**alpha.

    With beam_width >= V * (V - 1)**(max_len - 1) nothing is ever pruned and the search is exhaustive: it returns
    the best of all sequences that stop at their first eos or at max_len tokens. With beam_width = 1 it is
    greedy_decode.

    Inputs:
    - step: callable, step(prefix: tuple[int, ...]) -> array (V,) of next-token log-probabilities; prefix starts
      with bos. It is called once per live prefix per step.
    - bos: int >= 0, the start token given to step (not part of the output).
    - eos: int in [0, V), the end token.
    - beam_width: int >= 1, the number k of candidates kept at every step.
    - max_len: int >= 1, the most tokens in a hypothesis (eos included).
    - alpha: float >= 0, the length-normalisation exponent (0: plain sum of log-probabilities).

    Returns:
    - tokens: tuple of L ints (1 <= L <= max_len), without bos; ends with eos unless max_len was reached first.
    - score: float, sum_t log p(y_t | y_<t) / L**alpha of that hypothesis.

    Ties (equal log-probabilities when pruning, equal scores when choosing the result): the lexicographically
    smaller token sequence wins.
    """
    bos, eos, max_len, alpha = _check_common(bos, eos, max_len, alpha)
    beam_width = _int_arg("beam_width", beam_width, 1)
    if not callable(step):
        raise TypeError(f"step must be callable, got {type(step).__name__}")
    live = [((), 0.0)]  # (tokens without bos, log-probability of those tokens)
    finished = []
    vocab_size = None
    for _ in range(max_len):
        candidates = []
        for tokens, total in live:
            logp = _call_step(step, (bos,) + tokens, eos, vocab_size)
            vocab_size = logp.shape[0]
            candidates.extend((tokens + (v,), float(total + logp[v])) for v in range(vocab_size))
        candidates.sort(key=lambda c: (-c[1], c[0]))  # most probable first; ties: smaller sequence first
        live = []
        for tokens, total in candidates[:beam_width]:
            (finished if tokens[-1] == eos else live).append((tokens, total))
        if not live:
            break
    finished.extend(live)  # prefixes that reached max_len without eos
    scored = [(tokens, _normalised(total, len(tokens), alpha)) for tokens, total in finished]
    return min(scored, key=lambda c: (-c[1], c[0]))
