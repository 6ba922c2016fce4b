"""Typical mistakes of assignment 02 (the simple RNN): the cell, the sequence, parameter counts, the output
layer, stacking and the torch bridge.

Each entry is ``Mistake(id, says, section, old, new)``: see :mod:`rnn_helpers.grader.mistakes`.
"""
from __future__ import annotations

from . import Mistake as M

EQUATIONS = "02_simple_rnn.html#the-equations"
SEQUENCE = "02_simple_rnn.html#running-a-whole-sequence"
COUNT = "02_simple_rnn.html#counting-parameters"
STACK = "02_simple_rnn.html#stacking-layers"
NOTATIONS = "02_simple_rnn.html#one-model-many-notations"
CELL = "return np.tanh(x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh)"

MISTAKES = [
    # rnn_cell_forward
    M("rnn_cell_forward.missing_b_hh", "h_next ignores b_hh: PyTorch's RNN adds both biases, b_ih and b_hh.",
      EQUATIONS, " + b_hh)", ")"),
    M("rnn_cell_forward.missing_b_ih", "h_next ignores b_ih: add the input bias as well as b_hh.", EQUATIONS,
      "+ b_ih + ", "+ "),
    M("rnn_cell_forward.untransposed_W_hh",
      "The recurrent term is h_prev @ W_hh.T (row-vector form: W_hh is (H, H), row j feeds unit j).",
      EQUATIONS, "h_prev @ W_hh.T", "h_prev @ W_hh"),
    M("rnn_cell_forward.untransposed_W_ih", "The input term is x_t @ W_ih.T: W_ih is (H, D) and x_t is (B, D).",
      EQUATIONS, "x_t @ W_ih.T", "x_t @ W_ih"),
    M("rnn_cell_forward.no_tanh", "Apply the tanh nonlinearity to the pre-activation.", EQUATIONS,
      "return np.tanh(", "return ("),
    M("rnn_cell_forward.sigmoid", "The simple RNN's nonlinearity is tanh, not the sigmoid.", EQUATIONS,
      CELL, "return 1 / (1 + np.exp(-(x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh)))"),
    M("rnn_cell_forward.relu", "This exercise's RNN uses tanh (PyTorch's default), not ReLU.", EQUATIONS,
      CELL, "return np.maximum(0, x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh)"),
    # rnn_forward
    M("rnn_forward.state_not_carried", "Each step must start from the previous step's state h_t, not from h0.",
      SEQUENCE, "rnn_cell_forward(x[:, t], h_t,", "rnn_cell_forward(x[:, t], h0,"),
    M("rnn_forward.time_axis_0", "Time is axis 1 of x (B, T, D): step t reads x[:, t], not x[t].", SEQUENCE,
      "rnn_cell_forward(x[:, t],", "rnn_cell_forward(x[t],"),
    M("rnn_forward.zero_initial_state", "Start from the given h0, not from zeros.", SEQUENCE,
      "h_t = h0", "h_t = np.zeros_like(h0)"),
    M("rnn_forward.first_as_last", "h_last is the state after the LAST step, h[:, -1].", SEQUENCE,
      "return h, h_t", "return h, h[:, 0]"),
    M("rnn_forward.shifted_store", "Store the state of step t at h[:, t] (h[:, t - 1] shifts every state).",
      SEQUENCE, "h[:, t] = h_t", "h[:, t - 1] = h_t"),
    # rnn_param_count
    M("rnn_param_count.layers_read_D", "Only the first layer reads the D inputs; the layers above read H states.",
      COUNT, "d_in = D if layer == 0 else H", "d_in = D"),
    M("rnn_param_count.one_bias", "Each layer has two bias vectors of G * H, b_ih and b_hh.", COUNT,
      "2 * G * H if bias", "G * H if bias"),
    M("rnn_param_count.bias_without_gates", "Every gate has its own biases: 2 * G * H per layer, not 2 * H.",
      COUNT, "2 * G * H if bias", "2 * H if bias"),
    M("rnn_param_count.gru_two_gates", "A GRU has G = 3 blocks (r, z and the candidate n).", COUNT,
      '"gru": 3', '"gru": 2'),
    M("rnn_param_count.lstm_three_gates", "An LSTM has G = 4 blocks (i, f, g, o): the candidate g counts.", COUNT,
      '"lstm": 4', '"lstm": 3'),
    M("rnn_param_count.one_layer", "Count every one of the num_layers layers.", COUNT,
      "range(num_layers)", "range(1)"),
    # softmax
    M("softmax.max_wrong_axis",
      "Subtract the maximum over the LAST axis (each row's own max, keepdims=True), not over axis 0.",
      EQUATIONS, "logits.max(axis=-1, keepdims=True)", "logits.max(axis=0, keepdims=True)"),
    M("softmax.no_max", "Subtract the maximum logit before exp, or exp(1000) overflows.", EQUATIONS,
      "z = logits - logits.max(axis=-1, keepdims=True)", "z = logits"),
    M("softmax.sum_wrong_axis", "Normalise over the last axis (the classes), not over axis 0.", EQUATIONS,
      "e.sum(axis=-1, keepdims=True)", "e.sum(axis=0, keepdims=True)"),
    M("softmax.sum_no_keepdims", "Keep the summed axis (keepdims=True) so that each row is divided by its own sum.",
      EQUATIONS, "e.sum(axis=-1, keepdims=True)", "e.sum(axis=-1)"),
    M("softmax.global_sum", "Each row sums to 1 on its own: divide by the row's sum, not the total.", EQUATIONS,
      "e.sum(axis=-1, keepdims=True)", "e.sum()"),
    M("softmax.max_no_keepdims", "Keep the max's axis (keepdims=True): without it the row maxima broadcast "
      "across the columns.", EQUATIONS, "logits.max(axis=-1, keepdims=True)", "logits.max(axis=-1)"),
    M("softmax.global_max", "Subtract each row's own maximum: the maximum of the whole array underflows the "
      "rows far below it to 0/0.", EQUATIONS, "logits.max(axis=-1, keepdims=True)", "logits.max()"),
    # output_probs
    M("output_probs.untransposed", "The logits are h @ W_out.T: W_out is (V, H), row v scores class v.", EQUATIONS,
      "h @ W_out.T", "h @ W_out"),
    M("output_probs.missing_bias", "Add the output bias b_out to the logits.", EQUATIONS,
      "softmax(h @ W_out.T + b_out)", "softmax(h @ W_out.T)"),
    M("output_probs.no_softmax", "Return probabilities: apply the softmax to the logits.", EQUATIONS,
      "return softmax(h @ W_out.T + b_out)", "return h @ W_out.T + b_out"),
    M("output_probs.sigmoid", "A distribution over V classes needs the softmax, not a per-class sigmoid.",
      EQUATIONS, "softmax(h @ W_out.T + b_out)", "1 / (1 + np.exp(-(h @ W_out.T + b_out)))"),
    M("output_probs.bias_subtracted", "The bias is added: logits = h @ W_out.T + b_out.", EQUATIONS,
      "W_out.T + b_out)", "W_out.T - b_out)"),
    M("output_probs.last_step_only", "A many-to-many RNN has an output at every step: keep all T steps.",
      EQUATIONS, "softmax(h @ W_out.T", "softmax(h[:, -1:] @ W_out.T"),
    # stacked_rnn_forward
    M("stacked_rnn_forward.every_layer_reads_x", "Layer l reads the state sequence of layer l - 1, not x.", STACK,
      "rnn_forward(inputs, h0[l]", "rnn_forward(x, h0[l]"),
    M("stacked_rnn_forward.same_h0", "Each layer starts from its own initial state h0[l].", STACK,
      "h0[l], params", "h0[0], params"),
    M("stacked_rnn_forward.top_last_only", "h_last holds the last state of EVERY layer, shape (L, B, H).", STACK,
      "return inputs, np.stack(last)", "return inputs, h_T"),
    M("stacked_rnn_forward.first_layer_W_hh", "Each layer uses its own parameters, layers[l].", STACK,
      'params["W_hh"]', 'layers[0]["W_hh"]'),
    M("stacked_rnn_forward.stack_axis", "Stack the layers' last states on axis 0: h_last is (L, B, H).", STACK,
      "np.stack(last)", "np.stack(last, axis=1)"),
    M("stacked_rnn_forward.h0_batch_axis", "h0 is (L, B, H): layer l's initial state is h0[l], not h0[:, l].",
      STACK, "h0[l], params", "h0[:, l], params"),
    # torch_rnn_from_params
    M("torch_rnn_from_params.not_batch_first", "Build the module with batch_first=True: our data are (B, T, D).",
      NOTATIONS, "H, batch_first=True, ", "H, "),
    M("torch_rnn_from_params.float32", "Build the module in float64 (dtype=torch.float64), the grading dtype.",
      NOTATIONS, ", dtype=torch.float64)", ")"),
    M("torch_rnn_from_params.swapped_dims", "W_ih is (H, D): its first axis is the hidden size.", NOTATIONS,
      "H, D = W_ih.shape", "D, H = W_ih.shape"),
    M("torch_rnn_from_params.transposed_W_hh", "weight_hh_l0 is W_hh itself, (H, H), not its transpose.",
      NOTATIONS, "torch.from_numpy(W_hh))", "torch.from_numpy(W_hh.T))"),
    M("torch_rnn_from_params.bias_hh_from_b_ih", "bias_hh_l0 must hold b_hh (and bias_ih_l0 b_ih).", NOTATIONS,
      "bias_hh_l0.copy_(torch.from_numpy(b_hh))", "bias_hh_l0.copy_(torch.from_numpy(b_ih))"),
    M("torch_rnn_from_params.relu", "Keep the default tanh nonlinearity: our cell is a tanh RNN.", NOTATIONS,
      "H, batch_first=True, ", 'H, batch_first=True, nonlinearity="relu", '),
]
