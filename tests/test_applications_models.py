"""Chapter 06's training pieces: models, loops, progress bar, figures and the report command's quick mode."""
import io
import json
import math

import numpy as np
import pytest
import torch

from rnn_helpers.applications import classifiers, torch_training
from rnn_helpers.applications import childrens_book_walkthrough
from rnn_helpers.applications import sunspots_forecast
from rnn_helpers.applications import names_language_model, negation_sentiment


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


# ---------------------------------------------------------------- progress bar and loop
def test_progress_bar_outside_a_terminal_prints_one_final_line(capsys):
    with torch_training.progress(5, "demo") as bar:
        for _ in range(5):
            bar.update(1)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "\r" not in out
    assert out.startswith("demo: 100%") and "5/5" in out


def test_final_line_only_keeps_the_text_after_the_last_carriage_return():
    sink = io.StringIO()
    w = torch_training._FinalLineOnly(sink)
    w.write("\r 10%")
    w.flush()
    assert sink.getvalue() == ""
    w.write("\r 50%\r100% done\n")
    assert sink.getvalue() == "100% done\n"


def test_gradient_step_trains_in_train_mode_and_clips():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Dropout(0.5))
    model.eval()
    seen = []

    def loss():
        seen.append(model.training)  # the forward pass must run in train mode
        return (model(torch.ones(4, 3)) * 100).pow(2).sum()

    before = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    value = torch_training.gradient_step(model, opt, loss, max_norm=1e-3)
    assert seen == [True] and isinstance(value, float) and value > 0

    def moved() -> float:
        return float(torch.sqrt(sum(((p.detach() - b) ** 2).sum() for p, b in zip(model.parameters(), before))))

    assert moved() == pytest.approx(1e-3, rel=1e-4)  # SGD with lr 1 moves by the clipped gradient
    torch_training.gradient_step(model, opt, loss)    # no clipping: a far larger step
    assert moved() > 1.0


def test_fit_records_every_step_and_the_evaluations(capsys):
    calls = []
    hist = torch_training.fit(lambda i: calls.append(i) or float(10 - i), 10, desc="t", evaluate=lambda: 1.5,
                              eval_every=4)
    assert calls == list(range(10)) and hist["train"] == [float(10 - i) for i in range(10)]
    assert hist["eval_step"] == [4, 8, 10] and hist["eval"] == [1.5, 1.5, 1.5]


# ---------------------------------------------------------------- classifiers
def test_bag_of_words_ignores_order_and_padding():
    torch.manual_seed(0)
    m = classifiers.BagOfWordsClassifier(6)
    a = torch.tensor([[1, 2, 3, 0, 0]])
    b = torch.tensor([[3, 1, 2, 0]])
    assert torch.allclose(m(a), m(b))
    assert m.counts(a).tolist() == [[0, 1, 1, 1, 0, 0]]


def test_recurrent_classifier_reads_the_state_at_the_last_real_token():
    h = torch.arange(2 * 4 * 3, dtype=torch.float32).view(2, 4, 3)
    out = classifiers.last_valid(h, torch.tensor([2, 4]))
    assert torch.equal(out, torch.stack([h[0, 1], h[1, 3]]))
    torch.manual_seed(0)
    m = classifiers.RecurrentClassifier(6, 4, 5, cell="gru")
    ids = torch.tensor([[1, 2, 3, 0, 0]])
    padded_more = torch.tensor([[1, 2, 3, 0, 0, 0, 0]])
    assert torch.allclose(m(ids, torch.tensor([3])), m(padded_more, torch.tensor([3])), atol=1e-6)
    with pytest.raises(ValueError, match="cell"):
        classifiers.SequenceRegressor(2, 4, cell="tcn")


# ---------------------------------------------------------------- names language model
def test_bigram_nll_on_a_tiny_corpus():
    vocab = [".", "a", "b"]
    # "ab" -> pairs .a ab b. ; with alpha=0 the model of the training set itself:
    # p(a|.)=1, p(b|a)=1, p(.|b)=1 -> zero loss on the same names
    assert names_language_model.bigram_nll(["ab"], ["ab"], vocab, alpha=1e-12) == pytest.approx(0.0, abs=1e-9)
    # validation "ba": pairs .b, ba, a. ; with alpha = 1 each row has counts + 1 over V = 3
    # p(b|.) = 1/4, p(a|b) = 1/4, p(.|a) = 1/4
    assert names_language_model.bigram_nll(["ab"], ["ba"], vocab, alpha=1.0) == pytest.approx(math.log(4))


def test_names_tensors_shift_by_one_and_pad_with_ignore_index():
    vocab = [".", "a", "b", "c"]
    x, y = names_language_model.to_tensors(["abc", "b"], vocab)
    assert x.tolist() == [[0, 1, 2, 3], [0, 2, 0, 0]]
    assert y.tolist() == [[1, 2, 3, 0], [2, 0, -100, -100]]


def test_names_model_learns_and_samples():
    vocab = [".", "a", "b", "c"]
    names = ["abc", "abca", "bca", "cab"] * 8
    x, y = names_language_model.to_tensors(names, vocab)
    model, hist = names_language_model.train_model("gru", vocab, x, y, x, y, steps=60, batch=16, embed=8, hidden=16, lr=0.02,
                                       eval_every=30)
    assert hist["eval"][-1] < 0.6 * hist["eval"][0] or hist["eval"][-1] < 0.6 * math.log(4)
    assert np.mean(hist["train"][-10:]) < np.mean(hist["train"][:10])
    sample = names_language_model.generate(model, vocab, 1e-3, np.random.default_rng(0))
    assert sample == names_language_model.generate(model, vocab, 1e-3, np.random.default_rng(1))  # greedy: no randomness
    assert set(sample) <= {"a", "b", "c"}


def test_count_model_tables_give_the_bigram_loss_and_a_perplexity():
    from rnn_helpers.perplexity import perplexity

    vocab = [".", "a", "b"]
    train = ["ab", "a"]                                   # targets: a b . a .  -> unigram counts a 2, b 1, . 2
    uni = names_language_model.unigram_log_probs(train, vocab, alpha=0.0)
    assert np.allclose(np.exp(uni[0]), [0.4, 0.4, 0.2]) and np.allclose(uni, uni[0])
    x, y = names_language_model.to_tensors(["ba"], vocab)   # pairs .b, ba, a.
    lp, mask = names_language_model.table_token_log_probs(uni, x, y)
    assert mask.tolist() == [[1, 1, 1]] and np.allclose(lp, np.log([[0.2, 0.4, 0.4]]))
    big = names_language_model.bigram_log_probs(train, vocab, alpha=1.0)
    lp, mask = names_language_model.table_token_log_probs(big, x, y)
    nats = -(lp * mask).sum() / mask.sum()
    assert nats == pytest.approx(names_language_model.bigram_nll(train, ["ba"], vocab, alpha=1.0))
    assert perplexity(lp, mask) == pytest.approx(math.exp(nats))


def test_model_token_log_probs_pick_each_target_and_skip_padding():
    vocab = [".", "a", "b", "c"]
    x, y = names_language_model.to_tensors(["abc", "b", "ca"], vocab)
    torch.manual_seed(0)
    from rnn_helpers.char_model import CharModel

    m = CharModel(4, 3, 5, cell="gru")
    lp, mask = names_language_model.token_log_probs(m, x, y)
    assert lp.shape == mask.shape == tuple(y.shape) and np.all(lp[mask == 0] == 0) and np.all(lp[mask == 1] < 0)
    # "b" is read as ".b": its second target is the end mark "."; the model alone, from a zero state
    with torch.no_grad():
        direct = torch.log_softmax(m(torch.tensor([[0, 2]])).double(), -1)[0, 1, 0]
    assert lp[1, 1] == pytest.approx(float(direct), rel=1e-12) and mask[1].tolist() == [1, 1, 0, 0]


def test_probe_sees_the_model_before_and_during_training_without_changing_it():
    vocab = [".", "a", "b", "c"]
    names = ["abc", "abca", "bca", "cab"] * 8
    x, y = names_language_model.to_tensors(names, vocab)
    kw = dict(steps=20, batch=8, embed=4, hidden=8, lr=0.02, eval_every=10, seed=0)
    plain, h_plain = names_language_model.train_model("gru", vocab, x, y, x, y, **kw)
    probed, h = names_language_model.train_model(
        "gru", vocab, x, y, x, y, probe=lambda m: names_language_model.generate(m, vocab, 1.0, np.random.default_rng(0)),
        **kw)
    assert h["probe_step"] == [0, 10, 20] and len(h["probe"]) == 3 and all(isinstance(p, str) for p in h["probe"])
    assert h["train"] == h_plain["train"] and h["eval"] == h_plain["eval"]


def test_variational_dropout_uses_one_mask_per_sequence():
    from rnn_helpers.applications import recurrent_dropout

    drop = recurrent_dropout.VariationalDropout(0.5)
    torch.manual_seed(0)
    y = drop(torch.ones(4, 7, 6))
    assert set(torch.unique(y).tolist()) <= {0.0, 2.0}
    assert torch.equal(y, y[:, :1].expand_as(y))                  # the same mask at every step
    drop.eval()
    x = torch.randn(2, 3, 4)
    assert torch.equal(drop(x), x)
    with pytest.raises(ValueError, match="p must"):
        recurrent_dropout.VariationalDropout(1.0)
    assert recurrent_dropout.survival_probability(0.5, 10) == pytest.approx(1 / 1024)


def test_dropout_model_without_dropout_is_the_char_model():
    from rnn_helpers.applications import recurrent_dropout
    from rnn_helpers.char_model import CharModel

    torch.manual_seed(3)
    a = CharModel(5, 3, 4, cell="lstm")
    torch.manual_seed(3)
    b = recurrent_dropout.DropoutCharModel(5, 3, 4, cell="lstm", p=0.0)
    idx = torch.tensor([[0, 3, 1, 4]])
    assert torch.allclose(a(idx), b(idx))
    b.drop.p = 0.5
    b.train()
    assert not torch.allclose(a(idx), b(idx))
    b.eval()
    assert torch.allclose(a(idx), b(idx))


# ---------------------------------------------------------------- sentiment
def test_sentiment_held_out_sets_never_overlap_training():
    splits = negation_sentiment.make_splits(300, 300, 100, seed=0)
    train = set(splits["texts"]["train"])
    assert train.isdisjoint(splits["texts"]["test"])
    assert all(a not in train and b not in train for a, b in splits["texts"]["pairs"])
    a, b = splits["pair_first"], splits["pair_second"]
    assert torch.equal(a[2], 1 - b[2])


def test_bag_of_words_cannot_separate_order_pairs_and_gru_learns_them():
    splits = negation_sentiment.make_splits(1500, 300, 200, seed=0)
    bow, _ = negation_sentiment.train_model("bow", splits, steps=100, batch=64, lr=0.05, seed=0)
    assert negation_sentiment.accuracies(bow, splits)["pairs"] == pytest.approx(0.5)
    gru, hist = negation_sentiment.train_model("rnn", splits, steps=250, batch=64, lr=0.01, seed=0)
    assert np.mean(hist["train"][-20:]) < 0.5 * np.mean(hist["train"][:20])
    assert negation_sentiment.accuracies(gru, splits)["pairs"] > 0.9


# ---------------------------------------------------------------- forecasting
def test_forecast_baselines_match_their_definition():
    splits = sunspots_forecast.make_splits(22, 40, 20)
    X, y = splits["X_test"], splits["y_test"]
    assert X.shape == (40, 22) and splits["years_test"][-1] == 2008
    maes = sunspots_forecast.baseline_maes(splits)
    assert maes["persistence"] == pytest.approx(np.mean(np.abs(X[:, -1] - y)))
    assert maes["seasonal_naive"] == pytest.approx(np.mean(np.abs(X[:, 22 - 11] - y)))


def test_forecast_splits_follow_time_without_overlap():
    s = sunspots_forecast.make_splits(22, 40, 20)
    assert len(s["y_val"]) == 20 and len(s["y_test"]) == 40
    assert s["years_val"][-1] + 1 == s["years_test"][0] == 1969
    # the last training target is the year before the first validation target, and windows slide by one year
    assert np.array_equal(s["X_val"][0][:-1], s["X_train"][-1][1:]) and s["X_val"][0][-1] == s["y_train"][-1]
    with pytest.raises(ValueError, match="n_val"):
        sunspots_forecast.make_splits(22, 40, 0)


def test_forecast_training_keeps_the_state_with_the_lowest_validation_error():
    s = sunspots_forecast.make_splits(22, 40, 20)
    predict, hist = sunspots_forecast.train_model(s, steps=40, hidden=4, lr=0.05, seed=0)
    val_mae = float(np.mean(np.abs(predict(s["X_val"]) - s["y_val"])))
    assert val_mae == pytest.approx(min(hist["eval"]), rel=1e-5)
    assert 1 <= hist["best_step"] <= 40 and hist["best_step"] in hist["eval_step"]


# ---------------------------------------------------------------- children's book
def test_trace_gates_reproduces_torch_lstm():
    torch.manual_seed(3)
    lstm = torch.nn.LSTM(5, 4, batch_first=True)
    x = torch.randn(7, 5)
    tr = childrens_book_walkthrough.trace_gates(lstm, x)
    h, (hT, cT) = lstm(x[None])
    assert np.allclose(tr["h"], h[0].detach().numpy(), atol=1e-6)
    assert np.allclose(tr["c"][-1], cT[0, 0].detach().numpy(), atol=1e-6)
    for k in "ifo":
        assert tr[k].shape == (7, 4) and tr[k].min() > 0 and tr[k].max() < 1


def test_childrens_book_floors():
    assert childrens_book_walkthrough.FLOOR_NATS == pytest.approx((math.log(3) + math.log(2)) / 4)
    assert childrens_book_walkthrough.BIGRAM_NATS > childrens_book_walkthrough.POSITION_NATS > childrens_book_walkthrough.FLOOR_NATS


def test_childrens_book_bigram_floor_is_the_empirical_bigram_entropy():
    # The memoryless floor must be what a count bigram actually achieves on a long stream.
    import collections

    s = childrens_book_walkthrough.make_stream(20000, seed=1)
    pairs = collections.Counter(zip(s[:-1].tolist(), s[1:].tolist()))
    first = collections.Counter(s[:-1].tolist())
    nll = -np.mean([math.log(pairs[(a, b)] / first[a]) for a, b in zip(s[:-1].tolist(), s[1:].tolist())])
    assert nll == pytest.approx(childrens_book_walkthrough.BIGRAM_NATS, abs=0.01)


def test_childrens_book_lstm_training_decreases_the_loss():
    model, hist = childrens_book_walkthrough.train_model(hidden=6, steps=150, batch=32, chunk_sentences=4, lr=0.02, seed=0)
    assert hist["eval"][-1] < hist["eval"][0] and hist["eval"][-1] < 0.7
    p = childrens_book_walkthrough.next_word_probs(model, ". Jane".split())
    assert p.shape == (2, 5) and np.allclose(p.sum(1), 1, atol=1e-5)


# ---------------------------------------------------------------- figures
def test_learning_curve_figures_draw():
    from rnn_helpers.figures import encoder_decoder, learning_curves

    assert np.allclose(learning_curves.running_mean([1, 2, 3, 4], 2), [1, 1.5, 2.5, 3.5])
    fig = learning_curves.loss_curves({"GRU": np.ones(10), "LSTM held out": ([5, 10], [0.5, 0.4])}, ylabel="loss",
                                      baselines={"bigram": 2.0})
    assert len(fig.axes[0].lines) == 3
    grid = learning_curves.loss_curve_grid({"a": {"RNN": np.ones(3)}, "b": {"GRU": np.ones(3)}}, ylabel="mse")
    assert len(grid.axes) == 2
    with pytest.raises(ValueError, match="shape"):
        learning_curves.forecast_vs_truth(np.arange(3), np.zeros(3), {"LSTM": np.zeros(4)})
    assert len(encoder_decoder.encoder_decoder().axes) == 2


def test_accuracy_by_length_figure():
    from rnn_helpers.figures.accuracy_by_length import accuracy_by_length

    fig = accuracy_by_length({"greedy": {4: 1.0, 5: 0.8}, "beam": {4: 1.0, 5: 0.9}}, train_range=(4, 5))
    assert len(fig.axes[0].lines) == 2
    # the report's JSON has string keys, and "10" sorts before "9" as a string
    line = accuracy_by_length({"greedy": {"10": 0.2, "9": 0.5, "4": 1.0}}).axes[0].lines[0]
    assert line.get_xdata().tolist() == [4, 9, 10] and line.get_ydata().tolist() == [1.0, 0.5, 0.2]
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        accuracy_by_length({"greedy": {4: 1.5}})


# ---------------------------------------------------------------- the report command
def test_report_quick_mode_writes_json_and_markdown(tmp_path, capsys):
    from rnn_helpers.applications import settings
    from rnn_helpers.grader.cli import main

    assert main(["applications", "--report", "--quick", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "applications_report.json").read_text())
    for task in ("names", "sentiment", "adding", "forecast", "childrens_book", "seq2seq", "dropout"):
        assert task in data and task in data["seconds"]
    assert {"bigram", "unigram", "rnn", "gru", "lstm", "gain_over_bigram", "target_met"} <= set(data["names"])
    ppl = data["names"]["perplexity"]
    assert set(ppl) == {"unigram", "bigram", "rnn", "gru", "lstm"}
    # the bigram's perplexity by another route: bigram_nll sums counts of pairs, the report per-token log-probabilities
    qs = settings.QUICK["names"]
    vocab, train, val = names_language_model.prepare(qs["kind"], qs["val_fraction"], seed=settings.QUICK["seed"])
    assert math.log(ppl["bigram"]) == pytest.approx(names_language_model.bigram_nll(train, val, vocab), rel=1e-9)
    assert 1 < ppl["bigram"] < ppl["unigram"] < len(vocab)      # context helps; the unigram beats the uniform guess
    ppl_rows = [r for r in data["rows"] if r["metric"] == "val perplexity"]
    assert [r["model"] for r in ppl_rows] == ["RNN", "GRU", "LSTM"]
    assert all(r["met"] == (r["value"] < min(ppl["bigram"], ppl["unigram"])) for r in ppl_rows)
    s2s = data["seq2seq"]
    q2 = settings.QUICK["seq2seq"]
    assert {"greedy", "beam", "bag_of_symbols"} <= set(s2s["exact_match"])
    for curve in s2s["by_length"].values():
        assert set(curve) == {str(L) for L in range(q2["min_len"], q2["max_len"] + 1)}
    assert s2s["n_test"] == q2["n_test_per_length"] * (q2["max_len"] - q2["min_len"] + 1)
    assert {"p=0.0", f"p={settings.QUICK['dropout']['p']}"} <= set(data["dropout"])
    # the labels come from the settings that ran (quick: 100 training names, not the chapter's 1000)
    dropout_rows = [r for r in data["rows"] if r["task"].startswith("names, ")]
    assert {r["task"] for r in dropout_rows} == {f"names, {settings.QUICK['dropout']['n_train']} training names"}
    assert all(r["model"].startswith(settings.QUICK["dropout"]["cell"].upper()) for r in dropout_rows)
    assert {"bow", "rnn", "n_pairs"} <= set(data["sentiment"]) and "pairs" in data["sentiment"]["rnn"]
    assert "T=10" in data["adding"] and data["adding"]["trivial_mse"] == pytest.approx(1 / 6)
    assert {"persistence", "seasonal_naive", "lstm", "target_met"} <= set(data["forecast"])
    assert data["mode"] == "quick" and len(data["rows"]) >= 20
    md = (tmp_path / "applications_report.md").read_text()
    assert "| task | model | metric |" in md and md.count("\n|") >= 21
    assert "seq2seq reversal, exact match" in md and "val perplexity" in md
    assert "| task | model |" in capsys.readouterr().out


def test_report_without_flag_does_nothing(tmp_path):
    from rnn_helpers.grader.cli import main

    assert main(["applications", "--out", str(tmp_path)]) == 2
    assert not (tmp_path / "applications_report.json").exists()
    assert main(["applications", "--report", "--only", "bogus", "--out", str(tmp_path)]) == 2


def test_report_targets_are_written_once():
    from rnn_helpers.applications import results_report as rr

    t = rr.Target(">=", 0.35)
    assert t.met(0.35) and not t.met(0.34) and t.text("gain") == "gain >= 0.35"
    rows = rr.table_rows({"adding": {"trivial_mse": 1 / 6, "T=50": {"rnn": 0.16, "gru": 0.02}}})
    by_cell = {r["model"]: r for r in rows}
    assert by_cell["GRU"]["target"] == rr.TARGETS["adding_gated_T50"].text() and by_cell["GRU"]["met"] is False
    assert by_cell["RNN"]["target"].startswith(rr.TARGETS["adding_rnn_T50"].text()) and by_cell["RNN"]["met"] is True


def test_relative_targets_compare_with_the_other_result():
    from rnn_helpers.applications import results_report as rr

    t = rr.Target("<", than="both baselines")
    assert t.met(8.4, 13.0) and not t.met(13.0, 13.0) and t.text() == "< both baselines"
    with pytest.raises(ValueError, match="pass ref"):
        t.met(8.4)
    with pytest.raises(ValueError, match="exactly one"):
        rr.Target("<")
    base = {"n_train": 100, "cell": "gru", "p=0.0": {"train_nll": 1.9, "val_nll": 2.4, "gap": 0.5}}
    # a smaller gap is not enough: the held-out loss must not get worse either
    worse_val = dict(base, **{"p=0.5": {"train_nll": 2.6, "val_nll": 2.8, "gap": 0.2}})
    better = dict(base, **{"p=0.5": {"train_nll": 2.2, "val_nll": 2.35, "gap": 0.15}})
    for runs, met in ((worse_val, False), (better, True)):
        runs["target_met"] = rr.dropout_target_met(runs["p=0.0"], runs["p=0.5"])
        row = [r for r in rr.table_rows({"dropout": runs}) if r["model"] == "GRU, dropout p=0.5"][0]
        assert row["met"] is met and row["task"] == "names, 100 training names"
        assert row["target"] == "gap < without dropout, val <= without dropout"
