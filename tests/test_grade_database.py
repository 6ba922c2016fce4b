"""``--db``: the gradebook the grader leaves, in SQLite (the default) and in a real PostgreSQL server, is one that
nbgrader's own tools read: ``nbgrader export`` and the formgrader's API (``nbgrader.apps.api.NbGraderAPI``, what
the formgrader's handlers call, and the ``Gradebook`` calls its grade handlers make).

The PostgreSQL server is the test suite's own (``postgres_server.py``, fixture ``postgresql_server`` in
``conftest.py``): started on 127.0.0.1 and a free port as an unprivileged user, one fresh database per gradebook;
these tests are skipped, with the reason, where it cannot be started (no server binaries: ``.ci/run`` installs
Debian's ``postgresql``).

The fixture assignment (``tests/fixtures/grading``, points test_scale 2, test_affine 3, test_shout 1) is graded with
the plain kernel, as in test_grade_fixture.py; the command itself, sandboxed where it can be, is run once on a real
assignment with ``--db postgresql://...``, and a sandboxed kernel is shown not to reach the server.
"""
from __future__ import annotations

import csv
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "grading"
sys.path.insert(0, str(FIXTURES))
import fixture_course as fc  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
BIN = pathlib.Path(sys.executable).parent
STUDENTS = ["badjson", "half", "honest", "nothing", "untouched", "wrong"]

pytestmark = pytest.mark.slow


def _limits():
    from rnn_helpers.grader.sandbox import Limits

    return Limits(cell_timeout=8, notebook_timeout=240)


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    """The fixture course and a small class: full marks, partial, wrong values, untouched, not JSON, no notebook."""
    root = tmp_path_factory.mktemp("course")
    fc.write_source_tree(root)
    release = fc.release_notebook(root)
    subs = root / "submitted"
    notebooks = {
        "honest": fc.with_solutions(release, fc.RIGHT),
        "half": fc.with_solutions(release, dict(fc.RIGHT, affine=fc.WRONG_VALUES["affine"])),
        "wrong": fc.with_solutions(release, fc.WRONG_VALUES),
        "untouched": release,
    }
    for student, nb in notebooks.items():
        (subs / student / "ps1").mkdir(parents=True)
        (subs / student / "ps1" / "ps1.ipynb").write_text(json.dumps(nb))
    (subs / "badjson" / "ps1").mkdir(parents=True)
    (subs / "badjson" / "ps1" / "ps1.ipynb").write_text("{not json")
    (subs / "nothing" / "ps1").mkdir(parents=True)
    (subs / "nothing" / "ps1" / "notes.txt").write_text("forgot the notebook")
    return root


def _grade(klass, out, db_url):
    from rnn_helpers.grader.pipeline import grade

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONPATH", str(FIXTURES))  # the plain kernel imports fixture_course for the hidden tests
        return grade("ps1", klass / "submitted", out, source_root=klass, checks_provider=fc.checks_provider,
                     db_url=db_url, unsafe=True, limits=_limits(), echo=lambda line: None)


def _rows(out):
    return {r["student_id"]: r for r in csv.DictReader(open(out / "grades.csv", encoding="utf-8"))}


@pytest.fixture(scope="module")
def graded_sqlite(klass, tmp_path_factory):
    """The class graded with the default gradebook (no ``--db``: a fresh SQLite one, copied to OUT/gradebook.db)."""
    out = tmp_path_factory.mktemp("out-sqlite")
    _grade(klass, out, None)
    return {"backend": "sqlite", "out": out, "url": f"sqlite:///{out / 'gradebook.db'}", "rows": _rows(out)}


@pytest.fixture(scope="module")
def graded_postgresql(klass, postgresql_server, tmp_path_factory):
    """The class graded with ``--db postgresql://...``, a fresh database of the test server."""
    out = tmp_path_factory.mktemp("out-postgresql")
    url = postgresql_server.create_database()
    _grade(klass, out, url)
    return {"backend": "postgresql", "out": out, "url": url, "rows": _rows(out)}


@pytest.fixture(params=["sqlite", "postgresql"])
def graded(request):
    return request.getfixturevalue(f"graded_{request.param}")


def test_every_student_is_graded_as_expected(graded):
    rows = graded["rows"]
    assert sorted(rows) == STUDENTS
    assert {s: float(r["score"]) for s, r in rows.items()} == {
        "badjson": 0, "half": 3, "honest": 6, "nothing": 0, "untouched": 0, "wrong": 1}
    # SQLite is the default: OUT/gradebook.db; a --db server gradebook stays where it is
    assert (graded["out"] / "gradebook.db").exists() == (graded["backend"] == "sqlite")


def test_the_gradebook_holds_the_scores_of_grades_csv(graded):
    """Per student and per graded cell, the score in the database is the one in grades.csv."""
    from nbgrader.api import Gradebook

    with Gradebook(graded["url"]) as gb:
        assert sorted(s.id for s in gb.students) == STUDENTS
        for student, row in graded["rows"].items():
            sub = gb.find_submission("ps1", student)
            assert sub.score == pytest.approx(float(row["score"])), student
            assert sub.max_score == pytest.approx(float(row["max_score"])) == fc.MAX_SCORE
            assert not sub.needs_manual_grade, student
            for cell in fc.POINTS:
                grade = gb.find_grade(cell, "ps1", "ps1", student)
                assert grade.score == pytest.approx(float(row[cell])), (student, cell)


def test_postgresql_holds_the_scores_in_its_own_tables(graded_postgresql, postgresql_server):
    """Read back with SQL on the server, not through nbgrader: the rows are really in PostgreSQL."""
    got = dict(postgresql_server.query(graded_postgresql["url"], """
        SELECT s.student_id, SUM(COALESCE(g.manual_score, g.auto_score, 0))
        FROM grade g JOIN submitted_notebook n ON g.notebook_id = n.id
        JOIN submitted_assignment s ON n.assignment_id = s.id GROUP BY s.student_id"""))
    assert {k: float(v) for k, v in got.items()} == {s: float(r["score"]) for s, r in graded_postgresql["rows"].items()}


def test_grades_csv_does_not_depend_on_the_database(graded_sqlite, graded_postgresql):
    """The PostgreSQL run writes byte for byte the grades.csv of the default SQLite run."""
    assert (graded_postgresql["out"] / "grades.csv").read_bytes() == (graded_sqlite["out"] / "grades.csv").read_bytes()


def _nbgrader_env():
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = f"{BIN}{os.pathsep}/usr/local/bin:/usr/bin:/bin"
    return env


def test_nbgrader_export_reads_the_gradebook(graded, tmp_path):
    """``nbgrader export --db URL`` (nbgrader's CLI, default course directory config) lists every student with the
    score of grades.csv."""
    dest = tmp_path / "export.csv"
    proc = subprocess.run([str(BIN / "nbgrader"), "export", f"--db={graded['url']}", f"--to={dest}"],
                          capture_output=True, text=True, cwd=tmp_path, env=_nbgrader_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    exported = {r["student_id"]: r for r in csv.DictReader(open(dest, encoding="utf-8"))}
    assert sorted(exported) == STUDENTS
    for student, row in graded["rows"].items():
        assert exported[student]["assignment"] == "ps1"
        assert float(exported[student]["score"]) == pytest.approx(float(row["score"])), student
        assert float(exported[student]["raw_score"]) == pytest.approx(float(row["score"])), student
        assert float(exported[student]["max_score"]) == fc.MAX_SCORE


def test_the_formgrader_api_reads_the_gradebook(klass, graded, tmp_path):
    """What the formgrader's handlers call: ``NbGraderAPI`` over an instructor's course directory (``source/ps1``)
    whose ``db_url`` is the gradebook, and the grade handler's ``find_submission_notebook_by_id(...).grades``.

    The formgrader lists an assignment only where the course directory has its ``source/`` folder, and a
    student's notebooks only where it holds their autograded notebook; the grader keeps none (its course is
    private and removed), so empty placeholders stand in for them here. Every score shown comes from the
    gradebook."""
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    (tmp_path / "source" / "ps1").mkdir(parents=True)
    shutil.copyfile(klass / "solutions" / "ps1" / "ps1.ipynb", tmp_path / "source" / "ps1" / "ps1.ipynb")
    for student in STUDENTS:
        (tmp_path / "autograded" / student / "ps1").mkdir(parents=True)
        (tmp_path / "autograded" / student / "ps1" / "ps1.ipynb").write_text("{}")
    coursedir = CourseDirectory()
    coursedir.root = str(tmp_path)
    coursedir.db_url = graded["url"]
    api = NbGraderAPI(coursedir=coursedir)
    scores = {s: float(r["score"]) for s, r in graded["rows"].items()}
    mean = sum(scores.values()) / len(scores)

    [assignment] = api.get_assignments()
    assert assignment["name"] == "ps1" and assignment["max_score"] == fc.MAX_SCORE
    assert assignment["average_score"] == pytest.approx(mean)
    [notebook] = api.get_notebooks("ps1")
    assert notebook["name"] == "ps1" and notebook["average_score"] == pytest.approx(mean)
    assert notebook["num_submissions"] == len(STUDENTS)
    submissions = {s["student"]: s for s in api.get_submissions("ps1")}
    assert {k: s["score"] for k, s in submissions.items()} == pytest.approx(scores)
    assert all(s["autograded"] and not s["needs_manual_grade"] for s in submissions.values())
    assert {s["id"]: s["score"] for s in api.get_students()} == pytest.approx(scores)
    for student in STUDENTS:
        [sub] = api.get_student_submissions(student)
        assert sub["autograded"] and sub["score"] == pytest.approx(scores[student]), student
        [nb] = api.get_student_notebook_submissions(student, "ps1")
        assert nb["score"] == pytest.approx(scores[student]) and nb["max_score"] == fc.MAX_SCORE
    notebooks = api.get_notebook_submissions("ps1", "ps1")
    assert {n["student"]: n["score"] for n in notebooks} == pytest.approx(scores)

    gb = api.gradebook
    try:
        for n in notebooks:  # GradeCollectionHandler: the grades of one submitted notebook, as JSON
            grades = json.loads(json.dumps([g.to_dict() for g in gb.find_submission_notebook_by_id(n["id"]).grades]))
            assert {g["name"]: g["auto_score"] for g in grades} == pytest.approx(
                {c: float(graded["rows"][n["student"]][c]) for c in fc.POINTS})
    finally:
        gb.close()


def test_grading_again_into_the_same_postgresql_gradebook(klass, postgresql_server, tmp_path):
    """A second run into the same ``--db`` gradebook gives the same grades.csv and leaves one submission per
    student, with the new scores."""
    from nbgrader.api import Gradebook

    url = postgresql_server.create_database()
    _grade(klass, tmp_path / "first", url)
    _grade(klass, tmp_path / "second", url)
    assert (tmp_path / "first" / "grades.csv").read_bytes() == (tmp_path / "second" / "grades.csv").read_bytes()
    rows = _rows(tmp_path / "second")
    with Gradebook(url) as gb:
        subs = gb.assignment_submissions("ps1")
        assert sorted(s.student_id for s in subs) == STUDENTS
        assert {s.student_id: s.score for s in subs} == pytest.approx({k: float(r["score"]) for k, r in rows.items()})


def test_an_unusable_db_url_is_a_wrong_invocation_without_the_password(klass, postgresql_server, tmp_path):
    from sqlalchemy.engine import make_url

    from rnn_helpers.grader.submissions import InvocationError

    good = make_url(postgresql_server.create_database())
    closed_port = postgresql_server.port + 1 if postgresql_server.port < 65535 else 1
    for url in (good.set(password="not-the-password"), good.set(database="no_such_database"),
                good.set(password="s3cret-pw", port=closed_port, database="x"), "not a url"):
        if not isinstance(url, str):
            url = url.render_as_string(hide_password=False)
        with pytest.raises(InvocationError) as info:
            _grade(klass, tmp_path / "out", url)
        message = str(info.value)
        assert "cannot open the gradebook database" in message or "not a database URL" in message, message
        assert postgresql_server.password not in message and "not-the-password" not in message
        assert "s3cret-pw" not in message and "\n" not in message
        assert not (tmp_path / "out").exists()


def test_a_driver_message_that_holds_the_password_is_redacted(monkeypatch):
    """No driver tested above echoes the password, so the redaction of check_database is reached here: a driver
    (a connection error) whose message quotes it."""
    import sqlalchemy

    from rnn_helpers.grader.gradebook import check_database
    from rnn_helpers.grader.submissions import InvocationError

    def echoing(url, **kw):
        raise RuntimeError(f"authentication failed for user rnn_test with password {url.password!r}\nDETAIL: x")

    monkeypatch.setattr(sqlalchemy, "create_engine", echoing)
    with pytest.raises(InvocationError) as info:
        check_database("postgresql://rnn_test:hunter2-topsecret@127.0.0.1:5/gradebook")
    message = str(info.value)
    assert "hunter2-topsecret" not in message and "\n" not in message
    assert message == ("cannot open the gradebook database postgresql://rnn_test:***@127.0.0.1:5/gradebook: "
                       "authentication failed for user rnn_test with password '***'")


def test_no_server_binaries_is_a_skip_reason_not_a_failure(monkeypatch):
    import postgres_server

    monkeypatch.setattr(postgres_server, "find_bindir", lambda: None)
    with pytest.raises(postgres_server.Unavailable, match="binaries .* not found; install Debian's postgresql"):
        postgres_server.start()


# ---------------------------------------------------------------------------------------------- the command


def test_the_command_grades_into_postgresql(postgresql_server, tmp_path):
    """``rnn-course grade ASSIGNMENT SUBMISSIONS --out OUT --db postgresql://...`` by its full path, not activated,
    on a real assignment (in the sandbox where it works, else ``--unsafe``): the database holds grades.csv's scores
    and ``nbgrader export`` reads them."""
    from nbgrader.api import Gradebook

    from rnn_helpers.grader.pipeline import sandbox_status

    assignment = "01_motivation"
    if not (REPO / "solutions" / assignment / f"{assignment}.ipynb").exists():
        pytest.skip(f"no solutions/{assignment} yet")
    subs = tmp_path / "submitted"
    for student, source in (("solution", REPO / "solutions"), ("untouched", REPO / "exercises")):
        (subs / student / assignment).mkdir(parents=True)
        shutil.copyfile(source / assignment / f"{assignment}.ipynb", subs / student / assignment / f"{assignment}.ipynb")
    url = postgresql_server.create_database()
    sandboxed, _ = sandbox_status()
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
    proc = subprocess.run([str(BIN / "rnn-course"), "grade", assignment, str(subs), "--out", str(tmp_path / "out"),
                           "--db", url] + ([] if sandboxed else ["--unsafe"]),
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert postgresql_server.password not in proc.stdout + proc.stderr
    assert not (tmp_path / "out" / "gradebook.db").exists()
    rows = _rows(tmp_path / "out")
    assert float(rows["solution"]["score"]) == float(rows["solution"]["max_score"]) > 0
    assert float(rows["untouched"]["score"]) == 0
    with Gradebook(url) as gb:
        assert {s.student_id: s.score for s in gb.assignment_submissions(assignment)} == pytest.approx(
            {k: float(r["score"]) for k, r in rows.items()})
    dest = tmp_path / "export.csv"
    done = subprocess.run([str(BIN / "nbgrader"), "export", f"--db={url}", f"--to={dest}"], capture_output=True,
                          text=True, cwd=tmp_path, env=_nbgrader_env(), timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    exported = {r["student_id"]: float(r["score"]) for r in csv.DictReader(open(dest, encoding="utf-8"))}
    assert exported == pytest.approx({k: float(r["score"]) for k, r in rows.items()})


@pytest.mark.root
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root for the grading sandbox (unprivileged user, namespaces)")
def test_a_sandboxed_kernel_cannot_reach_the_database(postgresql_server, tmp_path):
    """Even knowing the URL and its password, the student's kernel reaches no database: no network (its own
    namespace, loopback down, so not the host's 127.0.0.1 either), no PostgreSQL socket directory in its view of
    the file system, no database setting in its environment, and no grader process (with ``--db`` on its command
    line) in its /proc."""
    import nbformat
    from nbclient import NotebookClient

    from rnn_helpers.grader.sandbox import Limits
    from rnn_helpers.grader.sandbox_kernel import executor_config

    url = postgresql_server.create_database()
    port = postgresql_server.port
    cells = [
        f"import psycopg\ntry:\n    psycopg.connect({url!r}, connect_timeout=3); print('connected')\n"
        "except Exception as e:\n    print('refused', type(e).__name__)",
        f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=3); print('connected')\n"
        "except OSError as e:\n    print('no network', e.errno)",
        "import os; print([os.path.exists(p) for p in ('/run/postgresql', '/var/run/postgresql', '/var/lib/postgresql',"
        f" {str(postgresql_server.base)!r})])",
        "print(sorted(k for k in os.environ if k.startswith(('PG', 'DATABASE', 'SQLALCHEMY'))),\n"
        f"      any('postgresql' in v or {str(port)!r} in v for v in os.environ.values()))",
        "print(any('--db' in open(f'/proc/{p}/cmdline').read() or 'postgres' in open(f'/proc/{p}/cmdline').read()\n"
        "          for p in os.listdir('/proc') if p.isdigit()))",
    ]
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(s) for s in cells]
    nbdir = tmp_path / "autograded" / "alice" / "ps1"
    nbdir.mkdir(parents=True)
    client = NotebookClient(nb, config=executor_config(Limits(), tmp_path / "grader"),
                            resources={"metadata": {"path": str(nbdir)}}, allow_errors=True)
    client.execute()
    out = ["".join(o.get("text", "") for o in c.outputs if o.output_type == "stream") +
           "".join(f"{o.ename}: {o.evalue}" for o in c.outputs if o.output_type == "error") for c in nb.cells]
    assert out[0].startswith("refused OperationalError"), out[0]
    assert out[1].startswith("no network"), out[1]
    assert out[2].strip() == "[False, False, False, False]", out[2]
    assert out[3].strip() == "[] False", out[3]
    assert out[4].strip() == "False", out[4]
    # and the server itself is still there for the grader
    assert postgresql_server.query(url, "SELECT 1") == [(1,)]
