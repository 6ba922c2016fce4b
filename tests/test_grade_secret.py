"""The per-term grading secret (issue 12, section 4): every hidden case is derived from it.

- units: where the secret comes from (``--secret-file`` beats ``$RNN_COURSE_GRADING_SECRET``), what is refused,
  the per-assignment case key (HMAC of the secret) and how the kernel side reads it, the kernel's environment
  (the case key, never the secret);
- the fixture assignment with seeded cases (``tests/fixtures/grading/seeded_course.py``), graded with the plain
  kernel: a notebook that returns the stored reference outputs of the *published* cases (it looks its input's
  hash up in a table) earns full marks without a secret and nothing with one, while the honest notebook earns
  full marks with one; the same secret gives the same grades.csv twice;
- one real assignment graded by ``rnn-course grade --secret-file`` (sandboxed where the sandbox works): the
  solutions earn full marks under a secret, so the kernel's cases and the grader's references agree.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "grading"
sys.path.insert(0, str(FIXTURES))
import fixture_course as fc  # noqa: E402
import seeded_course as sc  # noqa: E402

from rnn_helpers.checks import seeds  # noqa: E402
from rnn_helpers.grader.grading_secret import SECRET_ENV, read_secret  # noqa: E402
from rnn_helpers.grader.submissions import InvocationError  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
RNN_COURSE = pathlib.Path(sys.executable).parent / "rnn-course"
SECRET_A = b"autumn-term-2025-0123456789abcdef"
SECRET_B = b"spring-term-2026-fedcba9876543210"


# ----------------------------------------------------------------------------- units


def _secret_file(path: pathlib.Path, content: bytes, mode: int = 0o600) -> pathlib.Path:
    path.write_bytes(content)
    path.chmod(mode)
    return path


def test_the_secret_file_wins_over_the_environment(tmp_path):
    f = _secret_file(tmp_path / "secret", SECRET_A + b"\n")  # an editor's trailing newline is not part of it
    env = {SECRET_ENV: SECRET_B.decode()}
    assert read_secret(f, env).value == SECRET_A and "--secret-file" in read_secret(f, env).source
    assert read_secret(None, env).value == SECRET_B and SECRET_ENV in read_secret(None, env).source
    assert read_secret(None, {}).value is None and read_secret(None, {SECRET_ENV: ""}).value is None


def test_first_line_says_whether_the_published_seeds_are_used(tmp_path):
    assert read_secret(None, {}).first_line(unsafe=False).startswith("NO GRADING SECRET: ")
    assert "published seeds" in read_secret(None, {}).first_line(unsafe=False)
    assert "NO GRADING SECRET" not in read_secret(None, {SECRET_ENV: SECRET_B.decode()}).first_line(unsafe=False)


def test_first_line_calls_a_secret_used_with_unsafe_disclosed():
    secret = read_secret(None, {SECRET_ENV: SECRET_B.decode()})
    assert "disclosed" not in secret.first_line(unsafe=False)
    assert secret.first_line(unsafe=True).startswith(f"grading secret from ${SECRET_ENV}")
    assert "--unsafe" in secret.first_line(unsafe=True) and "disclosed" in secret.first_line(unsafe=True)
    assert "disclosed" not in read_secret(None, {}).first_line(unsafe=True)  # no secret, nothing to disclose


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o602])
def test_a_secret_file_others_may_read_or_write_is_refused(tmp_path, mode):
    f = _secret_file(tmp_path / "secret", SECRET_A, mode)
    with pytest.raises(InvocationError, match="chmod 600"):
        read_secret(f, {})
    f.chmod(0o400)
    assert read_secret(f, {}).value == SECRET_A


@pytest.mark.parametrize("content", [b"", b"short", b"  \n"])
def test_a_short_secret_is_refused(tmp_path, content):
    f = _secret_file(tmp_path / "secret", content)
    with pytest.raises(InvocationError, match="at least 16"):
        read_secret(f, {})


def test_a_missing_secret_file_is_a_wrong_invocation(tmp_path):
    with pytest.raises(InvocationError, match="cannot read --secret-file"):
        read_secret(tmp_path / "nope", {})


def test_the_case_key_depends_on_secret_and_assignment():
    a = seeds.assignment_key(SECRET_A, "02_simple_rnn")
    assert len(a) == 32 and a == seeds.assignment_key(SECRET_A, "02_simple_rnn")
    assert a != seeds.assignment_key(SECRET_B, "02_simple_rnn") and a != seeds.assignment_key(SECRET_A, "03_bptt")
    assert SECRET_A not in a


def _seeds(assignment="ps1", n=4):
    return [seeds.case_seed(assignment, "scale", i) for i in range(n)]


def test_a_different_secret_gives_different_case_seeds_and_cases():
    published = _seeds()
    with seeds.using_case_key("ps1", seeds.assignment_key(SECRET_A, "ps1")):
        term_a, cases_a = _seeds(), sc._scale_cases()
    with seeds.using_case_key("ps1", seeds.assignment_key(SECRET_A, "ps1")):
        assert _seeds() == term_a  # the same secret, the same seeds
    with seeds.using_case_key("ps1", seeds.assignment_key(SECRET_B, "ps1")):
        term_b, cases_b = _seeds(), sc._scale_cases()
    assert _seeds() == published  # outside the block: published again
    assert not set(term_a) & set(published) and not set(term_a) & set(term_b)
    assert not np.allclose(cases_a[0]["x"], cases_b[0]["x"])
    assert not np.allclose(cases_a[0]["x"], sc._scale_cases()[0]["x"])


def test_the_kernel_reads_its_case_key_from_the_environment(monkeypatch):
    key = seeds.assignment_key(SECRET_A, "ps1")
    with seeds.using_case_key("ps1", key):
        grader_side = _seeds()
    monkeypatch.setenv(seeds.CASE_KEY_ENV, f"ps1:{key.hex()}")
    assert _seeds() == grader_side
    assert _seeds("other") == [seeds.case_seed("other", "scale", i, secret=b"") for i in range(4)]
    monkeypatch.setenv(seeds.CASE_KEY_ENV, "ps1:not-hex")  # malformed: an error, never the published seeds
    with pytest.raises(ValueError, match=seeds.CASE_KEY_ENV):
        seeds.case_seed("ps1", "scale", 0)


def test_the_kernel_gets_the_case_key_never_the_secret(monkeypatch):
    from rnn_helpers.grader.execute import kernel_launch_env
    from rnn_helpers.grader.sandbox import GRADER_PID_ENV

    env = kernel_launch_env({SECRET_ENV: SECRET_A.decode(), "PATH": "/bin", seeds.CASE_KEY_ENV: "stale"}, "ps1:ab")
    assert SECRET_ENV not in env and env[seeds.CASE_KEY_ENV] == "ps1:ab" and env["PATH"] == "/bin"
    assert env[GRADER_PID_ENV] == str(os.getpid())
    assert seeds.CASE_KEY_ENV not in kernel_launch_env({seeds.CASE_KEY_ENV: "stale"}, "")
    # the sandbox launcher passes on the case key alone to its clean kernel environment
    from rnn_helpers.grader import sandbox

    monkeypatch.setenv(seeds.CASE_KEY_ENV, "ps1:ab")
    monkeypatch.setenv(SECRET_ENV, SECRET_A.decode())
    spec = {"pythonpath": ["/x"]}
    kenv = sandbox._kernel_env(spec, pathlib.Path("/w"))
    assert kenv[sandbox.CASE_KEY_ENV] == "ps1:ab" and SECRET_ENV not in kenv
    assert sandbox.CASE_KEY_ENV == seeds.CASE_KEY_ENV


# ----------------------------------------------------------------------------- the fixture, graded


def _lookup_body(name: str, table: dict, fallback: str, args: str, key_expr: str) -> str:
    return (f"import hashlib\nimport numpy as np\n_TABLE_{name} = {json.dumps(table)}\n"
            f"def {name}({args}):\n"
            f"    h = hashlib.sha256({key_expr}).hexdigest()\n"
            f"    if h in _TABLE_{name}:\n"
            f"        return np.array(_TABLE_{name}[h])\n"
            f"    return {fallback}\n")


SCALE_KEY = "np.asarray(x, dtype=float).tobytes() + repr(float(k)).encode()"
AFFINE_KEY = "b''.join(np.asarray(a, dtype=float).tobytes() for a in (x, W, b))"


def hard_coded_bodies() -> dict[str, str]:
    """Solutions that know only the reference outputs of the published cases, looked up by their input's hash."""
    with seeds.using_case_key("ps1", None):
        scale_cases, affine_cases = sc._scale_cases(), sc._affine_cases()
    scale = {hashlib.sha256(np.asarray(c["x"], dtype=float).tobytes() + repr(float(c["k"])).encode()).hexdigest():
             fc.reference_scale(**c).tolist() for c in scale_cases}
    affine = {hashlib.sha256(b"".join(np.asarray(c[a], dtype=float).tobytes() for a in "xWb")).hexdigest():
              fc.reference_affine(**c).tolist() for c in affine_cases}
    return {"scale": _lookup_body("scale", scale, "np.zeros_like(x)", "x, k", SCALE_KEY),
            "affine": _lookup_body("affine", affine, "np.zeros((x.shape[0], W.shape[0]))", "x, W, b", AFFINE_KEY),
            "shout": fc.RIGHT["shout"]}


def _grade(root, subs, out, secret):
    from rnn_helpers.grader.grading_secret import GradingSecret
    from rnn_helpers.grader.pipeline import grade

    lines = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONPATH", str(FIXTURES))  # the plain kernel imports seeded_course for the hidden tests
        grade("ps1", subs, out, source_root=root, checks_provider=sc.checks_provider, unsafe=True,
              limits=_limits(), echo=lines.append,
              secret=None if secret is None else GradingSecret(secret, "test"))
    rows = {r["student_id"]: r for r in csv.DictReader(open(out / "grades.csv", encoding="utf-8"))}
    return rows, lines


def _limits():
    from rnn_helpers.grader.sandbox import Limits

    return Limits(cell_timeout=20, notebook_timeout=240)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("seeded")
    fc.write_source_tree(root, module="seeded_course")
    release = fc.release_notebook(root)
    subs = root / "submitted"
    for student, bodies in (("honest", fc.RIGHT), ("hardcoded", hard_coded_bodies())):
        (subs / student / "ps1").mkdir(parents=True)
        (subs / student / "ps1" / "ps1.ipynb").write_text(json.dumps(fc.with_solutions(release, bodies)))
    runs = {name: _grade(root, subs, root / f"out_{name}", secret)
            for name, secret in (("published", None), ("a", SECRET_A), ("a_again", SECRET_A))}
    return {"root": root, "runs": runs}


slow = pytest.mark.slow


@slow
def test_without_a_secret_the_hard_coded_outputs_earn_full_marks(graded):
    rows, lines = graded["runs"]["published"]
    assert lines[0].startswith("NO GRADING SECRET: "), lines[:2]
    assert float(rows["hardcoded"]["score"]) == fc.MAX_SCORE, rows["hardcoded"]["reason"]  # the threat is real
    assert float(rows["honest"]["score"]) == fc.MAX_SCORE


@slow
def test_with_a_secret_the_hard_coded_outputs_earn_nothing_on_those_cells(graded):
    rows, lines = graded["runs"]["a"]
    assert lines[0].startswith("grading secret from test"), lines[:2]
    row = rows["hardcoded"]
    assert (float(row["test_scale"]), float(row["test_affine"])) == (0, 0), row
    assert float(row["test_shout"]) == fc.POINTS["test_shout"]  # no hidden test there: not the secret's business
    assert "differs from the reference" in row["reason"]


@slow
def test_with_a_secret_the_honest_solution_earns_full_marks(graded):
    rows, _ = graded["runs"]["a"]
    assert float(rows["honest"]["score"]) == fc.MAX_SCORE, rows["honest"]["reason"]


@slow
def test_the_same_secret_gives_the_same_grades_csv(graded):
    root = graded["root"]
    assert (root / "out_a" / "grades.csv").read_bytes() == (root / "out_a_again" / "grades.csv").read_bytes()


# ----------------------------------------------------------------------------- a real assignment


@slow
def test_a_real_assignment_graded_under_a_secret_keeps_full_marks_for_the_solutions(tmp_path):
    from rnn_helpers.grader.pipeline import sandbox_status

    assignment = "02_simple_rnn"
    source = REPO / "solutions" / assignment / f"{assignment}.ipynb"
    if not source.exists():
        pytest.skip(f"{source} is not there")
    ok, reason = sandbox_status()
    subs = tmp_path / "submitted"
    for student in ("solution", "solution_too"):  # --jobs 2: one graded here, one by the worker, which takes
        (subs / student / assignment).mkdir(parents=True)  # the references the coordinator computed under the key
        shutil.copyfile(source, subs / student / assignment / f"{assignment}.ipynb")
    secret = _secret_file(tmp_path / "term.secret", SECRET_A)
    cmd = [str(RNN_COURSE), "grade", assignment, str(subs), "--out", str(tmp_path / "out"),
           "--secret-file", str(secret), "--jobs", "2"] + ([] if ok else ["--unsafe"])
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", SECRET_ENV)}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr.splitlines()[0].startswith("grading secret from --secret-file"), proc.stderr[:300]
    rows = list(csv.DictReader(open(tmp_path / "out" / "grades.csv", encoding="utf-8")))
    assert len(rows) == 2
    for row in rows:
        assert float(row["score"]) == float(row["max_score"]) > 0, (row["reason"], "sandboxed" if ok else reason)
