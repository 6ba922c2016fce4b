"""What a grading process does before anything imports ``nbformat``: leave out an optional import that costs
more than the rest of its start.

``import nbformat`` imports ``jsonschema``, whose format checkers try ``rfc3987_syntax`` (installed here as an
extra of ``jupyter-events``'s ``jsonschema[format-nongpl]``); version 1.1.0 builds a Lark grammar for RFC 3987
at import, about 2 s of CPU (python-jsonschema/jsonschema#1428). Every ``rnn-course`` command and every
grading worker would pay it; only jsonschema's ``"iri"`` and ``"iri-reference"`` format checks use it, and
nothing the grader validates (notebooks against nbformat's schema, nbgrader's cell metadata) has those formats.
tests/test_startup.py pins the import and that notebooks are validated as before without it.
"""
from __future__ import annotations

import sys

SKIPPED = ("rfc3987_syntax",)


def skip_slow_optional_imports() -> None:
    """Make each module of :data:`SKIPPED` not importable in this process (``import`` raises ImportError, which
    jsonschema expects of an extra that is not installed), unless something imported it already."""
    for name in SKIPPED:
        sys.modules.setdefault(name, None)
