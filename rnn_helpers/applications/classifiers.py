"""Small PyTorch models for the many-to-one tasks of chapter 06.

- ``BagOfWordsClassifier``: logistic regression on word counts; blind to order by construction.
- ``RecurrentClassifier``: embedding -> RNN/GRU/LSTM -> linear layer on the state after the last real token.
- ``SequenceRegressor``: RNN/GRU/LSTM over real-valued features -> one number (adding problem, forecasting).
"""
from __future__ import annotations

import torch
from torch import nn

CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


def _cell(cell: str):
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {sorted(CELLS)}, got {cell!r}")
    return CELLS[cell]


def last_valid(h: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """The state after each sequence's last real step: h (B, T, H), lengths (B,) -> (B, H)."""
    index = (lengths.to(h.device) - 1).clamp(min=0).view(-1, 1, 1).expand(-1, 1, h.shape[-1])
    return h.gather(1, index).squeeze(1)


class BagOfWordsClassifier(nn.Module):
    """Logits = counts W^T + b, where counts[w] is how often word w occurs (padding id 0 ignored).

    forward(ids (B, T) int64, lengths (B,)) -> logits (B, n_classes).
    """

    def __init__(self, vocab_size: int, n_classes: int = 2):
        super().__init__()
        self.vocab_size = vocab_size
        self.linear = nn.Linear(vocab_size, n_classes)

    def counts(self, ids: torch.Tensor) -> torch.Tensor:
        c = torch.zeros(ids.shape[0], self.vocab_size, device=ids.device)
        c.scatter_add_(1, ids, torch.ones_like(ids, dtype=c.dtype))
        c[:, 0] = 0.0  # padding
        return c

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.linear(self.counts(ids))


class RecurrentClassifier(nn.Module):
    """Embedding (id 0 = padding) -> one recurrent layer -> linear layer on h at the last real token.

    forward(ids (B, T) int64, lengths (B,) int64) -> logits (B, n_classes).
    """

    def __init__(self, vocab_size: int, embed_dim: int, hidden_size: int, *, cell: str = "gru", n_classes: int = 2):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.rnn = _cell(cell)(embed_dim, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, n_classes)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        h, _ = self.rnn(self.embedding(ids))
        return self.head(last_valid(h, lengths))


class SequenceRegressor(nn.Module):
    """One recurrent layer over x (B, T, D) and a linear readout of the last state: forward(x) -> (B,)."""

    def __init__(self, input_size: int, hidden_size: int, *, cell: str = "lstm"):
        super().__init__()
        self.rnn = _cell(cell)(input_size, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.rnn(x)
        return self.head(h[:, -1]).squeeze(-1)
