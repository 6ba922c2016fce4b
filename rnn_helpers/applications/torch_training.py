"""The small pieces every training loop of chapter 06 shares: threads, seeds, one gradient step, a progress bar, a loop.

The progress bar is tqdm's. In a terminal it updates in place on stderr. Anywhere else (a notebook
executed by the book build, a CI log) it writes one line, the finished bar, to stdout: a notebook
stores every redraw of a bar as a separate chunk of output, and the book would show them all.
"""
from __future__ import annotations

import io
import os
import sys
from typing import Callable

import numpy as np


def configure_torch(threads: int = 2) -> None:
    """Use at most ``threads`` CPU threads (the course machines have 2 cores, shared)."""
    import torch

    torch.set_num_threads(max(1, min(threads, os.cpu_count() or 1)))


def seed_everything(seed: int) -> np.random.Generator:
    """Seed torch's global generator and return a numpy Generator with the same seed."""
    import torch

    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def gradient_step(model, opt, loss: Callable[[], "torch.Tensor"], max_norm: float | None = None) -> float:
    """One optimisation step: train mode, zero the gradients, compute and backpropagate the loss, clip, step.

    Inputs:
    - model: the torch module being trained (put in train mode first, so that dropout is active).
    - opt: a torch optimizer over ``model.parameters()``.
    - loss: a function of no arguments that runs the forward pass and returns the scalar loss tensor. A function
      rather than a tensor because the forward pass must run after ``model.train()``: the evaluation between two
      steps leaves the model in eval mode.
    - max_norm: clip the global gradient norm to this value before the step (None: no clipping).

    Returns the loss before the step, as a float.
    """
    import torch

    model.train()
    opt.zero_grad()
    value = loss()
    value.backward()
    if max_norm is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    opt.step()
    return value.item()


class _FinalLineOnly(io.TextIOBase):
    """A text stream for tqdm that forwards only the bar's state when the bar is closed."""

    def __init__(self, target):
        self._target = target
        self._pending = ""

    def write(self, s: str) -> int:
        self._pending += s
        if "\n" in self._pending:
            *lines, self._pending = self._pending.split("\n")
            for line in lines:
                final = line.split("\r")[-1].rstrip()
                if final:
                    self._target.write(final + "\n")
            self._target.flush()
        return len(s)

    def flush(self) -> None:  # nothing is shown before the bar is finished
        pass


def progress(total: int, desc: str):
    """A tqdm bar over ``total`` steps: in place on a terminal, one final line elsewhere."""
    from tqdm import tqdm

    if sys.stderr.isatty():
        return tqdm(total=total, desc=desc, leave=True, dynamic_ncols=True)
    return tqdm(total=total, desc=desc, leave=True, file=_FinalLineOnly(sys.stdout), ncols=80, ascii=True,
                mininterval=3600, bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}]{postfix}")


def fit(step: Callable[[int], float], n_steps: int, *, desc: str, evaluate: Callable[[], float] | None = None,
        eval_every: int = 0) -> dict:
    """Run ``step(i)`` for i = 0..n_steps-1 under a progress bar and record the losses.

    Inputs:
    - step: does one optimisation step and returns its training loss (float).
    - n_steps: number of steps.
    - desc: label of the progress bar.
    - evaluate: optional, returns a held-out loss; called every ``eval_every`` steps and at the end.

    Returns:
    - history: {"train": list of n_steps losses, "eval_step": list of steps, "eval": list of held-out losses}.
    """
    history: dict[str, list] = {"train": [], "eval_step": [], "eval": []}
    with progress(n_steps, desc) as bar:
        for i in range(n_steps):
            history["train"].append(float(step(i)))
            bar.update(1)
            if evaluate is not None and ((eval_every and (i + 1) % eval_every == 0) or i + 1 == n_steps):
                history["eval_step"].append(i + 1)
                history["eval"].append(float(evaluate()))
                bar.set_postfix(eval=f"{history['eval'][-1]:.4g}", refresh=False)
            elif (i + 1) % 50 == 0 or i + 1 == n_steps:
                bar.set_postfix(loss=f"{np.mean(history['train'][-50:]):.4g}", refresh=False)
    return history
