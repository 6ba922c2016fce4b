"""Reading a class's submissions: a folder in nbgrader's submitted layout, or a zip of one.

The layout is ``<student>/<assignment>/<notebook>.ipynb``. Nothing here writes to the submissions: the
notebooks found are copied into the grader's private work directory, and a zip is read member by member
(only ``*.ipynb`` members, never outside the target folder, never a symlink, with size limits).

A student is never dropped for a malformed submission: what cannot be graded becomes a *problem* (the reason
the notebook earns 0), and what was graded in spite of a mistake becomes a *note* (e.g. a notebook under the
wrong file name is graded as the expected one, and the feedback says so).
"""
from __future__ import annotations

import json
import pathlib
import re
import stat
import zipfile
from dataclasses import dataclass, field

from rnn_helpers.checks.registry import ASSIGNMENTS as _ASSIGNMENTS

MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024  # a notebook's *code* (outputs cleared) is a few MB at most; more is junk
MAX_RAW_NOTEBOOK_BYTES = 100 * 1024 * 1024  # as submitted, saved outputs included (cleared before grading); parsing
# more than this as JSON could take the grader's memory
MAX_ZIP_TOTAL_BYTES = 1024 * 1024 * 1024  # what a zip may expand to (notebooks only)
MAX_ZIP_MEMBERS = 50_000
SKIP_NAMES = {"__MACOSX", ".ipynb_checkpoints", ".DS_Store", ".git"}
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}")


class InvocationError(Exception):
    """A wrong invocation: the message is the one line the command prints."""


@dataclass
class StudentSubmission:
    student_id: str
    folder: str  # the student's folder name as submitted
    notebooks: dict[str, pathlib.Path] = field(default_factory=dict)  # notebook name -> private copy
    problems: dict[str, str] = field(default_factory=dict)  # notebook name -> why it earns 0
    notes: list[str] = field(default_factory=list)


def _skip(path: pathlib.Path) -> bool:
    return path.name in SKIP_NAMES or path.name.startswith(".")


def extract_zip(archive: pathlib.Path, dest: pathlib.Path) -> pathlib.Path:
    """Extract the notebooks of ``archive`` into ``dest`` safely (no zip-slip, no symlink, bounded size)."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvocationError(f"SUBMISSIONS {archive} is not a readable zip file ({exc})") from None
    dest.mkdir(parents=True, exist_ok=True)
    total = 0
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ZIP_MEMBERS:
            raise InvocationError(f"SUBMISSIONS {archive} has {len(infos)} entries (limit {MAX_ZIP_MEMBERS})")
        for info in infos:
            name = info.filename.replace("\\", "/")
            parts = [p for p in name.split("/") if p not in ("", ".")]
            if info.is_dir() or not parts or not parts[-1].lower().endswith(".ipynb"):
                continue
            if name.startswith("/") or ".." in parts or ":" in parts[0] or any(p in SKIP_NAMES for p in parts):
                continue  # outside the target, or an OS artefact
            if stat.S_ISLNK(info.external_attr >> 16):
                continue
            target = dest.joinpath(*parts)
            if dest.resolve() not in target.resolve().parents:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            written = 0
            with zf.open(info) as src, open(target, "wb") as out:
                while True:
                    chunk = src.read(1 << 20)
                    if not chunk:
                        break
                    written += len(chunk)
                    total += len(chunk)
                    if written > MAX_RAW_NOTEBOOK_BYTES:
                        break  # kept truncated: it fails to parse and the student is told why
                    if total > MAX_ZIP_TOTAL_BYTES:
                        raise InvocationError(f"SUBMISSIONS {archive} expands to more than "
                                              f"{MAX_ZIP_TOTAL_BYTES >> 20} MiB of notebooks")
                    out.write(chunk)
    return dest


def _looks_like_student(folder: pathlib.Path, assignment: str, names: list[str]) -> bool:
    """A student's folder holds ``<assignment>/`` or one of the notebooks directly (an LMS export)."""
    return (folder / assignment).is_dir() or any((folder / f"{n}.ipynb").is_file() for n in names)


def find_root(root: pathlib.Path, assignment: str, names: list[str] | None = None) -> pathlib.Path:
    """Descend through wrapper folders (``submitted/``, a zip's top folder) to the folder of students.

    Loose files next to the wrapper (an export's README, a stray notebook) do not stop the descent.
    """
    names = names or [assignment]
    for _ in range(3):
        entries = [p for p in root.iterdir() if not _skip(p)]
        dirs = [p for p in entries if p.is_dir() and not p.is_symlink()]
        if len(dirs) != 1:
            return root
        only = dirs[0]
        if only.name == assignment or _looks_like_student(only, assignment, names):
            return root  # ``only`` is a student (or a flat layout); do not descend
        if not any(_looks_like_student(d, assignment, names) for d in only.iterdir()
                   if d.is_dir() and not _skip(d)):
            return root
        root = only
    return root


def _student_ids(folders: list[pathlib.Path]) -> list[tuple[pathlib.Path, str, str | None]]:
    used: set[str] = set()
    out = []
    for folder in folders:
        sid, note = folder.name, None
        if not STUDENT_ID.fullmatch(sid):
            sid = re.sub(r"[^A-Za-z0-9_.@+-]", "_", sid).lstrip("._-+@")[:100] or "student"
            note = f"folder name {folder.name!r} is graded as student id {sid!r}"
        base, n = sid, 2
        while sid in used:
            sid, n = f"{base}_{n}", n + 1
            note = f"folder name {folder.name!r} is graded as student id {sid!r}"
        used.add(sid)
        out.append((folder, sid, note))
    return out


def _notebooks_under(folder: pathlib.Path) -> list[pathlib.Path]:
    found = []
    stack = [folder]
    while stack:
        d = stack.pop()
        try:
            entries = sorted(d.iterdir())
        except OSError:
            continue
        for p in entries:
            if _skip(p) or p.is_symlink():
                continue
            if p.is_dir():
                stack.append(p)
            elif p.is_file() and p.suffix.lower() == ".ipynb":
                found.append(p)
    return sorted(found)


def read_notebook_problem(data: bytes) -> str | None:
    """Why ``data`` is not a notebook nbgrader can grade, or ``None``."""
    if len(data) > MAX_RAW_NOTEBOOK_BYTES:
        return f"the notebook file is larger than {MAX_RAW_NOTEBOOK_BYTES >> 20} MiB"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "the notebook file is not text (binary data), so it is not a notebook"
    try:
        nb = json.loads(text)
    except ValueError as exc:
        return f"the notebook file is not valid JSON ({exc.msg} at line {exc.lineno})"
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return "the notebook file is JSON but not a notebook (no list of cells)"
    try:
        import nbformat

        nbformat.reads(text, as_version=4)
    except Exception as exc:
        return f"the notebook file is not a valid notebook ({type(exc).__name__}: {str(exc)[:120]})"
    return None


def collect(root: pathlib.Path, assignment: str, expected: list[str], dest: pathlib.Path) -> list[StudentSubmission]:
    """Find every student's notebooks under ``root`` and copy the gradable ones to ``dest/<student>/<assignment>/``.

    ``expected`` lists the assignment's notebook names (without ``.ipynb``).
    """
    root = find_root(root, assignment, expected)
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink() and not _skip(p))
    if not folders:
        raise InvocationError(f"SUBMISSIONS {root} holds no student folder (expected <student>/{assignment}/"
                              f"<notebook>.ipynb)")
    students = []
    found_by_name = 0  # students whose notebook was found under its own name (not by the wrong-name fallback)
    other_assignments: dict[str, int] = {}
    for folder, sid, note in _student_ids(folders):
        sub = StudentSubmission(student_id=sid, folder=folder.name)
        if note:
            sub.notes.append(note)
        candidates = _notebooks_under(folder)
        if any(p.stem in expected for p in candidates):
            found_by_name += 1
        for p in candidates:
            if p.stem in _ASSIGNMENTS and p.stem != assignment:
                other_assignments[p.stem] = other_assignments.get(p.stem, 0) + 1
        claimed: set[pathlib.Path] = set()
        for name in expected:
            exact = folder / assignment / f"{name}.ipynb"
            chosen = None
            if exact.is_file() and not exact.is_symlink():
                chosen = exact
            else:
                same_name = [p for p in candidates if p.name == f"{name}.ipynb" and p not in claimed]
                unclaimed = [p for p in candidates if p not in claimed]
                copies = _numbered_copies(name, unclaimed)
                if same_name:
                    chosen = same_name[0]
                    sub.notes.append(f"{name}.ipynb was found at {chosen.relative_to(folder)} instead of "
                                     f"{assignment}/{name}.ipynb; graded it")
                elif copies:
                    chosen = copies[-1]
                    older = ", ".join(str(p.relative_to(folder)) for p in copies[:-1])
                    sub.notes.append(f"no {name}.ipynb; graded {chosen.relative_to(folder)}, the highest-numbered "
                                     f"copy (as an LMS names resubmissions)" + (f", not {older}" if older else ""))
                    claimed.update(copies[:-1])
                elif len(expected) == 1 and len(unclaimed) == 1:
                    chosen = unclaimed[0]
                    sub.notes.append(f"no {assignment}/{name}.ipynb; graded the only notebook found, "
                                     f"{chosen.relative_to(folder)}, in its place (wrong file name)")
            if chosen is None:
                others = [p for p in candidates if p not in claimed]
                listed = ", ".join(str(p.relative_to(folder)) for p in others) or "none"
                sub.problems[name] = f"no notebook {assignment}/{name}.ipynb was submitted (notebooks found: {listed})"
                claimed.update(others)                   # named in the problem: not "ignored extras" as well
                continue
            claimed.add(chosen)
            try:
                with open(chosen, "rb") as fh:
                    data = fh.read(MAX_RAW_NOTEBOOK_BYTES + 1)
            except OSError as exc:
                sub.problems[name] = f"the notebook could not be read ({exc.strerror})"
                continue
            problem = read_notebook_problem(data)
            if not problem and len(data) > MAX_NOTEBOOK_BYTES:
                data, problem = _without_outputs(data)
            if problem:
                sub.problems[name] = problem
                continue
            target = dest / sid / assignment / f"{name}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            sub.notebooks[name] = target
        extra = [str(p.relative_to(folder)) for p in candidates if p not in claimed]
        if extra:
            sub.notes.append("ignored extra notebook(s): " + ", ".join(extra))
        students.append(sub)
    if not found_by_name and other_assignments:
        other = max(other_assignments, key=other_assignments.get)
        raise InvocationError(f"SUBMISSIONS {root} holds {other}.ipynb notebooks and no {assignment} one: "
                              f"is it the export of {other}?")
    return students


def _numbered_copies(name: str, paths: list[pathlib.Path]) -> list[pathlib.Path]:
    """``name-1.ipynb``, ``name (2).ipynb``, ``name_3.ipynb``: numbered copies of ``name``, lowest number first."""
    pattern = re.compile(rf"^{re.escape(name)}(?:[-_ ]|\s?\()(\d+)\)?$")
    numbered = [(int(m.group(1)), str(p), p) for p in paths if (m := pattern.match(p.stem))]
    return [p for _, _, p in sorted(numbered)]


def _without_outputs(data: bytes) -> tuple[bytes, str | None]:
    """A large notebook with its outputs cleared (the grader clears them anyway), or why it is still too large."""
    nb = json.loads(data.decode("utf-8"))
    for cell in nb.get("cells", []):
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            cell["outputs"] = []
    data = json.dumps(nb, indent=1).encode("utf-8")
    if len(data) > MAX_NOTEBOOK_BYTES:
        return data, f"the notebook's code is larger than {MAX_NOTEBOOK_BYTES >> 20} MiB (outputs not counted)"
    return data, None
