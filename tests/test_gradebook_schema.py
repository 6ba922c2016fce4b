"""nbgrader's Gradebook runs ``alembic heads`` in a subprocess whenever it opens an empty database (about 5 s of
CPU: once per grading run, once per grading worker, once per released assignment). The grader makes the empty
gradebook itself (gradebook.create_database); these tests pin that nbgrader does run the subprocess, and that
the gradebook made without it is the one nbgrader makes."""
from __future__ import annotations

import sqlite3

import nbgrader.api
import pytest

from rnn_helpers.grader import gradebook


@pytest.fixture
def alembic_calls(monkeypatch):
    """Every command nbgrader.api runs through subprocess.check_output, recorded (and still run)."""
    calls = []
    real = nbgrader.api.sp.check_output

    def recording(cmd, *args, **kwargs):
        calls.append(list(cmd))
        return real(cmd, *args, **kwargs)

    gradebook.ensure_tools_on_path()
    monkeypatch.setattr(nbgrader.api.sp, "check_output", recording)
    return calls


def _schema(path) -> tuple[list[str], list[tuple]]:
    with sqlite3.connect(path) as db:
        tables = sorted(sql for (sql,) in db.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL"))
        version = db.execute("SELECT version_num FROM alembic_version").fetchall()
    return tables, version


def test_nbgrader_runs_alembic_in_a_subprocess_to_open_an_empty_gradebook(tmp_path, alembic_calls):
    nbgrader.api.Gradebook(f"sqlite:///{tmp_path / 'plain.db'}").close()
    assert [cmd[0] for cmd in alembic_calls] == ["alembic"] and alembic_calls[0][-1] == "heads"


def test_the_head_read_in_process_is_what_alembic_heads_prints():
    gradebook.ensure_tools_on_path()
    assert gradebook.alembic_head() == nbgrader.api.get_alembic_version()


def test_a_created_gradebook_is_nbgraders_own_and_nbgrader_asks_nothing(tmp_path, alembic_calls):
    nbgrader.api.Gradebook(f"sqlite:///{tmp_path / 'plain.db'}").close()
    alembic_calls.clear()
    gradebook.create_database(f"sqlite:///{tmp_path / 'ours.db'}")
    with nbgrader.api.Gradebook(f"sqlite:///{tmp_path / 'ours.db'}") as gb:
        gb.add_student("s1")
    assert alembic_calls == []
    assert _schema(tmp_path / "ours.db") == _schema(tmp_path / "plain.db")
    assert _schema(tmp_path / "ours.db")[1] == [(gradebook.alembic_head(),)]


def test_a_gradebook_that_has_tables_is_left_alone(tmp_path):
    url = f"sqlite:///{tmp_path / 'kept.db'}"
    gradebook.create_database(url)
    with nbgrader.api.Gradebook(url) as gb:
        gb.add_student("kept")
    gradebook.create_database(url)
    with nbgrader.api.Gradebook(url) as gb:
        assert [s.id for s in gb.students] == ["kept"]
    assert _schema(tmp_path / "kept.db")[1] == [(gradebook.alembic_head(),)]  # one row, not two


def test_the_graders_course_and_a_release_run_no_alembic(tmp_path, monkeypatch):
    from rnn_helpers.grader.release import release

    def refuse(cmd, *args, **kwargs):
        raise AssertionError(f"ran {cmd}")

    monkeypatch.setattr(nbgrader.api.sp, "check_output", refuse)
    course = gradebook.create_course(tmp_path / "course", gradebook.pathlib.Path(__file__).parents[1],
                                     "01_motivation", None)
    assert gradebook.grade_cells(course)["01_motivation"]
    # the release runs nbgrader in a subprocess: with no `alembic` on its PATH it succeeds only without it
    # (test_grade_plain_nbgrader.py::test_plain_nbgrader_needs_alembic_on_path)
    import rnn_helpers.grader.release as release_module

    monkeypatch.setattr(release_module, "nbgrader_env", lambda: {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    released = release(["01_motivation"], out_dir=tmp_path / "out", log=lambda line: None)
    assert [p.name for p in released] == ["01_motivation.ipynb"]
