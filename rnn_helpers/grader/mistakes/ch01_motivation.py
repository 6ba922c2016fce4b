"""Typical mistakes of assignment 01 (motivation): encodings, embeddings, padding, parameter counts.

Each entry is ``Mistake(id, says, section, old, new)``: see :mod:`rnn_helpers.grader.mistakes`.
"""
from __future__ import annotations

from . import Mistake as M

WORDS = "01_motivation.html#from-words-to-numbers"
FEEDFORWARD = "01_motivation.html#what-a-feed-forward-network-can-and-cannot-do"
LENGTHS = "01_motivation.html#sequences-of-different-lengths"
COUNT = "02_simple_rnn.html#counting-parameters"

MISTAKES = [
    # one_hot
    M("one_hot.integer_dtype", "one_hot must return float64 vectors (0.0 and 1.0), not integers.", WORDS,
      "dtype=np.float64", "dtype=np.int64"),
    M("one_hot.wrong_axis", "Put each 1 along the LAST axis (the class axis), at position idx: axis=-1.", WORDS,
      "1.0, axis=-1)", "1.0, axis=0)"),
    M("one_hot.one_based", "Indices start at 0: class k goes to position k, not k - 1.", WORDS,
      "idx[..., None], 1.0", "idx[..., None] - 1, 1.0"),
    M("one_hot.flattened", "Keep the shape of idx: the result is idx.shape + (V,), not a flat list of vectors.",
      WORDS, "idx = np.asarray(idx)", "idx = np.asarray(idx).ravel()"),
    M("one_hot.writes_index", "A one-hot vector holds 1.0 at the class position, not the index itself.", WORDS,
      "idx[..., None], 1.0", "idx[..., None], idx[..., None]"),
    # embedding_lookup
    M("embedding_lookup.columns", "Row k of W is the vector of symbol k: index the rows of W, not of W.T.", WORDS,
      "return W[np.asarray(idx)]", "return W.T[np.asarray(idx)]"),
    M("embedding_lookup.time_major", "Keep the batch-first layout (B, T, D): do not swap the batch and time axes.",
      WORDS, "return W[np.asarray(idx)]", "return W[np.asarray(idx)].transpose(1, 0, 2)"),
    M("embedding_lookup.one_based", "Symbol ids start at 0: symbol k is row k of W, not row k - 1.", WORDS,
      "return W[np.asarray(idx)]", "return W[np.asarray(idx) - 1]"),
    M("embedding_lookup.flattened", "Return one vector per (b, t): shape (B, T, D), not (B * T, D).", WORDS,
      "return W[np.asarray(idx)]", "return W[np.asarray(idx).ravel()]"),
    M("embedding_lookup.summed", "An embedding lookup returns every position's vector; it does not add them up.",
      WORDS, "return W[np.asarray(idx)]", "return W[np.asarray(idx)].sum(axis=1)"),
    # bag_of_words
    M("bag_of_words.presence", "Count every occurrence (+= 1): a word that occurs twice counts 2.", FEEDFORWARD,
      "counts[vocab[token]] += 1", "counts[vocab[token]] = 1"),
    M("bag_of_words.integer_dtype", "Return float64 counts, as the docstring says, not integers.", FEEDFORWARD,
      "dtype=np.float64", "dtype=np.int64"),
    M("bag_of_words.sized_by_tokens", "The vector has one entry per vocabulary word, len(vocab), not per token.",
      FEEDFORWARD, "np.zeros(len(vocab)", "np.zeros(len(tokens)"),
    M("bag_of_words.unique_tokens", "Loop over the tokens as they are: set(tokens) drops the repeats.", FEEDFORWARD,
      "for token in tokens:", "for token in set(tokens):"),
    M("bag_of_words.drops_last", "Count every token, the last one too.", FEEDFORWARD,
      "for token in tokens:", "for token in tokens[:-1]:"),
    # pad_sequences
    M("pad_sequences.pads_front", "Sequences start at position 0 and the padding goes at the end.", LENGTHS,
      "padded[b, : len(s)] = s", "padded[b, T_max - len(s):] = s"),
    M("pad_sequences.ignores_pad_value", "Fill the padding with pad_value, not always 0.", LENGTHS,
      "pad_value, dtype=np.int64", "0, dtype=np.int64"),
    M("pad_sequences.integer_mask", "The mask is a boolean array (True on real tokens), not 0/1 integers.",
      LENGTHS, "dtype=bool)", "dtype=np.int64)"),
    M("pad_sequences.shortest", "Pad to the LONGEST sequence: T_max = max of the lengths.", LENGTHS,
      "T_max = max(", "T_max = min("),
    M("pad_sequences.float_padded", "The padded batch holds token ids: an int64 array, not floats.", LENGTHS,
      "pad_value, dtype=np.int64", "pad_value, dtype=np.float64"),
    M("pad_sequences.mask_all_true", "Start the mask at False and set True only where a real token is.", LENGTHS,
      "mask = np.zeros(", "mask = np.ones("),
    # feedforward_param_count
    M("feedforward_param_count.no_bias", "Count the H biases of the hidden layer too.", FEEDFORWARD,
      "return H * T * D + H", "return H * T * D"),
    M("feedforward_param_count.bias_per_input", "There is one bias per hidden unit (H), not one per input.",
      FEEDFORWARD, "return H * T * D + H", "return H * T * D + T * D"),
    M("feedforward_param_count.one_word", "The concatenation of T words has T * D inputs, each with H weights.",
      FEEDFORWARD, "return H * T * D + H", "return H * D + H"),
    M("feedforward_param_count.float", "A parameter count is an int: do not turn it into a float.", FEEDFORWARD,
      "return H * T * D + H", "return float(H * T * D + H)"),
    M("feedforward_param_count.bias_per_word", "The biases belong to the H units, once, not to every word.",
      FEEDFORWARD, "return H * T * D + H", "return H * T * D + T * H"),
    # rnn_layer_param_count
    M("rnn_layer_param_count.one_bias", "PyTorch's RNN has two bias vectors, b_ih and b_hh: 2 * H biases.", COUNT,
      "+ 2 * H", "+ H"),
    M("rnn_layer_param_count.one_recurrent_weight",
      "Each of the H units reads all H previous states: W_hh has H * H weights, not H.", COUNT,
      "H * H", "H"),
    M("rnn_layer_param_count.no_recurrent", "Count the recurrent weights W_hh (H * H).", COUNT,
      "return H * D + H * H + 2 * H", "return H * D + 2 * H"),
    M("rnn_layer_param_count.square_input", "W_ih maps D inputs to H units: H * D weights.", COUNT,
      "return H * D + H * H", "return D * D + H * H"),
    M("rnn_layer_param_count.float", "A parameter count is an int: do not make it a float.", COUNT,
      "return H * D + H * H + 2 * H", "return 1.0 * (H * D + H * H + 2 * H)"),
]
