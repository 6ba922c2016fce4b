"""Shape and dtype checks shared by the reference cells.

A student's most frequent mistake is a parameter of the wrong shape; numpy then answers with a broadcasting
traceback deep inside a matrix product. These checks run first and raise a ``ValueError`` that names the
argument, the shape it has and the shape it should have, e.g.::

    W_hh has shape (12, 4); expected (3*H, H) = (12, 3) for a GRU with H=3
    W_ih has 8 rows; a GRU needs 3*H = 12 rows (gates r, z, n)

Sizes are read in a fixed order: B and D from the input (``x`` or ``x_t``), H from the hidden state
(``h0`` or ``h_prev``); every parameter is then checked against them.

Used in: every chapter (through the reference modules, which check their inputs with it).
"""
from __future__ import annotations

import numpy as np

# kind -> (number of gate blocks G, gate names, article + name used in messages)
_KINDS = {
    "rnn": (1, "", "an RNN"),
    "gru": (3, "r, z, n", "a GRU"),
    "lstm": (4, "i, f, g, o", "an LSTM"),
}


def gate_count(kind: str) -> int:
    """Number of stacked gate blocks G of a cell kind: 1 (rnn), 3 (gru: r, z, n), 4 (lstm: i, f, g, o)."""
    return _kind(kind)[0]


def _kind(kind: str):
    try:
        return _KINDS[kind.lower()]
    except (KeyError, AttributeError):
        raise ValueError(f"kind is {kind!r}; expected one of 'rnn', 'gru', 'lstm'") from None


def _shape_str(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def check_choice(name: str, value, choices) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} is {value!r}; expected one of {', '.join(repr(c) for c in choices)}")


def float_dtype(*arrays) -> np.dtype:
    """The floating dtype the computation runs in: float32 if every input is float32 (or narrower),
    float64 otherwise. Integer inputs are promoted; complex, object and string inputs are refused
    (caught earlier by :func:`as_array`)."""
    dt = np.result_type(*[a.dtype for a in arrays])
    if dt == np.float32 or dt == np.float16:
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def as_array(name: str, value) -> np.ndarray:
    """``np.asarray(value)``, refusing what cannot be a real-valued float array (names ``name``)."""
    a = np.asarray(value)
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{name} has dtype {a.dtype}; expected a real floating-point array (float32 or float64)")
    return a


def check_shape(name: str, a: np.ndarray, symbols: tuple, expected: tuple, context: str = "") -> None:
    """Raise unless ``a.shape == expected``; the message shows the symbolic and the numeric shape.

    >>> check_shape("W_hh", np.zeros((12, 4)), ("3*H", "H"), (12, 3), "for a GRU with H=3")
    Traceback (most recent call last):
    ValueError: W_hh has shape (12, 4); expected (3*H, H) = (12, 3) for a GRU with H=3
    """
    if a.shape != tuple(expected):
        sym = "(" + ", ".join(symbols) + ("," if len(symbols) == 1 else "") + ")"
        msg = f"{name} has shape {_shape_str(a.shape)}; expected {sym} = {_shape_str(expected)}"
        raise ValueError(msg + (f" {context}" if context else ""))


def check_ndim(name: str, a: np.ndarray, symbols: tuple, what: str) -> None:
    """Raise unless ``a`` has ``len(symbols)`` dimensions."""
    if a.ndim != len(symbols):
        sym = "(" + ", ".join(symbols) + ("," if len(symbols) == 1 else "") + ")"
        raise ValueError(f"{name} has shape {_shape_str(a.shape)}; expected {sym}: {what}")


def _check_gate_param(name, a, kind, H, cols, col_symbol, h_source):
    """W_ih (G*H, D), W_hh (G*H, H), b_ih / b_hh (G*H,): the gate-row count first, then the full shape."""
    G, gates, label = _KINDS[kind]
    rows_sym = "H" if G == 1 else f"{G}*H"
    is_bias = cols is None
    symbols = (rows_sym,) if is_bias else (rows_sym, col_symbol)
    expected = (G * H,) if is_bias else (G * H, cols)
    context = f"for {label} with H={H}"
    if a.ndim != len(symbols):
        check_shape(name, a, symbols, expected, context)
    if a.shape[0] != G * H:
        unit = "entries" if is_bias else "rows"
        gate_note = f" (gates {gates})" if gates else ""
        raise ValueError(
            f"{name} has {a.shape[0]} {unit}; {label} needs {rows_sym} = {G * H} {unit}{gate_note}; "
            f"H={H} comes from {h_source}"
        )
    check_shape(name, a, symbols, expected, context)


def check_recurrent_args(kind: str, x, h, W_ih, W_hh, b_ih, b_hh, *, c=None, sequence: bool):
    """Validate and convert the arguments of a recurrent forward function.

    Inputs (``sequence=True`` / ``sequence=False``):
    - x: ``(B, T, D)`` named ``x`` / ``(B, D)`` named ``x_t``
    - h: ``(B, H)`` named ``h0`` / ``h_prev``
    - c: ``(B, H)`` named ``c0`` / ``c_prev`` (LSTM only, else None)
    - W_ih ``(G*H, D)``, W_hh ``(G*H, H)``, b_ih ``(G*H,)``, b_hh ``(G*H,)``

    Returns ``(arrays, dims)``: the arrays (same order, ``c`` last when given) converted to one float dtype,
    and ``dims = (B, T, D, H)`` with ``T = None`` for a cell.
    """
    kind = kind.lower()
    _kind(kind)
    x_name, h_name, c_name = ("x", "h0", "c0") if sequence else ("x_t", "h_prev", "c_prev")
    x = as_array(x_name, x)
    h = as_array(h_name, h)
    params = {n: as_array(n, v) for n, v in (("W_ih", W_ih), ("W_hh", W_hh), ("b_ih", b_ih), ("b_hh", b_hh))}
    if sequence:
        check_ndim(x_name, x, ("B", "T", "D"), "a batch-first sequence (batch, time, features)")
        B, T, D = x.shape
    else:
        check_ndim(x_name, x, ("B", "D"), "one time step of a batch (batch, features)")
        (B, D), T = x.shape, None
    check_ndim(h_name, h, ("B", "H"), "one hidden state per sequence of the batch")
    H = h.shape[1]
    check_shape(h_name, h, ("B", "H"), (B, H), f"(B={B} from {x_name} of shape {_shape_str(x.shape)})")
    h_source = f"{h_name} of shape {_shape_str(h.shape)}"
    _check_gate_param("W_ih", params["W_ih"], kind, H, D, "D", h_source)
    _check_gate_param("W_hh", params["W_hh"], kind, H, H, "H", h_source)
    _check_gate_param("b_ih", params["b_ih"], kind, H, None, None, h_source)
    _check_gate_param("b_hh", params["b_hh"], kind, H, None, None, h_source)
    arrays = [x, h, params["W_ih"], params["W_hh"], params["b_ih"], params["b_hh"]]
    if c is not None:
        c = as_array(c_name, c)
        check_shape(c_name, c, ("B", "H"), (B, H), f"like {h_name}")
        arrays.append(c)
    dtype = float_dtype(*arrays)
    arrays = [np.ascontiguousarray(a, dtype=dtype) for a in arrays]
    return arrays, (B, T, D, H)


def check_upstream(name: str, d, expected_shape: tuple, symbols: tuple, dtype) -> np.ndarray:
    """An upstream gradient must have the shape of the output it belongs to; returns it in ``dtype``."""
    d = as_array(name, d)
    check_shape(name, d, symbols, expected_shape, "(the shape of the forward output it is the gradient of)")
    return np.asarray(d, dtype=dtype)
