"""One-step-ahead forecasting of yearly sunspot numbers: persistence, seasonal naive, LSTM.

The last ``n_test`` years are held out. Every window whose target falls in them is a test case;
the windows before are the training set. The LSTM sees the window scaled by the training set's
mean and standard deviation and predicts the next (scaled) value.
"""
from __future__ import annotations

import numpy as np
import torch

from rnn_helpers.classifiers import SequenceRegressor
from rnn_helpers.datasets.series import load_sunspots
from rnn_helpers.forecasting import make_windows, persistence_forecast, seasonal_naive_forecast
from rnn_helpers.torch_training import fit

SEASON = 11  # years: the solar cycle


def make_splits(window: int, n_test: int) -> dict:
    """Windows of the sunspot series split in time: train (earlier targets) and test (the last n_test)."""
    years, values = load_sunspots()
    X, y = make_windows(values, window)
    target_years = years[window:]
    return {"X_train": X[:-n_test], "y_train": y[:-n_test], "X_test": X[-n_test:], "y_test": y[-n_test:],
            "years_test": target_years[-n_test:], "years": years, "values": values}


def train_model(splits: dict, *, steps: int, hidden: int, lr: float, cell: str = "lstm", seed: int = 0):
    """Full-batch Adam on the scaled training windows; returns (predict function, history)."""
    torch.manual_seed(seed)
    mean, std = splits["y_train"].mean(), splits["y_train"].std()
    scale = lambda a: torch.from_numpy(((a - mean) / std).astype(np.float32))  # noqa: E731
    X, y = scale(splits["X_train"])[..., None], scale(splits["y_train"])
    Xt, yt = scale(splits["X_test"])[..., None], splits["y_test"]
    model = SequenceRegressor(1, hidden, cell=cell)
    opt = torch.optim.Adam(model.parameters(), lr=lr)

    @torch.no_grad()
    def predict(X_raw: np.ndarray) -> np.ndarray:
        model.eval()
        return model(scale(X_raw)[..., None]).numpy().astype(np.float64) * std + mean

    def step(i: int) -> float:
        model.train()
        opt.zero_grad()
        loss = torch.mean((model(X) - y) ** 2)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    history = fit(step, steps, desc=f"sunspots {cell.upper()}",
                  evaluate=lambda: float(np.mean(np.abs(predict(splits["X_test"]) - yt))), eval_every=max(1, steps // 20))
    return predict, history


def baseline_maes(splits: dict) -> dict:
    X, y = splits["X_test"], splits["y_test"]
    return {"persistence": float(np.mean(np.abs(persistence_forecast(X) - y))),
            "seasonal_naive": float(np.mean(np.abs(seasonal_naive_forecast(X, SEASON) - y)))}
