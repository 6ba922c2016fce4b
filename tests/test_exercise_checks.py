"""The graded exercises and their checks agree with each other and with the reference package.

For every assignment:

- every ``record_check`` line of the solution notebook names a check of ``rnn_helpers/checks/ch<assignment>.py``
  and every check is recorded by exactly one line, inside a graded test cell's hidden-test block;
- each check's cases are deterministic, the reference runs on each of them (``Check.reference_output``, as the
  grader calls it), and its raw output survives the record's JSON round trip (``records.encode``/``decode``)
  exactly;
- the solution notebook, executed (visible tests included), gives functions whose recorded outputs match the
  reference within the tolerance written in the hidden test: the solutions score full marks;
- the released stubs (solution regions replaced by nbgrader's ``raise NotImplementedError()``) make every visible
  test cell raise NotImplementedError and every case of every check record an error: they score 0;
- a deliberately wrong output (reference + 1e-3, or an off-by-one for discrete outputs) is rejected (the typical
  mistakes are the catalogue's, ``tests/test_mistake_catalogue.py``).

The ``record_check`` lines are read as the grader reads them (``grader.record_calls.record_calls``).

The comparison is the grader's own (``Check.compare_output``: the check's ``compare`` or
``rnn_helpers.checks.compare.compare_values``), so what passes here is what earns points.
The checks modules must not import reference modules (``grader/reference_modules.py``) to build their cases (the
grading kernel lacks them).
"""
from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rnn_helpers.checks import records
from rnn_helpers.checks.registry import ASSIGNMENTS, checks_for
from rnn_helpers.grader.record_calls import record_calls
from rnn_helpers.grader.reference_modules import REFERENCE_MODULES

ROOT = Path(__file__).resolve().parents[1]
HIDDEN_RE = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", re.S)
SOLUTION_RE = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION.*?### END SOLUTION[^\n]*", re.S | re.M)


def notebook(assignment: str) -> dict:
    return json.loads((ROOT / "solutions" / assignment / f"{assignment}.ipynb").read_text(encoding="utf-8"))


def source(cell: dict) -> str:
    s = cell["source"]
    return "".join(s) if isinstance(s, list) else s


def record_lines(assignment: str) -> list[dict]:
    """The record_check calls of the solution notebook (``RecordCall``: assignment, check, function, rtol, atol),
    with the cell that holds each and its grade id."""
    found = []
    for cell in notebook(assignment)["cells"]:
        if cell["cell_type"] != "code":
            continue
        for call in record_calls(source(cell)):
            found.append(dict(vars(call), grade_id=cell.get("metadata", {}).get("nbgrader", {}).get("grade_id"),
                              cell=cell))
    return found


def stub(src: str) -> str:
    """What nbgrader's ClearSolutions leaves of a solution region."""
    return SOLUTION_RE.sub(lambda m: f"{m['indent']}# YOUR CODE HERE\n{m['indent']}raise NotImplementedError()", src)


def run_notebook(assignment: str, *, stubs: bool, tmp_path: Path) -> tuple[dict, dict[str, BaseException | None]]:
    """Exec the notebook's code cells in one namespace (hidden tests left out), in ``tmp_path``.

    Returns the namespace and, per graded test cell, the exception it raised (None if it passed).
    """
    ns: dict = {"__name__": "__main__"}
    results: dict[str, BaseException | None] = {}
    with contextlib.chdir(tmp_path), contextlib.redirect_stdout(io.StringIO()):
        for cell in notebook(assignment)["cells"]:
            if cell["cell_type"] != "code":
                continue
            meta = cell.get("metadata", {}).get("nbgrader", {})
            src = HIDDEN_RE.sub("", source(cell))
            if stubs and meta.get("solution"):
                src = stub(src)
            try:
                exec(compile(src, f"<{assignment}:{meta.get('grade_id', '?')}>", "exec"), ns)
                error = None
            except Exception as exc:  # noqa: BLE001 - a test cell's failure is what we record
                error = exc
                if not meta.get("grade"):
                    raise
            if meta.get("grade"):
                results[meta["grade_id"]] = error
    return ns, results


def round_trip(value):
    """A value as the grader reads it back from a record."""
    return records.decode(json.loads(json.dumps(records.encode(value))))


def perturb(value):
    """A wrong answer close to the right one."""
    if isinstance(value, dict):
        return {k: perturb(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(perturb(v) for v in value)
    if isinstance(value, list):
        return [perturb(v) for v in value]
    if isinstance(value, str):
        return value + "?"
    if isinstance(value, (bool, np.bool_)):
        return not value
    if isinstance(value, (int, np.integer)):
        return value + 1
    if isinstance(value, float):
        return value + 1e-3 * (1 + abs(value))
    a = np.asarray(value)
    if a.dtype.kind == "b":
        return ~a
    if a.dtype.kind in "iu":
        return a + 1
    return a + 1e-3 * (1 + np.abs(a))


ALL_CHECKS = [(a, name) for a in ASSIGNMENTS for name in checks_for(a)]


@pytest.fixture(scope="module")
def solution_runs(tmp_path_factory):
    cache = {}

    def get(assignment):
        if assignment not in cache:
            cache[assignment] = run_notebook(assignment, stubs=False, tmp_path=tmp_path_factory.mktemp(assignment))
        return cache[assignment]
    return get


@pytest.fixture(scope="module")
def reference_cache():
    """The reference's raw outputs per check (``Check.reference_outputs``, what the grader compares with)."""
    cache = {}

    def get(assignment, name):
        if (assignment, name) not in cache:
            check = checks_for(assignment)[name]
            cache[assignment, name] = check.reference_outputs(check.cases())
        return cache[assignment, name]
    return get


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_check_is_recorded_once_in_a_hidden_block(assignment):
    lines = record_lines(assignment)
    recorded = [d["check"] for d in lines]
    assert sorted(recorded) == sorted(checks_for(assignment)), "record_check lines and CHECKS differ"
    for d in lines:
        assert d["assignment"] == assignment
        meta = d["cell"]["metadata"]["nbgrader"]
        assert meta.get("grade") and meta.get("locked") and meta.get("points", 0) > 0, d["grade_id"]
        hidden = "".join(HIDDEN_RE.findall(source(d["cell"])))
        assert f'"{d["check"]}"' in hidden, f"{d['check']} is recorded outside the hidden-test block"
        assert d["rtol"] >= 0 and d["atol"] >= 0


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_graded_cells_have_visible_tests_and_no_reference_call(assignment):
    for cell in notebook(assignment)["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not meta.get("grade"):
            continue
        visible = HIDDEN_RE.sub("", source(cell))
        assert "assert" in visible, f"{meta['grade_id']} has no visible test"
        assert "rnn_helpers" not in visible, f"{meta['grade_id']}'s visible tests use rnn_helpers"
        assert "### BEGIN HIDDEN TESTS" in source(cell), f"{meta['grade_id']} has no hidden tests"


@pytest.mark.parametrize("assignment,name", ALL_CHECKS)
def test_cases_are_deterministic(assignment, name):
    check = checks_for(assignment)[name]
    a, b = check.cases(), check.cases()
    assert len(a) >= 4, "a check needs several cases"
    enc = [json.dumps({k: records.encode(v) for k, v in c.items() if not callable(v)}, sort_keys=True) for c in a]
    enc2 = [json.dumps({k: records.encode(v) for k, v in c.items() if not callable(v)}, sort_keys=True) for c in b]
    assert enc == enc2


@pytest.mark.parametrize("assignment,name", ALL_CHECKS)
def test_reference_runs_and_roundtrips_exactly(assignment, name, reference_cache):
    """What a solution identical to the reference records compares equal, at zero tolerance, with the reference's
    raw output: the record's round trip loses nothing the comparison looks at."""
    check = checks_for(assignment)[name]
    for i, raw in enumerate(reference_cache(assignment, name)):
        assert check.compare_output(round_trip(raw), raw, 0.0, 0.0) is None, f"case {i}"


@pytest.mark.parametrize("assignment,name", ALL_CHECKS)
def test_wrong_output_is_rejected(assignment, name, reference_cache):
    check = checks_for(assignment)[name]
    line = next(d for d in record_lines(assignment) if d["check"] == name)
    expected = reference_cache(assignment, name)
    rejected = [check.compare_output(perturb(e), e, line["rtol"], line["atol"]) is not None for e in expected]
    assert any(rejected), "no case notices an output that is off by 1e-3"
    assert sum(rejected) >= len(rejected) - 1, f"perturbed outputs accepted on {rejected.count(False)} cases"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_scores_full_marks(assignment, solution_runs, reference_cache):
    ns, results = solution_runs(assignment)
    failed = {k: repr(v) for k, v in results.items() if v is not None}
    assert not failed, f"visible tests fail on the solution: {failed}"
    for d in record_lines(assignment):
        check = checks_for(assignment)[d["check"]]
        fn = eval(d["function"], ns)  # noqa: S307 - the notebook's own expression, e.g. a function name
        got = [records.decode(json.loads(json.dumps(o))) for o in records.run_cases(fn, check.cases(), check.call)]
        expected = reference_cache(assignment, d["check"])
        assert len(got) == len(expected)
        for i, (g, e) in enumerate(zip(got, expected)):
            why = check.compare_output(g, e, d["rtol"], d["atol"])
            assert why is None, f"{d['check']} case {i}: {why}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_released_stubs_score_zero(assignment, tmp_path):
    ns, results = run_notebook(assignment, stubs=True, tmp_path=tmp_path)
    for grade_id, error in results.items():
        assert isinstance(error, NotImplementedError), f"{grade_id}: the stub gives {error!r}"
    for d in record_lines(assignment):
        check = checks_for(assignment)[d["check"]]
        outputs = records.run_cases(eval(d["function"], ns), check.cases(), check.call)  # noqa: S307
        assert outputs and all("__error__" in o and "NotImplementedError" in o["__error__"] for o in outputs)


def test_checks_modules_import_no_reference_module():
    """Import every checks module and build every case with the reference modules blocked."""
    code = f"""
import sys, importlib.abc
BLOCKED = {REFERENCE_MODULES!r}
def blocked(name):
    return any(name == m or name.startswith(m + ".") for m in BLOCKED)
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if blocked(name):
            raise ImportError("blocked reference module " + name)
sys.meta_path.insert(0, Block())
from rnn_helpers.checks.registry import ASSIGNMENTS, checks_for
for a in ASSIGNMENTS:
    for c in checks_for(a).values():
        c.cases()
leaked = sorted(m for m in sys.modules if blocked(m))
assert not leaked, leaked
print("ok")
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]
