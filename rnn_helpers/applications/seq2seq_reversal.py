"""Sequence to sequence on string reversal: a GRU encoder-decoder, greedy and beam decoding, a baseline.

The encoder reads the source symbols and its state after the last *real* symbol (a packed sequence,
so padding never enters it) is the only thing the decoder is given: one vector of H numbers, however
long the source. The decoder starts from that state, reads <bos> and then, during training, the true
target shifted by one (teacher forcing); it is trained on the masked mean cross-entropy

    loss = sum_{b,t} mask[b,t] * (-log p(y[b,t] | y[b,<t], source_b)) / sum_{b,t} mask[b,t],

where mask is 1 at the real target positions (the symbols and the final <eos>) and 0 at padding.
At test time it reads its own previous output instead, decoded greedily or with a beam
(``rnn_helpers.decoding``). The baseline (``BagOfSymbols``) sees how often each symbol occurs and the
length, not their order, and predicts every output position at once: it does not recur.
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch
from torch import nn

from rnn_helpers.applications.torch_training import fit, gradient_step, seed_everything
from rnn_helpers.datasets.seq2seq import ALPHABET, BOS, EOS, PAD, SPECIALS, VOCAB, decode, encode, encode_batch, \
    make_reversal

CELLS = {"gru": nn.GRU, "lstm": nn.LSTM}


class EncoderDecoder(nn.Module):
    """Embedding -> encoder GRU/LSTM -> final state -> decoder GRU/LSTM -> linear layer over V symbols.

    Parameters: ``src_embed.weight`` (V, E), ``encoder`` nn.GRU(E, H) (weights (3H, E), (3H, H), ...),
    ``tgt_embed.weight`` (V, E), ``decoder`` nn.GRU(E, H), ``head`` nn.Linear(H, V); for ``cell="lstm"``
    the recurrent layers are nn.LSTM and the state handed over is the pair (h, c).
    """

    def __init__(self, vocab_size: int, embed: int, hidden: int, *, cell: str = "gru"):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, got {cell!r}")
        self.src_embed = nn.Embedding(vocab_size, embed, padding_idx=PAD)
        self.tgt_embed = nn.Embedding(vocab_size, embed, padding_idx=PAD)
        self.encoder = CELLS[cell](embed, hidden, batch_first=True)
        self.decoder = CELLS[cell](embed, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab_size)

    def encode(self, src: torch.Tensor, src_len: torch.Tensor):
        """src (B, S) int64, src_len (B,) -> the encoder's state after each source's last real symbol:
        h (1, B, H), or (h, c) for an LSTM."""
        packed = nn.utils.rnn.pack_padded_sequence(self.src_embed(src), src_len.cpu(), batch_first=True,
                                                   enforce_sorted=False)
        return self.encoder(packed)[1]

    def decode_logits(self, dec_in: torch.Tensor, state):
        """dec_in (B, T) int64 and a state -> logits (B, T, V) and the decoder's final state."""
        h, state = self.decoder(self.tgt_embed(dec_in), state)
        return self.head(h), state

    def forward(self, src, src_len, dec_in):
        """Teacher forcing: logits (B, T, V) of every target position given the true previous ones."""
        return self.decode_logits(dec_in, self.encode(src, src_len))[0]


def masked_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean of -log p(target) over the positions where ``targets != PAD``: logits (B, T, V), targets (B, T).

    That is the module docstring's sum_{b,t} mask[b,t] * (-log p(y[b,t] | ...)) / sum_{b,t} mask[b,t]:
    cross_entropy's ``ignore_index`` leaves the PAD positions out of both sums.
    """
    return nn.functional.cross_entropy(logits.transpose(1, 2), targets, ignore_index=PAD)


class BagOfSymbols(nn.Module):
    """The baseline that does not recur: symbol counts and the length -> an MLP -> logits for every output slot.

    forward(src (B, S) int64, src_len (B,)) -> logits (B, T_out, V), T_out = max_len + 1 (room for <eos>).
    Two sources with the same symbols in another order get the same prediction.
    """

    def __init__(self, vocab_size: int, max_len: int, hidden: int):
        super().__init__()
        self.vocab_size, self.max_len = vocab_size, max_len
        self.net = nn.Sequential(nn.Linear(vocab_size + max_len + 1, hidden), nn.ReLU(),
                                 nn.Linear(hidden, (max_len + 1) * vocab_size))

    def features(self, src: torch.Tensor, src_len: torch.Tensor) -> torch.Tensor:
        counts = torch.zeros(src.shape[0], self.vocab_size)
        counts.scatter_add_(1, src, torch.ones_like(src, dtype=counts.dtype))
        counts[:, PAD] = 0.0
        length = nn.functional.one_hot(src_len.clamp(max=self.max_len), self.max_len + 1).float()
        return torch.cat([counts, length], dim=1)

    def forward(self, src, src_len):
        return self.net(self.features(src, src_len)).view(-1, self.max_len + 1, self.vocab_size)


def make_splits(n_train: int, n_test_per_length: int, min_len: int, max_len: int, *, seed: int = 0) -> dict:
    """Seeded training pairs and a test set with ``n_test_per_length`` pairs of every length in
    [min_len, max_len], none of which occurs in the training set. Strings and id tensors.

    Raises ``ValueError`` when some length has fewer than ``n_test_per_length`` strings left that are not in
    the training set (short lengths have few distinct strings: 10**L for L symbols).
    """
    train_src, train_tgt = make_reversal(n_train, min_len, max_len, seed=seed)
    seen = set(train_src)
    test_src = []
    for L in range(min_len, max_len + 1):
        cand, _ = make_reversal(4 * n_test_per_length, L, L, seed=seed + 1000 + L)
        fresh = [s for s in dict.fromkeys(cand) if s not in seen]
        if len(fresh) < n_test_per_length:
            raise ValueError(f"length {L}: only {len(fresh)} of {4 * n_test_per_length} candidate test strings are "
                             f"distinct and not in the training set; n_test_per_length={n_test_per_length} asks for "
                             f"more (use fewer test strings, fewer training pairs or a larger min_len)")
        test_src += fresh[:n_test_per_length]
    test_tgt = [s[::-1] for s in test_src]
    tensors = lambda src, tgt: tuple(torch.from_numpy(a) for a in encode_batch(src, tgt))  # noqa: E731
    return {"train": tensors(train_src, train_tgt), "test": tensors(test_src, test_tgt),
            "texts": {"train": list(zip(train_src, train_tgt)), "test": list(zip(test_src, test_tgt))},
            "max_len": max_len, "min_len": min_len}


def _batches(n: int, batch: int, rng: np.random.Generator):
    return torch.from_numpy(rng.integers(0, n, size=batch))


def _trim(src, src_len, dec_in, dec_out):
    """Drop the columns that are padding for the whole minibatch."""
    S, T = int(src_len.max()), int((dec_out != PAD).sum(1).max())
    return src[:, :S], src_len, dec_in[:, :T], dec_out[:, :T]


def train_model(splits: dict, *, steps: int, batch: int, embed: int, hidden: int, lr: float, cell: str = "gru",
                max_norm: float = 1.0, seed: int = 0):
    """Adam with teacher forcing on random minibatches of the training pairs; returns (model, history).

    history["eval"]: the masked cross-entropy (nats per target symbol) on the test pairs, teacher-forced.
    """
    rng = seed_everything(seed)
    model = EncoderDecoder(len(VOCAB), embed, hidden, cell=cell)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=lr / 10)
    train = splits["train"]

    def step(i: int) -> float:
        rows = _batches(train[0].shape[0], batch, rng)
        src, src_len, dec_in, dec_out = _trim(*(a[rows] for a in train))
        loss = gradient_step(model, opt, lambda: masked_cross_entropy(model(src, src_len, dec_in), dec_out), max_norm)
        sched.step()
        return loss

    @torch.no_grad()
    def evaluate() -> float:
        model.eval()
        src, src_len, dec_in, dec_out = splits["test"]
        return float(masked_cross_entropy(model(src, src_len, dec_in), dec_out))

    history = fit(step, steps, desc=f"reversal {cell.upper()} encoder-decoder", evaluate=evaluate,
                  eval_every=max(1, steps // 10))
    return model, history


def train_baseline(splits: dict, *, steps: int, batch: int, hidden: int, lr: float, seed: int = 0):
    """The bag-of-symbols baseline, trained with the same masked cross-entropy; returns (model, history)."""
    rng = seed_everything(seed)
    model = BagOfSymbols(len(VOCAB), splits["max_len"], hidden)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    src_all, len_all, _, out_all = splits["train"]
    width = model.max_len + 1
    pad_to = lambda t: nn.functional.pad(t, (0, width - t.shape[1]), value=PAD)  # noqa: E731

    def step(i: int) -> float:
        rows = _batches(src_all.shape[0], batch, rng)
        return gradient_step(model, opt, lambda: masked_cross_entropy(model(src_all[rows], len_all[rows]),
                                                                      pad_to(out_all[rows])))

    return model, fit(step, steps, desc="reversal bag of symbols")


@torch.no_grad()
def baseline_predictions(model: BagOfSymbols, src: torch.Tensor, src_len: torch.Tensor) -> list[str]:
    model.eval()
    return [decode(row) for row in model(src, src_len).argmax(-1).tolist()]


class DecoderSteps:
    """The ``step`` function of ``rnn_helpers.decoding`` for one source string, with a cache per prefix.

    ``step(prefix)`` takes a tuple of ids that starts with <bos> and returns the log-probabilities (V,)
    of the next symbol. The decoder's state after each prefix is kept, so a prefix that extends a known
    one costs one decoder step (a beam of width k costs k steps per output position, not k * t).
    """

    def __init__(self, model: EncoderDecoder, source: str):
        self.model = model
        src = torch.tensor([encode(source)], dtype=torch.int64)
        self.states = {(): model.encode(src, torch.tensor([src.shape[1]]))}

    @torch.no_grad()
    def _state(self, prefix: tuple):
        if prefix not in self.states:
            _, self.states[prefix] = self.model.decode_logits(torch.tensor([[prefix[-1]]]), self._state(prefix[:-1]))
        return self.states[prefix]

    @torch.no_grad()
    def __call__(self, prefix: tuple) -> np.ndarray:
        state = self._state(tuple(prefix))
        h = state[0] if isinstance(state, tuple) else state
        return torch.log_softmax(self.model.head(h[-1, 0]), -1).double().numpy()


def decode_all(model: EncoderDecoder, sources: list[str], *, beam_width: int = 1, alpha: float = 0.0,
               max_len: int | None = None) -> list[str]:
    """Decode every source with ``rnn_helpers.decoding``: greedy for ``beam_width == 1``, else a beam."""
    from rnn_helpers.decoding import beam_search, greedy_decode

    model.eval()
    out = []
    for s in sources:
        step = DecoderSteps(model, s)
        limit = max_len if max_len is not None else len(s) + 5
        if beam_width == 1:
            tokens, _ = greedy_decode(step, BOS, EOS, limit)
        else:
            tokens, _ = beam_search(step, BOS, EOS, beam_width, limit, alpha=alpha)
        out.append(decode(tokens))
    return out


def exact_match_by_length(sources: list[str], predictions: list[str], targets: list[str]) -> dict[int, float]:
    """{source length: fraction of predictions equal to their target} (an exact match, every symbol right)."""
    hits, counts = defaultdict(int), defaultdict(int)
    for s, p, t in zip(sources, predictions, targets):
        counts[len(s)] += 1
        hits[len(s)] += int(p == t)
    return {L: hits[L] / counts[L] for L in sorted(counts)}


def exact_match(predictions: list[str], targets: list[str]) -> float:
    """Fraction of predictions equal to their target, every symbol and the length right."""
    return float(np.mean([p == t for p, t in zip(predictions, targets)]))


def symbol_accuracy(predictions: list[str], targets: list[str]) -> float:
    """Fraction of target symbols predicted right at their position (a missing symbol counts as wrong)."""
    right = sum(sum(a == b for a, b in zip(p, t)) for p, t in zip(predictions, targets))
    return right / sum(len(t) for t in targets)


@torch.no_grad()
def teacher_forced_symbol_accuracy(model: EncoderDecoder, splits: dict) -> float:
    """Fraction of test target symbols (not <eos>) that are the decoder's argmax when it is fed the *true*
    previous symbols (teacher forcing, as in training): the accuracy the training loss sees."""
    model.eval()
    src, src_len, dec_in, dec_out = splits["test"]
    pred = model(src, src_len, dec_in).argmax(-1)
    real = (dec_out != PAD) & (dec_out != EOS)
    return float(((pred == dec_out) & real).sum() / real.sum())


def evaluate(model: EncoderDecoder, baseline: BagOfSymbols, splits: dict, *, beam_width: int, alpha: float) -> dict:
    """Exact match of greedy decoding, beam search and the baseline, overall and by source length."""
    sources = [s for s, _ in splits["texts"]["test"]]
    targets = [t for _, t in splits["texts"]["test"]]
    preds = {"greedy": decode_all(model, sources),
             f"beam {beam_width}": decode_all(model, sources, beam_width=beam_width, alpha=alpha),
             "bag of symbols": baseline_predictions(baseline, *splits["test"][:2])}
    return {"overall": {k: exact_match(p, targets) for k, p in preds.items()},
            "by_length": {k: exact_match_by_length(sources, p, targets) for k, p in preds.items()},
            "predictions": preds, "sources": sources, "targets": targets}


__all__ = ["ALPHABET", "BOS", "EOS", "PAD", "SPECIALS", "VOCAB", "EncoderDecoder", "BagOfSymbols", "DecoderSteps",
           "masked_cross_entropy", "make_splits", "train_model", "train_baseline", "baseline_predictions",
           "decode_all", "exact_match", "exact_match_by_length", "symbol_accuracy", "teacher_forced_symbol_accuracy",
           "evaluate"]
