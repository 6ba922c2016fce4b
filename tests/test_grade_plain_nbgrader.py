"""The traps of plain nbgrader 0.9 that ``rnn-course grade`` must avoid, each pinned down here on nbgrader alone.

Every test states what plain nbgrader does with the fixture assignment (tests/fixtures/grading); the
matching test of the grading command is named in its docstring.
"""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "grading"
sys.path.insert(0, str(FIXTURES))
import fixture_course as fc  # noqa: E402

pytestmark = pytest.mark.slow
BIN = pathlib.Path(sys.executable).parent


def _nbgrader(root, *args, path=None):
    env = dict(os.environ, PYTHONPATH=str(FIXTURES), PATH=path if path is not None else f"{BIN}{os.pathsep}"
               + os.environ.get("PATH", ""))
    common = ["--CourseDirectory.source_directory=solutions", f"--CourseDirectory.root={root}",
              f"--CourseDirectory.db_url=sqlite:///{root}/gradebook.db"]
    return subprocess.run([sys.executable, "-m", "nbgrader", *args, *common], env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    root = tmp_path_factory.mktemp("plain")
    fc.write_source_tree(root)
    release = fc.release_notebook(root)
    right = fc.with_solutions(release, fc.RIGHT)
    students = {
        "honest": right,
        "stderr": fc.with_solutions(release, fc.STDERR),
        "deleted": {**right, "cells": [c for c in right["cells"]
                                       if c["metadata"].get("nbgrader", {}).get("grade_id") != "test_shout"]},
        "exits": fc.with_solutions(release, dict(fc.RIGHT, affine="import os\nos._exit(1)\n")),
    }
    for name, nb in students.items():
        path = root / "submitted" / name / "ps1" / "ps1.ipynb"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(nb))
    gen = _nbgrader(root, "generate_assignment", "ps1", "--force")
    assert gen.returncode == 0, gen.stderr[-2000:]
    autograde = _nbgrader(root, "autograde", "ps1", "--force")
    feedback = _nbgrader(root, "generate_feedback", "ps1", "--force", "--student=honest")
    from nbgrader.api import Gradebook

    grades = {}
    with Gradebook(f"sqlite:///{root}/gradebook.db") as gb:
        for name in students:
            nb = gb.find_submission_notebook("ps1", "ps1", name)
            grades[name] = {g.name: (g.auto_score, g.needs_manual_grade) for g in nb.grades}
    return {"root": root, "autograde": autograde, "feedback": feedback, "grades": grades}


def test_plain_nbgrader_zeroes_a_correct_function_that_writes_to_stderr(plain):
    """Avoided: test_grade_fixture.py::test_honest_student_writing_to_stderr_keeps_full_marks."""
    assert plain["grades"]["honest"]["test_scale"] == (2.0, False)
    assert plain["grades"]["stderr"]["test_scale"] == (0.0, False)
    assert plain["grades"]["stderr"]["test_affine"] == (0.0, False)


def test_plain_nbgrader_leaves_a_deleted_test_cell_for_manual_grading(plain):
    """Avoided: test_grade_fixture.py::test_deleted_test_cell_is_restored_and_graded."""
    assert plain["grades"]["deleted"]["test_shout"] == (None, True)


def test_plain_nbgrader_exits_1_and_leaves_scores_empty_when_a_kernel_exits(plain):
    """Avoided: test_grade_fixture.py::test_kernel_that_exits_keeps_earlier_points_and_the_batch_goes_on."""
    assert plain["autograde"].returncode == 1
    assert "for student 'exits'" in plain["autograde"].stderr
    assert all(score is None for score, _ in plain["grades"]["exits"].values())


def test_plain_nbgrader_copies_non_notebook_source_files_next_to_student_code_and_into_feedback(plain):
    """Avoided: test_grade_fixture.py::test_feedback_folder_holds_only_the_feedback_pages."""
    root = plain["root"]
    assert (root / "autograded" / "honest" / "ps1" / "instructor_notes.txt").exists()  # the kernel's cwd
    assert plain["feedback"].returncode == 0, plain["feedback"].stderr[-2000:]
    assert (root / "feedback" / "honest" / "ps1" / "instructor_notes.txt").exists()
    assert (root / "release" / "ps1" / "instructor_notes.txt").exists()


def test_plain_nbgrader_feedback_shows_the_hidden_tests(plain):
    """Avoided: test_grade_fixture.py::test_feedback_names_each_failed_test_with_its_message_and_hides_hidden_tests."""
    html = (plain["root"] / "feedback" / "honest" / "ps1" / "ps1.html").read_text()
    assert "SECRET_HIDDEN_MARKER" in html


def test_plain_nbgrader_needs_alembic_on_path(tmp_path):
    """Avoided: test_grade_command.py::test_command_by_full_path_without_activation."""
    fc.write_source_tree(tmp_path)
    result = _nbgrader(tmp_path, "generate_assignment", "ps1", "--force", path="/usr/bin:/bin")
    assert result.returncode != 0
    assert "No such file or directory: 'alembic'" in result.stderr
