"""Parameter sets to and from PyTorch's recurrent modules (for cross-checks against the reference).

A parameter set is a dict of numpy arrays with PyTorch's names, shapes and gate order:
``W_ih (G*H, D)``, ``W_hh (G*H, H)``, ``b_ih (G*H,)``, ``b_hh (G*H,)`` with G = 1 (rnn), 3 (gru: r, z, n),
4 (lstm: i, f, g, o). torch calls them ``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``
on ``nn.RNN/GRU/LSTM`` (``_l1``, ... for deeper layers) and ``weight_ih``, ... on the ``*Cell`` modules.
Sequence modules are built with ``batch_first=True`` (the course's ``(B, T, D)`` layout).

Used in: chapters 02 (simple RNN), 04 (GRU), 05 (LSTM); exercise 02 grades against it.
"""
from __future__ import annotations

import numpy as np
import torch

from rnn_helpers._validate import check_choice, gate_count

_SEQUENCE = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}
_CELL = {"rnn": torch.nn.RNNCell, "gru": torch.nn.GRUCell, "lstm": torch.nn.LSTMCell}


def module_from_params(kind, W_ih, W_hh, b_ih, b_hh, *, cell=False, dtype=torch.float64, nonlinearity="tanh"):
    """A torch module holding the given parameters (copies; gradients enabled).

    Inputs:
    - kind: ``"rnn"``, ``"gru"`` or ``"lstm"``
    - W_ih ``(G*H, D)``, W_hh ``(G*H, H)``, b_ih ``(G*H,)``, b_hh ``(G*H,)`` (numpy arrays or array-likes)
    - cell: False -> ``nn.RNN/GRU/LSTM(D, H, batch_first=True)``; True -> ``nn.RNNCell/GRUCell/LSTMCell(D, H)``
    - dtype: torch dtype of the module (default float64, the course's grading dtype)
    - nonlinearity: ``"tanh"`` or ``"relu"`` (rnn only, as torch's argument)

    Returns the module (one layer, unidirectional, with biases).
    """
    check_choice("kind", kind, tuple(_SEQUENCE))
    G = gate_count(kind)
    W_ih, W_hh, b_ih, b_hh = (np.asarray(a) for a in (W_ih, W_hh, b_ih, b_hh))
    H, D = W_hh.shape[1], W_ih.shape[1]
    for name, a, shape in (("W_ih", W_ih, (G * H, D)), ("W_hh", W_hh, (G * H, H)),
                           ("b_ih", b_ih, (G * H,)), ("b_hh", b_hh, (G * H,))):
        if a.shape != shape:
            raise ValueError(f"{name} has shape {a.shape}; expected {shape} for kind={kind!r} with D={D}, H={H}")
    kwargs = {}
    if kind == "rnn":
        check_choice("nonlinearity", nonlinearity, ("tanh", "relu"))
        kwargs["nonlinearity"] = nonlinearity
    if cell:
        module = _CELL[kind](D, H, dtype=dtype, **kwargs)
        suffix = ""
    else:
        module = _SEQUENCE[kind](D, H, batch_first=True, dtype=dtype, **kwargs)
        suffix = "_l0"
    with torch.no_grad():
        for torch_name, a in (("weight_ih", W_ih), ("weight_hh", W_hh), ("bias_ih", b_ih), ("bias_hh", b_hh)):
            getattr(module, torch_name + suffix).copy_(torch.as_tensor(a, dtype=dtype))
    return module


def params_from_module(module, layer=0, reverse: bool = False):
    """The parameter set of one layer of a torch recurrent module, as numpy arrays.

    Inputs:
    - module: ``nn.RNN/GRU/LSTM`` (any ``num_layers``, either direction) or ``nn.RNNCell/GRUCell/LSTMCell``
    - layer: which layer of a multi-layer module (0 = the one reading the input); must be 0 for a cell
    - reverse: False -> the forward direction (``weight_ih_l{layer}``, ...); True -> the backward direction of a
      ``bidirectional=True`` module (``weight_ih_l{layer}_reverse``, ...)

    Returns a dict ``W_ih (G*H, D_layer)``, ``W_hh (G*H, H)``, ``b_ih (G*H,)``, ``b_hh (G*H,)`` (copies, in the
    module's dtype). Raises ``ValueError`` for a module without biases, a layer it does not have, or
    ``reverse=True`` on a module that is not bidirectional.
    """
    is_cell = isinstance(module, tuple(_CELL.values()))
    if reverse and not getattr(module, "bidirectional", False):
        raise ValueError(f"reverse=True needs a bidirectional module; this {type(module).__name__} is not "
                         "bidirectional (build it with bidirectional=True)")
    if is_cell:
        if layer != 0:
            raise ValueError(f"layer is {layer}; a {type(module).__name__} has only layer 0")
        suffix = ""
    else:
        if not isinstance(module, tuple(_SEQUENCE.values())):
            raise ValueError(f"module is a {type(module).__name__}; expected nn.RNN/GRU/LSTM or a *Cell module")
        if not 0 <= layer < module.num_layers:
            raise ValueError(f"layer is {layer}; the module has num_layers={module.num_layers}")
        if getattr(module, "proj_size", 0):
            raise ValueError("LSTM with proj_size > 0 is not a course parameter set")
        suffix = f"_l{layer}" + ("_reverse" if reverse else "")
    if not module.bias:
        raise ValueError("the module has bias=False; the course's parameter sets carry b_ih and b_hh")
    out = {}
    for name, torch_name in (("W_ih", "weight_ih"), ("W_hh", "weight_hh"), ("b_ih", "bias_ih"), ("b_hh", "bias_hh")):
        out[name] = getattr(module, torch_name + suffix).detach().cpu().numpy().copy()
    return out
