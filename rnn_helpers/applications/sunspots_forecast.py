"""One-step-ahead forecasting of yearly sunspot numbers: persistence, seasonal naive, LSTM.

Split in time: the windows whose targets fall in the last ``n_test`` years are the test set, touched
once at the end; the ``n_val`` years before them are the validation set, on which the number of
training steps is chosen (the model is evaluated there as it trains and the best state is kept);
everything earlier is the training set. The LSTM sees the window scaled by the training set's mean
and standard deviation and predicts the next (scaled) value.
"""
from __future__ import annotations

import copy

import numpy as np
import torch

from rnn_helpers.applications.classifiers import SequenceRegressor
from rnn_helpers.datasets.series import load_sunspots
from rnn_helpers.forecasting import make_windows, persistence_forecast, seasonal_naive_forecast
from rnn_helpers.applications.torch_training import fit, gradient_step, seed_everything

SEASON = 11  # years: the solar cycle


def make_splits(window: int, n_test: int, n_val: int) -> dict:
    """Windows of the sunspot series split in time: train, then the next ``n_val`` targets (validation),
    then the last ``n_test`` (test). ``X_*`` are ``(N, window)``, ``y_*`` and ``years_*`` ``(N,)``."""
    years, values = load_sunspots()
    X, y = make_windows(values, window)
    target_years = years[window:]
    if n_test < 1 or n_val < 1 or n_test + n_val >= len(y):
        raise ValueError(f"n_test = {n_test} and n_val = {n_val} must be >= 1 and leave training windows "
                         f"(there are {len(y)} windows of {window} years)")
    v, t = len(y) - n_test - n_val, len(y) - n_test
    return {"X_train": X[:v], "y_train": y[:v], "X_val": X[v:t], "y_val": y[v:t], "years_val": target_years[v:t],
            "X_test": X[t:], "y_test": y[t:], "years_test": target_years[t:], "years": years, "values": values}


def train_model(splits: dict, *, steps: int, hidden: int, lr: float, cell: str = "lstm", seed: int = 0):
    """Full-batch Adam on the scaled training windows, at most ``steps`` steps, evaluated on the validation
    windows every ``steps // 20`` steps; the state with the lowest validation MAE is kept (early stopping).

    Returns (predict function, history): ``predict(X (N, window)) -> (N,)`` in sunspot units, with the kept
    state; history as :func:`rnn_helpers.applications.torch_training.fit` gives it (``"eval"``: validation MAE), plus
    ``"best_step"``, the step whose state was kept. The test windows are not looked at.
    """
    seed_everything(seed)
    mean, std = splits["y_train"].mean(), splits["y_train"].std()
    scale = lambda a: torch.from_numpy(((a - mean) / std).astype(np.float32))  # noqa: E731
    X, y = scale(splits["X_train"])[..., None], scale(splits["y_train"])
    model = SequenceRegressor(1, hidden, cell=cell)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    best = {"mae": np.inf, "state": copy.deepcopy(model.state_dict())}

    @torch.no_grad()
    def predict(X_raw: np.ndarray) -> np.ndarray:
        model.eval()
        return model(scale(X_raw)[..., None]).numpy().astype(np.float64) * std + mean

    def step(i: int) -> float:
        return gradient_step(model, opt, lambda: torch.mean((model(X) - y) ** 2), max_norm=1.0)

    def validate() -> float:
        mae = float(np.mean(np.abs(predict(splits["X_val"]) - splits["y_val"])))
        if mae < best["mae"]:
            best.update(mae=mae, state=copy.deepcopy(model.state_dict()))
        return mae

    history = fit(step, steps, desc=f"sunspots {cell.upper()}", evaluate=validate, eval_every=max(1, steps // 20))
    model.load_state_dict(best["state"])
    history["best_step"] = history["eval_step"][int(np.argmin(history["eval"]))]  # the first lowest, as kept
    return predict, history


def baseline_maes(splits: dict) -> dict:
    X, y = splits["X_test"], splits["y_test"]
    return {"persistence": float(np.mean(np.abs(persistence_forecast(X) - y))),
            "seasonal_naive": float(np.mean(np.abs(seasonal_naive_forecast(X, SEASON) - y)))}
