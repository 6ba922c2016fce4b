"""The catalogue of typical mistakes, one module per assignment (grader side only).

Each module ``ch<assignment>.py`` (e.g. ``ch02_simple_rnn.py``) lists ``MISTAKES``: for a graded function of the
assignment's solution notebook, one wrong version a student really writes. A :class:`Mistake` says

- ``id``: ``<function>.<what>`` (``rnn_cell_forward.missing_b_hh``), unique in its assignment;
- ``says``: one sentence to the student, what is wrong and how to put it right;
- ``section``: the book section that explains the point, ``<page>.html#<heading anchor>`` relative to the
  book's ``book/`` folder (``02_simple_rnn.html#the-equations``; the anchor is docutils' id of the heading);
- ``old`` -> ``new``: the one change to the solution's function (``old`` occurs exactly once in it).

The mistaken code itself, the solution's whole function with that change, pasteable into the notebook's cell,
is :meth:`rnn_helpers.grader.mistakes.solution.SolutionNotebook.mistaken_source`. Written as a change
rather than a copy, a mistake can never drift from the solution it is a variant of (the catalogue test fails
when ``old`` no longer occurs). Modules may also give ``FEATURES``: ``{check: case -> set of str}``, the
facts of a case that matter for that check ("the norm is above max_norm"), which the explainer adds to the
generic ones (shapes, values).

Nothing here is imported in the student's kernel, the release or the feedback: the grading build of the
package stubs ``rnn_helpers.grader`` whole (``grader/stripped.py``), and feedback shows a mistake's ``says``
and ``section`` only, never its code.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from rnn_helpers.checks.registry import ASSIGNMENTS


@dataclass(frozen=True)
class Mistake:
    """One typical mistake in one graded function (see the module docstring)."""

    id: str
    says: str
    section: str
    old: str
    new: str

    @property
    def function(self) -> str:
        """The graded function (or class) the mistake is in: the part of ``id`` before the first dot."""
        return self.id.split(".", 1)[0]


def catalogue_module(assignment: str):
    """The module of an assignment's mistakes; ``KeyError`` for an unknown assignment."""
    if assignment not in ASSIGNMENTS:
        raise KeyError(f"unknown assignment {assignment!r}; expected one of {', '.join(ASSIGNMENTS)}")
    return importlib.import_module(f"rnn_helpers.grader.mistakes.ch{assignment}")


def catalogue(assignment: str) -> dict[str, Mistake]:
    """The mistakes of an assignment, by id (in the module's order). Raises ``ValueError`` on a duplicate id."""
    found: dict[str, Mistake] = {}
    for m in catalogue_module(assignment).MISTAKES:
        if m.id in found:
            raise ValueError(f"{assignment}: mistake id {m.id!r} is listed twice")
        if "." not in m.id or "#" not in m.section or m.old == m.new:
            raise ValueError(f"{assignment}: mistake {m.id!r} needs an id <function>.<what>, a section "
                             f"<page>.html#<anchor> and a change")
        found[m.id] = m
    return found


def case_features(assignment: str) -> dict[str, Callable[[dict], set[str]]]:
    """The assignment's own case features per check (``FEATURES`` of its module, may be empty)."""
    return dict(getattr(catalogue_module(assignment), "FEATURES", {}))
