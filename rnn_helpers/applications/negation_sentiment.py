"""Many-to-one sentiment where order matters: bag of words vs a recurrent classifier.

Training reviews come from ``make_reviews``; the held-out reviews and the order-flipped pairs are
drawn with other seeds and every one that also occurs in the training set is dropped, so the
scores are on sentences the models never saw.
"""
from __future__ import annotations

import numpy as np
import torch

from rnn_helpers.applications.classifiers import BagOfWordsClassifier, RecurrentClassifier
from rnn_helpers.datasets.sentiment import VOCAB, encode_reviews, make_order_pairs, make_reviews
from rnn_helpers.applications.torch_training import fit, gradient_step, seed_everything


def make_splits(n_train: int, n_test: int, n_pairs: int, *, seed: int = 0) -> dict:
    """Training reviews, held-out reviews and held-out order pairs, as tensors and texts."""
    train_texts, train_labels = make_reviews(n_train, seed=seed)
    seen = set(train_texts)
    test_texts, test_labels = make_reviews(n_test, seed=seed + 1)
    keep = [k for k, t in enumerate(test_texts) if t not in seen]
    test_texts, test_labels = [test_texts[k] for k in keep], test_labels[keep]
    a, b, la, lb = make_order_pairs(n_pairs, seed=seed + 2)
    keep = [k for k in range(len(a)) if a[k] not in seen and b[k] not in seen]
    pairs = ([a[k] for k in keep], [b[k] for k in keep], la[keep], lb[keep])

    def tensors(texts, labels):
        ids, lengths = encode_reviews(texts)
        return torch.from_numpy(ids), torch.from_numpy(lengths), torch.from_numpy(np.asarray(labels))

    return {"train": tensors(train_texts, train_labels), "test": tensors(test_texts, test_labels),
            "pair_first": tensors(pairs[0], pairs[2]), "pair_second": tensors(pairs[1], pairs[3]),
            "texts": {"train": train_texts, "test": test_texts, "pairs": list(zip(pairs[0], pairs[1]))}}


@torch.no_grad()
def predict(model: torch.nn.Module, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    model.eval()
    return model(ids, lengths).argmax(-1)


def accuracies(model: torch.nn.Module, splits: dict) -> dict:
    """Accuracy on held-out reviews, and on held-out order pairs (both members of a pair count)."""
    test_ids, test_len, test_y = splits["test"]
    pa, pb = splits["pair_first"], splits["pair_second"]
    pred_a, pred_b = predict(model, pa[0], pa[1]), predict(model, pb[0], pb[1])
    pair_correct = torch.cat([pred_a == pa[2], pred_b == pb[2]]).float()
    both = ((pred_a == pa[2]) & (pred_b == pb[2])).float()
    return {"test": float((predict(model, test_ids, test_len) == test_y).float().mean()),
            "pairs": float(pair_correct.mean()), "pairs_both_right": float(both.mean())}


def train_model(kind: str, splits: dict, *, steps: int, batch: int, lr: float, embed: int = 16, hidden: int = 32,
                cell: str = "gru", seed: int = 0):
    """kind "bow" (bag of words) or "rnn" (recurrent classifier with ``cell``); returns (model, history)."""
    rng = seed_everything(seed)
    V = len(VOCAB) + 1  # + padding id 0
    if kind == "bow":
        model = BagOfWordsClassifier(V)
    elif kind == "rnn":
        model = RecurrentClassifier(V, embed, hidden, cell=cell)
    else:
        raise ValueError(f"kind must be 'bow' or 'rnn', got {kind!r}")
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    ids, lengths, labels = splits["train"]

    def step(i: int) -> float:
        rows = torch.from_numpy(rng.integers(0, ids.shape[0], size=batch))
        return gradient_step(model, opt,
                             lambda: torch.nn.functional.cross_entropy(model(ids[rows], lengths[rows]), labels[rows]),
                             max_norm=1.0)

    name = "bag of words" if kind == "bow" else f"{cell.upper()} classifier"
    history = fit(step, steps, desc=f"sentiment {name}", evaluate=lambda: accuracies(model, splits)["pairs"],
                  eval_every=max(1, steps // 10))
    return model, history
