"""Greedy and beam search (rnn_helpers.decoding) against brute-force enumeration on tiny vocabularies.

The step functions are tables: the next-token log-probabilities of every prefix are a seeded log-softmax, drawn
from a generator seeded by (seed, prefix), so they depend on the whole prefix the way a real decoder's do.
"""
import itertools
import math

import numpy as np
import pytest

from rnn_helpers.decoding import beam_search, greedy_decode

BOS = 9  # outside the vocabulary on purpose: step only sees it as the first entry of the prefix


def table_step(seed, V, peaked=1.0):
    def step(prefix):
        assert prefix[0] == BOS
        z = peaked * np.random.default_rng([seed, *prefix]).standard_normal(V)
        return z - np.log(np.exp(z).sum())  # log-softmax
    return step


def all_hypotheses(V, eos, max_len):
    """Every sequence that stops at its first eos or at max_len tokens."""
    for L in range(1, max_len + 1):
        for seq in itertools.product(range(V), repeat=L):
            if eos in seq[:-1]:
                continue
            if L < max_len and seq[-1] != eos:
                continue
            yield seq


def brute_force(step, eos, V, max_len, alpha):
    best = None
    for seq in all_hypotheses(V, eos, max_len):
        total = 0.0
        for t, v in enumerate(seq):  # left to right, the order in which the searches accumulate
            total = float(total + step((BOS,) + seq[:t])[v])
        key = (-(total / len(seq) ** alpha), seq)
        best = key if best is None or key < best else best
    return best[1], -best[0]


@pytest.mark.parametrize("V,max_len", [(3, 4), (4, 3), (2, 5)])
@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0, 2.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exhaustive_beam_equals_brute_force(V, max_len, alpha, seed):
    eos = seed % V
    step = table_step(seed, V)
    exhaustive = V * (V - 1) ** (max_len - 1)  # the most candidates any step can have
    expected = brute_force(step, eos, V, max_len, alpha)
    for width in (exhaustive, exhaustive + 5):
        tokens, score = beam_search(step, BOS, eos, width, max_len, alpha=alpha)
        assert tokens == expected[0]
        assert score == pytest.approx(expected[1], rel=1e-12, abs=1e-12)


def test_alpha_changes_the_answer_towards_longer_outputs():
    # on some seeded table, the plain sum prefers a shorter output than the per-token mean: check that the search
    # follows the brute force in both cases and that the lengths differ somewhere (else alpha would be untested)
    lengths = set()
    for seed in range(30):
        step = table_step(seed, 3)
        short = beam_search(step, BOS, 0, 100, 4, alpha=0.0)[0]
        long_ = beam_search(step, BOS, 0, 100, 4, alpha=1.0)[0]
        assert short == brute_force(step, 0, 3, 4, 0.0)[0] and long_ == brute_force(step, 0, 3, 4, 1.0)[0]
        assert len(long_) >= len(short)
        lengths.add(len(long_) - len(short))
    assert max(lengths) > 0


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("alpha", [0.0, 0.7])
def test_beam_width_one_is_greedy(seed, alpha):
    V, eos = 4, 1
    step = table_step(seed, V, peaked=0.5)
    assert beam_search(step, BOS, eos, 1, 6, alpha=alpha) == greedy_decode(step, BOS, eos, 6, alpha=alpha)


def test_greedy_by_hand():
    # p(. | bos) = (0.1, 0.6, 0.3): take 1; p(. | bos, 1) = (0.5, 0.2, 0.3): take eos = 0
    table = {(BOS,): [0.1, 0.6, 0.3], (BOS, 1): [0.5, 0.2, 0.3]}
    step = lambda prefix: np.log(table[prefix])
    tokens, score = greedy_decode(step, BOS, 0, 5)
    assert tokens == (1, 0)
    assert score == pytest.approx(math.log(0.6) + math.log(0.5))
    tokens, score = greedy_decode(step, BOS, 0, 5, alpha=1.0)
    assert score == pytest.approx((math.log(0.6) + math.log(0.5)) / 2)


def test_greedy_stops_at_max_len_without_eos():
    step = lambda prefix: np.log([0.1, 0.9])  # eos = 0 is never the most probable
    tokens, score = greedy_decode(step, BOS, 0, 3)
    assert tokens == (1, 1, 1)
    assert score == pytest.approx(3 * math.log(0.9))


def test_beam_finds_what_greedy_misses():
    # greedy takes 1 (0.5) then anything ends at 0.5 * 0.4; the beam keeps 2 (0.4), whose eos has probability 0.9
    eos = 0
    table = {(BOS,): [0.1, 0.5, 0.4], (BOS, 1): [0.4, 0.3, 0.3], (BOS, 2): [0.9, 0.05, 0.05]}
    step = lambda prefix: np.log(table[prefix]) if prefix in table else np.log([1.0, 1e-9, 1e-9])
    assert greedy_decode(step, BOS, eos, 2)[0] == (1, 0)
    tokens, score = beam_search(step, BOS, eos, 2, 2)
    assert tokens == (2, 0)
    assert score == pytest.approx(math.log(0.4 * 0.9))


def test_ties_go_to_the_lexicographically_smaller_sequence():
    eos = 0
    # tokens 1 and 2 equally likely, then both end with the same probability: (1, 0) beats (2, 0)
    step = lambda prefix: np.log([0.2, 0.4, 0.4]) if len(prefix) == 1 else np.log([1.0, 0.0, 0.0])
    with np.errstate(divide="ignore"):
        assert greedy_decode(step, BOS, eos, 3)[0] == (1, 0)
        for width in (1, 2, 3, 50):
            assert beam_search(step, BOS, eos, width, 3)[0] == (1, 0)
    # a tie between finished hypotheses of different lengths: (0,) has log 0.25, (1, 0) has 0.5 * 0.5
    step = lambda prefix: np.log([0.25, 0.5, 0.25]) if len(prefix) == 1 else np.log([0.5, 0.25, 0.25])
    assert math.log(0.5) + math.log(0.5) == math.log(0.25)  # an exact tie in floating point
    tokens, score = beam_search(step, BOS, eos, 9, 2)
    assert tokens == (0,)  # (0,) < (1, 0) in tuple order
    assert score == math.log(0.25)


def test_pruning_ties_keep_the_smaller_sequence():
    # width 1 and three equally likely first tokens, of which only 2 leads to a likely end: the tie-break keeps 0
    # (eos, finished at once) and never sees 2
    step = lambda prefix: np.log([1 / 3, 1 / 3, 1 / 3]) if len(prefix) == 1 else np.log([0.98, 0.01, 0.01])
    assert beam_search(step, BOS, 0, 1, 3)[0] == (0,)


def test_minus_inf_log_probabilities_are_allowed():
    step = lambda prefix: np.array([-np.inf, 0.0, -np.inf])  # token 1 with probability 1
    assert beam_search(step, BOS, 0, 3, 4) == ((1, 1, 1, 1), 0.0)
    assert greedy_decode(step, BOS, 0, 4) == ((1, 1, 1, 1), 0.0)


def test_step_sees_the_prefix_with_bos():
    seen = []
    def step(prefix):
        seen.append(prefix)
        return np.log([0.3, 0.7])
    beam_search(step, BOS, 0, 2, 3)
    assert seen[0] == (BOS,)
    assert all(p[0] == BOS and all(isinstance(v, int) for v in p) for p in seen)
    assert (BOS, 0) not in seen  # a finished hypothesis is not extended


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(beam_width=0), ValueError, "beam_width must be >= 1"),
    (dict(beam_width=2.0), TypeError, "beam_width must be an integer"),
    (dict(max_len=0), ValueError, "max_len must be >= 1"),
    (dict(alpha=-1.0), ValueError, "alpha must be a finite number >= 0"),
    (dict(alpha=float("nan")), ValueError, "alpha"),
    (dict(eos=-1), ValueError, "eos must be >= 0"),
    (dict(eos=3), ValueError, "eos is 3 but step returns only V=3"),
    (dict(bos=True), TypeError, "bos must be an integer"),
    (dict(step="not callable"), TypeError, "step must be callable"),
])
def test_bad_arguments_raise_clear_errors(kwargs, exc, match):
    args = dict(step=lambda p: np.log([0.2, 0.3, 0.5]), bos=BOS, eos=0, beam_width=2, max_len=3, alpha=0.0)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        beam_search(**args)
    args.pop("beam_width")
    if "beam_width" not in kwargs:
        with pytest.raises(exc, match=match):
            greedy_decode(**args)


@pytest.mark.parametrize("bad,match", [
    (lambda p: np.zeros((2, 3)), r"shape \(2, 3\); expected \(V,\)"),
    (lambda p: np.array([0.0, np.nan, -1.0]), "NaN or \\+inf"),
    (lambda p: np.log([0.5, 0.5]) if len(p) == 1 else np.log([0.2, 0.3, 0.5]), "earlier calls returned V=2"),
    (lambda p: np.array(["a", "b"]), "dtype"),
])
def test_bad_step_outputs_raise_clear_errors(bad, match):
    # eos = 1: the first choice is token 0, so both searches call step a second time
    with pytest.raises(ValueError, match=match):
        beam_search(bad, BOS, 1, 2, 3)
    with pytest.raises(ValueError, match=match):
        greedy_decode(bad, BOS, 1, 3)
