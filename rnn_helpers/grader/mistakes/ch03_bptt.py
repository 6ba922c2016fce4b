"""Typical mistakes of assignment 03 (backpropagation through time): the cell and sequence backward, the
many-to-one backward, centered differences, clipping, truncated BPTT, and the Jacobians of the recurrence.

Each entry is ``Mistake(id, says, section, old, new)``: see :mod:`rnn_helpers.grader.mistakes`.
"""
from __future__ import annotations

import numpy as np

from . import Mistake as M

DERIVATION = "03_bptt.html#back-through-the-recurrence"
SHARED = "03_bptt.html#shared-weights-collect-gradients-from-every-step"
LOSS = "03_bptt.html#the-unrolled-graph-and-the-loss"
NUMERIC = "03_bptt.html#checking-the-gradient-numerically"
CLIPPING = "03_bptt.html#gradient-clipping"
TRUNCATED = "03_bptt.html#truncated-bptt"
VANISHING = "03_bptt.html#vanishing-and-exploding-gradients"

MISTAKES = [
    # rnn_cell_backward
    M("rnn_cell_backward.no_tanh_derivative",
      "Multiply the upstream gradient by tanh' = 1 - h_next**2 before anything else: da = dh_next * (1 - h_next**2).",
      DERIVATION, "da = dh_next * (1 - h_next ** 2)", "da = dh_next"),
    M("rnn_cell_backward.tanh_of_tanh",
      "tanh'(a) = 1 - tanh(a)**2 = 1 - h_next**2: h_next already is tanh(a), do not apply tanh to it again.",
      DERIVATION, "(1 - h_next ** 2)", "(1 - np.tanh(h_next) ** 2)"),
    M("rnn_cell_backward.W_hh_grad_from_h_next", "dW_hh = da.T @ h_prev: the recurrent weights multiply the "
      "PREVIOUS state.", DERIVATION, "da.T @ h_prev", "da.T @ h_next"),
    M("rnn_cell_backward.dx_transposed", "dx_t = da @ W_ih (W_ih is (H, D)), not da @ W_ih.T.", DERIVATION,
      '"x_t": da @ W_ih,', '"x_t": da @ W_ih.T,'),
    M("rnn_cell_backward.dh_prev_transposed", "dh_prev = da @ W_hh, not da @ W_hh.T: the forward used "
      "h_prev @ W_hh.T.", DERIVATION, '"h_prev": da @ W_hh,', '"h_prev": da @ W_hh.T,'),
    M("rnn_cell_backward.bias_mean", "Bias gradients SUM da over the batch (the loss is a sum), they do not "
      "average it.", DERIVATION, '"b_ih": da.sum(axis=0)', '"b_ih": da.mean(axis=0)'),
    M("rnn_cell_backward.bias_wrong_axis", "db_hh sums over the batch axis 0, giving shape (H,).", DERIVATION,
      '"b_hh": da.sum(axis=0)', '"b_hh": da.sum(axis=1)'),
    M("rnn_cell_backward.dW_ih_transposed", "dW_ih = da.T @ x_t has W_ih's shape (H, D).", DERIVATION,
      "da.T @ x_t", "x_t.T @ da"),
    # rnn_backward
    M("rnn_backward.forgets_dh_next", "Step t receives dh[:, t] PLUS the gradient dh_prev sent back from step "
      "t + 1.", DERIVATION, "dh[:, t] + dh_future", "dh[:, t]"),
    M("rnn_backward.forward_order", "Backpropagate from the last step to the first: reversed(range(T)).",
      DERIVATION, "for t in reversed(range(T)):", "for t in range(T):"),
    M("rnn_backward.last_step_weights", "The weights are shared by every step: ADD the per-step gradients.",
      SHARED, "grads[k] = grads[k] + g[k]", "grads[k] = g[k]"),
    M("rnn_backward.h0_from_dh", "dh0 is what step 0 sends back (its dh_prev), not the upstream dh[:, 0].",
      DERIVATION, 'grads["h0"] = dh_future', 'grads["h0"] = dh[:, 0]'),
    M("rnn_backward.accumulated_carry", "The carry to step t - 1 is step t's dh_prev alone: replace it, do not "
      "add it to the previous carry.", DERIVATION, 'dh_future = g["h_prev"]', 'dh_future = dh_future + g["h_prev"]'),
    M("rnn_backward.x_time_reversed", "Step t's input gradient goes to dx[:, t], at the same t.", DERIVATION,
      'grads["x"][:, t] = g["x_t"]', 'grads["x"][:, T - 1 - t] = g["x_t"]'),
    # many_to_one_backward
    M("many_to_one_backward.first_step", "Only the LAST state h_T gets the loss gradient: dh[:, -1] = dh_last.",
      LOSS, "dh[:, -1] = dh_last", "dh[:, 0] = dh_last"),
    M("many_to_one_backward.ones_elsewhere", "The other steps receive no gradient from the loss: start from zeros.",
      LOSS, "dh = np.zeros((B, len(cache), H))", "dh = np.ones((B, len(cache), H))"),
    M("many_to_one_backward.every_step", "Many-to-one: the loss reads h_T only, so only dh[:, -1] is nonzero.",
      LOSS, "dh[:, -1] = dh_last", "dh[:] = dh_last[:, None]"),
    M("many_to_one_backward.time_major", "dh has the layout of h, (B, T, H): batch first.", LOSS,
      "dh = np.zeros((B, len(cache), H))", "dh = np.zeros((len(cache), B, H))"),
    M("many_to_one_backward.only_x", "Return every gradient rnn_backward returns, not only dx.", LOSS,
      "return rnn_backward(dh, cache)", 'return {"x": rnn_backward(dh, cache)["x"]}'),
    # numerical_gradient
    M("numerical_gradient.one_sided", "Use the centered difference: evaluate at x + eps AND at x - eps.", NUMERIC,
      "x[i] = old - eps", "x[i] = old"),
    M("numerical_gradient.not_restored", "Put x[i] back to its old value after the two evaluations.", NUMERIC,
      "        x[i] = old\n        grad[i]", "        grad[i]"),
    M("numerical_gradient.missing_half", "The centered difference divides by 2 * eps, the distance between the two "
      "points.", NUMERIC, "/ (2 * eps)", "/ eps"),
    M("numerical_gradient.rows_not_entries", "Perturb one entry at a time (np.ndindex(x.shape)), not a whole row.",
      NUMERIC, "for i in np.ndindex(x.shape):", "for i in range(x.shape[0]):"),
    M("numerical_gradient.fixed_eps", "Use the eps argument, not a constant of your own.", NUMERIC,
      "x[i] = old + eps", "x[i] = old + 1e-6"),
    # clip_by_value
    M("clip_by_value.upper_only", "Clip both sides: entries below -limit go to -limit.", CLIPPING,
      "np.clip(g, -limit, limit)", "np.minimum(g, limit)"),
    M("clip_by_value.in_place", "Return new arrays: clipping with out=g changes the caller's gradients.",
      CLIPPING, "np.clip(g, -limit, limit)", "np.clip(g, -limit, limit, out=g)"),
    M("clip_by_value.by_norm", "Clipping by value clamps each entry; rescaling by the norm is the other method.",
      CLIPPING, "np.clip(g, -limit, limit)", "g * min(1.0, limit / np.linalg.norm(g))"),
    M("clip_by_value.abs", "Keep the sign of each entry: clamp to [-limit, limit].", CLIPPING,
      "np.clip(g, -limit, limit)", "np.clip(np.abs(g), 0, limit)"),
    M("clip_by_value.sign_times_limit", "Entries inside [-limit, limit] stay as they are.", CLIPPING,
      "np.clip(g, -limit, limit)", "np.sign(g) * limit"),
    # clip_by_global_norm
    M("clip_by_global_norm.per_element", "Clipping by global norm rescales ALL gradients by one factor; clamping "
      "each element is clipping by value.", CLIPPING, "{k: g * scale for k, g in grads.items()}",
      "{k: np.clip(g, -max_norm, max_norm) for k, g in grads.items()}"),
    M("clip_by_global_norm.no_sqrt", "The norm is the square root of the sum of squares.", CLIPPING,
      "n = float(np.sqrt(sum(np.sum(g ** 2) for g in grads.values())))",
      "n = float(sum(np.sum(g ** 2) for g in grads.values()))"),
    M("clip_by_global_norm.norm_after", "Return the norm BEFORE clipping.", CLIPPING,
      "for k, g in grads.items()}, n", "for k, g in grads.items()}, min(n, max_norm)"),
    M("clip_by_global_norm.always_scaled", "Below max_norm the gradients stay unchanged: scale only if n > max_norm.",
      CLIPPING, "scale = max_norm / n if n > max_norm else 1.0", "scale = max_norm / n"),
    M("clip_by_global_norm.sum_of_norms", "The global norm is sqrt of the sum of ALL squares, not the sum of the "
      "arrays' norms.", CLIPPING, "np.sum(g ** 2) for", "np.sqrt(np.sum(g ** 2)) for"),
    M("clip_by_global_norm.per_array", "Use one norm over all arrays together, not each array's own norm.",
      CLIPPING, "{k: g * scale for k, g in grads.items()}",
      "{k: g * min(1.0, max_norm / np.linalg.norm(g)) for k, g in grads.items()}"),
    M("clip_by_global_norm.inverted", "The factor is max_norm / n (it shrinks the gradients).", CLIPPING,
      "scale = max_norm / n if", "scale = n / max_norm if"),
    # train_rnn_tbptt
    M("train_rnn_tbptt.state_not_carried", "Truncated BPTT carries the state to the next chunk (only the gradient "
      "is cut): start chunk s + k from the chunk's last state.", TRUNCATED,
      "h = h_chunk[:, -1]", "h = np.zeros((1, H))"),
    M("train_rnn_tbptt.unweighted_loss", "Weight each chunk's mean loss by its length, so the epoch's loss is the "
      "mean over all T steps.", TRUNCATED, "total += np.mean(err ** 2) * (e - s)", "total += np.mean(err ** 2)"),
    M("train_rnn_tbptt.clip_per_element", "clip is a max global norm: rescale with clip_by_global_norm, do not "
      "clamp each element.", CLIPPING, "grads, _ = clip_by_global_norm(grads, clip)",
      "grads = {n: np.clip(v, -clip, clip) for n, v in grads.items()}"),
    M("train_rnn_tbptt.no_copy", "Copy the parameters first: updating params in place changes the caller's dict.",
      TRUNCATED, "p = {name: np.array(v, dtype=np.float64, copy=True) for name, v in params.items()}",
      "p = params"),
    M("train_rnn_tbptt.sum_not_mean_gradient", "The loss is a MEAN over the chunk's outputs: its gradient is "
      "2 * err / err.size.", TRUNCATED, "dyhat = 2 * err / err.size", "dyhat = 2 * err"),
    M("train_rnn_tbptt.b_out_mean", "db_out sums the output gradient over the steps of the chunk.", TRUNCATED,
      'grads["b_out"] = dyhat[0].sum(axis=0)', 'grads["b_out"] = dyhat[0].mean(axis=0)'),
    M("train_rnn_tbptt.clip_ignored", "Clip the gradients when clip is given.", CLIPPING,
      "if clip is not None:", "if False:"),
    # scale_to_spectral_radius
    M("scale_to_spectral_radius.signed_eigenvalue", "The spectral radius is the largest ABSOLUTE eigenvalue.",
      VANISHING, "np.max(np.abs(np.linalg.eigvals(W)))", "np.max(np.linalg.eigvals(W).real)"),
    M("scale_to_spectral_radius.spectral_norm", "The spectral radius (max |eigenvalue|) is not the spectral norm "
      "(largest singular value): they differ for non-symmetric W.", VANISHING,
      "np.max(np.abs(np.linalg.eigvals(W)))", "np.linalg.norm(W, 2)"),
    M("scale_to_spectral_radius.frobenius", "Use the eigenvalues of W, not its Frobenius norm.", VANISHING,
      "np.max(np.abs(np.linalg.eigvals(W)))", "np.linalg.norm(W)"),
    M("scale_to_spectral_radius.real_part", "Complex eigenvalues count by their modulus, not their real part.",
      VANISHING, "np.abs(np.linalg.eigvals(W))", "np.abs(np.linalg.eigvals(W).real)"),
    M("scale_to_spectral_radius.inverted", "Multiply W by rho / radius.", VANISHING,
      "(rho / np.max(np.abs(np.linalg.eigvals(W))))", "(np.max(np.abs(np.linalg.eigvals(W))) / rho)"),
    M("scale_to_spectral_radius.max_entry", "The spectral radius comes from the eigenvalues, not the largest entry.",
      VANISHING, "np.max(np.abs(np.linalg.eigvals(W)))", "np.max(np.abs(W))"),
    # hidden_jacobian_norms
    M("hidden_jacobian_norms.tanh_prime_wrong_step", "The Jacobian of step s is diag(1 - h_s**2) W_hh: tanh' at "
      "the state that step produced, h[s].", VANISHING, "(1 - h[s] ** 2)", "(1 - h[s - 1] ** 2)"),
    M("hidden_jacobian_norms.no_tanh_prime", "Each step's Jacobian includes tanh' = 1 - h**2, not W_hh alone.",
      VANISHING, "((1 - h[s] ** 2)[:, None] * W_hh)", "W_hh"),
    M("hidden_jacobian_norms.transposed_W", "dh_s/dh_{s-1} = diag(1 - h_s**2) W_hh, with W_hh, not W_hh.T.",
      VANISHING, "* W_hh)", "* W_hh.T)"),
    M("hidden_jacobian_norms.frobenius", "Report the spectral norm (ord 2, largest singular value), not the "
      "Frobenius norm.", VANISHING, "np.linalg.norm(J, 2)", "np.linalg.norm(J)"),
    M("hidden_jacobian_norms.reversed_product", "dh_T/dh_t multiplies the later steps' Jacobians on the LEFT: "
      "J = J @ J_s.", VANISHING, "J = J @ ((1 - h[s] ** 2)[:, None] * W_hh)",
      "J = ((1 - h[s] ** 2)[:, None] * W_hh) @ J"),
    M("hidden_jacobian_norms.diag_on_the_right", "tanh' scales the ROWS of W_hh (diag(1 - h**2) @ W_hh), not "
      "its columns.", VANISHING, "(1 - h[s] ** 2)[:, None] * W_hh", "W_hh * (1 - h[s] ** 2)[None, :]"),
    M("hidden_jacobian_norms.last_not_identity", "dh_T/dh_T is the identity: the last norm is 1.", VANISHING,
      "norms[T - 1] = 1.0", "norms[T - 1] = 0.0"),
]


def _global_norm(case: dict) -> float:
    return float(np.sqrt(sum(np.sum(g ** 2) for g in case["grads"].values())))


def _tbptt(case: dict) -> set[str]:
    T, k = case["x"].shape[1], case["k"]
    found = {"one chunk (k >= T)" if k >= T else "several chunks (k < T)"}
    if T % k:
        found.add("a shorter last chunk (T not a multiple of k)")
    return found


FEATURES = {
    "clip_by_value": lambda c: {"an entry beyond the limit" if any(np.any(np.abs(g) > c["limit"])
                                                                   for g in c["grads"].values())
                                else "every entry within the limit"},
    "clip_by_global_norm": lambda c: {"the norm above max_norm" if _global_norm(c) > c["max_norm"]
                                      else "the norm below max_norm"},
    "train_rnn_tbptt": _tbptt,
}
