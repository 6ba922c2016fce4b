"""Typical mistakes of assignment 04 (GRU): the seeds' cell (reset before the product), PyTorch's cell, the
sequence in either variant, and PyTorch's cell backward.

Each entry is ``Mistake(id, says, section, old, new)``: see :mod:`rnn_helpers.grader.mistakes`.
"""
from __future__ import annotations

from . import Mistake as M

STEP = "04_gru.html#the-gru-one-step-at-a-time"
NG = "04_gru.html#andrew-ng-s-simplified-gru-and-a-common-mistake"
VARIANTS = "04_gru.html#two-grus-the-reset-gate-before-or-after-the-product"
SHAPES = "04_gru.html#parameters-and-shapes"
BACKWARD = "04_gru.html#the-backward-pass"

MISTAKES = [
    # gru_cell_reset_before
    M("gru_cell_reset_before.reset_after", "In this variant r multiplies h_prev BEFORE the product with W_hn "
      "(reset after the product is PyTorch's variant).", VARIANTS,
      "(r * h_prev) @ W_hh[2 * H:].T + b_hh[2 * H:]", "r * (h_prev @ W_hh[2 * H:].T + b_hh[2 * H:])"),
    M("gru_cell_reset_before.z_on_old_state", "In this variant z weighs the candidate: h = (1 - z) h_prev + z h~.",
      STEP, "return (1 - z) * h_prev + z * h_tilde", "return z * h_prev + (1 - z) * h_tilde"),
    M("gru_cell_reset_before.z_on_both", "The update interpolates: (1 - z) on h_prev, z on h~ (some course notes "
      "write z on both terms: a typo).", NG, "return (1 - z) * h_prev + z", "return z * h_prev + z"),
    M("gru_cell_reset_before.gates_swapped", "The blocks are in the order r, z, n: r is rows 0..H, z rows H..2H.",
      SHAPES, "r = sigmoid(gi[:, :H] + h_prev @ W_hh[:H].T + b_hh[:H])",
      "r = sigmoid(gi[:, H:2 * H] + h_prev @ W_hh[H:2 * H].T + b_hh[H:2 * H])"),
    M("gru_cell_reset_before.no_reset", "The reset gate must act on h_prev in the candidate.", STEP,
      "(r * h_prev) @ W_hh[2 * H:].T", "h_prev @ W_hh[2 * H:].T"),
    M("gru_cell_reset_before.tanh_gate", "Gates use the sigmoid (values in (0, 1)), the candidate uses tanh.", STEP,
      "z = sigmoid(", "z = np.tanh("),
    M("gru_cell_reset_before.missing_b_hn", "The candidate's recurrent bias b_hn (b_hh[2H:]) belongs in h~.", STEP,
      "W_hh[2 * H:].T + b_hh[2 * H:])", "W_hh[2 * H:].T)"),
    # gru_cell_forward
    M("gru_cell_forward.reset_before", "PyTorch's GRU resets AFTER the product: n = tanh(W_in x + b_in + "
      "r * (W_hn h_prev + b_hn)).", VARIANTS, "+ r * hn)", "+ (r * h_prev) @ W_hh[2 * H:].T + b_hh[2 * H:])"),
    M("gru_cell_forward.z_on_candidate", "PyTorch's z weighs the OLD state: h = (1 - z) n + z h_prev.", VARIANTS,
      "h_next = (1 - z) * n + z * h_prev", "h_next = z * n + (1 - z) * h_prev"),
    M("gru_cell_forward.b_hn_outside_reset", "In PyTorch's GRU r multiplies b_hn too: r * (W_hn h_prev + b_hn).",
      VARIANTS, "n = np.tanh(gi[:, 2 * H:] + r * hn)",
      "n = np.tanh(gi[:, 2 * H:] + r * (hn - b_hh[2 * H:]) + b_hh[2 * H:])"),
    M("gru_cell_forward.gates_swapped", "The blocks are in the order r, z, n: r is rows 0..H.", SHAPES,
      "r = sigmoid(gi[:, :H] + gh[:, :H])", "r = sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])"),
    M("gru_cell_forward.writes_h_prev", "Do not write into h_prev (out=h_prev): the caller's state changes.",
      STEP, "h_next = (1 - z) * n + z * h_prev", "h_next = np.add((1 - z) * n, z * h_prev, out=h_prev)"),
    M("gru_cell_forward.hn_with_input", "hn is the recurrent part alone, h_prev @ W_hn.T + b_hn.", VARIANTS,
      "hn = gh[:, 2 * H:]", "hn = gh[:, 2 * H:] + gi[:, 2 * H:]"),
    M("gru_cell_forward.sigmoid_candidate", "The candidate n uses tanh, not the sigmoid.", STEP,
      "n = np.tanh(", "n = sigmoid("),
    # gru_forward
    M("gru_forward.variant_truthy", "Compare the variant's name: a non-empty string is always true.", VARIANTS,
      'if variant == "pytorch":', "if variant:"),
    M("gru_forward.state_not_carried", "Each step starts from the previous state h_t, not from h0.", STEP,
      "gru_cell_forward(x[:, t], h_t,", "gru_cell_forward(x[:, t], h0,"),
    M("gru_forward.state_not_carried_reset_before", "Each step starts from the previous state h_t, not from h0 "
      "(in the reset-before branch too).", STEP,
      "gru_cell_reset_before(x[:, t], h_t,", "gru_cell_reset_before(x[:, t], h0,"),
    M("gru_forward.returns_last", "Return every state, h of shape (B, T, H), not only the last.", STEP,
      "    return h\n", "    return h_t\n"),
    M("gru_forward.keeps_cache", "gru_cell_forward returns (h_next, cache): unpack it.", STEP,
      "h_t, _ = gru_cell_forward(", "h_t = gru_cell_forward("),
    M("gru_forward.shifted_store", "Store the state of step t at h[:, t].", STEP,
      "h[:, t] = h_t", "h[:, t - 1] = h_t"),
    # gru_cell_backward
    M("gru_cell_backward.dz_sign", "h = (1 - z) n + z h_prev, so dL/dz = dh * (h_prev - n).", BACKWARD,
      "(h_prev - n)", "(n - h_prev)"),
    M("gru_cell_backward.no_direct_path", "h_prev reaches h_next directly through z * h_prev: add dh * z to "
      "dh_prev.", BACKWARD, '"h_prev": dh_next * z + da_h @ W_hh', '"h_prev": da_h @ W_hh'),
    M("gru_cell_backward.candidate_weight", "The candidate enters with weight (1 - z): da_n = dh (1 - z)(1 - n**2).",
      BACKWARD, "da_n = dh_next * (1 - z)", "da_n = dh_next * z"),
    M("gru_cell_backward.reset_not_on_hn_block", "In the recurrent n block the gradient is r * da_n: r scaled hn.",
      BACKWARD, "da_n * r], axis=1)", "da_n], axis=1)"),
    M("gru_cell_backward.tanh_of_tanh", "tanh' = 1 - n**2 with n = tanh(a): do not apply tanh to n again.",
      BACKWARD, "(1 - n ** 2)", "(1 - np.tanh(n) ** 2)"),
    M("gru_cell_backward.sigmoid_prime", "sigma'(a) = r (1 - r): both factors.", BACKWARD,
      "da_r = da_n * hn * r * (1 - r)", "da_r = da_n * hn * (1 - r)"),
    M("gru_cell_backward.bias_mean", "Bias gradients sum over the batch, they do not average.", BACKWARD,
      '"b_hh": da_h.sum(axis=0)', '"b_hh": da_h.mean(axis=0)'),
    M("gru_cell_backward.sigmoid_prime_of_gate", "z is already sigmoid(a_z), so sigma'(a_z) = z (1 - z): do not apply "
      "the sigmoid to the gate again.", BACKWARD, "da_z = dz * z * (1 - z)", "da_z = dz * sigmoid(z) * (1 - sigmoid(z))"),
    M("gru_cell_backward.dr_from_n", "r multiplies hn = h_prev W_hn^T + b_hn, not the candidate n: da_r = da_n * hn * "
      "r (1 - r).", BACKWARD, "da_r = da_n * hn * r", "da_r = da_n * n * r"),
]
