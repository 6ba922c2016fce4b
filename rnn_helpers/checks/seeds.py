"""The seed of every hidden-test case, derived in one place.

Every case generator of ``rnn_helpers.checks.ch<assignment>`` draws its inputs from
``np.random.default_rng(case_seed(assignment, check, index))``: one independent stream per case, named by what
the case is for, so that no two checks share inputs by accident and adding a case to one check changes no
other check's cases.

The seed is the first 63 bits (big-endian) of::

    sha256(b"rnn-course case seed 1\\0" + secret + b"\\0" + assignment + b"\\0" + check + b"\\0" + str(index))

(strings UTF-8 encoded). 63 bits keep it a non-negative int64, which numpy's generators, ``torch.manual_seed``
and the JSON of a record all take as it is.

With ``secret=b""`` these are the *published* seeds: anyone with the repository can compute the cases, which is
what the tests and the visible course rely on. A per-term grading secret, given by the instructor
(``rnn-course grade --secret-file``), makes them unpredictable from the published repository. The raw secret never
leaves the grader: what ``secret`` receives is the *case key* of one assignment, :func:`assignment_key`
(HMAC-SHA256 of the secret), so that a kernel that learns it learns the cases of that assignment only.

``secret=None`` (what every case generator passes) means the *active* key of the assignment:

- in the grader's process, the one :func:`using_case_key` sets for the grading run;
- in the student's kernel, the one the kernel manager puts in the environment variable :data:`CASE_KEY_ENV`
  (``"<assignment>:<hex key>"``) for the hidden tests' ``record_check``;
- otherwise none: the published seeds.
"""
from __future__ import annotations

import contextlib
import hashlib
import hmac
import os

_DOMAIN = b"rnn-course case seed 1"  # bump the number to change every seed at once (and say why in the log)
_KEY_DOMAIN = b"rnn-course case key 1"
CASE_KEY_ENV = "RNN_COURSE_CASE_KEY"  # "<assignment>:<hex case key>", set for the student's kernel by the grader

_active: dict[str, bytes] = {}  # assignment -> case key, in the grader's process (using_case_key)


def assignment_key(secret: bytes, assignment: str) -> bytes:
    """The case key of ``assignment`` under the term's grading ``secret``: HMAC-SHA256(secret, domain + assignment).

    This, not the secret, is what reaches the student's kernel: it gives the cases of one assignment, and neither
    the secret nor another assignment's cases can be recovered from it."""
    if not isinstance(secret, bytes) or not secret:
        raise TypeError("secret must be non-empty bytes")
    return hmac.new(secret, _KEY_DOMAIN + b"\0" + assignment.encode(), hashlib.sha256).digest()


@contextlib.contextmanager
def using_case_key(assignment: str, key: bytes | None):
    """Within the block, ``case_seed(assignment, ...)`` (``secret=None``) uses ``key`` in this process (the
    grader's, computing the reference outputs); ``None`` means the published seeds."""
    saved = _active.get(assignment)
    if key is None:
        _active.pop(assignment, None)
    else:
        _active[assignment] = key
    try:
        yield
    finally:
        _active.pop(assignment, None)
        if saved is not None:
            _active[assignment] = saved


def active_key(assignment: str) -> bytes:
    """The case key ``case_seed`` uses for ``assignment`` when given none (``b""``: the published seeds).

    A malformed :data:`CASE_KEY_ENV` is an error, never a silent fall back to the published seeds."""
    if assignment in _active:
        return _active[assignment]
    value = os.environ.get(CASE_KEY_ENV)
    if not value:
        return b""
    name, sep, hexkey = value.rpartition(":")
    try:
        key = bytes.fromhex(hexkey)
    except ValueError:
        key = b""
    if not sep or not name or len(key) != 32:
        raise ValueError(f"{CASE_KEY_ENV} must be '<assignment>:<64 hex digits>'")
    return key if name == assignment else b""  # another assignment's key gives these cases nothing


def case_seed(assignment: str, check: str, index: int, secret: bytes | None = None) -> int:
    """The seed of case ``index`` of ``check`` in ``assignment``, a non-negative int below 2**63.

    ``check`` is the check's name, or the name of the case set when several checks share one (e.g. a backward
    and its centered-difference check draw the same inputs). ``secret`` is the assignment's case key (bytes,
    :func:`assignment_key`), ``b""`` the published seeds, ``None`` the active key (:func:`active_key`).
    Raises ``TypeError``/``ValueError`` on arguments of the wrong kind.
    """
    if not isinstance(assignment, str) or not isinstance(check, str) or not assignment or not check:
        raise TypeError(f"assignment and check must be non-empty strings, got {assignment!r}, {check!r}")
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise ValueError(f"index must be a non-negative int, got {index!r}")
    if secret is not None and not isinstance(secret, bytes):
        raise TypeError(f"secret must be bytes or None, got {type(secret).__name__}")
    if secret is None:
        secret = active_key(assignment)
    message = b"\0".join([_DOMAIN, secret, assignment.encode(), check.encode(), str(index).encode()])
    return int.from_bytes(hashlib.sha256(message).digest()[:8], "big") >> 1
