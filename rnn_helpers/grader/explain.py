"""Why a hidden check failed, in words a student can act on (grader side, pure functions, no nbgrader).

When a student's function fails a hidden check, :func:`explain` says why, from the student's recorded outputs:

1. **A named mistake.** Every catalogued mistake of the check's function (``rnn_helpers.grader.mistakes``), and
   of the functions it calls in the notebook, is run on the same cases, as the kernel would run it
   (``records.run_cases``, then the record's JSON round trip). A mistake is named when its outputs match the
   student's on *every* case under the check's own comparison and tolerance (a case where both raised matches
   when the two errors have the same type and message), and it fails the check itself. Several can be named;
   none that misses a case.
2. **Where it fails,** when no mistake matches: which cases pass and which fail, the features of the case
   inputs that all failing cases share and no passing case has (``B = 1``, ``T = 1``, ``zero initial state``,
   ``variant = 'reset_before'``, ...; :func:`case_features`), and the first wrong element (its index and both
   values).

What comes out may go into the feedback: mistake ids (the catalogue gives the sentence and the book section),
case numbers, feature names and one element of the reference output. No hidden test code, no case inputs.
:meth:`Explanation.entry` is what the grader stores (``CellResult.explanations``) and :func:`describe` the one
wording of it, which the feedback, ``grades.csv``, ``grades.json`` and the class report all use.

Comparison is the grader's, :meth:`Check.compare_output`, and the per-case reasons ``verify_records`` found are
passed in rather than computed again.
"""
from __future__ import annotations

import ast
import hashlib
import json
import re
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from rnn_helpers.checks import records
from rnn_helpers.checks.records import CaseError
from rnn_helpers.checks.registry import Check, checks_for

from .mistakes import Mistake, case_features as catalogue_features, catalogue
from .mistakes.solution import SolutionNotebook

LINE_RE = re.compile(r" \(line \d+\)$")
LARGE = 100.0  # "large inputs": some input entry at least this big in absolute value
MAX_FEATURES = 4  # the features a description names at most
# the shape letters of the arrays the checks pass, by argument name (an extra leading axis is L, the layers)
AXES = {"x": "BTD", "x_t": "BD", "h_prev": "BH", "c_prev": "BH", "h0": "BH", "c0": "BH", "dh": "BTH",
        "dc": "BTH", "dh_next": "BH", "dc_next": "BH", "dh_last": "BH", "h": "BTH", "idx": "BT",
        "targets": "BT", "log_probs": "BT", "mask": "BT", "W_out": "VH"}
STATE = ("h0", "h_prev", "c0", "c_prev")


# ----- comparing, as the grader does
def recorded_outputs(fn: Callable, check: Check, cases: list[dict]) -> list:
    """What a hidden test records for ``fn`` on ``cases``, decoded as the grader decodes a record."""
    return [records.decode(json.loads(json.dumps(v))) for v in records.run_cases(fn, cases, check.call)]


def _error_text(e: CaseError) -> str:
    """An error's message without the line number the kernel appends (the student's cell has other lines)."""
    return LINE_RE.sub("", e.message)


def _same(check: Check, a: Any, b: Any, rtol: float, atol: float) -> bool:
    """Two outputs of one case agree: under the check's comparison, or as the same error with the same message."""
    if isinstance(a, CaseError) or isinstance(b, CaseError):
        return isinstance(a, CaseError) and isinstance(b, CaseError) and _error_text(a) == _error_text(b)
    return check.compare_output(a, b, rtol, atol) is None


# ----- features of cases
def _arrays(value: Any, found: list) -> list:
    if isinstance(value, np.ndarray):
        found.append(value)
    elif isinstance(value, dict):
        for v in value.values():
            _arrays(v, found)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _arrays(v, found)
    return found


def case_features(case: dict, extra: Callable[[dict], set[str]] | None = None) -> set[str]:
    """What can be said of one case's inputs: its sizes, its values, its plain arguments.

    - sizes ``B``, ``T``, ``D``, ``H``, ``L``, ``V`` (from the arrays' argument names, :data:`AXES`), each as
      ``"X = 1"`` or ``"X > 1"``; ``"<arg> is n-D"`` for every array;
    - ``"zero initial state"`` (an all-zero ``h0``/``h_prev``/``c0``/``c_prev``), ``"large inputs"`` (an entry
      of magnitude >= :data:`LARGE`), ``"<arg> holds booleans"``/``integers`` for non-float arrays;
    - ``"<arg> = <value>"`` for every int, float, str, bool or None argument;
    - whatever ``extra(case)`` adds (the catalogue's ``FEATURES`` of the check).
    """
    found: set[str] = set()
    sizes: dict[str, int] = {}
    for key, value in case.items():
        if isinstance(value, np.ndarray):
            found.add(f"{key} is {value.ndim}-D")
            if value.dtype.kind == "b":
                found.add(f"{key} holds booleans")
            elif value.dtype.kind in "iu":
                found.add(f"{key} holds integers")
            axes = AXES.get(key)
            if axes and value.ndim in (len(axes), len(axes) + 1):
                named = ("L" + axes) if value.ndim == len(axes) + 1 else axes
                for letter, n in zip(named, value.shape):
                    sizes.setdefault(letter, int(n))
        elif key == "layers" and isinstance(value, list):
            sizes.setdefault("L", len(value))
        elif value is None or isinstance(value, (bool, int, float, str, np.integer, np.floating)):
            shown = f"{value:g}" if isinstance(value, (float, np.floating)) else repr(value)
            found.add(f"{key} = {shown}")
    for letter, n in sizes.items():
        found.add(f"{letter} = 1" if n == 1 else f"{letter} > 1")
    if any(isinstance(case.get(k), np.ndarray) and not np.any(case[k]) for k in STATE):
        found.add("zero initial state")
    floats = [a for a in _arrays(case, []) if a.dtype.kind == "f" and a.size]
    if floats and max(float(np.max(np.abs(a))) for a in floats) >= LARGE:
        found.add("large inputs")
    if extra is not None:
        found |= set(extra(case))
    return found


def _rank(feature: str) -> tuple[int, str]:
    """Sizes first, then values, then plain arguments, then array ranks and dtypes."""
    if len(feature) > 2 and feature[0] in "BTDHLV" and feature[1] == " ":
        return 0, feature
    if feature in ("zero initial state", "large inputs"):
        return 1, feature
    if " = " in feature:
        return 2, feature
    return 3, feature


def distinguishing(features: list[set[str]], failing: list[int]) -> list[str]:
    """The features all ``failing`` cases share and no other case has, most telling first."""
    if not failing or len(failing) == len(features):
        return []
    shared = set.intersection(*(features[i] for i in failing))
    others = set().union(*(features[i] for i in range(len(features)) if i not in failing))
    return sorted(shared - others, key=_rank)


# ----- the first wrong element
@dataclass(frozen=True)
class FirstWrong:
    """The first element where the student's output leaves the reference: case, position, both values."""

    case: int
    where: str  # the place inside the output, e.g. "[1]['W_ih'][0, 2]"
    got: str
    expected: str

    def text(self) -> str:
        return f"case {self.case}, output{self.where}: got {self.got}, expected {self.expected}"


def _fmt(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.6g}"
    if isinstance(v, np.generic):
        return repr(v.item())
    return repr(v)


def first_difference(student: Any, expected: Any, rtol: float, atol: float, where: str = "") \
        -> tuple[str, str, str] | None:
    """``(where, got, expected)`` of the first element that differs, or ``None`` (no such element: equal,
    or the difference is one of structure or shape, which the grader's reason already says)."""
    if isinstance(student, CaseError):
        return None
    if isinstance(expected, dict):
        if not isinstance(student, dict):
            return None
        for k in expected:
            if k in student:
                found = first_difference(student[k], expected[k], rtol, atol, f"{where}[{k!r}]")
                if found:
                    return found
        return None
    if isinstance(expected, (list, tuple)):
        if not isinstance(student, (list, tuple)):
            return None
        if len(student) != len(expected) and all(isinstance(v, (int, np.integer)) for v in expected):
            return None
        for i, (s, e) in enumerate(zip(student, expected)):
            found = first_difference(s, e, rtol, atol, f"{where}[{i}]")
            if found:
                return found
        return None
    if isinstance(expected, str) or isinstance(student, str):
        if not (isinstance(student, str) and isinstance(expected, str)) or student == expected:
            return None
        i = next((k for k, (a, b) in enumerate(zip(student, expected)) if a != b), min(len(student), len(expected)))
        return f"{where}[{i}]", repr(student[i:i + 1]), repr(expected[i:i + 1])
    try:
        s, e = np.asarray(student), np.asarray(expected)
        if s.shape != e.shape or s.dtype.kind not in "biufc" or e.dtype.kind not in "biufc":
            return None
        with np.errstate(invalid="ignore", over="ignore"):
            wrong = ~np.isclose(s, e, rtol=rtol, atol=atol, equal_nan=True)
            if not wrong.any():
                wrong = s != e
    except (TypeError, ValueError):
        return None
    if not wrong.any():
        return None
    index = tuple(int(i) for i in np.argwhere(wrong)[0])
    at = f"[{', '.join(map(str, index))}]" if index else ""
    return f"{where}{at}", _fmt(s[index]), _fmt(e[index])


# ----- running the catalogue
def _fingerprint(cases: list[dict]) -> str:
    """A digest of the cases' data (callables left out), so cached outputs are reused for the same cases only."""
    h = hashlib.sha256()
    for case in cases:
        data = {k: records.encode(v) for k, v in case.items() if not callable(v)}
        h.update(json.dumps(data, sort_keys=True).encode())
    return h.hexdigest()


class MistakeRunner:
    """Runs catalogued mistakes on a check's cases; one per grading run, it computes each output once.

    ``solutions_dir`` is the course's ``solutions/`` (nbgrader's source folder); the default is the one beside
    this package.
    """

    def __init__(self, solutions_dir=None):
        self.solutions_dir = solutions_dir
        self._notebooks: dict[str, SolutionNotebook] = {}
        self._namespaces: dict[tuple[str, str], dict] = {}
        self._outputs: dict[tuple[str, str, str, str], list] = {}
        self._callees: dict[tuple[str, str], list[str]] = {}

    def notebook(self, assignment: str) -> SolutionNotebook:
        if assignment not in self._notebooks:
            self._notebooks[assignment] = SolutionNotebook(assignment, self.solutions_dir)
        return self._notebooks[assignment]

    def function_of(self, assignment: str, check: str) -> str | None:
        """The function the check's ``record_check`` line records (``None`` when the notebook has no such line)."""
        recorded = self.notebook(assignment).recorded().get(check)
        return recorded.function if recorded else None

    def callees(self, assignment: str, function: str) -> list[str]:
        """The notebook's functions that ``function`` calls, directly or not, nearest first (once per run)."""
        key = (assignment, function)
        if key not in self._callees:
            self._callees[key] = self._find_callees(assignment, function)
        return list(self._callees[key])

    def _find_callees(self, assignment: str, function: str) -> list[str]:
        nb = self.notebook(assignment)
        order, todo = [], [function]
        while todo:
            name = todo.pop(0)
            try:
                tree = ast.parse(nb.function_source(name))
            except (KeyError, SyntaxError):
                continue
            for n in ast.walk(tree):
                if isinstance(n, ast.Name) and n.id not in order and n.id != function:
                    try:
                        nb.function_cell(n.id)
                    except KeyError:
                        continue
                    order.append(n.id)
                    todo.append(n.id)
        return order

    def candidates(self, assignment: str, check: str) -> list[Mistake]:
        """The mistakes to try for a check: its function's, then those of the functions it calls."""
        function = self.function_of(assignment, check)
        if function is None:
            return []
        functions = [function] + self.callees(assignment, function)
        mistakes = list(catalogue(assignment).values())
        return [m for f in functions for m in mistakes if m.function == f]

    def reference(self, assignment: str, check: Check, cases: list[dict], fingerprint: str | None = None) -> list:
        """The reference's outputs on the cases (cached for the run)."""
        key = (assignment, check.name, "", fingerprint or _fingerprint(cases))
        if key not in self._outputs:
            self._outputs[key] = check.reference_outputs(cases)
        return self._outputs[key]

    def all_outputs(self, assignment: str, checks: dict[str, Check], cases_of: Callable[[str], list[dict]]) -> dict:
        """Every candidate mistake's outputs on the cases (``cases_of(name)``) of each of ``checks``, computed now:
        all that explaining any student of the run can need, for another grader of the run to :meth:`load`."""
        for name, check in checks.items():
            try:
                cases = cases_of(name)
            except Exception:  # noqa: BLE001 - a check whose cases raise is not explained (VerifyRecords says why)
                continue
            fingerprint = _fingerprint(cases)
            for mistake in self.candidates(assignment, name):
                try:
                    self.outputs(assignment, check, mistake, cases, fingerprint)
                except Exception:  # noqa: BLE001 - left out: whoever loads this fails on it as explain() does here
                    continue
        return {key: outputs for key, outputs in self._outputs.items() if key[0] == assignment and key[2]}

    def load(self, outputs: dict) -> None:
        """Take another grader's :meth:`all_outputs` as this runner's own."""
        self._outputs.update(outputs)

    def namespace(self, assignment: str, mistake: Mistake) -> dict:
        """The solution notebook run with the mistake in place (once per mistake for the run)."""
        key = (assignment, mistake.id)
        if key not in self._namespaces:
            nb = self.notebook(assignment)
            self._namespaces[key], _ = nb.namespace({mistake.function: nb.mistaken_source(mistake)})
        return self._namespaces[key]

    def visible_error(self, assignment: str, mistake: Mistake) -> BaseException | None:
        """What the visible test of the mistake's function raises with the mistake in place (None: it passes)."""
        return self.notebook(assignment).run_visible_test(mistake.function, self.namespace(assignment, mistake))

    def outputs(self, assignment: str, check: Check, mistake: Mistake, cases: list[dict],
                fingerprint: str | None = None) -> list:
        """The mistake's recorded outputs on the check's cases (cached for the run)."""
        key = (assignment, check.name, mistake.id, fingerprint or _fingerprint(cases))
        if key not in self._outputs:
            ns = self.namespace(assignment, mistake)
            expression = self.notebook(assignment).recorded()[check.name].function
            try:
                fn = eval(expression, ns)  # noqa: S307 - the instructor's record_check expression
            except Exception as exc:  # noqa: BLE001 - a mistake whose cell failed records errors
                self._outputs[key] = [CaseError(f"{type(exc).__name__}: {exc}")] * len(cases)
            else:
                with warnings.catch_warnings():  # a mistake's overflow warnings are not the grader's business
                    warnings.simplefilter("ignore")
                    self._outputs[key] = recorded_outputs(fn, check, cases)
        return self._outputs[key]


# ----- the explanation
def mistake_items(assignment: str, ids) -> list[tuple[str, str, str]]:
    """``(id, sentence, section)`` of catalogued mistakes (an id the catalogue lacks has no sentence)."""
    try:
        found = catalogue(assignment)
    except (KeyError, ImportError, ValueError):
        found = {}
    return [(i, found[i].says, found[i].section) if i in found else (i, "", "") for i in ids]


def describe(assignment: str, entry: dict) -> str:
    """The one wording of an explained hidden failure (an :meth:`Explanation.entry`): the named mistakes (id,
    what to fix, book section), or where the function fails and its first wrong value."""
    if entry["mistakes"]:
        named = [f"{i}: {says} (book: {section})" if says else i
                 for i, says, section in mistake_items(assignment, entry["mistakes"])]
        return f"{entry['check']}: likely mistake " + " Or likely mistake ".join(named)
    first = f"; first wrong value: {entry['first_wrong']}" if entry["first_wrong"] else ""
    return f"{entry['check']}: {entry['where']}{first}"


@dataclass(frozen=True)
class Explanation:
    """Why one check failed (see the module docstring); ``mistakes`` are catalogue ids."""

    assignment: str
    check: str
    mistakes: tuple[str, ...]
    passing: tuple[int, ...]
    failing: tuple[int, ...]
    reasons: dict = field(default_factory=dict)  # failing case -> the grader's one-line reason
    features: tuple[str, ...] = ()
    first_wrong: FirstWrong | None = None

    @property
    def failed(self) -> bool:
        return bool(self.failing)

    def failing_cases(self) -> list[dict]:
        """For ``grades.json``: one ``{"case", "reason"}`` per failing case."""
        return [{"case": i, "reason": self.reasons.get(i, "")} for i in self.failing]

    def where(self) -> str:
        """Which cases fail and what only they share (without the first wrong value)."""
        n = len(self.passing) + len(self.failing)
        cases = ", ".join(map(str, self.failing))
        if not self.passing:
            return f"fails on every case ({n})"
        if self.features:
            return f"fails only when {' and '.join(self.features[:MAX_FEATURES])} (cases {cases} of {n})"
        return f"fails on cases {cases} of {n}; nothing in their shapes or values sets them apart"

    def entry(self) -> dict:
        """What the grader keeps of a failed check (``CellResult.explanations``): plain data, for :func:`describe`."""
        return {"check": self.check, "mistakes": list(self.mistakes), "where": self.where(),
                "first_wrong": self.first_wrong.text() if self.first_wrong else ""}

    def text(self) -> str:
        """One paragraph for the feedback (:func:`describe` of :meth:`entry`)."""
        if not self.failing:
            return f"{self.check}: every case matches the reference"
        return describe(self.assignment, self.entry())


def explain(assignment: str, check_name: str, cases: list[dict], student_outputs: list, rtol: float,
            atol: float, *, check: Check | None = None, expected: list | None = None,
            reasons: list[str | None] | None = None, runner: MistakeRunner | None = None) -> Explanation:
    """Explain the student's outputs of one check (decoded records, one per case; see the module docstring).

    ``check`` defaults to the registry's; ``expected`` (the reference outputs on ``cases``) is computed when not
    given, and so are ``reasons`` (the grader's verdict on each case, ``Check.compare_output``); ``runner`` keeps
    the mistakes' outputs for the whole grading run (a new one is made when not given).
    """
    check = check or checks_for(assignment)[check_name]
    if len(student_outputs) != len(cases):
        raise ValueError(f"{check_name}: {len(student_outputs)} outputs for {len(cases)} cases")
    runner = runner or MistakeRunner()
    fingerprint = _fingerprint(cases)
    if expected is None:
        expected = runner.reference(assignment, check, cases, fingerprint)
    if reasons is None:
        reasons = [check.compare_output(s, e, rtol, atol) for s, e in zip(student_outputs, expected)]
    failing = tuple(i for i, r in enumerate(reasons) if r)
    passing = tuple(i for i, r in enumerate(reasons) if not r)
    if not failing:
        return Explanation(assignment, check_name, (), passing, ())
    named = []
    for mistake in runner.candidates(assignment, check_name):
        outputs = runner.outputs(assignment, check, mistake, cases, fingerprint)
        if all(check.compare_output(o, e, rtol, atol) is None for o, e in zip(outputs, expected)):
            continue  # the mistake passes the check: it explains no failure
        if all(_same(check, s, o, rtol, atol) for s, o in zip(student_outputs, outputs)):
            named.append(mistake.id)
    extra = catalogue_features(assignment).get(check_name)
    features = [case_features(c, extra) for c in cases]
    first = None
    for i in failing:
        found = first_difference(student_outputs[i], expected[i], rtol, atol)
        if found:
            first = FirstWrong(i, *found)
            break
    return Explanation(assignment, check_name, tuple(named), passing, failing,
                       {i: reasons[i] for i in failing}, tuple(distinguishing(features, list(failing))), first)
