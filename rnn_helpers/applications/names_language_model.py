"""Character-level language models of US census names: a bigram count model and RNN/GRU/LSTM.

A name is read between two boundary marks, ".smith.": the model sees "." then predicts "s", sees
"s" and predicts "m", ..., sees "h" and predicts the final "." (the end of the name). The loss is
the mean negative log-likelihood in nats per predicted character, end mark included.
"""
from __future__ import annotations

import numpy as np
import torch

from rnn_helpers import char_model, sampling, text
from rnn_helpers.datasets.names import load_names, split_names
from rnn_helpers.applications.torch_training import fit

BOUNDARY = "."


def prepare(kind: str = "last", val_fraction: float = 0.1, *, seed: int = 0):
    """Returns (vocab, train names, validation names); vocab holds "." and the letters."""
    all_names = load_names(kind)
    train, val = split_names(all_names, val_fraction, seed=seed)
    vocab = text.build_vocab(BOUNDARY + "".join(all_names))
    return vocab, train, val


def to_tensors(names: list[str], vocab: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """inputs (B, T) = ".name" padded with ".", targets (B, T) = "name." padded with -100 (ignored)."""
    T = max(len(n) for n in names) + 1
    inputs = torch.zeros(len(names), T, dtype=torch.int64)
    inputs.fill_(vocab.index(BOUNDARY))
    targets = torch.full((len(names), T), -100, dtype=torch.int64)
    for k, n in enumerate(names):
        ids = torch.from_numpy(text.encode(BOUNDARY + n + BOUNDARY, vocab))
        inputs[k, : len(n) + 1] = ids[:-1]
        targets[k, : len(n) + 1] = ids[1:]
    return inputs, targets


def bigram_counts(names: list[str], vocab: list[str]) -> np.ndarray:
    """counts[a, b] = how often character b follows character a (boundaries included): (V, V)."""
    V = len(vocab)
    counts = np.zeros((V, V))
    for n in names:
        ids = text.encode(BOUNDARY + n + BOUNDARY, vocab)
        np.add.at(counts, (ids[:-1], ids[1:]), 1)
    return counts


def bigram_nll(train: list[str], val: list[str], vocab: list[str], alpha: float = 0.1) -> float:
    """Validation nats/char of the bigram model p(b | a) = (counts[a, b] + alpha) / (counts[a].sum() + alpha V)."""
    counts = bigram_counts(train, vocab) + alpha
    logp = np.log(counts / counts.sum(axis=1, keepdims=True))
    val_counts = bigram_counts(val, vocab)
    return float(-(val_counts * logp).sum() / val_counts.sum())


@torch.no_grad()
def nll(model: torch.nn.Module, inputs: torch.Tensor, targets: torch.Tensor, batch: int = 4096) -> float:
    """Mean nats/char of ``model`` over all non-padding targets."""
    model.eval()
    total, count = 0.0, 0
    for s in range(0, inputs.shape[0], batch):
        logits = model(inputs[s : s + batch])
        t = targets[s : s + batch]
        total += float(torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), t.reshape(-1),
                                                         reduction="sum"))
        count += int((t != -100).sum())
    return total / count


def train_model(cell: str, vocab, train_x, train_y, val_x, val_y, *, steps: int, batch: int, embed: int,
                hidden: int, lr: float, max_norm: float = 1.0, eval_every: int = 0, seed: int = 0):
    """Train a ``CharModel`` with Adam on random minibatches; returns (model, history)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = char_model.CharModel(len(vocab), embed, hidden, cell=cell)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=lr / 10)

    def step(i: int) -> float:
        rows = torch.from_numpy(rng.integers(0, train_x.shape[0], size=batch))
        x, y = train_x[rows], train_y[rows]
        width = int((y != -100).sum(1).max())  # drop the columns that are padding for the whole batch
        loss, _ = char_model.train_step(model, opt, x[:, :width], y[:, :width], max_norm)
        sched.step()
        return loss

    history = fit(step, steps, desc=f"names {cell.upper()}", evaluate=lambda: nll(model, val_x, val_y),
                  eval_every=eval_every)
    return model, history


@torch.no_grad()
def generate(model: char_model.CharModel, vocab: list[str], temperature: float, rng: np.random.Generator,
             max_len: int = 20) -> str:
    """Sample one name, character by character, feeding each sample back in (stops at ".")."""
    model.eval()
    idx = torch.tensor([[vocab.index(BOUNDARY)]])
    state, out = None, []
    for _ in range(max_len):
        logits, state = model.forward_with_state(idx, state)
        k = sampling.sample_with_temperature(logits[0, -1].numpy(), temperature, rng)
        if vocab[k] == BOUNDARY:
            break
        out.append(vocab[k])
        idx = torch.tensor([[k]])
    return "".join(out)
