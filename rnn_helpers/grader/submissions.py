"""Reading a class's submissions: an LMS export (Canvas, Moodle, Blackboard, Gradescope), nbgrader's submitted
layout, or a zip of either.

Which export it is, and who submitted what, is :mod:`rnn_helpers.grader.lms`'s job; here each student's latest
attempt is taken, the notebooks to grade are chosen from it, and copied into the grader's private work directory.
Nothing here writes to the submissions: a zip is read member by member (only notebooks and the exports' small
metadata files, never outside the target folder, never a symlink, with size limits).

A student is never dropped for a malformed submission: what cannot be graded becomes a *problem* (the reason
the notebook earns 0), and what was graded in spite of a mistake becomes a *note* (e.g. a notebook under the
wrong file name is graded as the expected one, an earlier attempt is left ungraded, and the feedback says so).
"""
from __future__ import annotations

import json
import pathlib
import re
import stat
import zipfile
from dataclasses import dataclass, field
from typing import Callable

from rnn_helpers.checks.registry import ASSIGNMENTS as _ASSIGNMENTS

from .lms import LAYOUTS, Export, ExportStudent, LayoutError, SubmittedFile, Submitter, read_export
from .lms.model import MAX_METADATA_BYTES, MAX_RECEIPT_BYTES, SKIP_NAMES

MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024  # a notebook's *code* (outputs cleared) is a few MB at most; more is junk
MAX_RAW_NOTEBOOK_BYTES = 100 * 1024 * 1024  # as submitted, saved outputs included (cleared before grading); parsing
# more than this as JSON could take the grader's memory
MAX_ZIP_TOTAL_BYTES = 1024 * 1024 * 1024  # what a zip may expand to (notebooks and the exports' metadata)
MAX_ZIP_MEMBERS = 50_000
RECEIPT = re.compile(r".+_attempt_\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}\.txt")
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}")
SHOWN_MEMBERS = 4


class InvocationError(Exception):
    """A wrong invocation: the message is the one line the command prints."""


@dataclass
class StudentSubmission:
    student_id: str
    folder: str  # the export's own name for the student: their folder, or their files' name prefix
    notebooks: dict[str, pathlib.Path] = field(default_factory=dict)  # notebook name -> private copy
    problems: dict[str, str] = field(default_factory=dict)  # notebook name -> why it earns 0
    notes: list[str] = field(default_factory=list)
    submitter: Submitter | None = None  # who the export says submitted (id, name, late, time): grades.csv, LMS import


def _member_limit(name: str) -> int | None:
    """How many bytes of the zip member ``name`` (its last path part) are extracted; None: not extracted."""
    if name.lower().endswith(".ipynb"):
        return MAX_RAW_NOTEBOOK_BYTES
    if name == "submission_metadata.yml":
        return MAX_METADATA_BYTES
    if name == "timestamp.txt" or RECEIPT.fullmatch(name):
        return MAX_RECEIPT_BYTES
    return None


def extract_zip(archive: pathlib.Path, dest: pathlib.Path) -> pathlib.Path:
    """Extract the notebooks of ``archive`` into ``dest`` safely (no zip-slip, no symlink, bounded size), with the
    small files that say who submitted them (Gradescope's metadata, Blackboard's receipts, nbgrader's timestamps)."""
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
            target = _safe_target(info, dest)
            limit = _member_limit(target.name) if target is not None else None
            if limit is None:
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
                    if written > limit:
                        break  # kept truncated: it fails to parse and the student (or instructor) is told why
                    if total > MAX_ZIP_TOTAL_BYTES:
                        raise InvocationError(f"SUBMISSIONS {archive} expands to more than "
                                              f"{MAX_ZIP_TOTAL_BYTES >> 20} MiB of notebooks")
                    out.write(chunk)
    return dest


def _safe_target(info: zipfile.ZipInfo, dest: pathlib.Path) -> pathlib.Path | None:
    """Where the zip member ``info`` goes under ``dest``; None for a folder, a symlink, an OS artefact, or a name
    that would land outside ``dest`` (zip-slip)."""
    name = info.filename.replace("\\", "/")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if info.is_dir() or not parts or stat.S_ISLNK(info.external_attr >> 16):
        return None
    if name.startswith("/") or ".." in parts or ":" in parts[0] or any(p in SKIP_NAMES for p in parts):
        return None
    target = dest.joinpath(*parts)
    return target if dest.resolve() in target.resolve().parents else None


def mark_other_members(archive: pathlib.Path, dest: pathlib.Path) -> None:
    """An empty file in ``dest`` for each zip member :func:`extract_zip` left out (a PDF, a text entry): its name
    is all an export's layout needs of it, and a student who submitted no notebook must still be found (and earn
    0 with the reason) as in the folder the zip was made from."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist()[:MAX_ZIP_MEMBERS]:
            target = _safe_target(info, dest)
            if target is None or _member_limit(target.name) is not None or target.exists():
                continue
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.touch()
            except OSError:
                continue  # a name that clashes with a folder of the same name: the folder is what counts


def zip_member_names(archive: pathlib.Path) -> list[str]:
    """The names of a zip's files (for an error message about what it holds)."""
    try:
        with zipfile.ZipFile(archive) as zf:
            return [i.filename for i in zf.infolist()[:MAX_ZIP_MEMBERS] if not i.is_dir()]
    except (zipfile.BadZipFile, OSError):
        return []


def _student_ids(students: list[ExportStudent], layout: str) -> list[tuple[ExportStudent, str, str | None]]:
    """Each student's id made safe for a path and unique; the note says so where it changed."""
    what = "folder name" if layout == "nbgrader" else f"{LAYOUTS[layout].TITLE} id"
    used: set[str] = set()
    out = []
    for student in students:
        sid, note = student.lms_id, None
        if not STUDENT_ID.fullmatch(sid):
            sid = re.sub(r"[^A-Za-z0-9_.@+-]", "_", sid).lstrip("._-+@")[:100] or "student"
            note = f"{what} {student.lms_id!r} is graded as student id {sid!r}"
        base, n = sid, 2
        while sid in used:
            sid, n = f"{base}_{n}", n + 1
            note = f"{what} {student.lms_id!r} is graded as student id {sid!r}"
        used.add(sid)
        out.append((student, sid, note))
    return out


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


def collect_from(submissions: pathlib.Path, assignment: str, expected: list[str], work: pathlib.Path, *,
                 layout: str | None = None, echo: Callable[[str], None] | None = None) -> list[StudentSubmission]:
    """The students of SUBMISSIONS (a folder, or a zip extracted into ``work/unzipped``), their notebooks copied to
    ``work/incoming``; :class:`InvocationError` for what is neither, or no export this command reads."""
    submissions = pathlib.Path(submissions)
    if submissions.is_dir():
        root, listing = submissions, None
    elif submissions.is_file():
        root, listing = extract_zip(submissions, work / "unzipped"), zip_member_names(submissions)
        mark_other_members(submissions, root)
    else:
        raise InvocationError(f"SUBMISSIONS {submissions} is neither a folder nor a zip file")
    return collect(root, assignment, expected, work / "incoming", layout=layout, echo=echo, shown_as=submissions,
                   listing=listing)


def collect(root: pathlib.Path, assignment: str, expected: list[str], dest: pathlib.Path, *,
            layout: str | None = None, echo: Callable[[str], None] | None = None,
            shown_as: pathlib.Path | None = None, listing: list[str] | None = None) -> list[StudentSubmission]:
    """Find every student's notebooks under ``root`` and copy the gradable ones to ``dest/<student>/<assignment>/``.

    ``expected`` lists the assignment's notebook names (without ``.ipynb``); ``layout`` forces an export layout
    (a key of :data:`rnn_helpers.grader.lms.LAYOUTS`), else it is recognised. ``echo`` is told what was left out
    of the export (only a forced layout, or loose notebooks beside nbgrader's student folders, leave anything out);
    ``shown_as`` and ``listing`` are how SUBMISSIONS is named in an error, and the files of its zip.
    """
    export = _read_export(root, assignment, expected, layout, shown_as or root, listing)
    if export.ignored and echo is not None:
        echo(f"[layout] read as {LAYOUTS[export.layout].TITLE}'s layout; left out, as no student's: "
             + ", ".join(export.ignored))
    read = [_student(export, student, sid, note, assignment, expected, dest)
            for student, sid, note in _student_ids(export.students, export.layout)]
    _check_notebooks(read, export, shown_as or root)
    _check_assignment(read, assignment, expected, shown_as or root)
    return [sub for sub, _ in read]


def _read_export(root, assignment, expected, layout, shown_as, listing) -> Export:
    try:
        return read_export(root, assignment, expected, layout)
    except LayoutError as exc:
        message = f"SUBMISSIONS {shown_as} {exc}"
        if listing is not None and not any(n.lower().endswith(".ipynb") for n in listing):
            shown = ", ".join(listing[:SHOWN_MEMBERS]) + (", ..." if len(listing) > SHOWN_MEMBERS else "")
            message += f" (the zip holds no notebook; its files: {shown or 'none'})"
        raise InvocationError(message) from None


def _latest(student: ExportStudent):
    """The attempt to grade (the latest) and the note naming the ones left ungraded."""
    attempts = sorted(student.attempts, key=lambda a: (a.submitted_at, a.label))
    latest = attempts[-1]
    if len(attempts) == 1:
        return latest, []
    older = ", ".join(a.label or a.submitted_at or "?" for a in attempts[:-1])
    return latest, [f"graded the latest of {len(attempts)} attempts ({latest.label or latest.submitted_at}); "
                    f"earlier attempt(s) ignored: {older}"]


def _student(export: Export, student: ExportStudent, sid: str, id_note: str | None, assignment: str,
             expected: list[str], dest: pathlib.Path) -> tuple[StudentSubmission, list[SubmittedFile]]:
    """One student: the latest attempt's notebooks chosen, read, checked and copied to ``dest`` (and the
    attempt's notebooks, every one a candidate)."""
    attempt, attempt_notes = _latest(student)
    sub = StudentSubmission(student_id=sid, folder=student.folder)
    sub.submitter = Submitter(export.layout, student.lms_id, student.name, attempt.late, attempt.submitted_at)
    sub.notes.extend(([id_note] if id_note else []) + student.notes + attempt_notes)
    candidates = sorted(attempt.files, key=lambda f: f.name)
    claimed: set[pathlib.Path] = set()
    for name in expected:
        chosen = _choose(name, assignment, export.layout, expected, candidates, claimed, sub.notes)
        if chosen is None:
            others = [f for f in candidates if f.path not in claimed]
            listed = ", ".join(f.name for f in others) or "none"
            where = f"{assignment}/{name}.ipynb" if export.layout == "nbgrader" else f"{name}.ipynb"
            sub.problems[name] = f"no notebook {where} was submitted (notebooks found: {listed})"
            claimed.update(f.path for f in others)    # named in the problem: not "ignored extras" as well
            continue
        claimed.add(chosen.path)
        _copy_notebook(sub, name, chosen, dest / sid / assignment / f"{name}.ipynb")
    extra = [f.name for f in candidates if f.path not in claimed]
    if extra:
        sub.notes.append("ignored extra notebook(s): " + ", ".join(extra))
    return sub, candidates


def _choose(name: str, assignment: str, layout: str, expected: list[str], candidates: list[SubmittedFile],
            claimed: set[pathlib.Path], notes: list[str]) -> SubmittedFile | None:
    """The file graded as ``name.ipynb``, or None; what was done on the student's behalf goes to ``notes``.

    In order: the notebook where it belongs (``ASSIGNMENT/NAME.ipynb``; in an LMS export also ``NAME.ipynb``);
    the same name elsewhere; the highest-numbered copy (``NAME-2.ipynb``, ``NAME (1).ipynb``); the only notebook.
    Where the export orders uploads (Canvas), the latest upload of ``NAME`` or a copy of it wins.
    """
    exact_names = {f"{assignment}/{name}.ipynb"} | ({f"{name}.ipynb"} if layout != "nbgrader" else set())
    unclaimed = [f for f in candidates if f.path not in claimed]
    exact = [f for f in unclaimed if f.name in exact_names]
    same_name = [f for f in unclaimed if f.name.rsplit("/", 1)[-1] == f"{name}.ipynb"]
    copies = _numbered_copies(name, unclaimed)
    uploads = sorted((f for f in unclaimed if f.upload and (f in same_name or f in copies)), key=lambda f: f.upload)
    if uploads:
        chosen, older = uploads[-1], uploads[:-1]
        if older:
            notes.append(f"graded {chosen.name}, the latest upload of {name}.ipynb; earlier upload(s) ignored: "
                         + ", ".join(f.name for f in older))
        elif chosen.name not in exact_names:
            notes.append(f"no {name}.ipynb; graded {chosen.name} in its place (as an LMS names a re-uploaded file)")
        claimed.update(f.path for f in older)
        return chosen
    if exact:
        return exact[0]
    if same_name:
        where = f"{assignment}/{name}.ipynb" if layout == "nbgrader" else f"{name}.ipynb"
        notes.append(f"{name}.ipynb was found at {same_name[0].name} instead of {where}; graded it")
        return same_name[0]
    if copies:
        older = ", ".join(f.name for f in copies[:-1])
        notes.append(f"no {name}.ipynb; graded {copies[-1].name}, the highest-numbered copy (as an LMS names "
                     f"resubmissions)" + (f", not {older}" if older else ""))
        claimed.update(f.path for f in copies[:-1])
        return copies[-1]
    if len(expected) == 1 and len(unclaimed) == 1:
        notes.append(f"no {assignment}/{name}.ipynb; graded the only notebook found, {unclaimed[0].name}, in its "
                     f"place (wrong file name)")
        return unclaimed[0]
    return None


def _copy_notebook(sub: StudentSubmission, name: str, chosen: SubmittedFile, target: pathlib.Path) -> None:
    """Read ``chosen``, and copy it to ``target`` if it is a notebook nbgrader can grade; else record why not."""
    try:
        with open(chosen.path, "rb") as fh:
            data = fh.read(MAX_RAW_NOTEBOOK_BYTES + 1)
    except OSError as exc:
        sub.problems[name] = f"the notebook could not be read ({exc.strerror})"
        return
    problem = read_notebook_problem(data)
    if not problem and len(data) > MAX_NOTEBOOK_BYTES:
        data, problem = _without_outputs(data)
    if problem:
        sub.problems[name] = problem
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    sub.notebooks[name] = target


def _check_notebooks(read: list[tuple[StudentSubmission, list[SubmittedFile]]], export: Export,
                     shown_as: pathlib.Path) -> None:
    """An LMS export in which no student submitted a notebook at all is not this assignment's: a wrong invocation.
    (In nbgrader's layout the folders are the class list: a student without a notebook earns 0, as before.)"""
    if export.layout == "nbgrader" or any(candidates for _, candidates in read):
        return
    names = sorted(p.relative_to(export.root).as_posix() for p in export.root.rglob("*") if p.is_file())
    shown = ", ".join(names[:SHOWN_MEMBERS]) + (", ..." if len(names) > SHOWN_MEMBERS else "")
    raise InvocationError(f"SUBMISSIONS {shown_as} holds no notebook (.ipynb) at all, read as a "
                          f"{LAYOUTS[export.layout].TITLE} export of {len(read)} student(s) (files: {shown or 'none'})")


def _check_assignment(read: list[tuple[StudentSubmission, list[SubmittedFile]]], assignment: str,
                      expected: list[str], shown_as: pathlib.Path) -> None:
    """Submissions that hold another assignment's notebooks and none of this one are a wrong invocation."""
    found_by_name = 0  # students whose notebook was found under its own name (not by the wrong-name fallback)
    other_assignments: dict[str, int] = {}
    for _, candidates in read:
        stems = [_stem(f) for f in candidates]
        if any(stem in expected for stem in stems):
            found_by_name += 1
        for stem in set(stems):
            if stem in _ASSIGNMENTS and stem != assignment:
                other_assignments[stem] = other_assignments.get(stem, 0) + 1
    if not found_by_name and other_assignments:
        other = max(other_assignments, key=other_assignments.get)
        raise InvocationError(f"SUBMISSIONS {shown_as} holds {other}.ipynb notebooks and no {assignment} one: "
                              f"is it the export of {other}?")


def _numbered_copies(name: str, files: list[SubmittedFile]) -> list[SubmittedFile]:
    """``name-1.ipynb``, ``name (2).ipynb``, ``name_3.ipynb``: numbered copies of ``name``, lowest number first."""
    pattern = re.compile(rf"^{re.escape(name)}(?:[-_ ]|\s?\()(\d+)\)?$")
    numbered = [(int(m.group(1)), f.name, i) for i, f in enumerate(files) if (m := pattern.match(_stem(f)))]
    return [files[i] for _, _, i in sorted(numbered)]


def _stem(f: SubmittedFile) -> str:
    """The file's name without its folders and ``.ipynb``."""
    base = f.name.rsplit("/", 1)[-1]
    return base[:-len(".ipynb")] if base.lower().endswith(".ipynb") else base


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
