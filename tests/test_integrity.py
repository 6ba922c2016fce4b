"""Grading integrity: a class of hostile and broken submissions, graded once by the real pipeline.

The class (``tests/hostile/build.py``) is built from the released 02_simple_rnn notebook and graded with the
grading command's pipeline (``pipeline.grade``, what ``rnn-course grade`` runs) in the sandbox, with short
limits so that the run stays reasonable. Each test then asserts one promise of the issue on that result.
"""
import csv
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "hostile"))
import build as hostile  # noqa: E402

ROOT_REASON = "needs root for the grading sandbox (unprivileged user, namespaces)"
pytestmark = [pytest.mark.root, pytest.mark.slow,
              pytest.mark.skipif(os.geteuid() != 0, reason=ROOT_REASON)]

REPO = Path(__file__).resolve().parents[1]


def limits():
    from rnn_helpers.grader.sandbox import Limits

    return Limits(cell_timeout=5, notebook_timeout=60, max_processes=48)


def grade(subs: Path, out: Path):
    from rnn_helpers.grader.pipeline import grade as run

    return run(hostile.ASSIGNMENT, subs, out, source_root=REPO, limits=limits(), echo=lambda line: None)


def rows(out: Path) -> dict[str, dict]:
    with open(out / "grades.csv", newline="") as fh:
        return {r["student_id"]: r for r in csv.DictReader(fh)}


def sandbox_processes() -> list[str]:
    from rnn_helpers.grader.sandbox import Limits

    uid = str(Limits().uid)
    lines = subprocess.run(["ps", "-eo", "pid=,uid="], capture_output=True, text=True).stdout.splitlines()
    return [line for line in lines if line.split()[1:] == [uid]]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("integrity")
    subs, out, decoy = base / "submissions", base / "out", base / "course"
    decoy.mkdir()
    gradebook = decoy / "gradebook.db"
    with sqlite3.connect(gradebook) as con:  # a decoy gradebook at a path the hostile code knows
        con.execute("create table grade (id text, manual_score real)")
        con.execute("create table comment (id text, manual_comment text)")
        con.execute("insert into grade values ('x', 2.0)")
    targets = {"gradebook": str(gradebook), "out": str(out), "solutions": str(REPO / "solutions"),
               "submissions": str(subs)}
    expect = hostile.build_class(subs, targets)
    before = hostile.snapshot(subs)
    t0 = time.monotonic()
    result = grade(subs, out)
    elapsed = time.monotonic() - t0
    time.sleep(1.0)  # let anything that tried to outlive its kernel show itself
    return {"base": base, "subs": subs, "out": out, "expect": expect, "before": before, "result": result,
            "elapsed": elapsed, "gradebook": gradebook}


def test_the_batch_finishes_with_every_student_in_grades_csv(graded):
    got = rows(graded["out"])
    assert set(got) == set(graded["expect"]), set(graded["expect"]) ^ set(got)
    for student, row in got.items():
        assert float(row["max_score"]) == hostile.MAX, (student, row)


def test_no_submission_earns_more_than_its_honest_work(graded):
    got = rows(graded["out"])
    problems = []
    for student, exp in graded["expect"].items():
        row = got[student]
        score = float(row["score"])
        if score > exp.max_score + 1e-9:
            problems.append(f"{student} (class {exp.klass}): {score} > honest {exp.max_score}: {row['reason']}")
        if exp.exact is not None and abs(score - exp.exact) > 1e-9:
            problems.append(f"{student} (class {exp.klass}): {score} != {exp.exact}: {row['reason']}")
        for cell in exp.zero:
            if cell in row and float(row[cell]) != 0:
                problems.append(f"{student} (class {exp.klass}): {cell} earned {row[cell]}")
        for cell, points in hostile.POINTS.items():
            if cell in row and float(row[cell]) > points:
                problems.append(f"{student}: {cell} earned {row[cell]} > {points}")
    assert not problems, "\n".join(problems)


def test_hostile_code_costs_cells_never_the_whole_notebook(graded):
    """A hung kernel (``builtins.isinstance`` patched), a fork bomb, a loop, a relabelled test cell: each costs
    the cells it touched and those that could not run after it; the notebook is still graded cell by cell."""
    got = rows(graded["out"])
    wrong = [f"{student} (class {exp.klass}): {got[student]['status']}: {got[student]['reason'][:300]}"
             for student, exp in graded["expect"].items()
             if exp.gradable is not None and (got[student]["status"] == "graded") != exp.gradable]
    assert not wrong, "\n".join(wrong)


def test_the_honest_solution_keeps_full_marks(graded):
    assert float(rows(graded["out"])["honest"]["score"]) == hostile.MAX


def test_submissions_are_not_changed(graded):
    assert hostile.snapshot(graded["subs"]) == graded["before"]


def test_nothing_outlives_its_kernel_and_no_gradebook_is_touched(graded):
    """The worst case of rnn_helpers/grader/THREAT_MODEL.md: a daemon that keeps writing 1000 into every gradebook
    it can find."""
    assert sandbox_processes() == []
    with sqlite3.connect(graded["gradebook"]) as con:
        assert con.execute("select manual_score from grade").fetchall() == [(2.0,)]
    out_db = graded["out"] / "gradebook.db"
    if out_db.exists():
        with sqlite3.connect(out_db) as con:
            tables = {r[0] for r in con.execute("select name from sqlite_master where type='table'")}
            if "grade" in tables:
                scores = [r[0] for r in con.execute("select manual_score from grade") if r[0] is not None]
                assert all(s < 1000 for s in scores), scores
    assert "pwned" not in (graded["out"] / "grades.csv").read_text()


def test_feedback_says_why(graded):
    got = rows(graded["out"])
    missing = []
    for student, exp in graded["expect"].items():
        reason = got[student]["reason"].lower()
        fb_dir = graded["out"] / "feedback" / student
        html = " ".join(p.read_text(errors="replace").lower() for p in fb_dir.rglob("*.html")) if fb_dir.exists() else ""
        for phrase in exp.feedback:
            if phrase.lower() not in reason and phrase.lower() not in html:
                missing.append(f"{student}: feedback lacks {phrase!r} (reason: {reason[:200]})")
    assert not missing, "\n".join(missing)


def test_grading_again_gives_the_same_grades(graded, tmp_path):
    again = tmp_path / "subs"
    keep = ["honest", "c1_lying_array", "c3_torch", "c5_edit_tests", "c6_endless_loop", "c7_bad_json"]
    for student in keep:
        shutil.copytree(graded["subs"] / student, again / student)
    grade(again, tmp_path / "out")
    first, second = rows(graded["out"]), rows(tmp_path / "out")
    for student in keep:
        a = {k: v for k, v in first[student].items()}
        b = {k: v for k, v in second[student].items()}
        assert a == b, (student, a, b)
