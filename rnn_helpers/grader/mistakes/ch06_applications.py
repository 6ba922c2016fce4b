"""Typical mistakes of assignment 06 (applications): temperature sampling, the character vocabulary, forecasting
windows, the torch character model and its training step, perplexity and beam search.

Each entry is ``Mistake(id, says, section, old, new)``: see :mod:`rnn_helpers.grader.mistakes`.
"""
from __future__ import annotations

import numpy as np

from . import Mistake as M

LM = "06_applications.html#a-character-level-language-model"
SAMPLING = "06_applications.html#census-surnames"
TOY = "06_applications.html#the-hello-toy-trained"
FORECAST = "06_applications.html#forecasting-sunspots"
PERPLEXITY = "06_applications.html#perplexity"
BEAM = "06_applications.html#sequence-to-sequence-trained"
CLIPPING = "03_bptt.html#gradient-clipping"
STABLE = "02_simple_rnn.html#the-equations"

MISTAKES = [
    # softmax_with_temperature
    M("softmax_with_temperature.multiplies", "DIVIDE the logits by the temperature: a high temperature flattens "
      "the distribution.", SAMPLING, "dtype=np.float64) / temperature", "dtype=np.float64) * temperature"),
    M("softmax_with_temperature.no_max", "Subtract the maximum before exp: logits / temperature overflow at low "
      "temperature.", STABLE, "np.exp(z - z.max())", "np.exp(z)"),
    M("softmax_with_temperature.max_before_scaling", "Subtract the maximum of the SCALED logits z: the maximum of "
      "the raw logits does not prevent overflow at low temperature.", STABLE,
      "np.exp(z - z.max())", "np.exp(z - np.max(logits))"),
    M("softmax_with_temperature.log_probs", "Return probabilities, not log-probabilities.", SAMPLING,
      "return e / e.sum()", "return z - z.max() - np.log(e.sum())"),
    M("softmax_with_temperature.divides_by_max", "Normalise by the SUM of the exponentials so the probabilities "
      "add up to 1.", SAMPLING, "return e / e.sum()", "return e / e.max()"),
    # sample_with_temperature
    M("sample_with_temperature.argmax", "Sampling draws from the distribution; argmax always picks the same "
      "character.", SAMPLING, "int(rng.choice(len(probs), p=probs))", "int(np.argmax(probs))"),
    M("sample_with_temperature.ignores_temperature", "Pass the temperature on to softmax_with_temperature.",
      SAMPLING, "softmax_with_temperature(logits, temperature)", "softmax_with_temperature(logits, 1.0)"),
    M("sample_with_temperature.uniform", "Give rng.choice the probabilities, p=probs.", SAMPLING,
      "p=probs))", "p=None))"),
    M("sample_with_temperature.new_generator", "Use the generator you are given (rng), not a new one: draws must "
      "be reproducible from the caller's seed.", SAMPLING, "int(rng.choice(", "int(np.random.default_rng(0).choice("),
    M("sample_with_temperature.unnormalised", "Sample from the probabilities softmax_with_temperature gives, which "
      "sum to 1, not from exp(logits / temperature).", SAMPLING,
      "probs = softmax_with_temperature(logits, temperature)", "probs = np.exp(logits / temperature)"),
    M("sample_with_temperature.two_draws", "Take exactly one draw per call.", SAMPLING,
      "int(rng.choice(len(probs), p=probs))", "int(rng.choice(len(probs), size=2, p=probs)[0])"),
    # build_vocab
    M("build_vocab.first_appearance", "Sort the characters: the vocabulary is sorted(set(text)).", LM,
      "return sorted(set(text))", "return list(dict.fromkeys(text))"),
    M("build_vocab.not_unique", "Each character appears once in the vocabulary: take the set first.", LM,
      "sorted(set(text))", "sorted(text)"),
    M("build_vocab.string", "Return a list of characters, not a string.", LM,
      "return sorted(set(text))", 'return "".join(sorted(set(text)))'),
    M("build_vocab.words", "A character-level model's vocabulary is the characters, not the words.", LM,
      "set(text)", "set(text.split())"),
    M("build_vocab.reversed", "Sort in ascending order.", LM,
      "sorted(set(text))", "sorted(set(text), reverse=True)"),
    M("build_vocab.lowercased", "Keep the characters as they are: 'D' and 'd' are different symbols.", LM,
      "set(text)", "set(text.lower())"),
    # encode
    M("encode.one_based", "Ids start at 0: vocab[0] has id 0.", LM, "{ch: i for", "{ch: i + 1 for"),
    M("encode.float_ids", "Ids are integers: return an int64 array.", LM, "dtype=np.int64", "dtype=np.float64"),
    M("encode.list", "Return a numpy int64 array, not a list.", LM,
      "return np.array([index[ch] for ch in text], dtype=np.int64)", "return [index[ch] for ch in text]"),
    M("encode.unique_only", "Encode every character of the text, in order, repeats included.", LM,
      "for ch in text]", "for ch in sorted(set(text))]"),
    M("encode.reversed", "Keep the order of the text.", LM, "for ch in text]", "for ch in reversed(text)]"),
    # decode
    M("decode.list", "Return one string (''.join), not a list of characters.", LM,
      '"".join(vocab[int(i)] for i in ids)', "[vocab[int(i)] for i in ids]"),
    M("decode.one_based", "Id i is vocab[i], counting from 0.", LM, "vocab[int(i)]", "vocab[int(i) - 1]"),
    M("decode.space_join", "Join the characters with nothing between them.", LM, '"".join(', '" ".join('),
    M("decode.reversed", "Keep the order of the ids.", LM, "for i in ids)", "for i in ids[::-1])"),
    M("decode.drops_last", "Decode every id, the last one too.", LM, "for i in ids)", "for i in ids[:-1])"),
    # make_windows
    M("make_windows.target_inside", "The target is the value right AFTER the window, series[i + window].",
      FORECAST, "series[window:].copy()", "series[window - 1:-1].copy()"),
    M("make_windows.one_too_many", "There are N - window windows that have a next value.", FORECAST,
      "n = len(series) - window", "n = len(series) - window + 1"),
    M("make_windows.strided", "Slide the window one step at a time (windows overlap).", FORECAST,
      "for i in range(n)]", "for i in range(0, n, window)]"),
    M("make_windows.transposed", "X has one window per ROW: shape (N - window, window).", FORECAST,
      "for i in range(n)])", "for i in range(n)], axis=1)"),
    M("make_windows.short_windows", "Each window holds `window` values, series[i : i + window].", FORECAST,
      "series[i:i + window]", "series[i:i + window - 1]"),
    # persistence_forecast
    M("persistence_forecast.first_value", "Persistence predicts the LAST value of each window.", FORECAST,
      "[:, -1]", "[:, 0]"),
    M("persistence_forecast.mean", "Persistence repeats the last value; the window mean is another baseline.",
      FORECAST, "np.asarray(X, dtype=np.float64)[:, -1].copy()", "np.asarray(X, dtype=np.float64).mean(axis=1)"),
    M("persistence_forecast.last_row", "Take the last column of every row, X[:, -1], not the last row.", FORECAST,
      "[:, -1]", "[-1]"),
    M("persistence_forecast.keeps_axis", "Return a 1-D array (n,), not a column (n, 1).", FORECAST,
      "[:, -1]", "[:, -1:]"),
    M("persistence_forecast.second_last", "The forecast is the last value, X[:, -1].", FORECAST,
      "[:, -1]", "[:, -2]"),
    # CharModel
    M("CharModel.not_batch_first", "Build the recurrent layer with batch_first=True: idx is (B, T).", TOY,
      "hidden_size, batch_first=True)", "hidden_size)"),
    M("CharModel.always_lstm", "Build the layer the cell argument names (nn.RNN, nn.GRU or nn.LSTM).", TOY,
      "[cell](embed_dim", '["lstm"](embed_dim'),
    M("CharModel.last_step_only", "A language model predicts at every step: return logits (B, T, V).", TOY,
      "return self.head(h)", "return self.head(h[:, -1])"),
    M("CharModel.softmax_output", "Return logits: cross_entropy applies the (log-)softmax itself.", TOY,
      "return self.head(h)", "return torch.softmax(self.head(h), dim=-1)"),
    M("CharModel.bidirectional", "A left-to-right language model may not read the future: no bidirectional layer.",
      TOY, "hidden_size, batch_first=True)", "hidden_size, batch_first=True, bidirectional=True)"),
    M("CharModel.head_from_embedding", "The readout maps the H hidden units to V logits: nn.Linear(hidden_size, V).",
      TOY, "nn.Linear(hidden_size, vocab_size)", "nn.Linear(embed_dim, vocab_size)"),
    M("CharModel.gru_for_rnn", 'cell="rnn" is the simple tanh RNN, nn.RNN.', TOY,
      '"rnn": nn.RNN', '"rnn": nn.GRU'),
    # train_step
    M("train_step.no_zero_grad", "Call optimizer.zero_grad() before backward: torch ADDS new gradients to the old "
      "ones, so every step after the first uses the sum of all earlier gradients.", TOY,
      "    optimizer.zero_grad()\n", "\n"),
    M("train_step.clip_after_step", "Clip BEFORE optimizer.step(): clipping afterwards changes nothing.", CLIPPING,
      "    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), limit)\n    optimizer.step()\n",
      "    optimizer.step()\n    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), limit)\n"),
    M("train_step.clip_by_value", "Clip the gradient NORM (clip_grad_norm_), which also returns the norm; "
      "clip_grad_value_ clamps each element and returns nothing.", CLIPPING,
      "clip_grad_norm_(model.parameters(), limit)", "clip_grad_value_(model.parameters(), limit)"),
    M("train_step.norm_after_clipping", "Return the norm BEFORE clipping (what clip_grad_norm_ returns).",
      CLIPPING, "float(loss.item()), float(grad_norm)", "float(loss.item()), min(float(grad_norm), limit)"),
    M("train_step.summed_loss", "Use the MEAN cross-entropy over the real tokens (the default reduction).", TOY,
      "targets.reshape(-1))", 'targets.reshape(-1), reduction="sum")'),
    M("train_step.not_flattened", "cross_entropy wants (N, V) logits and (N,) targets: flatten B and T.", TOY,
      "cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))", "cross_entropy(logits, targets)"),
    M("train_step.padding_counted", "Targets of -100 are padding: leave them as they are, cross_entropy ignores "
      "them.", TOY, "targets.reshape(-1))", "targets.reshape(-1).clamp(min=0))"),
    # perplexity
    M("perplexity.mask_ignored", "Count only the real tokens: padded positions must not enter the sum.", PERPLEXITY,
      "np.where(mask, log_probs, 0.0).sum() / n", "log_probs.sum() / n"),
    M("perplexity.divides_by_all", "Average over the N real tokens, sum(mask), not over every position.", PERPLEXITY,
      "/ n))", "/ log_probs.size))"),
    M("perplexity.per_sequence", "Average over all real tokens of the batch at once, not per sequence.", PERPLEXITY,
      "np.where(mask, log_probs, 0.0).sum() / n",
      "(np.where(mask, log_probs, 0.0).sum(axis=1) / mask.sum(axis=1)).mean()"),
    M("perplexity.sign", "Perplexity is exp of the MINUS mean log-probability (the cross-entropy).", PERPLEXITY,
      "np.exp(-np.where(", "np.exp(np.where("),
    M("perplexity.base_2", "The log-probabilities are natural logs: use exp, not 2**.", PERPLEXITY, "np.exp(",
      "np.exp2("),
    M("perplexity.mean_of_perplexities", "Perplexity is exp of the mean over ALL real tokens, not the mean of each "
      "sequence's perplexity.", PERPLEXITY, "float(np.exp(-np.where(mask, log_probs, 0.0).sum() / n))",
      "float(np.mean(np.exp(-np.where(mask, log_probs, 0.0).sum(axis=1) / mask.sum(axis=1))))"),
    M("perplexity.no_mean", "Divide the summed log-probability by the number N of real tokens before exp: "
      "perplexity is per token.", PERPLEXITY, ".sum() / n))", ".sum()))"),
    # beam_search
    M("beam_search.finished_take_no_place", "Finished hypotheses keep their places in the beam: rank all "
      "candidates by score alone.", BEAM, "candidates.sort(key=lambda c: (-c[1], c[0]))",
      "candidates.sort(key=lambda c: (c[0][-1] == eos, -c[1], c[0]))"),
    M("beam_search.ascending", "Keep the MOST probable candidates: sort by decreasing log-probability.", BEAM,
      "candidates.sort(key=lambda c: (-c[1], c[0]))", "candidates.sort(key=lambda c: (c[1], c[0]))"),
    M("beam_search.never_finishes", "A hypothesis that ends with eos is finished: set it aside, do not extend it.",
      BEAM, "(finished if tokens[-1] == eos else live).append", "live.append"),
    M("beam_search.no_length_norm", "Divide the final log-probability by L**alpha (length normalisation).",
      BEAM, "logp / len(tokens) ** alpha", "logp"),
    M("beam_search.length_without_eos", "L counts every token of the hypothesis, eos included.", BEAM,
      "len(tokens) ** alpha", "(len(tokens) - 1) ** alpha"),
    M("beam_search.tie_to_larger", "Ties go to the lexicographically smaller tuple.", BEAM,
      "return min(scored, key=lambda c: (-c[1], c[0]))", "return max(scored, key=lambda c: (c[1], c[0]))"),
    M("beam_search.live_dropped", "At max_len the live hypotheses end as they are: compare them with the finished "
      "ones.", BEAM, "finished += live", "finished = finished or live"),
    M("beam_search.prefix_without_bos", "Call step with the prefix that starts with bos: (bos,) + tokens.",
      BEAM, "step((bos,) + tokens)", "step(tokens)"),
    M("beam_search.length_penalty_inverted", "DIVIDE the log-probability by L**alpha: log-probabilities are "
      "negative, so dividing is what favours the longer hypotheses.", BEAM,
      "logp / len(tokens) ** alpha", "logp * len(tokens) ** alpha"),
    M("beam_search.no_pruning", "Keep only the beam_width best candidates at every step: without pruning this is an "
      "exhaustive search.", BEAM, "in candidates[:beam_width]:", "in candidates:"),
]


FEATURES = {
    "train_step": lambda c: {"targets hold padding (-100)" if np.any(c["targets"] == -100)
                             else "no padding in the targets",
                             "a second call on the same model and optimizer" if c.get("calls", 1) > 1
                             else "one call on a fresh model"},
    "softmax_with_temperature": lambda c: {"large scaled logits (|logits| / temperature >= 100)"
                                           if np.max(np.abs(c["logits"])) / c["temperature"] >= 100
                                           else "moderate scaled logits"},
}
