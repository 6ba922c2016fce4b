"""``rnn-course release``: exercises/ is exactly what nbgrader makes of solutions/, and gives nothing away.

The release is regenerated into a temporary folder (the real command, a child nbgrader per assignment) and
compared byte for byte with the committed ``exercises/``; that also proves the output is deterministic, since
the committed files came from an earlier run. The released notebooks must hold no solution, no hidden test and
none of their markers; each released cell is exactly nbgrader's transformation of its source cell.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rnn_helpers.checks.registry import ASSIGNMENTS

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "exercises"
MARKERS = ["BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "record_check",
           "rnn_helpers.grader"]
SOLUTION_RE = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION.*?### END SOLUTION[^\n]*", re.S | re.M)
HIDDEN_RE = re.compile(r"[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[^\n]*\n?", re.S)
RNN_COURSE = Path(sys.executable).parent / "rnn-course"


def src(cell) -> str:
    s = cell["source"]
    return "".join(s) if isinstance(s, list) else s


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def normalise(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


@pytest.fixture(scope="module")
def fresh_release(tmp_path_factory):
    from rnn_helpers.grader.release import release

    out = tmp_path_factory.mktemp("release")
    before = set(os.listdir(ROOT))
    release(out_dir=out, log=None)
    assert set(os.listdir(ROOT)) - before == set(), "the release left files in the repository root"
    return out


def test_committed_release_is_up_to_date(fresh_release):
    committed = sorted(p.relative_to(EXERCISES) for p in EXERCISES.rglob("*") if p.is_file())
    fresh = sorted(p.relative_to(fresh_release) for p in fresh_release.rglob("*") if p.is_file())
    expected = sorted(Path(a) / f"{a}.ipynb" for a in ASSIGNMENTS)
    assert fresh == expected, f"the release should hold exactly the six notebooks, got {fresh}"
    assert committed == expected, f"exercises/ should hold exactly the six notebooks, got {committed}"
    stale = [str(p) for p in expected if (EXERCISES / p).read_bytes() != (fresh_release / p).read_bytes()]
    assert not stale, f"exercises/ differs from a fresh release (run `rnn-course release`): {stale}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_gives_nothing_away(assignment):
    text = (EXERCISES / assignment / f"{assignment}.ipynb").read_text(encoding="utf-8")
    for marker in MARKERS:
        assert marker not in text, f"{assignment}: released notebook contains {marker!r}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_each_released_cell_is_the_stripped_source_cell(assignment):
    source = load(ROOT / "solutions" / assignment / f"{assignment}.ipynb")
    released = load(EXERCISES / assignment / f"{assignment}.ipynb")
    assert [c["id"] for c in released["cells"]] == [c["id"] for c in source["cells"]]
    n_solutions = 0
    for s, r in zip(source["cells"], released["cells"]):
        meta = s.get("metadata", {}).get("nbgrader", {})
        expected = src(s)
        if meta.get("solution"):
            n_solutions += 1
            expected = SOLUTION_RE.sub(
                lambda m: f"{m['indent']}# YOUR CODE HERE\n{m['indent']}raise NotImplementedError()", expected)
            assert "raise NotImplementedError()" in src(r)
        if meta.get("grade"):
            expected = HIDDEN_RE.sub("", expected)
            rmeta = r["metadata"]["nbgrader"]
            assert rmeta["points"] == meta["points"] and rmeta["locked"] and rmeta["grade_id"] == meta["grade_id"]
        assert normalise(src(r)) == normalise(expected), f"{assignment}:{s['id']} is not its stripped source"
        if r["cell_type"] == "code":
            assert r["outputs"] == [] and r["execution_count"] is None
    assert n_solutions >= 3


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_released_notebook_is_a_page_with_a_title(assignment):
    nb = load(EXERCISES / assignment / f"{assignment}.ipynb")
    first = nb["cells"][0]
    assert first["cell_type"] == "markdown" and src(first).startswith("# "), "the page needs a title cell first"
    assert "How to work" in src(first) and "raise NotImplementedError()" in src(first), "instructions first"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


def test_unknown_assignment_fails_with_one_line():
    proc = subprocess.run([str(RNN_COURSE), "release", "07_transformers"], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin"}, cwd="/")
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "07_transformers" in lines[0], proc.stderr


def test_release_works_from_a_non_activated_venv(tmp_path):
    """nbgrader runs `alembic` by name: the command must work with the venv's bin dir absent from PATH."""
    proc = subprocess.run([str(RNN_COURSE), "release", "04_gru", "--out", str(tmp_path)], capture_output=True,
                          text=True, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, cwd="/")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["04_gru", "04_gru.ipynb"]
    assert (tmp_path / "04_gru" / "04_gru.ipynb").read_bytes() == (EXERCISES / "04_gru" / "04_gru.ipynb").read_bytes()
