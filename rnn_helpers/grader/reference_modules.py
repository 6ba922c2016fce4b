"""Which modules of ``rnn_helpers`` hold reference implementations: the one list.

Three things follow from it, and from nothing else:

- the grading build of the package (:mod:`.stripped`) replaces each of these modules by a stub that raises,
  so that a student's kernel cannot delegate to the reference whatever route it takes;
- the source scan (:mod:`.source_check`) reports a solution cell that names one of them
  ("calls the reference: rnn_helpers.gru");
- the tests block them while building every check's cases (the cases must not need the reference).

An entry is a module or a package; a package stands for every module inside it. The list must be complete: a
test (tests/test_sandbox_stripped.py) fails when the stripped build would stub a module that is neither here nor
grader side (a new module that imports a listed one, or defines a function with a graded function's name), and
when an entry here is not stubbed (a stale name). So when you add a module that re-uses the reference, add it here.
"""
from __future__ import annotations

from typing import Iterable

REFERENCE_MODULES = (
    # the API contract (the recurrent cores, chapters 02-05) and what is built on them
    "rnn_helpers.simple_rnn",
    "rnn_helpers.gru",
    "rnn_helpers.lstm",
    "rnn_helpers.deep_rnn",
    "rnn_helpers.bidirectional",      # runs simple_rnn / gru / lstm in both directions
    "rnn_helpers.gradcheck",
    "rnn_helpers.training",
    "rnn_helpers.gradient_flow",
    "rnn_helpers.torch_bridge",
    # the other graded functions' references (chapters 01, 02, 06)
    "rnn_helpers.initialization",
    "rnn_helpers.output_layer",
    "rnn_helpers.embedding",
    "rnn_helpers.encoding",
    "rnn_helpers.param_count",
    "rnn_helpers.text",
    "rnn_helpers.sampling",
    "rnn_helpers.forecasting",
    "rnn_helpers.char_model",
    "rnn_helpers.perplexity",
    "rnn_helpers.decoding",
    "rnn_helpers.datasets.seq2seq",   # its own encode/decode share the names of graded functions (text's)
    # chapter 06's torch applications: they import the references above and train with them
    "rnn_helpers.applications",
)


def reference_module_of(dotted: str, modules: Iterable[str] = REFERENCE_MODULES) -> str | None:
    """The entry of ``modules`` (by default :data:`REFERENCE_MODULES`) that the dotted name ``dotted`` is or lies
    inside, else ``None``.

    ``"rnn_helpers.gru.gru_forward"`` gives ``"rnn_helpers.gru"``; ``"rnn_helpers.datasets.adding"`` gives
    ``None``; ``"rnn_helpers.grubby"`` too (a name inside an entry, not one that merely starts like it).
    """
    for module in modules:
        if dotted == module or dotted.startswith(module + "."):
            return module
    return None
