"""Typical mistakes of assignment 05 (LSTM): the cell with separate gates, the fused cell, the sequence, and the
cell and sequence backward.

Each entry is ``Mistake(id, says, section, old, new)``: see :mod:`rnn_helpers.grader.mistakes`.
"""
from __future__ import annotations

from . import Mistake as M

GATES = "05_lstm.html#the-gates-one-at-a-time"
FUSED = "05_lstm.html#pytorch-s-names-and-the-fused-gates"
MEMORY = "05_lstm.html#a-memory-beside-the-hidden-state"
BACKWARD = "05_lstm.html#the-backward-pass-through-one-step"
SURVIVES = "05_lstm.html#why-the-gradient-survives"

MISTAKES = [
    # lstm_cell_separate
    M("lstm_cell_separate.sigmoid_candidate", "The candidate g uses tanh (values in (-1, 1)); only the gates use "
      "the sigmoid.", GATES, 'g = np.tanh(pre("g"))', 'g = sigmoid(pre("g"))'),
    M("lstm_cell_separate.no_recurrent_bias", "Each gate adds both biases, b_i* and b_h* (PyTorch's two bias "
      "vectors).", GATES, ' + params[f"b_h{gate}"])', ")"),
    M("lstm_cell_separate.h_without_tanh", "h_next = o * tanh(c_next): squash the cell state before the output "
      "gate.", GATES, "return o * np.tanh(c_next), c_next", "return o * c_next, c_next"),
    M("lstm_cell_separate.gates_swapped", "The forget gate scales the OLD cell state and the input gate the "
      "candidate: c = f c_prev + i g.", GATES, "c_next = f * c_prev + i * g", "c_next = i * c_prev + f * g"),
    M("lstm_cell_separate.coupled_gates", "The LSTM has its own input gate: c = f c_prev + i g, not "
      "f c_prev + (1 - f) g (that coupling is a GRU's).", GATES,
      "c_next = f * c_prev + i * g", "c_next = f * c_prev + (1 - f) * g"),
    M("lstm_cell_separate.h_from_c_prev", "The output reads the NEW cell state: h = o * tanh(c_next).", GATES,
      "o * np.tanh(c_next), c_next", "o * np.tanh(c_prev), c_next"),
    # lstm_cell_forward
    M("lstm_cell_forward.ifog_order", "PyTorch stacks the gates i, f, g, o (CS231n's i, f, o, g is another "
      "layout): g is block 2, o block 3.", FUSED,
      "sigmoid(a[:, 3 * H:])\n    g = np.tanh(a[:, 2 * H:3 * H])",
      "sigmoid(a[:, 2 * H:3 * H])\n    g = np.tanh(a[:, 3 * H:])"),
    M("lstm_cell_forward.missing_b_hh", "Add both bias vectors, b_ih and b_hh, to the fused pre-activation.", FUSED,
      "h_prev @ W_hh.T + b_hh", "h_prev @ W_hh.T"),
    M("lstm_cell_forward.h_without_tanh", "h_next = o * tanh(c_next).", GATES,
      "h_next = o * np.tanh(c_next)", "h_next = o * c_next"),
    M("lstm_cell_forward.sigmoid_candidate", "The candidate g uses tanh, not the sigmoid.", GATES,
      "g = np.tanh(", "g = sigmoid("),
    M("lstm_cell_forward.forget_on_h", "The forget gate scales the previous CELL state c_prev.", MEMORY,
      "c_next = f * c_prev", "c_next = f * h_prev"),
    M("lstm_cell_forward.cache_preactivation", "Cache the gate activations i = sigmoid(a_i), not the "
      "pre-activations.", FUSED, "h_next, c_next, (x_t, h_prev, c_prev, W_ih, W_hh, i,",
      "h_next, c_next, (x_t, h_prev, c_prev, W_ih, W_hh, a[:, :H],"),
    # lstm_forward
    M("lstm_forward.cell_state_reset", "Carry the cell state: step t starts from c_{t-1}, not from c0.", MEMORY,
      "x[:, t], h_t, c_t,", "x[:, t], h_t, c0,"),
    M("lstm_forward.zero_c0", "Start from the given c0, not from zeros.", MEMORY,
      "h_t, c_t = h0, c0", "h_t, c_t = h0, np.zeros_like(c0)"),
    M("lstm_forward.h_for_c", "Store the cell states in c: c[:, t] = c_t.", MEMORY,
      "h[:, t], c[:, t] = h_t, c_t", "h[:, t], c[:, t] = h_t, h_t"),
    M("lstm_forward.h_not_carried", "Carry the hidden state too: step t starts from h_{t-1}.", MEMORY,
      "x[:, t], h_t, c_t,", "x[:, t], h0, c_t,"),
    M("lstm_forward.one_cache", "Keep one cache per step: append, do not overwrite.", MEMORY,
      "caches.append(cache)", "caches = [cache]"),
    M("lstm_forward.state_order", "lstm_cell_forward takes h_prev before c_prev.", MEMORY,
      "x[:, t], h_t, c_t,", "x[:, t], c_t, h_t,"),
    # lstm_cell_backward
    M("lstm_cell_backward.forgets_dc_next", "The cell state's gradient is dc_next PLUS what arrives from h_next "
      "through tanh(c_next).", BACKWARD, "dc = dc_next + dh_next", "dc = dh_next"),
    M("lstm_cell_backward.tanh_prime_of_c", "d tanh(c)/dc = 1 - tanh(c)**2: use tanh(c_next), not c_next itself.",
      BACKWARD, "(1 - tanh_c ** 2)", "(1 - c_next ** 2)"),
    M("lstm_cell_backward.dc_prev_without_f", "c_next = f c_prev + ..., so dc_prev = dc * f.", SURVIVES,
      '"c_prev": dc * f', '"c_prev": dc'),
    M("lstm_cell_backward.ifog_order", "Concatenate the gate gradients in PyTorch's order i, f, g, o.", FUSED,
      "dc * i * (1 - g ** 2),\n                         do * o * (1 - o)]",
      "do * o * (1 - o),\n                         dc * i * (1 - g ** 2)]"),
    M("lstm_cell_backward.input_gate_sigmoid_prime", "sigma' = i (1 - i): keep both factors.", BACKWARD,
      "dc * g * i * (1 - i)", "dc * g * (1 - i)"),
    M("lstm_cell_backward.do_without_tanh", "h = o * tanh(c_next), so do = dh * tanh(c_next).", BACKWARD,
      "do = dh_next * tanh_c", "do = dh_next * c_next"),
    M("lstm_cell_backward.bias_mean", "Bias gradients sum over the batch, they do not average.", BACKWARD,
      '"b_ih": da.sum(axis=0)', '"b_ih": da.mean(axis=0)'),
    # lstm_backward
    M("lstm_backward.drops_dc_carry", "Carry dc_prev back to step t - 1 along with dh_prev: the cell state is the "
      "gradient's highway.", SURVIVES, 'dh_next, dc_next = g["h_prev"], g["c_prev"]', 'dh_next = g["h_prev"]'),
    M("lstm_backward.drops_dh_carry", "Step t receives dh[:, t] plus dh_prev from step t + 1.", BACKWARD,
      "dh[:, t] + dh_next", "dh[:, t]"),
    M("lstm_backward.ignores_dc", "Add the upstream dc[:, t] when it is given.", BACKWARD,
      "dc_t = dc_next if dc is None else dc[:, t] + dc_next", "dc_t = dc_next"),
    M("lstm_backward.writes_into_dh", "Do not write into dh (out=dh[:, t]): the caller's upstream gradient changes.",
      BACKWARD, "lstm_cell_backward(dh[:, t] + dh_next,",
      "lstm_cell_backward(np.add(dh[:, t], dh_next, out=dh[:, t]),"),
    M("lstm_backward.h0_c0_swapped", "dh0 is the h carry and dc0 the c carry.", BACKWARD,
      'grads["h0"], grads["c0"] = dh_next, dc_next', 'grads["h0"], grads["c0"] = dc_next, dh_next'),
    M("lstm_backward.dc_none", "dc may be None (no loss on the cell states): treat it as zeros.", BACKWARD,
      "dc_t = dc_next if dc is None else dc[:, t] + dc_next", "dc_t = dc[:, t] + dc_next"),
    M("lstm_backward.last_step_weights", "The weights are shared by every step: add the per-step gradients.",
      BACKWARD, "grads[k] = grads[k] + g[k]", "grads[k] = g[k]"),
]
