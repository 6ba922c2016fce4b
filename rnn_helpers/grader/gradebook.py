"""The grader's private nbgrader course: a work directory, its gradebook, and the assignment in it.

``nbgrader`` wants a course directory (``source/``, ``release/``, ``submitted/``, ``autograded/``) and a
gradebook. The grader builds one per run in a private work directory, so the instructor's repository,
``solutions/`` and the submissions are only ever read:

- only the assignment's *notebooks* are copied from ``solutions/<assignment>/`` (plain nbgrader copies every
  other file of that folder into the release and into each student's autograded folder, i.e. next to the
  student's running code);
- ``nbgrader generate_assignment`` runs in that private course and writes the source cells (the trusted copy
  of every test cell) into the gradebook.

nbgrader's ``Gradebook``, opening an empty database, asks for the schema's migration by running ``alembic heads`` *by
name* in a subprocess (``nbgrader.api.get_alembic_version``): about 5 s of CPU, paid by every grading run and by
every grading worker, and a failure when the command is not on ``PATH`` (an environment called by its full path,
not activated). :func:`create_database` makes the empty gradebook itself, exactly as nbgrader would (its tables
and that migration, read from nbgrader's own migration scripts in this process: :func:`alembic_head`), so
that nbgrader finds a gradebook and never asks; tests/test_gradebook_schema.py pins both halves.
:func:`ensure_tools_on_path` stays, for any nbgrader path that still runs ``alembic``.
"""
from __future__ import annotations

import os
import pathlib
import shutil
import sys
from dataclasses import dataclass
from functools import lru_cache

NBGRADER_CELL_IGNORE = ["*"]  # nbgrader copies files matching none of these: we let it copy none


def ensure_tools_on_path() -> None:
    """Make the console scripts installed beside this interpreter (``alembic``) findable by name."""
    bindir = str(pathlib.Path(sys.executable).parent)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if bindir not in parts:
        os.environ["PATH"] = os.pathsep.join([bindir] + [p for p in parts if p])


@dataclass
class Course:
    """A private nbgrader course directory for one grading run."""

    root: pathlib.Path
    assignment: str
    db_url: str

    @property
    def submitted(self) -> pathlib.Path:
        return self.root / "submitted"

    @property
    def autograded(self) -> pathlib.Path:
        return self.root / "autograded"

    def coursedir(self):
        from nbgrader.coursedir import CourseDirectory

        cd = CourseDirectory()
        cd.root = str(self.root)
        cd.source_directory = "source"
        cd.release_directory = "release"
        cd.submitted_directory = "submitted"
        cd.autograded_directory = "autograded"
        cd.feedback_directory = "feedback"
        cd.db_url = self.db_url
        cd.assignment_id = self.assignment
        cd.ignore = list(NBGRADER_CELL_IGNORE)
        return cd


def source_notebooks(source_root: pathlib.Path, assignment: str) -> list[pathlib.Path]:
    """The notebooks of ``solutions/<assignment>/`` (top level, sorted)."""
    folder = source_root / "solutions" / assignment
    return sorted(p for p in folder.glob("*.ipynb") if p.is_file())


def check_database(db_url: str) -> None:
    """Connect once to a ``--db`` server database (nothing is created or changed in it): an unusable URL, a server
    that cannot be reached or a missing driver is a wrong invocation, said in one line without the password.
    SQLite URLs are not probed (connecting would create the file); they fail, as before, when opened."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from .submissions import InvocationError

    try:
        url = make_url(db_url)
    except Exception:
        raise InvocationError("--db is not a database URL (e.g. postgresql://USER:PASSWORD@HOST:PORT/DATABASE)") \
            from None
    if url.get_backend_name() == "sqlite":
        return
    shown = url.render_as_string(hide_password=True)
    try:
        engine = create_engine(url)
        try:
            with engine.connect():
                pass
        finally:
            engine.dispose()
    except Exception as exc:  # a missing driver, a refused connection, a wrong password, no such database
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        reason = reason[0] if reason else type(exc).__name__
        if url.password:
            reason = reason.replace(str(url.password), "***")
        raise InvocationError(f"cannot open the gradebook database {shown}: {reason[:300]}") from None


def create_course(work: pathlib.Path, source_root: pathlib.Path, assignment: str, db_url: str | None) -> Course:
    """Copy the assignment's source notebooks into ``work/source`` and generate it into the gradebook."""
    ensure_tools_on_path()
    work.mkdir(parents=True, exist_ok=True)
    if db_url is None:
        db_url = f"sqlite:///{work / 'gradebook.db'}"
    create_database(db_url)
    course = Course(root=work, assignment=assignment, db_url=db_url)
    src = work / "source" / assignment
    src.mkdir(parents=True, exist_ok=True)
    for nb in source_notebooks(source_root, assignment):
        shutil.copyfile(nb, src / nb.name)  # notebooks only: nothing else of solutions/ reaches a student
    _ensure_course_row(course)
    _generate(course)
    return course


@lru_cache(maxsize=1)
def alembic_head() -> str:
    """The migration the installed nbgrader's gradebook schema is at: the head of its alembic scripts, which is
    what ``alembic heads`` prints (nbgrader.api.get_alembic_version), read without a subprocess."""
    import nbgrader.api
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory(str(pathlib.Path(nbgrader.api.__file__).parent / "alembic")).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"nbgrader's migration scripts have {len(heads)} heads ({heads}), not one")
    return heads[0]


def create_database(db_url: str) -> None:
    """Give an empty gradebook database nbgrader's tables and its ``alembic_version`` row, as nbgrader's
    ``Gradebook`` does when it opens one (``Base.metadata.create_all``, then the migration it asks ``alembic``
    for); a database that has any table already is left alone, as nbgrader leaves it."""
    from nbgrader.api import Base
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(db_url, future=True)
    try:
        with engine.begin() as conn:
            if inspect(conn).get_table_names():
                return
            Base.metadata.create_all(bind=conn)
            conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
            conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:head)"), {"head": alembic_head()})
    finally:
        engine.dispose()


def _ensure_course_row(course: Course) -> None:
    """Give the gradebook the ``course`` row that nbgrader's own tools' assignments point to.

    nbgrader's converters, ``nbgrader export`` and the formgrader open the gradebook with the course directory's
    ``course_id``, ``""`` by default, for which ``Gradebook.check_course`` creates no row; the assignment they
    write then names a course that does not exist. SQLite does not enforce foreign keys, so this goes unnoticed
    there; PostgreSQL refuses the assignment (``assignment_course_id_fkey``). For such databases the row is
    created first. SQLite gradebooks are left exactly as nbgrader makes them.
    """
    from sqlalchemy.engine import make_url

    if make_url(course.db_url).get_backend_name() == "sqlite":
        return
    from nbgrader.api import Course as CourseRow, Gradebook

    course_id = course.coursedir().course_id
    with Gradebook(course.db_url) as gb:
        if gb.db.get(CourseRow, course_id) is None:
            gb.db.add(CourseRow(id=course_id))
            gb.db.commit()


def _generate(course: Course) -> None:
    from nbgrader.converters import GenerateAssignment
    from traitlets.config import Config

    cfg = Config()
    cfg.GenerateAssignment.force = True
    cfg.GenerateAssignment.create_assignment = True
    converter = GenerateAssignment(coursedir=course.coursedir(), config=cfg)
    if not os.environ.get("RNN_GRADE_DEBUG"):  # the converter's log is the shared "traitlets" logger
        converter.log.setLevel("ERROR")
    converter.start()


def add_students(course: Course, students: list[str]) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        for sid in students:
            gb.update_or_create_student(sid)


def grade_cells(course: Course) -> dict[str, list[dict]]:
    """Per notebook, its graded cells in notebook order: ``{notebook: [{name, max_score, kind}]}``."""
    from nbgrader.api import Gradebook

    out: dict[str, list[dict]] = {}
    with Gradebook(course.db_url) as gb:
        assignment = gb.find_assignment(course.assignment)
        for nb in sorted(assignment.notebooks, key=lambda n: n.name):
            order = [c.name for c in nb.source_cells]
            solution_names = {c.name for c in nb.solution_cells}
            cells = []
            for gc in nb.grade_cells:
                kind = "manual" if (gc.name in solution_names or gc.cell_type != "code") else "test"
                cells.append({"name": gc.name, "max_score": float(gc.max_score), "kind": kind,
                              "index": order.index(gc.name) if gc.name in order else len(order)})
            out[nb.name] = [{k: v for k, v in c.items() if k != "index"}
                            for c in sorted(cells, key=lambda c: c["index"])]
    return out


def trusted_sources(course: Course, notebook: str) -> dict[str, str]:
    """The gradebook's (trusted) source of every named cell of ``notebook``."""
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        nb = gb.find_notebook(notebook, course.assignment)
        return {c.name: c.source for c in nb.source_cells}


def source_layout(course: Course, notebook: str) -> list[dict]:
    """The gradebook's cells of ``notebook`` in source order, each as ``{name, cell_type, source, checksum,
    locked, grade, solution, task, points}`` (what :class:`restore_cells.RestoreTestCells` restores)."""
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        nb = gb.find_notebook(notebook, course.assignment)
        grades = {c.name: float(c.max_score) for c in nb.grade_cells}
        tasks = {c.name: float(c.max_score) for c in nb.task_cells}
        solutions = {c.name for c in nb.solution_cells}
        return [{"name": c.name, "cell_type": c.cell_type, "source": c.source, "checksum": c.checksum,
                 "locked": bool(c.locked), "grade": c.name in grades, "solution": c.name in solutions,
                 "task": c.name in tasks, "points": grades.get(c.name, tasks.get(c.name))}
                for c in nb.source_cells]


def zero_missing(course: Course, student: str) -> None:
    """Record a submission with every grade 0 (what nbgrader does for a notebook that was not submitted)."""
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        gb.update_or_create_submission(course.assignment, student)
        sub = gb.find_submission(course.assignment, student)
        for nb in sub.notebooks:
            for grade in nb.grades:
                grade.auto_score = 0
                grade.needs_manual_grade = False
        gb.db.commit()


def set_auto_scores(course: Course, student: str, notebook: str, scores: dict[str, float]) -> None:
    """Write the grader's decision for each graded cell into the gradebook (nbgrader's ``auto_score``)."""
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        for name, score in scores.items():
            grade = gb.find_grade(name, notebook, course.assignment, student)
            grade.auto_score = score
            grade.needs_manual_grade = grade.manual_score is not None
        gb.db.commit()
