"""Data generators and loaders of rnn_helpers.datasets: deterministic, labelled by their rules, right shapes."""
import re
import sys

import numpy as np
import pytest

from rnn_helpers.datasets import adding, childrens_book, names, sentiment, series


# ---------------------------------------------------------------- names
def test_names_read_from_the_installed_package_files():
    last = names.load_names("last")
    assert len(last) == 88799  # one line per surname in dist.all.last
    assert last[:3] == ["smith", "johnson", "williams"]  # most frequent first
    assert all(re.fullmatch(r"[a-z]+", n) for n in last)
    female, male, first = names.load_names("female"), names.load_names("male"), names.load_names("first")
    assert "mary" in female and "james" in male
    assert len(set(first)) == len(first) == len(set(female) | set(male))


def test_names_rejects_unknown_kind():
    with pytest.raises(ValueError, match="kind"):
        names.load_names("middle")


def test_split_names_is_seeded_and_disjoint():
    items = [f"n{i}" for i in range(100)]
    tr, va = names.split_names(items, 0.2, seed=3)
    assert len(va) == 20 and len(tr) == 80 and set(tr).isdisjoint(va) and set(tr) | set(va) == set(items)
    assert names.split_names(items, 0.2, seed=3) == (tr, va)
    assert names.split_names(items, 0.2, seed=4) != (tr, va)


def test_datasets_do_not_import_graded_modules():
    # The grading kernel has no text/sampling/forecasting/char_model; the loaders must not need them.
    for mod in (adding, childrens_book, names, sentiment, series):
        src = open(mod.__file__).read()
        for graded in ("text", "sampling", "forecasting", "char_model"):
            assert not re.search(rf"rnn_helpers(\.|\s+import\s+){graded}\b", src), (mod.__name__, graded)


# ---------------------------------------------------------------- sentiment
def _rule_label(text):
    return _rule(text)[0]


def _rule(text):
    """The negation rules written out independently of the generator: (label, pattern)."""
    pos, neg = set(sentiment.POSITIVE), set(sentiment.NEGATIVE)
    adjs = [w for w in sentiment.tokenize(text) if w in pos | neg]
    body = " ".join(w for w in sentiment.tokenize(text) if w in pos | neg | {"not", "only", "but", ","})
    polar = [1 if a in pos else 0 for a in adjs]
    if re.fullmatch(r"\w+", body):
        return polar[0], "plain"
    if re.fullmatch(r"not \w+", body):
        return 1 - polar[0], "negated"
    if re.fullmatch(r"\w+ , not \w+", body):
        assert polar[0] != polar[1]
        return polar[0], "contrast"
    if re.fullmatch(r"not only \w+ but \w+", body):
        assert polar[0] == polar[1]
        return polar[0], "not_only"
    if re.fullmatch(r"(not )?\w+ but \w+", body):
        assert polar[0] != polar[1]
        return polar[1], "not_but" if body.startswith("not") else "but"
    raise AssertionError(f"unexpected review {text!r}")


def test_sentiment_examples_from_the_motivation():
    # The three examples of chapter 01, with the labels a reader gives them.
    assert _rule_label("good, not bad") == 1 and _rule_label("bad, not good") == 0
    assert _rule_label("not only good but great") == 1


def test_sentiment_labels_follow_the_negation_rules():
    texts, labels = sentiment.make_reviews(600, seed=0)
    assert labels.shape == (600,) and labels.dtype == np.int64
    assert [_rule_label(t) for t in texts] == labels.tolist()
    assert 0.4 < labels.mean() < 0.6
    assert {_rule(t)[1] for t in texts} == set(sentiment.PATTERNS)


def test_sentiment_is_deterministic_with_a_seed():
    assert sentiment.make_reviews(50, seed=7)[0] == sentiment.make_reviews(50, seed=7)[0]
    assert sentiment.make_reviews(50, seed=7)[0] != sentiment.make_reviews(50, seed=8)[0]


def test_order_pairs_have_the_same_words_and_opposite_labels():
    a, b, la, lb = sentiment.make_order_pairs(200, seed=1)
    for x, y in zip(a, b):
        assert x != y and sorted(sentiment.tokenize(x)) == sorted(sentiment.tokenize(y))
    assert np.array_equal(lb, 1 - la)
    assert [_rule_label(t) for t in a] == la.tolist() and [_rule_label(t) for t in b] == lb.tolist()


def test_encode_reviews_pads_with_zero():
    ids, lengths = sentiment.encode_reviews(["good, not bad", "bad"])
    assert ids.shape == (2, 4) and lengths.tolist() == [4, 1]
    assert ids[1, 1:].tolist() == [0, 0, 0] and ids.min() >= 0 and ids[0].min() >= 1
    assert ids[0, 0] == ids[1, 0] + (sentiment.VOCAB.index("good") - sentiment.VOCAB.index("bad"))


# ---------------------------------------------------------------- adding problem
def test_adding_shapes_markers_and_targets():
    X, y = adding.adding_problem(64, 30, seed=0)
    assert X.shape == (64, 30, 2) and y.shape == (64,)
    assert np.all(X[..., 1].sum(axis=1) == 2)
    assert np.all(X[:, :15, 1].sum(axis=1) == 1) and np.all(X[:, 15:, 1].sum(axis=1) == 1)
    assert np.allclose(y, (X[..., 0] * X[..., 1]).sum(axis=1))
    assert np.all((X[..., 0] >= 0) & (X[..., 0] < 1))


def test_adding_trivial_baseline_is_one_sixth():
    _, y = adding.adding_problem(20000, 10, seed=1)
    assert abs(np.mean((y - 1.0) ** 2) - 1 / 6) < 0.01
    assert adding.TRIVIAL_MSE == pytest.approx(0.1667, abs=1e-4)


def test_adding_is_deterministic_and_validates():
    X1, y1 = adding.adding_problem(5, 8, seed=2)
    X2, y2 = adding.adding_problem(5, 8, seed=2)
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)
    assert not np.array_equal(X1, adding.adding_problem(5, 8, seed=3)[0])
    with pytest.raises(ValueError, match="T"):
        adding.adding_problem(5, 1, seed=0)


# ---------------------------------------------------------------- children's book
def test_childrens_book_sentences():
    s = childrens_book.make_sentences(300, seed=0)
    assert s == childrens_book.make_sentences(300, seed=0)
    for sentence in s:
        subject, verb, obj, stop = childrens_book.tokenize(sentence)
        assert verb == "saw" and stop == "." and subject != obj
        assert {subject, obj} <= set(childrens_book.NAMES)
    assert len(set(s)) == 6  # all ordered pairs of distinct names appear
    ids = childrens_book.encode_words(childrens_book.tokenize("Jane saw Spot. Doug"))
    assert ids.tolist() == [1, 3, 2, 4, 0]
    with pytest.raises(ValueError, match="vocabulary"):
        childrens_book.tokenize("Jane saw Bob.")


# ---------------------------------------------------------------- series
def test_sunspots_and_co2_load_offline():
    years, spots = series.load_sunspots()
    assert years.shape == spots.shape == (309,) and years[0] == 1700 and years[-1] == 2008
    assert np.all(spots >= 0)
    dates, co2 = series.load_co2()
    assert dates.shape == co2.shape == (2284,) and not np.isnan(co2).any()
    assert 310 < co2[0] < 320 and co2[-52:].mean() > co2[:52].mean() + 30
