"""grades.json: every student, every cell, the named mistakes and failing cases; written atomically (grades.csv too)."""
from __future__ import annotations

import json
import os

import pytest

from rnn_helpers.grader import atomic_write, grades_csv, grades_json
from rnn_helpers.grader.explain import describe
from rnn_helpers.grader.grading_store import CellResult
from rnn_helpers.grader.pipeline import NotebookResult, StudentResult

A = "02_simple_rnn"
EXPLAINED = {"check": "softmax", "mistakes": ["softmax.max_wrong_axis"], "where": "fails on every case (5)",
             "first_wrong": "case 0, output[0, 0]: got 0.1, expected 0.2"}


def _results():
    wrong = CellResult("test_softmax", 1.0, 0.0, False, [describe(A, EXPLAINED)], mistakes=["softmax.max_wrong_axis"],
                       failing_cases=[{"check": "softmax", "case": 0, "reason": "differs from the reference"}],
                       explanations=[EXPLAINED])
    ok = CellResult("test_rnn_forward", 2.0, 2.0, True)
    return [StudentResult("al", A, [NotebookResult(A, [ok, CellResult("test_softmax", 1.0, 1.0, True)])],
                          folder="al"),
            StudentResult("zoe", A, [NotebookResult(A, [ok, wrong], notes=["test cell test_softmax was missing "
                                                                          "and has been restored"])],
                          folder="Zoë Z")]


def test_every_student_and_cell_with_the_documented_keys(tmp_path):
    path = tmp_path / "grades.json"
    grades_json.write_json(path, _results(), A)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["assignment"] == A
    assert [s["student_id"] for s in data["students"]] == ["al", "zoe"]  # every student
    zoe = data["students"][1]
    assert {k: zoe[k] for k in ("folder", "score", "max_score", "status")} == \
        {"folder": "Zoë Z", "score": 2.0, "max_score": 3.0, "status": "graded"}
    assert zoe["notes"] == ["test cell test_softmax was missing and has been restored"]
    assert [c["name"] for c in zoe["cells"]] == ["test_rnn_forward", "test_softmax"]
    cell = zoe["cells"][1]
    assert set(cell) >= {"name", "points", "max_points", "passed", "message", "mistakes", "failing_cases",
                         "explanations"}
    assert cell["passed"] is False and cell["points"] == 0.0 and cell["max_points"] == 1.0
    assert cell["mistakes"] == ["softmax.max_wrong_axis"] and "likely mistake" in cell["message"]
    assert cell["failing_cases"] == [{"check": "softmax", "case": 0, "reason": "differs from the reference"}]
    assert cell["explanations"] == [EXPLAINED] and cell["message"] == describe(A, EXPLAINED)
    assert zoe["cells"][0]["message"] == "" and zoe["cells"][0]["mistakes"] == []


def test_students_in_the_order_given(tmp_path):
    """The pipeline sorts the students once (``pipeline._write_outputs``); the writer keeps that order."""
    grades_json.write_json(tmp_path / "g.json", list(reversed(_results())), A)
    data = json.loads((tmp_path / "g.json").read_text(encoding="utf-8"))
    assert [s["student_id"] for s in data["students"]] == ["zoe", "al"]


def test_a_failed_cell_without_messages_says_no_points_as_grades_csv_does(tmp_path):
    bare = StudentResult("bo", A, [NotebookResult(A, [CellResult("test_softmax", 1.0, 0.0, False)])], folder="bo")
    cell = grades_json.grades([bare], A)["students"][0]["cells"][0]
    assert cell["message"] == "no points" and bare.reasons() == ["test_softmax: no points"]


def _interrupted(monkeypatch):
    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic_write.os, "replace", interrupted)


@pytest.mark.parametrize("name,write", [
    ("grades.json", lambda path: grades_json.write_json(path, _results(), A)),
    ("grades.csv", lambda path: grades_csv.write_csv(path, _results(), {A: [{"name": "test_softmax"}]})),
])
def test_written_atomically_an_interrupted_write_keeps_the_old_file(tmp_path, monkeypatch, name, write):
    path = tmp_path / name
    path.write_text("old", encoding="utf-8")
    _interrupted(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        write(path)
    assert path.read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == [name]  # no temporary file left behind


def test_grades_csv_keeps_its_line_endings(tmp_path):
    """Written through a string and write_atomic, the rows end in the csv module's \\r\\n, as an open() file's did."""
    grades_csv.write_csv(tmp_path / "grades.csv", _results(), {A: [{"name": "test_softmax"}]})
    raw = (tmp_path / "grades.csv").read_bytes()
    assert raw.count(b"\r\n") == 3 and b"\r\r" not in raw
