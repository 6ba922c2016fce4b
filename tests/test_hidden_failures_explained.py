"""Hidden failures explained, end to end: a class graded by the real pipeline on 02_simple_rnn.

Every student submits the solution notebook with one change: two catalogued mistakes that pass the visible tests
and fail a hidden check (``softmax.max_wrong_axis``, the issue's example, and ``softmax.global_max``: the mistakes
of 02 that ``mistakes.caught.how_caught`` finds "named"), a sample of catalogued mistakes its visible tests catch
(some of which used to raise a ValueError there, which stops the cell before its hidden checks), and one wrong
function the catalogue does not know (an ``rnn_forward`` that returns h0 when T = 1). The grader must name the
catalogued mistakes in grades.json, grades.csv and the feedback page (with the book section's link, first on the
page), say exactly what ``how_caught`` says of every catalogued one (so the catalogue test's "named" and "visible"
are what students read), describe the other by what sets its failing cases apart ("fails only when T = 1"), and
show no reference value beyond the first wrong element. Graded with ``unsafe=True`` (no sandbox: the code is the
course's own) to keep it fast, and without ``RNN_COURSE_BOOK_URL`` (the book links are then relative).
"""
from __future__ import annotations

import csv
import json
import pathlib

import numpy as np
import pytest

from rnn_helpers.checks.registry import checks_for
from rnn_helpers.grader.explain import MistakeRunner, describe
from rnn_helpers.grader.feedback import BOOK_URL_ENV
from rnn_helpers.grader.mistakes import catalogue
from rnn_helpers.grader.mistakes.caught import NAMED as HOW_NAMED, VISIBLE as HOW_VISIBLE, how_caught
from rnn_helpers.grader.mistakes.solution import notebook_with_change
from rnn_helpers.grader.pipeline import grade
from rnn_helpers.grader.verify_records import FailureExplainer, raised_message

REPO = pathlib.Path(__file__).resolve().parents[1]
A = "02_simple_rnn"
SOLUTION = REPO / "solutions" / A / f"{A}.ipynb"
T1_OLD = "    B, T, _ = x.shape\n"
T1_NEW = T1_OLD + "    if T == 1:\n        return np.zeros((B, 1, h0.shape[1])), h0\n"
NAMED = {"softmax_axis": ("softmax.max_wrong_axis", "test_softmax"),
         "softmax_global": ("softmax.global_max", "test_softmax")}
# student -> a mistake its visible test catches (the first three raised a ValueError there before the test said why)
VISIBLE = {"cell_W_ih": "rnn_cell_forward.untransposed_W_ih", "probs_W_out": "output_probs.untransposed",
           "stack_reads_x": "stacked_rnn_forward.every_layer_reads_x", "forward_shift": "rnn_forward.shifted_store"}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    if not SOLUTION.exists():
        pytest.skip(f"{SOLUTION} is not in this checkout")
    tmp = tmp_path_factory.mktemp("explained")
    solution = json.loads(SOLUTION.read_text(encoding="utf-8"))
    mistakes = catalogue(A)
    played = {sid: mid for sid, (mid, _) in NAMED.items()} | VISIBLE
    notebooks = {sid: notebook_with_change(solution, mistakes[mid].old, mistakes[mid].new)
                 for sid, mid in played.items()}
    notebooks["t1"] = notebook_with_change(solution, T1_OLD, T1_NEW)
    notebooks["solution"] = solution
    for sid, nb in notebooks.items():
        (tmp / "subs" / sid / A).mkdir(parents=True)
        (tmp / "subs" / sid / A / f"{A}.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    with pytest.MonkeyPatch.context() as env:
        env.delenv(BOOK_URL_ENV, raising=False)
        run = grade(A, tmp / "subs", tmp / "out", source_root=REPO, unsafe=True, echo=lambda s: None)
    out = tmp / "out"
    return {"run": run, "out": out,
            "json": {s["student_id"]: s for s in json.loads((out / "grades.json").read_text())["students"]},
            "csv": {r["student_id"]: r for r in csv.DictReader(open(out / "grades.csv", encoding="utf-8"))},
            "feedback": {sid: (out / "feedback" / sid / A / f"{A}.html").read_text(encoding="utf-8")
                         for sid in notebooks}}


def _cell(student: dict, name: str) -> dict:
    return next(c for c in student["cells"] if c["name"] == name)


@pytest.mark.slow
def test_the_solution_passes_and_names_nothing(graded):
    s = graded["json"]["solution"]
    assert s["score"] == s["max_score"] > 0
    assert all(c["passed"] and c["mistakes"] == [] and c["failing_cases"] == [] for c in s["cells"])
    assert "What to fix first" not in graded["feedback"]["solution"]


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted(NAMED))
def test_catalogued_mistake_is_named_everywhere(graded, student):
    mistake_id, cell = NAMED[student]
    mistake = catalogue(A)[mistake_id]
    entry = _cell(graded["json"][student], cell)
    assert not entry["passed"] and entry["points"] == 0
    assert mistake_id in entry["mistakes"], entry
    assert entry["failing_cases"] and all({"check", "case", "reason"} <= set(c) for c in entry["failing_cases"])
    assert f"likely mistake {mistake_id}" in entry["message"]
    # a mistake is named only where it matches every case: nowhere else in this student's cells
    assert all(mistake_id not in c["mistakes"] for c in graded["json"][student]["cells"]
               if c["passed"] or not c["failing_cases"])
    assert f"likely mistake {mistake_id}" in graded["csv"][student]["reason"]
    page = graded["feedback"][student]
    assert mistake_id in page and "What to fix first" in page
    # the explanation comes first, before the table of tests, with a link to the book section
    assert page.index("What to fix first") < page.index("<h2>Tests</h2>")
    assert f'href="book/{mistake.section}"' in page


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted(NAMED) + sorted(VISIBLE))
def test_the_grader_says_what_how_caught_says(graded, student):
    """grades.json names a mistake exactly when ``how_caught`` finds it named, and the cell's message is the text
    ``how_caught`` reports: the explanation, or the visible test's assert as the grader words a raised cell."""
    mistake_id = NAMED[student][0] if student in NAMED else VISIBLE[student]
    mistake = catalogue(A)[mistake_id]
    runner = MistakeRunner(REPO / "solutions")
    caught = how_caught(A, mistake, runner)
    assert caught.how in (HOW_NAMED, HOW_VISIBLE), caught
    assert caught.how == (HOW_NAMED if student in NAMED else HOW_VISIBLE), caught
    entry = _cell(graded["json"][student], runner.notebook(A).test_cell(mistake.function))
    assert not entry["passed"]
    assert (mistake_id in entry["mistakes"]) == (caught.how == HOW_NAMED), (caught, entry)
    expected = caught.detail if caught.how == HOW_NAMED else raised_message("AssertionError", caught.detail)
    assert expected in entry["message"], (expected, entry["message"])


@pytest.mark.slow
def test_uncatalogued_wrong_function_is_described_by_where_it_fails(graded):
    entry = _cell(graded["json"]["t1"], "test_rnn_forward")
    assert not entry["passed"] and entry["mistakes"] == []
    assert "fails only when T = 1" in entry["message"], entry["message"]
    assert "first wrong value: case" in entry["message"]
    assert "fails only when T = 1" in graded["csv"]["t1"]["reason"]
    assert "fails only when T = 1" in graded["feedback"]["t1"]


def _numbers(value) -> list[float]:
    """Every number in an output (arrays, tuples, dicts), flattened."""
    if isinstance(value, dict):
        return [x for v in value.values() for x in _numbers(v)]
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _numbers(v)]
    a = np.asarray(value)
    return [float(x) for x in a.ravel()] if a.dtype.kind in "biuf" else []


@pytest.mark.slow
def test_feedback_shows_no_hidden_test_code_nor_reference_values(graded):
    """Of each failed check's reference outputs, only the first wrong element may appear on the page."""
    checks = checks_for(A)
    for sid, page in graded["feedback"].items():
        assert "BEGIN HIDDEN TESTS" not in page and "record_check(" not in page
        entries = [c for c in graded["json"][sid]["cells"] if c["failing_cases"]]
        for check_name in {f["check"] for e in entries for f in e["failing_cases"]}:
            check = checks[check_name]
            values = [f"{v:.6g}" for out in check.reference_outputs(check.cases()) for v in _numbers(out)]
            long = {v for v in values if len(v) >= 6}  # a "0" or "1" may be any text's
            assert long, check_name  # the check has values to leak
            shown = [v for v in long if v in page]
            assert len(shown) <= 1, (sid, check_name, shown[:5])


# ----------------------------------------------------------------------------- the explainer on its own
def _softmax_case_outputs(mistake_id: str):
    from rnn_helpers.grader.explain import MistakeRunner

    check = checks_for(A)["softmax"]
    runner = MistakeRunner()
    outputs = runner.outputs(A, check, catalogue(A)[mistake_id], check.cases())
    return check, outputs


def _verdicts(check, outputs, expected, rtol=1e-7, atol=1e-12):
    return [check.compare_output(o, e, rtol, atol) for o, e in zip(outputs, expected)]


def test_explainer_names_a_mistake_that_matches_every_case():
    check, outputs = _softmax_case_outputs("softmax.max_wrong_axis")
    cases = check.cases()
    expected = check.reference_outputs(cases)
    explanation = FailureExplainer().explain(A, check, cases, outputs, expected, _verdicts(check, outputs, expected),
                                             1e-7, 1e-12)
    assert explanation is not None and "softmax.max_wrong_axis" in explanation.mistakes
    message = describe(A, explanation.entry())
    assert message.startswith("softmax: likely mistake softmax.max_wrong_axis: ")
    assert catalogue(A)["softmax.max_wrong_axis"].section in message
    assert message == explanation.text()  # one wording, whoever asks


def test_explainer_uses_the_verdicts_it_is_given():
    """The grader's per-case reasons are passed in, not recomputed: they are the failing cases' reasons."""
    check, outputs = _softmax_case_outputs("softmax.max_wrong_axis")
    cases = check.cases()
    expected = check.reference_outputs(cases)
    verdicts = [None] * len(cases)
    verdicts[1] = "the grader's own reason"
    explanation = FailureExplainer().explain(A, check, cases, outputs, expected, verdicts, 1e-7, 1e-12)
    assert explanation.failing == (1,) and explanation.failing_cases() == [{"case": 1,
                                                                            "reason": "the grader's own reason"}]


def test_explainer_gives_nothing_without_a_catalogue():
    """The fixture course's assignment (not a course assignment) has no catalogue: no explanation."""
    check, outputs = _softmax_case_outputs("softmax.max_wrong_axis")
    cases = check.cases()
    assert FailureExplainer().explain("ps1", check, cases, outputs, outputs, ["differs"] * len(cases), 1e-7,
                                      1e-12) is None


def test_an_explainer_that_raises_costs_nothing_but_a_log_line(caplog):
    class Broken:
        name = "softmax"

        def compare_output(self, *args):
            raise RuntimeError("compare exploded")

        @property
        def call(self):
            raise RuntimeError("call exploded")

    with caplog.at_level("WARNING", logger="rnn_helpers.grader"):
        assert FailureExplainer().explain(A, Broken(), [{}], [0.0], [1.0], ["differs"], 1e-7, 1e-12) is None
    assert "could not explain 02_simple_rnn/softmax: RuntimeError: " in caplog.text


def test_a_change_must_stand_once_in_one_solution_cell():
    """A mistake played as a submission changes one solution cell, never a test cell, and only text that is there
    once: anything else is refused rather than played half."""
    def cell(source, grade=False):
        return {"cell_type": "code", "source": source, "metadata": {"nbgrader": {"grade": grade}}}

    nb = {"cells": [cell("x = 1\n"), cell("x = 1\nassert x == 1\n", grade=True), cell("y = 2\ny = 2\n")]}
    changed = notebook_with_change(nb, "x = 1", "x = 0")
    assert [c["source"] for c in changed["cells"]] == ["x = 0\n", "x = 1\nassert x == 1\n", "y = 2\ny = 2\n"]
    assert nb["cells"][0]["source"] == "x = 1\n"  # the original is left as it was
    with pytest.raises(ValueError, match="must occur once"):
        notebook_with_change(nb, "y = 2", "y = 3")  # twice in its cell
    with pytest.raises(ValueError, match="must occur once"):
        notebook_with_change(nb, "z = 3", "z = 4")  # nowhere
