"""Grades back to the LMS (issue 12): ``--export canvas|moodle`` writes the CSV that LMS's gradebook import reads,
keyed by the ids parsed from its own export; and two classes graded end to end from LMS exports (a Canvas zip-like
folder, a Gradescope export) on the fixture course of ``tests/fixtures/grading``.

The formats are those of the importers' own code: Canvas ``lib/gradebook_importer.rb`` (a header row starting
``Student, ID`` then ``SIS User ID, SIS Login ID``, ``Section``, then one column per assignment titled ``Title`` or
``Title (id)``; students found by ``ID``), Moodle ``mod/assign/feedback/offline/importgradeslib.php`` (the columns
``Identifier``, holding ``Participant <id>``, ``Grade`` and ``Last modified (grade)`` are required).
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import pathlib
import sys

import pytest

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "grading"
sys.path.insert(0, str(FIXTURES))
import fixture_course as fc  # noqa: E402

from rnn_helpers.grader import command  # noqa: E402
from rnn_helpers.grader.grading_store import CellResult  # noqa: E402
from rnn_helpers.grader.lms import Submitter  # noqa: E402
from rnn_helpers.grader.lms_export import check_export, parse_export, write_export  # noqa: E402
from rnn_helpers.grader.pipeline import NotebookResult, StudentResult  # noqa: E402
from rnn_helpers.grader.submissions import InvocationError, StudentSubmission  # noqa: E402


def _result(sid: str, points: float, submitter: Submitter) -> StudentResult:
    cells = [CellResult("test_a", 4.0, points, points == 4.0), CellResult("test_b", 2.0, 0.0, False)]
    res = StudentResult(sid, "ps1", [NotebookResult("ps1", cells)], folder=sid)
    res.submitter = submitter
    return res


def _rows(path: pathlib.Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


# ----------------------------------------------------------------------------- the CSVs, unit by unit


def test_canvas_csv_is_keyed_by_canvas_user_id_with_canvas_header(tmp_path):
    results = [_result("23456", 0.0, Submitter("canvas", "23456", "roerichard", True)),
               _result("12345", 2.5, Submitter("canvas", "12345", "doejane", False)),
               _result("anon_Xk3p9", 4.0, Submitter("canvas", "anon_Xk3p9"))]
    told = []
    path, left_out = write_export(tmp_path, "canvas", results, "ps1", told.append)
    rows = _rows(path)
    assert path.name == "grades_canvas.csv"
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "ps1"]
    assert {r[1]: r[5] for r in rows[1:]} == {"12345": "2.5", "23456": "0"}
    assert {r[1]: r[0] for r in rows[1:]} == {"12345": "doejane", "23456": "roerichard"}
    assert left_out == ["anon_Xk3p9"] and "anon_Xk3p9" in told[0] and told[0].startswith("[export]")
    assert not any("Points Possible" in r[0] for r in rows)      # never changes the assignment's points


def test_canvas_column_title_can_name_the_canvas_assignment(tmp_path):
    results = [_result("12345", 4.0, Submitter("canvas", "12345", "doejane"))]
    path, _ = write_export(tmp_path, "canvas=Simple RNN (4242)", results, "02_simple_rnn")
    assert _rows(path)[0][-1] == "Simple RNN (4242)" and _rows(path)[1][-1] == "4"


def test_moodle_worksheet_has_the_columns_its_importer_requires(tmp_path):
    results = [_result("20003", 4.0, Submitter("moodle", "20003", "Jane Doe")),
               _result("20005", 0.0, Submitter("moodle", "20005", ""))]
    path, left_out = write_export(tmp_path, "moodle", results, "ps1")
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert path.name == "grades_moodle.csv" and left_out == []
    assert {"Identifier", "Grade", "Last modified (grade)"} <= set(rows[0])
    assert "Feedback comments" not in rows[0]                   # a marker's comments are never replaced
    assert {r["Identifier"]: r["Grade"] for r in rows} == {"Participant 20003": "4", "Participant 20005": "0"}
    assert {r["Identifier"]: r["Maximum Grade"] for r in rows} == dict.fromkeys(["Participant 20003",
                                                                                  "Participant 20005"], "6")
    assert rows[0]["Full name"] == "Jane Doe"


@pytest.mark.parametrize("value", ["blackboard", "canvas_", "moodle=Title", ""])
def test_an_export_nobody_imports_is_a_wrong_invocation(value):
    with pytest.raises(InvocationError, match="--export"):
        parse_export(value)


def test_an_export_for_another_lms_than_the_submissions_came_from_is_refused():
    subs = [StudentSubmission("20003", "Jane Doe_20003", submitter=Submitter("moodle", "20003", "Jane Doe"))]
    check_export("moodle", subs)
    with pytest.raises(InvocationError, match="--export canvas needs a Canvas export.*moodle export"):
        check_export("canvas", subs)
    check_export(None, subs)


def test_the_command_refuses_a_mismatched_export_before_grading_and_writes_nothing(tmp_path, capsys):
    """``rnn-course grade 02_simple_rnn SUBS --out OUT --export canvas`` on nbgrader's layout: exit 2, one line."""
    if command.source_root() is None:
        pytest.skip("solutions/ is not in this checkout")
    (tmp_path / "subs" / "ann" / "02_simple_rnn").mkdir(parents=True)
    (tmp_path / "subs" / "ann" / "02_simple_rnn" / "02_simple_rnn.ipynb").write_text(json.dumps(fc.source_notebook()))
    from rnn_helpers.grader.cli import build_parser

    args = build_parser().parse_args(["grade", "02_simple_rnn", str(tmp_path / "subs"), "--out", str(tmp_path / "out"),
                                      "--unsafe", "--export", "canvas", "--layout", "nbgrader"])
    assert (args.layout, args.export) == ("nbgrader", "canvas")
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    code = command.run(args)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "needs a Canvas export" in err[0], err
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before


def test_an_unknown_layout_name_is_refused_by_the_parser(tmp_path, capsys):
    from rnn_helpers.grader.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["grade", "02_simple_rnn", str(tmp_path), "--out", str(tmp_path / "o"),
                                   "--layout", "webct"])
    assert "invalid choice: 'webct'" in capsys.readouterr().err


# ----------------------------------------------------------------------------- end to end on the fixture course


def _tree_hash(root: pathlib.Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _grade(root, subs, out, monkeypatch, **kw):
    from rnn_helpers.grader.pipeline import grade
    from rnn_helpers.grader.sandbox import Limits

    monkeypatch.setenv("PYTHONPATH", str(FIXTURES))   # the plain kernel imports fixture_course for the hidden tests
    lines = []
    run = grade("ps1", subs, out, source_root=root, checks_provider=fc.checks_provider, unsafe=True,
                limits=Limits(cell_timeout=8, notebook_timeout=240), echo=lines.append, **kw)
    rows = {r["student_id"]: r for r in csv.DictReader(open(out / "grades.csv", encoding="utf-8"))}
    return run, rows, lines


@pytest.mark.slow
def test_a_canvas_export_graded_end_to_end_and_exported_back(tmp_path, monkeypatch):
    """Canvas's flat file names (``lib/content_zipper.rb``): the right notebook, the untouched release submitted
    late, and a student who uploaded the release then the right notebook again (Canvas renames it ``ps1-1``)."""
    root = tmp_path / "course"
    fc.write_source_tree(root)
    release = fc.release_notebook(root)
    right = json.dumps(fc.with_solutions(release, fc.RIGHT))
    subs = tmp_path / "course-ps1 submissions"
    subs.mkdir()
    (subs / "doejane_12345_678901_ps1.ipynb").write_text(right)
    (subs / "roerichard_LATE_23456_678902_ps1.ipynb").write_text(json.dumps(release))
    (subs / "smithann_34567_678903_ps1.ipynb").write_text(json.dumps(release))
    (subs / "smithann_34567_678950_ps1-1.ipynb").write_text(right)
    before = _tree_hash(subs)
    run, rows, lines = _grade(root, subs, tmp_path / "out", monkeypatch, export="canvas")
    assert sorted(rows) == ["12345", "23456", "34567"]
    assert (float(rows["12345"]["score"]), float(rows["23456"]["score"]), float(rows["34567"]["score"])) == \
        (fc.MAX_SCORE, 0.0, fc.MAX_SCORE)
    assert (rows["12345"]["name"], rows["12345"]["late"], rows["23456"]["late"]) == ("doejane", "no", "yes")
    assert "the latest upload" in rows["34567"]["notes"] and rows["34567"]["submitted_at"] == ""
    header = next(csv.reader(open(tmp_path / "out" / "grades.csv", encoding="utf-8")))
    assert header[-3:] == ["name", "late", "submitted_at"] and header[:2] == ["assignment", "student_id"]
    exported = _rows(tmp_path / "out" / "grades_canvas.csv")
    assert exported[0][:2] == ["Student", "ID"]
    assert {r[1]: float(r[5]) for r in exported[1:]} == {sid: float(r["score"]) for sid, r in rows.items()}
    assert _tree_hash(subs) == before
    # the secret's line, what is graded, then only the progress (the export's layout said as "[layout] ...")
    assert lines[0].startswith("NO GRADING SECRET: ") and lines[1].startswith("grading 3 student(s) against "), lines
    assert not [line for line in lines[2:] if not line.startswith("[")], lines


GRADESCOPE_METADATA = """\
submission_2001:
  :submitters:
  - :name: Jane Doe
    :sid: '30001'
    :email: jane@example.edu
  :created_at: 2026-11-30 14:05:11.000000000 -08:00
  :score: 0.0
submission_2002:
  :submitters:
  - :name: Richard Roe
    :sid: '30002'
    :email: richard@example.edu
  :created_at: 2026-12-01 09:30:00.000000000 -08:00
  :late: true
"""


@pytest.mark.slow
def test_a_gradescope_export_graded_end_to_end_under_its_students(tmp_path, monkeypatch):
    """Gradescope's "Export Submissions" (``assignment_<id>_export/`` with ``submission_metadata.yml``): graded
    under each submitter's SID, with their name, submission time and late flag; not under submission numbers."""
    root = tmp_path / "course"
    fc.write_source_tree(root)
    release = fc.release_notebook(root)
    export = tmp_path / "gradescope" / "assignment_555_export"
    (export / "submission_2001").mkdir(parents=True)
    (export / "submission_2002" / "work").mkdir(parents=True)
    (export / "submission_metadata.yml").write_text(GRADESCOPE_METADATA)
    (export / "submission_2001" / "ps1.ipynb").write_text(json.dumps(fc.with_solutions(release, fc.RIGHT)))
    half = dict(fc.RIGHT, affine=fc.WRONG_VALUES["affine"])
    (export / "submission_2002" / "work" / "ps1.ipynb").write_text(json.dumps(fc.with_solutions(release, half)))
    before = _tree_hash(tmp_path / "gradescope")
    run, rows, _ = _grade(root, tmp_path / "gradescope", tmp_path / "out", monkeypatch)
    assert sorted(rows) == ["30001", "30002"]
    assert float(rows["30001"]["score"]) == fc.MAX_SCORE
    assert float(rows["30002"]["score"]) == fc.POINTS["test_scale"] + fc.POINTS["test_shout"]
    assert (rows["30001"]["name"], rows["30001"]["submitted_at"], rows["30001"]["late"]) == \
        ("Jane Doe", "2026-11-30T14:05:11-08:00", "")
    assert (rows["30002"]["folder"], rows["30002"]["late"]) == ("submission_2002", "yes")
    assert _tree_hash(tmp_path / "gradescope") == before
    with pytest.raises(InvocationError, match="needs a Moodle export"):
        _grade(root, tmp_path / "gradescope", tmp_path / "out2", monkeypatch, export="moodle")
    assert not (tmp_path / "out2").exists()
