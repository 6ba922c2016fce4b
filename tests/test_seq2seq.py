"""The reversal task, the encoder-decoder and its decoding through rnn_helpers.decoding (chapter 06)."""
import math

import numpy as np
import pytest
import torch

from rnn_helpers.applications import seq2seq_reversal as s2s
from rnn_helpers.datasets import seq2seq
from rnn_helpers.decoding import beam_search, greedy_decode


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


# ---------------------------------------------------------------- data
def test_reversal_pairs_are_seeded_and_reversed():
    src, tgt = seq2seq.make_reversal(50, 2, 6, seed=3)
    assert (src, tgt) == seq2seq.make_reversal(50, 2, 6, seed=3)
    assert src != seq2seq.make_reversal(50, 2, 6, seed=4)[0]
    assert all(t == s[::-1] for s, t in zip(src, tgt))
    assert {len(s) for s in src} <= set(range(2, 7)) and set("".join(src)) <= set(seq2seq.ALPHABET)


def test_encode_batch_shifts_the_target_and_pads():
    src, src_len, dec_in, dec_out = seq2seq.encode_batch(["ab", "cde"], ["ba", "edc"])
    a, b, c, d, e = (seq2seq.VOCAB.index(ch) for ch in "abcde")
    assert src.tolist() == [[a, b, 0], [c, d, e]] and src_len.tolist() == [2, 3]
    assert dec_in.tolist() == [[seq2seq.BOS, b, a, 0], [seq2seq.BOS, e, d, c]]
    assert dec_out.tolist() == [[b, a, seq2seq.EOS, 0], [e, d, c, seq2seq.EOS]]
    assert seq2seq.decode(dec_out[0]) == "ba" and seq2seq.decode([seq2seq.BOS, a, seq2seq.EOS, b]) == "a"


def test_bad_data_requests_get_clear_errors():
    with pytest.raises(ValueError, match="min_len"):
        seq2seq.make_reversal(5, 4, 3, seed=0)
    with pytest.raises(ValueError, match="n must"):
        seq2seq.make_reversal(0, 1, 3, seed=0)
    with pytest.raises(ValueError, match="outside"):
        seq2seq.encode("abz")
    with pytest.raises(ValueError, match="as many targets"):
        seq2seq.encode_batch(["ab"], [])


def test_splits_keep_test_strings_out_of_training():
    splits = s2s.make_splits(500, 5, 3, 6, seed=0)
    train = {s for s, _ in splits["texts"]["train"]}
    test = [s for s, _ in splits["texts"]["test"]]
    assert train.isdisjoint(test) and len(test) == len(set(test)) == 4 * 5
    assert sorted({len(s) for s in test}) == [3, 4, 5, 6]
    # 1000 training pairs of 2 or 3 symbols hold nearly all 100 strings of length 2: too few left to test on
    with pytest.raises(ValueError, match="length 2: only"):
        s2s.make_splits(1000, 20, 2, 3, seed=0)


# ---------------------------------------------------------------- model and loss
def test_masked_loss_ignores_padding_positions():
    torch.manual_seed(0)
    logits = torch.randn(2, 4, 6)
    targets = torch.tensor([[3, 4, 2, 0], [5, 2, 0, 0]])
    nll = -torch.log_softmax(logits, -1)
    expected = (nll[0, 0, 3] + nll[0, 1, 4] + nll[0, 2, 2] + nll[1, 0, 5] + nll[1, 1, 2]) / 5
    assert float(s2s.masked_cross_entropy(logits, targets)) == pytest.approx(float(expected), rel=1e-6)
    logits2 = logits.clone()
    logits2[0, 3] += 100.0
    logits2[1, 2:] -= 50.0
    assert float(s2s.masked_cross_entropy(logits2, targets)) == pytest.approx(float(expected), rel=1e-6)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_encoder_state_ignores_padding(cell):
    torch.manual_seed(0)
    model = s2s.EncoderDecoder(len(seq2seq.VOCAB), 4, 5, cell=cell).eval()
    short = torch.tensor([seq2seq.encode("abc") + [0, 0]])
    same = torch.tensor([seq2seq.encode("abc")])
    a, b = model.encode(short, torch.tensor([3])), model.encode(same, torch.tensor([3]))
    for x, y in zip(a if cell == "lstm" else (a,), b if cell == "lstm" else (b,)):
        assert torch.allclose(x, y, atol=1e-6)
    with pytest.raises(ValueError, match="cell"):
        s2s.EncoderDecoder(5, 2, 2, cell="rnn")


def test_decoder_steps_match_the_teacher_forced_forward():
    """step(prefix) is the decoder's log-softmax after reading the prefix: the same numbers as one teacher-forced call."""
    torch.manual_seed(1)
    model = s2s.EncoderDecoder(len(seq2seq.VOCAB), 6, 8).eval()
    source, target = "cabd", "dbac"
    src, src_len, dec_in, _ = (torch.from_numpy(a) for a in seq2seq.encode_batch([source], [target]))
    with torch.no_grad():
        forced = torch.log_softmax(model(src, src_len, dec_in), -1)[0].double().numpy()
    step = s2s.DecoderSteps(model, source)
    prefix = tuple(dec_in[0].tolist())
    for t in range(len(prefix)):
        assert np.allclose(step(prefix[: t + 1]), forced[t], atol=1e-5)
    assert len(step.states) == len(prefix) + 1       # one cached state per prefix, plus the encoder's


def test_decode_all_uses_greedy_and_beam_search():
    torch.manual_seed(2)
    model = s2s.EncoderDecoder(len(seq2seq.VOCAB), 4, 6).eval()
    sources = ["ab", "cde"]
    greedy = s2s.decode_all(model, sources)
    beam1 = s2s.decode_all(model, sources, beam_width=1)
    assert greedy == beam1
    for s, g in zip(sources, greedy):
        tokens, _ = greedy_decode(s2s.DecoderSteps(model, s), seq2seq.BOS, seq2seq.EOS, len(s) + 5)
        assert seq2seq.decode(tokens) == g
    beam = s2s.decode_all(model, sources, beam_width=3, alpha=0.5)
    for s, b in zip(sources, beam):
        tokens, _ = beam_search(s2s.DecoderSteps(model, s), seq2seq.BOS, seq2seq.EOS, 3, len(s) + 5, alpha=0.5)
        assert seq2seq.decode(tokens) == b


def test_accuracy_measures():
    assert s2s.exact_match(["ab", "cd"], ["ab", "ce"]) == 0.5
    assert s2s.exact_match_by_length(["xy", "xyz", "abc"], ["ba", "zyx", "cbb"], ["ba", "zyx", "cba"]) == {2: 1.0, 3: 0.5}
    assert s2s.symbol_accuracy(["ab", "c"], ["ab", "cd"]) == pytest.approx(3 / 4)


def test_baseline_cannot_tell_order():
    torch.manual_seed(0)
    base = s2s.BagOfSymbols(len(seq2seq.VOCAB), 5, 8)
    a = torch.tensor([seq2seq.encode("abc") + [0, 0]])
    b = torch.tensor([seq2seq.encode("cab") + [0, 0]])
    assert torch.equal(base(a, torch.tensor([3])), base(b, torch.tensor([3])))


def test_training_learns_to_reverse_short_strings():
    splits = s2s.make_splits(3000, 10, 3, 5, seed=0)
    model, hist = s2s.train_model(splits, steps=250, batch=64, embed=16, hidden=48, lr=0.01, seed=0)
    assert hist["eval"][-1] < 0.5 * math.log(10)
    ev = s2s.evaluate(model, s2s.train_baseline(splits, steps=50, batch=64, hidden=32, lr=0.01, seed=0)[0], splits,
                      beam_width=3, alpha=0.7)
    assert ev["overall"]["greedy"] > 0.6 and ev["overall"]["beam 3"] > 0.6
    assert ev["overall"]["bag of symbols"] < ev["overall"]["greedy"]
    assert set(ev["by_length"]["greedy"]) == {3, 4, 5}
    assert s2s.teacher_forced_symbol_accuracy(model, splits) > 0.7
