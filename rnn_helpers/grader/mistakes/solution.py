"""The solution notebook as the catalogue of mistakes reads it: functions, mistaken versions, test cells.

A mistake (:class:`~rnn_helpers.grader.mistakes.Mistake`) is one change to a function of the solution notebook
``solutions/<assignment>/<assignment>.ipynb`` (nbgrader's source notebook, which the grader has: it never is
the student's). :class:`SolutionNotebook` gives

- :meth:`~SolutionNotebook.function_source`: the function as the solution writes it, solution markers removed;
- :meth:`~SolutionNotebook.mistaken_source`: the same function with the mistake's change, the code a student
  would have in the cell;
- :meth:`~SolutionNotebook.namespace`: the notebook's code cells executed in order in a fresh namespace, test
  cells left out, with chosen functions replaced by other source (a student's notebook with that one mistake),
  so that every function calling the mistaken one sees it, as in the student's kernel;
- :meth:`~SolutionNotebook.recorded`: the ``record_check`` lines of the test cells, read as the grader reads
  them (:func:`rnn_helpers.grader.record_calls.record_calls`: the function recorded, the tolerances), and
  :meth:`~SolutionNotebook.visible_test`: the visible part of the test cell of a function (hidden block removed).

Grader side only: this executes the instructor's notebook, in the grader's process, never a submission.
"""
from __future__ import annotations

import ast
import contextlib
import io
import json
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from ..nbgrader_cells import is_test_cell
from ..record_calls import RecordCall, python_source, record_calls
from . import Mistake

HIDDEN_RE = re.compile(r"[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[^\n]*\n?", re.S)
MARKER_RE = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[^\n]*\n", re.M)


def default_solutions_dir() -> Path:
    """``solutions/`` of the course repository this package lives in."""
    import rnn_helpers

    return Path(rnn_helpers.__file__).resolve().parents[1] / "solutions"


@dataclass(frozen=True)
class Cell:
    """A code cell of the solution notebook: its grade id, whether it is a graded test, its clean source."""

    grade_id: str
    is_test: bool
    source: str  # solution markers removed; for test cells, hidden tests removed too
    hidden: str  # the hidden-test block of a test cell ("" elsewhere)


def notebook_with_change(nb: dict, old: str, new: str) -> dict:
    """A copy of notebook ``nb`` (nbformat JSON) with ``old`` changed to ``new`` in the one non-test code cell
    that holds it: a catalogued mistake played as a whole submission. ``ValueError`` unless ``old`` occurs exactly
    once, in exactly one such cell."""
    nb = json.loads(json.dumps(nb))

    def source(cell) -> str:
        return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])

    hits = [c for c in nb["cells"] if c["cell_type"] == "code" and old in source(c)
            and not c.get("metadata", {}).get("nbgrader", {}).get("grade")]
    if len(hits) != 1 or source(hits[0]).count(old) != 1:
        raise ValueError(f"{old!r} must occur once in one solution cell ({len(hits)} cells hold it)")
    hits[0]["source"] = source(hits[0]).replace(old, new)
    return nb


def _definitions(source: str) -> dict[str, tuple[int, int]]:
    """Top-level defs/classes of a cell's source: name -> (first line, last line), 1-based, decorators included."""
    try:
        tree = ast.parse(python_source(source))
    except SyntaxError:
        return {}
    return {n.name: (min([n.lineno] + [d.lineno for d in n.decorator_list]), n.end_lineno)
            for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}


class SolutionNotebook:
    """The solution notebook of one assignment (see the module docstring)."""

    def __init__(self, assignment: str, solutions_dir: Path | str | None = None):
        self.assignment = assignment
        path = Path(solutions_dir or default_solutions_dir()) / assignment / f"{assignment}.ipynb"
        if not path.is_file():
            raise FileNotFoundError(f"no solution notebook for {assignment} at {path}")
        self.path = path
        nb = json.loads(path.read_text(encoding="utf-8"))
        self.cells: list[Cell] = []
        for cell in nb["cells"]:
            if cell["cell_type"] != "code":
                continue
            src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            meta = cell.get("metadata", {}).get("nbgrader", {})
            hidden = "".join(m.group(0) for m in HIDDEN_RE.finditer(src))
            clean = MARKER_RE.sub("", HIDDEN_RE.sub("", src))
            self.cells.append(Cell(str(meta.get("grade_id", "")), is_test_cell(cell), clean, hidden))
        # parsed once: the explainer asks for definitions thousands of times per run (IPython's transform is slow)
        self._defs: list[dict[str, tuple[int, int]]] = [_definitions(c.source) for c in self.cells]
        # check -> (grade id of its test cell, its record_check line)
        self._recorded: dict[str, tuple[str, RecordCall]] = {
            call.check: (cell.grade_id, call) for cell in self.cells if cell.is_test and cell.hidden
            for call in record_calls(cell.hidden)}

    # ----- functions and their mistaken versions
    def function_cell(self, name: str) -> int:
        """Index (in ``cells``) of the non-test cell that defines ``name``; ``KeyError`` if none does."""
        for i, cell in enumerate(self.cells):
            if not cell.is_test and name in self._defs[i]:
                return i
        raise KeyError(f"{self.assignment}: no cell of the solution notebook defines {name!r}")

    def function_source(self, name: str) -> str:
        """The source of ``name`` as the solution writes it (solution markers removed), ending in a newline."""
        i = self.function_cell(name)
        cell = self.cells[i]
        first, last = self._defs[i][name]
        return "\n".join(cell.source.splitlines()[first - 1:last]) + "\n"

    def mistaken_source(self, mistake: Mistake) -> str:
        """The function of ``mistake`` with its one change; ``ValueError`` unless ``old`` occurs exactly once."""
        source = self.function_source(mistake.function)
        count = source.count(mistake.old)
        if count != 1:
            raise ValueError(f"{self.assignment}: {mistake.id}: the text to change occurs {count} times in "
                             f"{mistake.function} (must be once): {mistake.old!r}")
        return source.replace(mistake.old, mistake.new)

    # ----- running the notebook
    def namespace(self, replace: dict[str, str] | None = None) -> tuple[dict, dict[str, BaseException]]:
        """Execute the non-test code cells in order in a fresh namespace, in a temporary directory.

        ``replace`` maps a function name to the source that stands in its cell instead of the solution's.
        A cell that raises is recorded and execution goes on, as a notebook run to the end does. Returns the
        namespace and the exceptions by grade id.
        """
        replace = dict(replace or {})
        ns: dict = {"__name__": "__main__"}
        errors: dict[str, BaseException] = {}
        with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp), warnings.catch_warnings(), \
                contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            for i, cell in enumerate(self.cells):
                if cell.is_test:
                    continue
                source = self._replaced(i, replace)
                try:
                    exec(compile(python_source(source), f"<{self.assignment}:{cell.grade_id or i}>", "exec"), ns)
                except Exception as exc:  # noqa: BLE001 - a failing cell is data: later cells still run
                    errors[cell.grade_id or str(i)] = exc
        return ns, errors

    def _replaced(self, index: int, replace: dict[str, str]) -> str:
        """The source of cell ``index`` with the functions of ``replace`` swapped for their replacement."""
        cell = self.cells[index]
        spans = {n: s for n, s in self._defs[index].items() if n in replace}
        if not spans:
            return cell.source
        lines = cell.source.splitlines()
        for name, (first, last) in sorted(spans.items(), key=lambda kv: -kv[1][0]):  # bottom up keeps line numbers
            lines[first - 1:last] = replace[name].rstrip("\n").splitlines()
        return "\n".join(lines) + "\n"

    # ----- test cells
    def recorded(self) -> dict[str, RecordCall]:
        """Every ``record_check`` line of the notebook's test cells, by check name."""
        return {check: call for check, (_, call) in self._recorded.items()}

    def graded_functions(self) -> list[str]:
        """The functions the hidden tests record, in notebook order, each once."""
        return list(dict.fromkeys(r.function for r in self.recorded().values()))

    def checks_of(self, function: str) -> list[str]:
        """The checks that record ``function``."""
        return [r.check for r in self.recorded().values() if r.function == function]

    def test_cell(self, function: str) -> str:
        """The grade id of the (first) test cell that records ``function``; ``KeyError`` if none does."""
        for gid, call in self._recorded.values():
            if call.function == function:
                return gid
        raise KeyError(f"{self.assignment}: no test cell records {function!r}")

    def visible_test(self, function: str) -> str:
        """The visible part of the test cell that records ``function`` (what the student runs)."""
        grade_id = self.test_cell(function)
        return next(c.source for c in self.cells if c.is_test and c.grade_id == grade_id)

    def run_visible_test(self, function: str, namespace: dict) -> BaseException | None:
        """Run the visible test of ``function`` in a copy of ``namespace`` (one :meth:`namespace` made, which
        stays as it was for the hidden checks); the exception it raised, or None."""
        ns = dict(namespace)
        with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp), warnings.catch_warnings(), \
                contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            try:
                exec(compile(python_source(self.visible_test(function)), f"<test {function}>", "exec"), ns)
            except Exception as exc:  # noqa: BLE001 - the test's failure is the result
                return exc
        return None
