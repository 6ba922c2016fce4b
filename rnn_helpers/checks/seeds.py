"""The seed of every hidden-test case, derived in one place.

Every case generator of ``rnn_helpers.checks.ch<assignment>`` draws its inputs from
``np.random.default_rng(case_seed(assignment, check, index))``: one independent stream per case, named by what
the case is for, so that no two checks share inputs by accident and adding a case to one check changes no
other check's cases.

The seed is the first 63 bits (big-endian) of::

    sha256(b"rnn-course case seed 1\\0" + secret + b"\\0" + assignment + b"\\0" + check + b"\\0" + str(index))

(strings UTF-8 encoded). 63 bits keep it a non-negative int64, which numpy's generators, ``torch.manual_seed``
and the JSON of a record all take as it is.

Without a secret (``secret=None``, the same as ``b""``) these are the *published* seeds: anyone with the
repository can compute the cases, which is what the tests and the visible course rely on. A per-term grading
secret, given by the instructor, makes them unpredictable from the published repository (it is threaded from the
grading command to here; until then every case uses the published seeds).
"""
from __future__ import annotations

import hashlib

_DOMAIN = b"rnn-course case seed 1"  # bump the number to change every seed at once (and say why in the log)


def case_seed(assignment: str, check: str, index: int, secret: bytes | None = None) -> int:
    """The seed of case ``index`` of ``check`` in ``assignment``, a non-negative int below 2**63.

    ``check`` is the check's name, or the name of the case set when several checks share one (e.g. a backward
    and its centered-difference check draw the same inputs). ``secret`` is the term's grading secret (bytes);
    ``None`` gives the published seeds. Raises ``TypeError``/``ValueError`` on arguments of the wrong kind.
    """
    if not isinstance(assignment, str) or not isinstance(check, str) or not assignment or not check:
        raise TypeError(f"assignment and check must be non-empty strings, got {assignment!r}, {check!r}")
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise ValueError(f"index must be a non-negative int, got {index!r}")
    if secret is not None and not isinstance(secret, bytes):
        raise TypeError(f"secret must be bytes or None, got {type(secret).__name__}")
    message = b"\0".join([_DOMAIN, secret or b"", assignment.encode(), check.encode(), str(index).encode()])
    return int.from_bytes(hashlib.sha256(message).digest()[:8], "big") >> 1
