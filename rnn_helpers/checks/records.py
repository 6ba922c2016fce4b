"""Records: what a hidden test emits from the student's kernel, and how the grader reads it back.

A record is one display output of MIME type ``RECORD_MIME`` whose data is JSON::

    {"check": "rnn_cell_forward", "assignment": "02_simple_rnn",
     "outputs": [<encoded value of case 0>, <case 1>, ...]}

Values are encoded exactly (arrays as dtype + shape + base64 bytes), so the grader compares the very
numbers the student's function returned. A case on which the student's function raised is encoded as
``{"__error__": "ValueError: ..."}``. Decoding never executes anything: it yields plain numpy arrays,
floats, ints, strings, lists and dicts, whatever the student's function returned (an ndarray subclass
that lies about equality arrives as a plain array of its bytes).
"""
from __future__ import annotations

import base64
import json
import numbers
import traceback
from typing import Any, Callable, Iterable

import numpy as np

RECORD_MIME = "application/vnd.rnn-course.record+json"
MAX_RECORD_BYTES = 8_000_000  # a record is a few arrays; anything larger is refused, not stored


class RecordError(ValueError):
    """A record (or a value in it) that cannot be encoded or decoded."""


def encode(value: Any, _depth: int = 0) -> Any:
    """Turn a returned value into JSON-safe data. Arrays (and tensors, via ``numpy()``) keep dtype and bytes."""
    if _depth > 20:
        raise RecordError("value nested too deeply")
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        arr = np.array(value, copy=True)  # drops any subclass: the grader sees plain numbers
        arr = np.ascontiguousarray(arr.view(np.ndarray) if isinstance(arr, np.ndarray) else arr)
        if arr.dtype.kind not in "biufc":
            raise RecordError(f"array of dtype {arr.dtype} cannot be recorded")
        return {"__ndarray__": base64.b64encode(arr.tobytes()).decode("ascii"),
                "dtype": arr.dtype.str, "shape": list(arr.shape)}
    if value is None or type(value) in (bool, str):
        return value
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return {"__float__": float(value).hex()}
    if isinstance(value, (list, tuple)):
        return {"__seq__": [encode(v, _depth + 1) for v in value], "tuple": isinstance(value, tuple)}
    if isinstance(value, dict):
        items = []
        for k, v in value.items():
            if type(k) not in (str, int):
                raise RecordError(f"dict key {k!r} is not a str or int")
            items.append([k, encode(v, _depth + 1)])
        return {"__dict__": items}
    raise RecordError(f"cannot record a value of type {type(value).__name__}")


def decode(data: Any, _depth: int = 0) -> Any:
    """Inverse of :func:`encode`, for the grader. Raises :class:`RecordError` on anything malformed."""
    if _depth > 22:
        raise RecordError("record nested too deeply")
    if data is None or type(data) in (bool, str, int):
        return data
    if type(data) is dict:
        if "__ndarray__" in data:
            try:
                dtype = np.dtype(data["dtype"])
                shape = tuple(int(s) for s in data["shape"])
                raw = base64.b64decode(data["__ndarray__"], validate=True)
            except Exception as exc:
                raise RecordError(f"malformed array: {exc}") from None
            if dtype.kind not in "biufc" or dtype.hasobject:
                raise RecordError(f"array dtype {dtype} not allowed")
            if any(s < 0 for s in shape) or int(np.prod(shape, dtype=np.int64)) * dtype.itemsize != len(raw):
                raise RecordError("array bytes do not match its shape and dtype")
            return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
        if "__float__" in data:
            try:
                return float.fromhex(data["__float__"])
            except (TypeError, ValueError):
                raise RecordError("malformed float") from None
        if "__seq__" in data:
            seq = [decode(v, _depth + 1) for v in _as_list(data["__seq__"])]
            return tuple(seq) if data.get("tuple") else seq
        if "__dict__" in data:
            return {k: decode(v, _depth + 1) for k, v in _as_list(data["__dict__"])}
        if "__error__" in data:
            return CaseError(str(data["__error__"]))
    raise RecordError(f"unexpected data of type {type(data).__name__} in record")


def _as_list(x: Any) -> list:
    if type(x) is not list:
        raise RecordError("malformed record: expected a list")
    return x


class CaseError:
    """A case on which the student's function raised; carries the one-line reason."""

    def __init__(self, message: str):
        self.message = message[:500]

    def __repr__(self) -> str:
        return f"CaseError({self.message!r})"


def run_cases(fn: Callable, cases: Iterable[dict], call: Callable | None = None) -> list:
    """Apply the student's ``fn`` to each case (``fn(**case)`` unless ``call`` says otherwise).

    Returns the encoded outputs, one per case; an exception or an unrecordable value becomes an
    ``__error__`` entry so that one bad case never hides the others.
    """
    outputs = []
    for case in cases:
        try:
            value = call(fn, case) if call is not None else fn(**case)
            outputs.append(encode(value))
        except Exception as exc:  # the student's error is data here, reported by the grader
            last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
            where = f" (line {last[0].lineno})" if last else ""
            outputs.append({"__error__": f"{type(exc).__name__}: {exc}"[:400] + where})
    return outputs


def emit(assignment: str, check: str, outputs: list) -> None:
    """Display one record in the running kernel (IPython), where nbgrader stores it in the cell's outputs."""
    payload = {"assignment": assignment, "check": check, "outputs": outputs}
    text = json.dumps(payload)
    if len(text) > MAX_RECORD_BYTES:
        raise RecordError(f"record for {check} is {len(text)} bytes, over the limit")
    from IPython.display import display

    display({RECORD_MIME: payload, "text/plain": f"[recorded {len(outputs)} case(s) for check {check!r}]"},
            raw=True)


def records_in_cell(cell: dict) -> dict[str, Any]:
    """The records a code cell's outputs hold, as ``{check: payload}`` (payload still encoded).

    Only display outputs of ``RECORD_MIME`` count; a check recorded twice keeps the *first* record,
    so output a student prints later in the cell cannot replace it.
    """
    found: dict[str, Any] = {}
    for out in cell.get("outputs", []) or []:
        data = out.get("data") if isinstance(out, dict) else None
        if not isinstance(data, dict) or RECORD_MIME not in data:
            continue
        payload = data[RECORD_MIME]
        if isinstance(payload, str):
            try:
                payload = json.loads(payload)
            except ValueError:
                continue
        if isinstance(payload, dict) and isinstance(payload.get("check"), str):
            found.setdefault(payload["check"], payload)
    return found
