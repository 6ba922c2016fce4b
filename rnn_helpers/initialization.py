"""Parameter initialisation like PyTorch's recurrent modules.

torch.nn.RNN / GRU / LSTM draw every weight and bias from U(-k, k) with k = 1/sqrt(H). The parameter set has
PyTorch's names and shapes, with G = 1 (rnn), 3 (gru: r, z, n), 4 (lstm: i, f, g, o) gate blocks:
``W_ih (G*H, D)``, ``W_hh (G*H, H)``, ``b_ih (G*H,)``, ``b_hh (G*H,)``.

Used in: chapters 02 (simple RNN), 03 (BPTT), 04 (GRU), 05 (LSTM).
"""
from __future__ import annotations

import numpy as np

from rnn_helpers._validate import gate_count


def init_params(kind, D, H, *, rng, dtype=np.float64):
    """Draw a parameter set for one recurrent layer from U(-1/sqrt(H), 1/sqrt(H)).

    Inputs:
    - kind: ``"rnn"``, ``"gru"`` or ``"lstm"``
    - D: input size; H: hidden size (positive ints)
    - rng: a ``numpy.random.Generator`` (pass ``np.random.default_rng(seed)`` for reproducibility)
    - dtype: float dtype of the arrays (default float64)

    Returns a dict: ``W_ih (G*H, D)``, ``W_hh (G*H, H)``, ``b_ih (G*H,)``, ``b_hh (G*H,)``, drawn in that order.
    """
    G = gate_count(kind)
    if int(D) < 1 or int(H) < 1:
        raise ValueError(f"D={D} and H={H}; expected positive sizes")
    k = 1.0 / np.sqrt(H)
    shapes = {"W_ih": (G * H, D), "W_hh": (G * H, H), "b_ih": (G * H,), "b_hh": (G * H,)}
    return {name: rng.uniform(-k, k, size=shape).astype(dtype) for name, shape in shapes.items()}
