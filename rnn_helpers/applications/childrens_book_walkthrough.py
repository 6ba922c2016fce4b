"""A tiny word-level LSTM that writes the children's book, and a trace of its gates while it reads.

The model reads one-hot words of {Doug, Jane, Spot, saw, .} and predicts the next word. Sentences
are "<subject> saw <object>." with subject != object, so the best possible predictions are:
after "." any of 3 names (ln 3 nats), after a name at the start "saw" (0), after "saw" one of the
2 names that are not the subject (ln 2), after the object "." (0). The floor is therefore
(ln 3 + ln 2) / 4 = 0.448 nats/word. A model without memory (a bigram) sees a name but cannot tell
the subject (next "saw") from the object (next "."), and cannot know the subject at "saw": it cannot
do better than (2 ln 3 + 2 ln 2) / 4 = 0.896. A model that knows where it is in the sentence but not
who the subject was reaches (ln 3 + ln 3) / 4 = 0.549: that last gap is the subject remembered.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from rnn_helpers.datasets.childrens_book import VOCAB, encode_words, make_sentences, tokenize
from rnn_helpers.applications.torch_training import fit, gradient_step, seed_everything

FLOOR_NATS = (math.log(3) + math.log(2)) / 4  # the best any model can do
BIGRAM_NATS = (2 * math.log(3) + 2 * math.log(2)) / 4  # the best a model without memory can do
POSITION_NATS = (math.log(3) + math.log(3)) / 4  # knows its place in the sentence, not the subject


class WordLSTM(nn.Module):
    """One-hot word (B, T) -> nn.LSTM(5, H) -> linear -> logits (B, T, 5)."""

    def __init__(self, hidden_size: int):
        super().__init__()
        self.lstm = nn.LSTM(len(VOCAB), hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, len(VOCAB))

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = nn.functional.one_hot(idx, len(VOCAB)).float()
        return self.head(self.lstm(x)[0])


def make_stream(n_sentences: int, *, seed: int) -> np.ndarray:
    """The word ids of n seeded sentences read one after the other: (4 n,)."""
    return encode_words(tokenize(" ".join(make_sentences(n_sentences, seed=seed))))


def train_model(*, hidden: int, steps: int, batch: int, chunk_sentences: int, lr: float, seed: int = 0):
    """Train on random chunks of a long seeded story, each read from a zero state.

    A chunk starts at the "." that ends a sentence and holds the next ``chunk_sentences`` sentences,
    so every word of them is predicted and the loss is comparable with ``FLOOR_NATS``.
    Returns (model, history); history["eval"] is the held-out loss in nats/word.
    """
    rng = seed_everything(seed)
    stop = VOCAB.index(".")
    train = torch.from_numpy(np.concatenate([[stop], make_stream(4000, seed=seed)]))
    L = 4 * chunk_sentences + 1
    held = [np.concatenate([[stop], make_stream(chunk_sentences, seed=seed + 1 + k)]) for k in range(200)]
    held = torch.from_numpy(np.stack(held))
    model = WordLSTM(hidden)
    opt = torch.optim.Adam(model.parameters(), lr=lr)

    def loss_on(chunks: torch.Tensor) -> torch.Tensor:
        logits = model(chunks[:, :-1])
        return nn.functional.cross_entropy(logits.reshape(-1, len(VOCAB)), chunks[:, 1:].reshape(-1))

    def step(i: int) -> float:
        starts = 4 * rng.integers(0, (train.shape[0] - L) // 4, size=batch)  # the stream's "." sit at 0, 4, 8, ...
        chunks = torch.stack([train[s : s + L] for s in starts])
        return gradient_step(model, opt, lambda: loss_on(chunks))

    @torch.no_grad()
    def evaluate() -> float:
        model.eval()
        return float(loss_on(held))

    history = fit(step, steps, desc="children's book LSTM", evaluate=evaluate, eval_every=max(1, steps // 10))
    return model, history


@torch.no_grad()
def trace_gates(lstm: nn.LSTM, x: torch.Tensor) -> dict[str, np.ndarray]:
    """Run a one-layer ``nn.LSTM`` over one sequence x (T, D) and keep every gate.

    Uses the PyTorch gate order (i, f, g, o) and equations:
        i, f, o = sigmoid(.), g = tanh(.) of  x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh,
        c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t).

    Returns {"i", "f", "g", "o", "c", "h"}: arrays (T, H).
    """
    W_ih, W_hh = lstm.weight_ih_l0, lstm.weight_hh_l0
    b = lstm.bias_ih_l0 + lstm.bias_hh_l0
    H = lstm.hidden_size
    h, c = torch.zeros(H), torch.zeros(H)
    out = {k: [] for k in "ifgoch"}
    for x_t in x:
        a = W_ih @ x_t + W_hh @ h + b
        i, f, g, o = torch.sigmoid(a[:H]), torch.sigmoid(a[H : 2 * H]), torch.tanh(a[2 * H : 3 * H]), torch.sigmoid(a[3 * H :])
        c = f * c + i * g
        h = o * torch.tanh(c)
        for k, v in zip("ifgoch", (i, f, g, o, c, h)):
            out[k].append(v.numpy().copy())
    return {k: np.stack(v) for k, v in out.items()}


@torch.no_grad()
def next_word_probs(model: WordLSTM, words: list[str]) -> np.ndarray:
    """p(next word | words so far) after each word: (T, 5), columns in VOCAB order."""
    model.eval()
    idx = torch.from_numpy(encode_words(words))[None]
    return torch.softmax(model(idx)[0], -1).numpy()
