"""``rnn-course release``: regenerate the student notebooks in ``exercises/`` from ``solutions/``.

For each assignment, nbgrader's ``generate_assignment`` runs in a child process from the repository root
(so ``nbgrader_config.py`` applies) with a throw-away gradebook and a throw-away release folder; only the
released ``.ipynb`` is then copied into ``exercises/<assignment>/`` (which is replaced as a whole), after a
normalisation that makes the file depend on the source notebook alone:

- outputs and execution counts are cleared (nbgrader already does; we make sure);
- the JSON is written with sorted keys, one-space indent and a final newline (nbformat's own layout).

nbgrader's metadata (grade ids, points, checksums) is a pure function of each cell's source, so regenerating
gives byte-identical files. nbgrader runs ``alembic`` by name to stamp a new gradebook; the child process
gets this interpreter's ``bin`` directory first on ``PATH`` so that works from a non-activated venv.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from rnn_helpers.checks.registry import ASSIGNMENTS
from rnn_helpers.grader.gradebook import create_database


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                        help=f"assignments to release (default: all of {', '.join(ASSIGNMENTS)})")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="release folder (default: exercises/ in the repository root)")
    parser.add_argument("--root", metavar="DIR", default=None,
                        help="repository root holding nbgrader_config.py and solutions/ (default: found from here)")


def find_course_root(start: Path | None = None) -> Path:
    """The repository root: the first folder holding ``nbgrader_config.py`` and ``solutions/``, looked for from
    ``start``, then from the working directory, then from this package's own checkout. The working directory
    comes before the package: from a second checkout, ``rnn-course`` must work on that checkout, not on the
    one whose environment it was installed from."""
    candidates = []
    if start is not None:
        candidates.append(Path(start))
    candidates += [Path.cwd(), Path(__file__).resolve().parents[2]]
    for c in candidates:
        for d in [c, *c.parents]:
            if (d / "nbgrader_config.py").is_file() and (d / "solutions").is_dir():
                return d.resolve()
    raise FileNotFoundError("no repository root (a folder with nbgrader_config.py and solutions/) found")


def nbgrader_env() -> dict:
    """Environment for the nbgrader child: this interpreter's bin dir first on PATH (nbgrader calls ``alembic``)."""
    env = dict(os.environ)
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    return env


def normalize_notebook(path: Path) -> None:
    """Rewrite a released notebook so that its bytes depend on its cells only (see module docstring)."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.validate(nb)
    text = nbformat.writes(nb)  # sorted keys, indent 1
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


def release_one(root: Path, assignment: str, out_dir: Path, workdir: Path) -> Path:
    """Generate one assignment into ``out_dir/<assignment>/`` and return the notebook's path."""
    src = root / "solutions" / assignment / f"{assignment}.ipynb"
    if not src.is_file():
        raise FileNotFoundError(f"missing source notebook {src}")
    tmp_release = workdir / "release"
    db = workdir / f"gradebook-{assignment}.db"
    create_database(f"sqlite:///{db}")  # else nbgrader's subprocess asks `alembic heads`, 5 s per assignment
    cmd = [sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force",
           f"--CourseDirectory.root={root}",
           f"--CourseDirectory.db_url=sqlite:///{db}",
           f"--CourseDirectory.release_directory={tmp_release}",
           "--NbGrader.logfile=",
           "--log-level=WARN"]
    proc = subprocess.run(cmd, cwd=root, env=nbgrader_env(), capture_output=True, text=True)
    produced = tmp_release / assignment / f"{assignment}.ipynb"
    if proc.returncode != 0 or not produced.is_file():
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-15:]
        raise RuntimeError(f"nbgrader generate_assignment {assignment} failed (exit {proc.returncode}):\n"
                           + "\n".join(detail))
    normalize_notebook(produced)
    target = out_dir / assignment
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    final = target / f"{assignment}.ipynb"
    shutil.copyfile(produced, final)  # the notebook only: nothing else nbgrader copied
    os.chmod(final, 0o644)
    return final


def release(assignments: list[str] | None = None, out_dir: Path | None = None, root: Path | None = None,
            log=print) -> list[Path]:
    """Release the given assignments (default all) and return the written notebooks' paths."""
    root = find_course_root(root)
    names = list(assignments) if assignments else list(ASSIGNMENTS)
    unknown = [a for a in names if a not in ASSIGNMENTS]
    if unknown:
        raise KeyError(f"unknown assignment {unknown[0]!r}; expected one of {', '.join(ASSIGNMENTS)}")
    out_dir = Path(out_dir) if out_dir is not None else root / "exercises"
    out_dir = out_dir if out_dir.is_absolute() else (Path.cwd() / out_dir)
    written = []
    for name in names:
        # a fresh work folder (gradebook + raw release) per assignment, removed afterwards
        with tempfile.TemporaryDirectory(prefix=f"rnn-release-{name}-") as tmp:
            written.append(release_one(root, name, out_dir, Path(tmp)))
        if log:
            log(f"released {written[-1]}")
    return written


def run(args: argparse.Namespace) -> int:
    try:
        release(args.assignments or None, Path(args.out) if args.out else None,
                Path(args.root) if args.root else None)
    except KeyError as exc:
        print(f"rnn-course release: {exc.args[0]}", file=sys.stderr)
        return 2
    except (FileNotFoundError, RuntimeError) as exc:
        print(f"rnn-course release: {exc}", file=sys.stderr)
        return 1
    return 0
