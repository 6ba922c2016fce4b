"""The grading pipeline on a tiny fixture assignment (tests/fixtures/grading): one batch, many students.

The batch is graded once (the session's ``course`` fixture, tests/conftest.py, which the golden test of
test_grades_golden.py shares) with the plain kernel (``unsafe=True``: the fixture's hidden tests
import ``fixture_course`` through PYTHONPATH, which the sandbox's clean environment does not carry; the
sandboxed run is covered on the real assignments in test_grade_command.py). Points of the fixture:
test_scale 2, test_affine 3, test_shout 1.
"""
from __future__ import annotations

import csv
import pathlib
import sys
import zipfile

import pytest

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "grading"
sys.path.insert(0, str(FIXTURES))
import fixture_course as fc  # noqa: E402

pytestmark = pytest.mark.slow

def score(course, student):
    return float(course["rows"][student]["score"])


def test_every_student_has_one_row_with_the_required_columns(course):
    rows = course["rows"]
    assert sorted(rows) == sorted(p.name for p in course["subs"].iterdir())
    for r in rows.values():
        assert r["assignment"] == "ps1" and float(r["max_score"]) == fc.MAX_SCORE
        assert {"status", "reason", "test_scale", "test_affine", "test_shout"} <= set(r)


def test_right_functions_score_full_marks(course):
    assert score(course, "honest") == fc.MAX_SCORE
    assert course["rows"]["honest"]["reason"] == ""


def test_untouched_release_scores_zero(course):
    assert score(course, "untouched") == 0
    assert "NotImplementedError" in course["rows"]["untouched"]["reason"]


def test_right_shapes_wrong_values_score_zero_on_those_cells(course):
    r = course["rows"]["wrong"]
    assert (float(r["test_scale"]), float(r["test_affine"]), float(r["test_shout"])) == (0, 0, fc.POINTS["test_shout"])
    assert "scale: case 0 differs from the reference" in r["reason"]
    assert "rtol=1e-06" in r["reason"]  # the tolerance is the one written in the trusted test cell


def test_partial_credit_per_cell(course):
    assert score(course, "half") == fc.POINTS["test_scale"] + fc.POINTS["test_shout"]


def test_honest_student_writing_to_stderr_keeps_full_marks(course):
    # plain nbgrader gives 0 here (test_grade_plain_nbgrader.py); warnings.warn writes to the kernel's stderr
    assert score(course, "stderr") == fc.MAX_SCORE, course["rows"]["stderr"]["reason"]


def test_kernel_log_stays_off_the_graders_stderr_and_out_of_the_grades(course):
    """ipykernel 7 warns on stderr, at every start, that a TCP kernel is unencrypted (what ``--unsafe`` used to
    start); a fork bomb's children write there too. The kernel's own streams are not the notebook's outputs, so
    they can never change a grade; they must not clutter the command's output either."""
    assert "without encryption" not in course["stderr"] and "IPKernelApp" not in course["stderr"], \
        course["stderr"][-2000:]
    assert score(course, "honest") == fc.MAX_SCORE
    html = (course["out"] / "feedback" / "honest" / "ps1" / "ps1.html").read_text()
    assert "without encryption" not in html


def test_deleted_test_cell_is_restored_and_graded(course):
    assert score(course, "deleted") == fc.MAX_SCORE
    assert course["rows"]["deleted"]["status"] == "graded"
    summary = course["run"].students[[s.student_id for s in course["run"].students].index("deleted")]
    assert any("test_shout was missing and has been restored" in n for nb in summary.notebooks for n in nb.notes)


def test_edited_test_cell_is_restored_so_its_visible_test_fails(course):
    r = course["rows"]["edited"]
    assert float(r["test_shout"]) == 0 and "shout must upper-case the word" in r["reason"]
    assert float(r["test_scale"]) == fc.POINTS["test_scale"]


@pytest.mark.parametrize("student, restored", [
    ("relabelled", ["test_scale", "test_affine", "test_shout"]),
    ("moved", ["test_affine", "test_shout"]),
    ("answer_as_test", []),
])
def test_relabelled_or_moved_cells_are_restored_and_honest_work_keeps_its_points(course, student, restored):
    """A test cell whose metadata was changed, renamed or moved is put back from the gradebook and graded
    (plain nbgrader raises "Inconsistent checksums" and grades nothing); no relabelling earns a point more."""
    r = course["rows"][student]
    assert r["status"] == "graded" and score(course, student) == fc.MAX_SCORE, r["reason"]
    assert float(r["max_score"]) == fc.MAX_SCORE
    notes = [n for s in course["run"].students if s.student_id == student for nb in s.notebooks for n in nb.notes]
    html = (course["out"] / "feedback" / student / "ps1" / "ps1.html").read_text()
    for gid in restored:
        assert any(n.startswith(f"test cell {gid} was modified and has been restored") for n in notes), notes
        assert f"test cell {gid} was modified and has been restored" in html
    if student == "answer_as_test":
        assert any(n.startswith("answer cell scale was modified and has been restored") for n in notes), notes


def test_kernel_that_exits_keeps_earlier_points_and_the_batch_goes_on(course):
    r = course["rows"]["exits"]
    assert float(r["test_scale"]) == fc.POINTS["test_scale"]
    assert float(r["test_affine"]) == 0 and float(r["test_shout"]) == 0
    assert "kernel died" in r["reason"]


def test_a_cell_that_times_out_costs_only_that_cell(course):
    r = course["rows"]["loops"]
    assert (float(r["test_scale"]), float(r["test_affine"]), float(r["test_shout"])) == \
        (fc.POINTS["test_scale"], 0, fc.POINTS["test_shout"]), r["reason"]
    assert f"test_affine: timed out after {course['limits'].cell_timeout} s" in r["reason"] and r["status"] == "graded"


def test_a_kernel_hung_by_a_patched_builtin_keeps_the_points_earned_before(course):
    """``builtins.isinstance = ...`` breaks the kernel's own message loop: the cell times out and the kernel
    never answers again. Plain nbclient raises CellTimeoutError and the whole notebook used to score 0."""
    r = course["rows"]["hangs"]
    assert r["status"] == "graded", r["reason"]
    assert float(r["test_scale"]) == fc.POINTS["test_scale"] and float(r["test_affine"]) == fc.POINTS["test_affine"]
    assert float(r["test_shout"]) == 0
    assert "test_shout: not run: the kernel stopped responding" in r["reason"], r["reason"]
    assert f"timed out after {course['limits'].cell_timeout} s" in r["reason"]


def test_cell_that_raises_costs_only_its_function(course):
    r = course["rows"]["raises"]
    assert float(r["test_scale"]) == 0 and score(course, "raises") == fc.MAX_SCORE - fc.POINTS["test_scale"]


@pytest.mark.parametrize("student, words", [("badjson", "not valid JSON"), ("binary", "not text"),
                                            ("nothing", "no notebook")])
def test_unreadable_or_missing_notebook_scores_zero_with_the_reason(course, student, words):
    r = course["rows"][student]
    assert score(course, student) == 0 and words in r["reason"] and r["status"] == "not gradable"
    html = (course["out"] / "feedback" / student / "ps1" / "ps1.html").read_text()
    assert words in html


def test_wrong_file_name_is_graded_with_a_note(course):
    assert score(course, "wrongname") == fc.MAX_SCORE
    html = (course["out"] / "feedback" / "wrongname" / "ps1" / "ps1.html").read_text()
    # "ps1 (1).ipynb" is how a browser or an LMS names a second copy: graded as the highest-numbered copy
    assert "graded ps1/ps1 (1).ipynb" in html
    assert "graded ps1/ps1 (1).ipynb" in course["rows"]["wrongname"]["notes"]    # grades.csv keeps it too
    assert course["rows"]["wrongname"]["folder"] == "wrongname"


def test_extra_notebooks_are_ignored_with_a_note(course):
    assert score(course, "extra") == fc.MAX_SCORE
    assert "scratch.ipynb" in (course["out"] / "feedback" / "extra" / "ps1" / "ps1.html").read_text()


def test_feedback_names_each_failed_test_with_its_message_and_hides_hidden_tests(course):
    for student in course["rows"]:
        path = course["out"] / "feedback" / student / "ps1" / "ps1.html"
        html = path.read_text()
        assert "SECRET_HIDDEN_MARKER" not in html and "record_check(" not in html, student
        assert "SECRET_NOTES" not in html
    html = (course["out"] / "feedback" / "wrong" / "ps1" / "ps1.html").read_text()
    assert "test_scale" in html and "scale: case 0 differs from the reference" in html
    assert "test_affine" in html and "affine_first_row" in html
    # the visible part of the test the student received is shown
    assert "scale must keep the shape of x" in html


def test_feedback_folder_holds_only_the_feedback_pages(course):
    files = [p for p in (course["out"] / "feedback").rglob("*") if p.is_file()]
    assert files and all(p.suffix == ".html" for p in files)
    assert not list(course["out"].rglob("instructor_notes.txt"))


def test_submissions_are_unchanged(course):
    assert course["after"] == course["before"]


def test_gradebook_agrees_with_grades_csv(course):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course['out'] / 'gradebook.db'}") as gb:
        for student, row in course["rows"].items():
            sub = gb.find_submission("ps1", student)
            assert sub.score == pytest.approx(float(row["score"])), student
            assert not sub.needs_manual_grade, student


def test_grading_again_from_a_zip_gives_the_same_grades(course, tmp_path, monkeypatch):
    """Grading twice is identical: the same students, zipped, graded again in a new run, give the same rows
    (the first grading is the module's batch; a restored test cell and a broken notebook included)."""
    from rnn_helpers.grader.pipeline import grade

    students = ["honest", "wrong", "badjson", "moved"]
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for s in students:
            for p in (course["subs"] / s).rglob("*"):
                if p.is_file():
                    zf.write(p, f"submitted/{p.relative_to(course['subs'])}")
    monkeypatch.setenv("PYTHONPATH", str(FIXTURES))
    grade("ps1", archive, tmp_path / "out", source_root=course["root"], checks_provider=fc.checks_provider,
          unsafe=True, limits=course["limits"], echo=lambda line: None)
    rows = list(csv.DictReader((tmp_path / "out" / "grades.csv").read_text().splitlines()))
    expected = {r["student_id"]: r for r in course["rows"].values() if r["student_id"] in students}
    assert {r["student_id"]: r for r in rows} == expected
