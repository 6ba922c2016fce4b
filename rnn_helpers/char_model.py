"""A character-level language model in PyTorch: embedding -> recurrent layer -> linear readout.

For a batch of id sequences ``idx`` (B, T) the model returns, at every step t, the logits of the
next character given characters 0..t:

    x_t = E[idx_t]                      (embedding, E of shape (V, embed_dim))
    h_t = cell(x_t, h_{t-1})            (torch.nn.RNN, GRU or LSTM, batch_first)
    logits_t = h_t W_out^T + b_out      (W_out of shape (V, H))

Training minimises the mean cross-entropy of the logits against the inputs shifted by one,
in nats per character.

Used in: chapter 06 (applications); exercise 06 grades against it.
"""
from __future__ import annotations

import torch
from torch import nn

CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


class CharModel(nn.Module):
    """Embedding, one recurrent layer and a linear readout over a vocabulary of V characters.

    Parameters (PyTorch names): ``embedding.weight`` (V, embed_dim); ``rnn.weight_ih_l0``
    (G*H, embed_dim), ``rnn.weight_hh_l0`` (G*H, H), ``rnn.bias_ih_l0``, ``rnn.bias_hh_l0`` (G*H,)
    with G = 1, 3, 4 for rnn, gru, lstm; ``head.weight`` (V, H), ``head.bias`` (V,).
    """

    def __init__(self, vocab_size: int, embed_dim: int, hidden_size: int, *, cell: str = "lstm"):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, got {cell!r}")
        for name, value in (("vocab_size", vocab_size), ("embed_dim", embed_dim), ("hidden_size", hidden_size)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        self.cell = cell
        self.vocab_size = vocab_size
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.rnn = CELLS[cell](embed_dim, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward_with_state(self, idx: torch.Tensor, state=None):
        """Logits and the final recurrent state (to continue a sequence step by step).

        Inputs:
        - idx: int64 tensor (B, T) of ids in [0, V).
        - state: None (zeros), or the state returned by a previous call: h (1, B, H), or (h, c) for an LSTM.

        Returns:
        - logits: float tensor (B, T, V).
        - state: h_T (1, B, H), or (h_T, c_T) for an LSTM.
        """
        if idx.dim() != 2 or idx.dtype != torch.int64:
            raise ValueError(f"idx must be an int64 tensor of shape (B, T), got {idx.dtype} {tuple(idx.shape)}")
        h, state = self.rnn(self.embedding(idx), state)
        return self.head(h), state

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        """Inputs: idx int64 (B, T). Returns: logits (B, T, V), from a zero initial state."""
        return self.forward_with_state(idx)[0]


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, inputs: torch.Tensor, targets: torch.Tensor,
               max_norm: float | None) -> tuple[float, float]:
    """One gradient step on the mean next-character cross-entropy, with global-norm clipping.

    Inputs:
    - model: maps inputs (B, T) to logits (B, T, V) (e.g. a ``CharModel``).
    - optimizer: a torch optimizer over ``model.parameters()``.
    - inputs: int64 tensor (B, T).
    - targets: int64 tensor (B, T); positions holding -100 (torch's ``ignore_index``, used for
      padding) do not count in the mean.
    - max_norm: clip the global gradient norm to this value before the step (None: no clipping).

    Returns:
    - loss: float, the mean cross-entropy (nats per character) before the step.
    - grad_norm: float, the global L2 norm of the gradient before clipping.
    """
    if inputs.shape != targets.shape or inputs.dim() != 2:
        raise ValueError(f"inputs and targets must both be (B, T), got {tuple(inputs.shape)} and {tuple(targets.shape)}")
    model.train()
    optimizer.zero_grad()
    logits = model(inputs)
    loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
    loss.backward()
    limit = float("inf") if max_norm is None else float(max_norm)
    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), limit)
    optimizer.step()
    return float(loss.item()), float(grad_norm)
