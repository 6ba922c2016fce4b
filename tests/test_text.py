"""``rnn_helpers.text`` (chapter 06, graded): the character vocabulary, encode and decode on small fixed cases."""
import numpy as np
import pytest

from rnn_helpers import text


def test_vocab_is_sorted_unique_and_round_trips():
    vocab = text.build_vocab("hello")
    assert vocab == ["e", "h", "l", "o"]
    ids = text.encode("hello", vocab)
    assert ids.dtype == np.int64 and ids.tolist() == [1, 0, 2, 2, 3]
    assert text.decode(ids, vocab) == "hello"
    assert text.decode([], vocab) == ""


def test_text_errors_name_the_problem():
    with pytest.raises(ValueError, match="not in vocab"):
        text.encode("help", ["e", "h", "l", "o"])
    with pytest.raises(ValueError, match="empty"):
        text.build_vocab("")
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        text.decode([0, 4], ["e", "h", "l", "o"])
