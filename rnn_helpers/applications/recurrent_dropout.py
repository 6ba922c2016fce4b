"""Dropout in a recurrent character model: one mask per sequence (variational), not one per step (chapter 06).

Standard dropout multiplies every activation by an independent mask m ~ Bernoulli(1 - p) / (1 - p), drawn
afresh for every element, so a (B, T, F) tensor gets a new mask at every time step. Variational dropout
(Gal and Ghahramani 2016) draws one mask per sequence, shape (B, 1, F), and uses it at every step: a unit that
is dropped is dropped for the whole sequence. Here it is applied to the two connections that are not
recurrent, the embeddings entering the recurrent layer and the hidden states leaving it for the readout;
the recurrent layer itself is torch's fused module, untouched. At evaluation time (``model.eval()``) nothing
is dropped, and the 1 / (1 - p) scaling during training keeps the expected activation the same.
"""
from __future__ import annotations

import torch
from torch import nn

from rnn_helpers.char_model import CharModel


class VariationalDropout(nn.Module):
    """Dropout with one mask per sequence: x (B, T, F) -> x * m, m (B, 1, F) in {0, 1/(1-p)}; identity in eval."""

    def __init__(self, p: float):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"p must lie in [0, 1), got {p!r}")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if x.dim() != 3:
            raise ValueError(f"x must be (B, T, F), got shape {tuple(x.shape)}")
        mask = x.new_empty(x.shape[0], 1, x.shape[2]).bernoulli_(1.0 - self.p) / (1.0 - self.p)
        return x * mask


class DropoutCharModel(CharModel):
    """``char_model.CharModel`` with variational dropout on the embeddings and on the hidden states.

    embedding (V, E) -> dropout -> nn.RNN/GRU/LSTM(E, H) -> dropout -> linear (V, H): logits (B, T, V).
    The parameters are CharModel's, created by its constructor, so with ``p = 0`` it is the plain model (same
    initialisation for the same seed); ``forward`` is CharModel's, over the ``forward_with_state`` below.
    """

    def __init__(self, vocab_size: int, embed_dim: int, hidden_size: int, *, cell: str = "gru", p: float = 0.5):
        super().__init__(vocab_size, embed_dim, hidden_size, cell=cell)
        self.drop = VariationalDropout(p)

    def forward_with_state(self, idx: torch.Tensor, state=None):
        """idx int64 (B, T), state None or the previous call's -> logits (B, T, V), final state."""
        h, state = self.rnn(self.drop(self.embedding(idx)), state)
        return self.head(self.drop(h)), state


def survival_probability(p: float, steps: int) -> float:
    """Probability that a value carried by one unit survives ``steps`` independent dropout masks: (1 - p)^steps.

    This is why a fresh mask on the recurrent connection at every step erases the memory: with p = 0.5 a value
    survives 10 steps with probability 1/1024. With one mask per sequence it survives with probability 1 - p,
    whatever the number of steps.
    """
    if not 0.0 <= p < 1.0 or steps < 0:
        raise ValueError(f"need 0 <= p < 1 and steps >= 0, got p={p!r}, steps={steps!r}")
    return (1.0 - p) ** steps


def train_with_and_without(p: float, *, kind: str, val_fraction: float, n_train: int, n_val: int, cell: str,
                           embed: int, hidden: int, batch: int, lr: float, steps: int, seed: int = 0) -> dict:
    """The train/validation gap of a names model trained on ``n_train`` surnames, without and with dropout.

    Both runs share the seed, the data, the initialisation and the minibatches; only ``p`` differs (0, then p).
    Returns {0.0: result, p: result}, each result a dict: "model", "history" (as ``names_language_model``'s),
    "train_nll" and "val_nll" (nats/char, measured in eval mode, i.e. without dropout) and "gap" (their difference).
    """
    from rnn_helpers.applications import names_language_model as names_lm

    vocab, train, val = names_lm.prepare(kind, val_fraction, seed=seed)
    train, val = train[:n_train], val[:n_val]
    tx, ty = names_lm.to_tensors(train, vocab)
    vx, vy = names_lm.to_tensors(val, vocab)
    out = {}
    for rate in (0.0, p):
        model, history = names_lm.train_model(
            cell, vocab, tx, ty, vx, vy, steps=steps, batch=batch, embed=embed, hidden=hidden, lr=lr,
            eval_every=max(1, steps // 8), seed=seed,
            make_model=lambda rate=rate: DropoutCharModel(len(vocab), embed, hidden, cell=cell, p=rate))
        train_nll, val_nll = names_lm.nll(model, tx, ty), names_lm.nll(model, vx, vy)
        out[rate] = {"model": model, "history": history, "train_nll": train_nll, "val_nll": val_nll,
                     "gap": val_nll - train_nll}
    return out
