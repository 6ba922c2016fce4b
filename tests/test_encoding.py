"""One-hot, bag of words and padding, on hand-written cases."""
import numpy as np
import pytest

from rnn_helpers.encoding import bag_of_words, one_hot, pad_sequences


def test_one_hot():
    out = one_hot(np.array([[2, 0]]), 3)
    assert out.shape == (1, 2, 3) and out.dtype == np.float64
    assert np.array_equal(out, [[[0, 0, 1], [1, 0, 0]]])
    with pytest.raises(ValueError, match="num_classes"):
        one_hot([3], 3)


def test_bag_of_words_loses_order():
    vocab = {"good": 0, "not": 1, "bad": 2}
    a = bag_of_words("good , not bad", vocab)
    b = bag_of_words(["bad", ",", "not", "good"], vocab)
    assert np.array_equal(a, [1, 1, 1]) and np.array_equal(a, b)   # opposite meanings, same vector
    assert np.array_equal(bag_of_words("bad bad", vocab), [0, 0, 2])


def test_pad_sequences():
    padded, mask = pad_sequences([[5, 6, 7], [8], []], pad_value=-1)
    assert padded.dtype == np.int64 and mask.dtype == bool
    assert np.array_equal(padded, [[5, 6, 7], [8, -1, -1], [-1, -1, -1]])
    assert np.array_equal(mask.sum(axis=1), [3, 1, 0])
    with pytest.raises(ValueError, match=r"seqs\[1\]"):
        pad_sequences([[1], [[1, 2]]])
