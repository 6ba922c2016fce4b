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
from rnn_helpers.applications.torch_training import fit, seed_everything
from rnn_helpers.perplexity import nats_per_token

BOUNDARY = "."
IGNORE = -100  # the target id of padding: torch's cross_entropy ignores it by default (its ignore_index)


def prepare(kind: str = "last", val_fraction: float = 0.1, *, seed: int = 0):
    """Returns (vocab, train names, validation names); vocab holds "." and the letters."""
    all_names = load_names(kind)
    train, val = split_names(all_names, val_fraction, seed=seed)
    vocab = text.build_vocab(BOUNDARY + "".join(all_names))
    return vocab, train, val


def to_tensors(names: list[str], vocab: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """inputs (B, T) = ".name" padded with ".", targets (B, T) = "name." padded with ``IGNORE`` (-100)."""
    T = max(len(n) for n in names) + 1
    inputs = torch.zeros(len(names), T, dtype=torch.int64)
    inputs.fill_(vocab.index(BOUNDARY))
    targets = torch.full((len(names), T), IGNORE, dtype=torch.int64)
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
    logp = bigram_log_probs(train, vocab, alpha)
    val_counts = bigram_counts(val, vocab)
    return float(-(val_counts * logp).sum() / val_counts.sum())


def unigram_log_probs(train: list[str], vocab: list[str], alpha: float = 0.1) -> np.ndarray:
    """The unigram model as a (V, V) table: every row is log p(b) = log (n_b + alpha) / (sum_b' n_b' + alpha V),
    n_b counting how often b is a *target* in the training names (the end mark included, the start mark not)."""
    counts = bigram_counts(train, vocab).sum(axis=0) + alpha
    return np.tile(np.log(counts / counts.sum()), (len(vocab), 1))


def bigram_log_probs(train: list[str], vocab: list[str], alpha: float = 0.1) -> np.ndarray:
    """The bigram model as a (V, V) table: log p(b | a) = log (n_ab + alpha) / (sum_b' n_ab' + alpha V)."""
    counts = bigram_counts(train, vocab) + alpha
    return np.log(counts / counts.sum(axis=1, keepdims=True))


def table_token_log_probs(table: np.ndarray, inputs: torch.Tensor, targets: torch.Tensor):
    """Per-token log-probabilities of a count model: table (V, V) of log p(b | a), inputs and targets (B, T)
    as ``to_tensors`` makes them. Returns (log_probs (B, T) float64, mask (B, T) float64: 1 at real targets);
    log_probs is 0 where the mask is 0."""
    x, y = inputs.numpy(), targets.numpy()
    mask = (y != IGNORE).astype(np.float64)
    return np.where(mask > 0, table[x, np.where(mask > 0, y, 0)], 0.0), mask


@torch.no_grad()
def token_log_probs(model: torch.nn.Module, inputs: torch.Tensor, targets: torch.Tensor, batch: int = 4096):
    """Per-token log-probabilities log p(target_t | inputs_<=t) of ``model`` (in eval mode): inputs, targets
    (B, T). Returns (log_probs (B, T) float64, mask (B, T) float64), log_probs 0 where the mask is 0."""
    model.eval()
    out = np.zeros(tuple(targets.shape))
    for s in range(0, inputs.shape[0], batch):
        logp = torch.log_softmax(model(inputs[s : s + batch]).double(), -1)
        t = targets[s : s + batch]
        picked = logp.gather(-1, t.clamp(min=0)[..., None])[..., 0]
        out[s : s + batch] = torch.where(t != IGNORE, picked, torch.zeros_like(picked)).numpy()
    return out, (targets != IGNORE).double().numpy()


def nll(model: torch.nn.Module, inputs: torch.Tensor, targets: torch.Tensor, batch: int = 4096) -> float:
    """Mean nats/char of ``model`` (in eval mode) over all non-padding targets."""
    return nats_per_token(*token_log_probs(model, inputs, targets, batch))


def train_model(cell: str, vocab, train_x, train_y, val_x, val_y, *, steps: int, batch: int, embed: int,
                hidden: int, lr: float, max_norm: float = 1.0, eval_every: int = 0, seed: int = 0,
                make_model=None, probe=None):
    """Train a ``CharModel`` with Adam on random minibatches; returns (model, history).

    - make_model: optional ``make_model() -> nn.Module`` mapping (B, T) ids to (B, T, V) logits, called after
      seeding (e.g. a ``recurrent_dropout.DropoutCharModel``); default ``CharModel(len(vocab), embed, hidden, cell=cell)``.
    - probe: optional ``probe(model) -> object`` (e.g. a few samples), called before the first step and at every
      evaluation; its results are ``history["probe"]`` at steps ``history["probe_step"]``. It must not use
      torch's global generator, so that probing leaves the training unchanged.
    """
    rng = seed_everything(seed)
    if make_model is None:
        model = char_model.CharModel(len(vocab), embed, hidden, cell=cell)
    else:
        model = make_model()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=lr / 10)
    probes: list = []  # probe(model) before the first step, then at every evaluation

    def evaluate() -> float:
        if probe is not None:
            probes.append(probe(model))
        return nll(model, val_x, val_y)

    if probe is not None:
        probes.append(probe(model))

    def step(i: int) -> float:
        rows = torch.from_numpy(rng.integers(0, train_x.shape[0], size=batch))
        x, y = train_x[rows], train_y[rows]
        width = int((y != IGNORE).sum(1).max())  # drop the columns that are padding for the whole batch
        loss, _ = char_model.train_step(model, opt, x[:, :width], y[:, :width], max_norm)
        sched.step()
        return loss

    history = fit(step, steps, desc=f"names {cell.upper()}", evaluate=evaluate, eval_every=eval_every)
    if probe is not None:
        history["probe_step"], history["probe"] = [0] + history["eval_step"], probes
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
