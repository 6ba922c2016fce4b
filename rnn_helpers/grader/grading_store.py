"""What the grader's preprocessors decide and notice, kept for the pipeline that reports it.

nbgrader runs the preprocessors one notebook at a time and keeps nothing of theirs; the grader's own
(:mod:`restore_cells`, :mod:`verify_records`) write into one :class:`GradingStore` per student, which the
pipeline reads back after ``Autograde`` to build the results, the feedback and the CSV.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class CellResult:
    """The grader's decision on one graded cell."""

    name: str
    max_points: float
    points: float
    passed: bool
    messages: list[str] = field(default_factory=list)  # why it failed (or notes on a pass)
    kind: str = "test"  # "test" or "manual"
    # why a hidden check failed (:mod:`.explain`): catalogued mistakes named on every case, the failing
    # cases ({"check", "case", "reason"}), and one explanation per explained check (``Explanation.entry``:
    # {"check", "mistakes", "where", "first_wrong"}, worded by ``explain.describe``)
    mistakes: list[str] = field(default_factory=list)
    failing_cases: list[dict] = field(default_factory=list)
    explanations: list[dict] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)  # the source scan's, of the student's cells before it


@dataclass
class GradingStore:
    """What the preprocessors found, keyed by ``(student, notebook)``."""

    cells: dict[tuple[str, str], dict[str, CellResult]] = field(default_factory=dict)
    notes: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def note(self, key: tuple[str, str], message: str) -> None:
        self.notes.setdefault(key, [])
        if message not in self.notes[key]:
            self.notes[key].append(message)


def store_key(resources: dict) -> tuple[str, str]:
    """``(student, notebook)`` of the notebook nbgrader is processing."""
    nbg = resources["nbgrader"]
    return nbg["student"], nbg["notebook"]


class SharedPreprocessor:
    """Preprocessor instances handed to nbgrader through traitlets config, which deep-copies config values:
    they must stay the same object, so that what they find reaches the pipeline's store."""

    def __deepcopy__(self, memo):
        return self

    def __copy__(self):
        return self
