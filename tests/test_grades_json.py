"""grades.json: every student, every cell, the named mistakes and failing cases; written atomically."""
from __future__ import annotations

import json
import os

import pytest

from rnn_helpers.grader import grades_json
from rnn_helpers.grader.grading_store import CellResult
from rnn_helpers.grader.pipeline import NotebookResult, StudentResult

A = "02_simple_rnn"


def _results():
    wrong = CellResult("test_softmax", 1.0, 0.0, False, ["softmax: likely mistake softmax.max_wrong_axis: ..."],
                       mistakes=["softmax.max_wrong_axis"],
                       failing_cases=[{"check": "softmax", "case": 0, "reason": "differs from the reference"}])
    ok = CellResult("test_rnn_forward", 2.0, 2.0, True)
    return [StudentResult("zoe", A, [NotebookResult(A, [ok, wrong], notes=["test cell test_softmax was missing "
                                                                          "and has been restored"])],
                          folder="Zoë Z"),
            StudentResult("al", A, [NotebookResult(A, [ok, CellResult("test_softmax", 1.0, 1.0, True)])],
                          folder="al")]


def test_every_student_and_cell_with_the_documented_keys(tmp_path):
    path = tmp_path / "grades.json"
    grades_json.write_json(path, _results(), A)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["assignment"] == A
    assert [s["student_id"] for s in data["students"]] == ["al", "zoe"]  # sorted, every student
    zoe = data["students"][1]
    assert {k: zoe[k] for k in ("folder", "score", "max_score", "status")} == \
        {"folder": "Zoë Z", "score": 2.0, "max_score": 3.0, "status": "graded"}
    assert zoe["notes"] == ["test cell test_softmax was missing and has been restored"]
    assert [c["name"] for c in zoe["cells"]] == ["test_rnn_forward", "test_softmax"]
    cell = zoe["cells"][1]
    assert set(cell) >= {"name", "points", "max_points", "passed", "message", "mistakes", "failing_cases"}
    assert cell["passed"] is False and cell["points"] == 0.0 and cell["max_points"] == 1.0
    assert cell["mistakes"] == ["softmax.max_wrong_axis"] and "likely mistake" in cell["message"]
    assert cell["failing_cases"] == [{"check": "softmax", "case": 0, "reason": "differs from the reference"}]
    assert zoe["cells"][0]["message"] == "" and zoe["cells"][0]["mistakes"] == []


def test_same_results_same_file(tmp_path):
    grades_json.write_json(tmp_path / "a.json", _results(), A)
    grades_json.write_json(tmp_path / "b.json", list(reversed(_results())), A)
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_written_atomically_an_interrupted_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "grades.json"
    path.write_text('{"old": true}', encoding="utf-8")

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(grades_json.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        grades_json.write_json(path, _results(), A)
    assert path.read_text(encoding="utf-8") == '{"old": true}'
    assert os.listdir(tmp_path) == ["grades.json"]  # no temporary file left behind
