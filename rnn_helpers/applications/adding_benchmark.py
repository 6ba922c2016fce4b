"""The adding problem at a given lag: simple RNN vs GRU vs LSTM against the trivial 1/6 baseline."""
from __future__ import annotations

import torch

from rnn_helpers.applications.classifiers import SequenceRegressor
from rnn_helpers.datasets.adding import TRIVIAL_MSE, adding_problem
from rnn_helpers.applications.torch_training import fit, gradient_step, seed_everything

__all__ = ["TRIVIAL_MSE", "train_model", "test_mse"]


@torch.no_grad()
def test_mse(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    return float(torch.mean((model(X) - y) ** 2))


def train_model(cell: str, T: int, *, steps: int, batch: int, hidden: int, lr: float, max_norm: float = 1.0,
                n_test: int = 1000, eval_every: int = 100, seed: int = 0):
    """Train a ``SequenceRegressor`` on fresh seeded batches of the adding problem with lag T.

    Returns (model, history) with history["eval"] the test MSE every ``eval_every`` steps.
    """
    seed_everything(seed)
    Xt, yt = (torch.from_numpy(a) for a in adding_problem(n_test, T, seed=10_000 + seed))
    model = SequenceRegressor(2, hidden, cell=cell)
    opt = torch.optim.Adam(model.parameters(), lr=lr)

    def step(i: int) -> float:
        X, y = (torch.from_numpy(a) for a in adding_problem(batch, T, seed=1_000_000 * (seed + 1) + i))
        return gradient_step(model, opt, lambda: torch.mean((model(X) - y) ** 2), max_norm)

    history = fit(step, steps, desc=f"adding T={T} {cell.upper()}", evaluate=lambda: test_mse(model, Xt, yt),
                  eval_every=eval_every)
    return model, history
