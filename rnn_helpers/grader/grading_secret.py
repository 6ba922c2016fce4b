"""The term's grading secret: where it comes from, and the one line the command says about it.

Every hidden-test case seed is derived from the secret when there is one (:mod:`rnn_helpers.checks.seeds`):
the grader computes the references under the assignment's *case key* (HMAC-SHA256 of the secret) and hands the
student's kernel that key, never the secret (THREAT_MODEL.md). That holds in the sandbox only: under ``--unsafe``
the kernel runs as the grader's user and can read the secret, which the first line then calls disclosed. Without a
secret the published seeds are used, and a student who computed their outputs beforehand can hard-code them: the
command says so on its first line.

The secret is read from ``--secret-file PATH`` (its bytes, surrounding whitespace removed; a file that other
users may read or write is refused) or else from the
environment variable :data:`SECRET_ENV` (UTF-8). The file wins when both are given: it is the explicit choice of
this invocation, the variable an ambient default.
"""
from __future__ import annotations

import os
import pathlib
import stat
from dataclasses import dataclass

SECRET_ENV = "RNN_COURSE_GRADING_SECRET"
MIN_SECRET_BYTES = 16  # a secret short enough to guess is no secret: refuse it rather than pretend


@dataclass(frozen=True)
class GradingSecret:
    """The secret (``None``: the published seeds) and where it came from, for the command's first line."""

    value: bytes | None
    source: str  # "--secret-file PATH", "$RNN_COURSE_GRADING_SECRET" or "" (none)

    def case_key(self, assignment: str) -> bytes | None:
        """The case key of ``assignment`` (:func:`~rnn_helpers.checks.seeds.assignment_key`); ``None``: published."""
        if self.value is None:
            return None
        from rnn_helpers.checks.seeds import assignment_key

        return assignment_key(self.value, assignment)

    def first_line(self, *, unsafe: bool) -> str:
        """The command's first line; ``unsafe``: the kernels run without the sandbox (``--unsafe``)."""
        if self.value is None:
            return (f"NO GRADING SECRET: the hidden cases use the published seeds, whose outputs a student can "
                    f"hard-code; give --secret-file PATH or ${SECRET_ENV} for a per-term secret")
        line = f"grading secret from {self.source}: the hidden cases are this term's own"
        if unsafe:
            # without the sandbox the student's code runs as this user: it can read the file, or the grader's
            # environment in /proc (THREAT_MODEL.md)
            line += ("; but with --unsafe the students' code can read it: treat this secret as disclosed and use "
                     "a new one for any later grading")
        return line


NO_SECRET = GradingSecret(None, "")


def read_secret(secret_file: str | os.PathLike | None = None, environ=None) -> GradingSecret:
    """The secret of ``--secret-file`` (if given), else of ``$RNN_COURSE_GRADING_SECRET``, else none.

    Raises :class:`~rnn_helpers.grader.submissions.InvocationError` for a file that cannot be read, one that
    users other than its owner may read or write, or a secret shorter than :data:`MIN_SECRET_BYTES` (an empty
    variable counts as not set)."""
    from .submissions import InvocationError

    environ = os.environ if environ is None else environ
    if secret_file is not None:
        path = pathlib.Path(secret_file)
        try:
            with open(path, "rb") as fh:
                mode = os.fstat(fh.fileno()).st_mode  # of the file read, not of whatever the path names later
                if mode & 0o077:  # fail closed: a secret others may read (or write) is no secret
                    raise InvocationError(f"--secret-file {path} can be read or written by other users (mode "
                                          f"{stat.S_IMODE(mode):04o}); chmod 600 it")
                value = fh.read().strip()
        except OSError as exc:
            raise InvocationError(f"cannot read --secret-file {path}: {exc.strerror or exc}") from None
        source = f"--secret-file {path}"
    elif environ.get(SECRET_ENV):
        value, source = environ[SECRET_ENV].strip().encode(), f"${SECRET_ENV}"
    else:
        return NO_SECRET
    if len(value) < MIN_SECRET_BYTES:
        raise InvocationError(f"the grading secret of {source} is {len(value)} byte(s); it needs at least "
                              f"{MIN_SECRET_BYTES} (e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)")
    return GradingSecret(value, source)
