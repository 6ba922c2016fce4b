"""``rnn-course grade`` end to end on the real assignments, called the way an instructor calls it.

Per assignment, one batch of two students: the solutions notebook submitted as it is (full marks) and the
released notebook untouched (0, and grading raises nothing), graded once for all the tests of the module.
The command is run by its full path (``.venv/bin/rnn-course``) with a PATH that lacks ``.venv/bin`` (plain nbgrader fails there: it runs
``alembic`` by name). Where the sandbox works (root on Linux) the batch is graded in it; elsewhere with
``--unsafe``, and the sandboxed run is skipped with the reason.
"""
from __future__ import annotations

import csv
import hashlib
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from rnn_helpers.grader.pipeline import sandbox_status
from rnn_helpers.checks.registry import ASSIGNMENTS

REPO = pathlib.Path(__file__).resolve().parents[1]
RNN_COURSE = pathlib.Path(sys.executable).parent / "rnn-course"
PRESENT = [a for a in ASSIGNMENTS if (REPO / "solutions" / a / f"{a}.ipynb").exists()]

pytestmark = pytest.mark.slow


def _release(assignment: str, dest: pathlib.Path) -> pathlib.Path:
    """The student version, as nbgrader generates it (no database): only when exercises/ lacks it."""
    env = dict(os.environ, PATH=f"{RNN_COURSE.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--no-db", "--force",
                    f"--CourseDirectory.root={REPO}", f"--CourseDirectory.release_directory={dest}"],
                   check=True, capture_output=True, env=env, cwd=REPO)
    return dest / assignment / f"{assignment}.ipynb"


def _hash(root: pathlib.Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()}


def _grade_batch(assignment: str, tmp: pathlib.Path, ok: bool) -> dict:
    """One batch of two students, graded by the installed command: the solutions notebook as it is, and the
    released notebook untouched (``exercises/``, which test_release.py holds equal to a fresh release)."""
    subs = tmp / "submitted"
    released = REPO / "exercises" / assignment / f"{assignment}.ipynb"
    if not released.exists():
        released = _release(assignment, tmp / "release")
    for student, source in (("solution", REPO / "solutions" / assignment / f"{assignment}.ipynb"),
                            ("untouched", released)):
        (subs / student / assignment).mkdir(parents=True)
        shutil.copyfile(source, subs / student / assignment / f"{assignment}.ipynb")
    before = _hash(subs)
    cmd = [str(RNN_COURSE), "grade", assignment, str(subs), "--out", str(tmp / "out")] + ([] if ok else ["--unsafe"])
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"  # not activated: .venv/bin is not on PATH
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp, timeout=1800)
    rows = {}
    if (tmp / "out" / "grades.csv").exists():
        rows = {r["student_id"]: r for r in csv.DictReader(open(tmp / "out" / "grades.csv", encoding="utf-8"))}
    return {"assignment": assignment, "proc": proc, "rows": rows, "out": tmp / "out", "subs": subs,
            "before": before}


@pytest.fixture(scope="module", params=PRESENT or [None])
def graded(request, tmp_path_factory):
    if request.param is None:
        pytest.skip("no assignment in solutions/ yet")
    ok, reason = sandbox_status()
    return dict(_grade_batch(request.param, tmp_path_factory.mktemp(request.param), ok), sandboxed=ok, reason=reason)


def test_command_by_full_path_without_activation_exits_0(graded):
    assert graded["proc"].returncode == 0, graded["proc"].stderr[-3000:]
    assert "solution" in graded["proc"].stdout and "untouched" in graded["proc"].stdout


def test_command_output_holds_the_summary_not_kernel_logs(graded):
    """The kernels' own stderr (ipykernel's log, e.g. its unencrypted-TCP warning) never reaches the command's
    output: stderr has the progress lines, stdout the summary."""
    proc = graded["proc"]
    assert "without encryption" not in proc.stdout + proc.stderr and "IPKernelApp" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("NO GRADING SECRET: "), lines[:1]  # no secret given: the first line says so
    assert lines[1].startswith("grading ") and " against " in lines[1], lines[:2]   # which solutions/ it uses
    assert [line for line in lines[2:] if not line.startswith("[")] == [], proc.stderr[-2000:]


def test_solutions_as_submitted_score_full_marks(graded):
    row = graded["rows"]["solution"]
    assert float(row["max_score"]) > 0
    assert float(row["score"]) == float(row["max_score"]), row["reason"]


def test_released_notebook_untouched_scores_zero(graded):
    row = graded["rows"]["untouched"]
    assert float(row["score"]) == 0 and row["status"] == "graded"


def test_feedback_exists_and_hides_hidden_tests(graded):
    a = graded["assignment"]
    for student in ("solution", "untouched"):
        html = (graded["out"] / "feedback" / student / a / f"{a}.html").read_text()
        assert "BEGIN HIDDEN TESTS" not in html and "record_check(" not in html
    html = (graded["out"] / "feedback" / "untouched" / a / f"{a}.html").read_text()
    assert "NotImplementedError" in html


def test_submissions_unchanged(graded):
    assert _hash(graded["subs"]) == graded["before"]


@pytest.mark.root
def test_graded_in_the_sandbox_when_available(graded):
    if not graded["sandboxed"]:
        pytest.skip(f"sandbox unavailable here: {graded['reason']}")
    assert "WITHOUT the sandbox" not in graded["proc"].stdout
