"""Shared fixtures of the test suite."""
from __future__ import annotations

import csv
import hashlib
import json
import os
import pathlib
import sys
import tempfile

import pytest

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "grading"
# short, so that the fixture class's students who loop cost little; the honest cells take well under 1 s. The
# golden grades.csv (test_grades_golden.py) holds its "timed out after 8 s".
CELL_TIMEOUT = 8


@pytest.fixture(scope="session")
def postgresql_server():
    """A PostgreSQL server of the tests' own (``tests/postgres_server.py``): started once per session, on 127.0.0.1
    and a free port, as an unprivileged user; stopped and removed afterwards. Skipped, with the reason, where no
    server can be had (no binaries, no unprivileged user, no driver)."""
    import postgres_server

    try:
        server = postgres_server.start()
    except postgres_server.Unavailable as exc:
        pytest.skip(f"no PostgreSQL server: {exc}")
    try:
        yield server
    finally:
        server.stop()


# ----------------------------------------------------------------------------- the fixture class, graded once


def _drop(nb: dict, grade_id: str) -> dict:
    nb = json.loads(json.dumps(nb))
    nb["cells"] = [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") != grade_id]
    return nb


def _edit_test(nb: dict, grade_id: str, source: str) -> dict:
    nb = json.loads(json.dumps(nb))
    for c in nb["cells"]:
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            c["source"] = source
    return nb


def _relabel(nb: dict, changes: dict[str, dict | None]) -> dict:
    """A copy of ``nb`` whose cells' nbgrader metadata is updated (``None``: the metadata is removed)."""
    nb = json.loads(json.dumps(nb))
    for c in nb["cells"]:
        gid = c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in changes:
            if changes[gid] is None:
                del c["metadata"]["nbgrader"]
            else:
                c["metadata"]["nbgrader"].update(changes[gid])
    return nb


def _swap(nb: dict, a: str, b: str) -> dict:
    nb = json.loads(json.dumps(nb))
    ids = [c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb["cells"]]
    i, j = ids.index(a), ids.index(b)
    nb["cells"][i], nb["cells"][j] = nb["cells"][j], nb["cells"][i]
    return nb


def _tree_hash(root: pathlib.Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def course(tmp_path_factory):
    """The fixture assignment (tests/fixtures/grading/fixture_course.py) graded once for the session, for a class
    of 19 students each doing one thing (right, wrong, tampering, exhausting the grader, broken files), with the
    plain kernel (``unsafe=True``). Used by test_grade_fixture.py and test_grades_golden.py."""
    if str(FIXTURES) not in sys.path:
        sys.path.insert(0, str(FIXTURES))
    import fixture_course as fc

    from rnn_helpers.grader.pipeline import grade
    from rnn_helpers.grader.sandbox import Limits

    limits = Limits(cell_timeout=CELL_TIMEOUT, notebook_timeout=240)
    root = tmp_path_factory.mktemp("course")
    fc.write_source_tree(root)
    release = fc.release_notebook(root)
    subs = root / "submitted"

    def put(student, content, name="ps1/ps1.ipynb"):
        path = subs / student / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content if isinstance(content, str) else json.dumps(content))

    right = fc.with_solutions(release, fc.RIGHT)
    put("honest", right)
    put("stderr", fc.with_solutions(release, fc.STDERR))
    put("untouched", release)
    put("wrong", fc.with_solutions(release, fc.WRONG_VALUES))
    put("half", fc.with_solutions(release, dict(fc.RIGHT, affine=fc.WRONG_VALUES["affine"])))
    put("deleted", _drop(right, "test_shout"))
    put("edited", _edit_test(fc.with_solutions(release, dict(fc.RIGHT, shout="def shout(w):\n    return w\n")),
                             "test_shout", "pass\n"))
    # edited test cells (THREAT_MODEL.md): relabelled metadata, renamed grade_id, swapped cells, answer cell as test
    put("relabelled", _relabel(right, {"test_scale": {"grade": False},
                                       "test_affine": {"points": 100, "locked": False},
                                       "test_shout": None}))
    put("moved", _relabel(_swap(right, "test_scale", "test_shout"), {"test_affine": {"grade_id": "test_bonus"}}))
    put("answer_as_test", _relabel(right, {"scale": {"grade": True, "solution": False, "locked": True,
                                                     "points": 5}}))
    # exhausting the grader (THREAT_MODEL.md): a timeout costs only its cell; a dead kernel costs what had not run
    put("loops", fc.with_solutions(release, dict(fc.RIGHT, affine="def affine(x, W, b):\n    while True:\n"
                                                                 "        pass\n")))
    put("hangs", fc.with_solutions(release, dict(fc.RIGHT, shout="import builtins\nbuiltins.isinstance = "
                                                               "lambda *a: True\n" + fc.RIGHT["shout"])))
    put("exits", fc.with_solutions(release, dict(fc.RIGHT, affine="import os\nos._exit(1)\n")))
    put("raises", fc.with_solutions(release, dict(fc.RIGHT, scale="raise ValueError('half-finished')\n")))
    put("badjson", "{not json")
    put("binary", bytes(range(256)) * 10)
    put("wrongname", right, name="ps1/ps1 (1).ipynb")
    put("extra", right)
    put("extra", release, name="ps1/scratch.ipynb")
    (subs / "nothing" / "ps1").mkdir(parents=True)
    (subs / "nothing" / "ps1" / "notes.txt").write_text("forgot the notebook")
    before = _tree_hash(subs)
    out = root / "out"

    with pytest.MonkeyPatch.context() as mp, tempfile.TemporaryFile() as err:
        mp.setenv("PYTHONPATH", str(FIXTURES))  # the plain kernel imports fixture_course for the hidden tests
        saved = os.dup(2)
        os.dup2(err.fileno(), 2)  # the grader's file descriptor 2, which kernels it starts would inherit
        try:
            run = grade("ps1", subs, out, source_root=root, checks_provider=fc.checks_provider, unsafe=True,
                        limits=limits, echo=lambda line: None)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        err.seek(0)
        grader_stderr = err.read().decode(errors="replace")
    rows = {r["student_id"]: r for r in csv.DictReader(open(out / "grades.csv", encoding="utf-8"))}
    return {"root": root, "subs": subs, "out": out, "run": run, "rows": rows, "before": before,
            "after": _tree_hash(subs), "release": release, "stderr": grader_stderr, "limits": limits}
