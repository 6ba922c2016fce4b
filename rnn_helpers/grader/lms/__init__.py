"""Which LMS exported a class's submissions, and who submitted what: one module per export layout.

``rnn-course grade`` reads, by itself, the exports of Canvas (:mod:`.canvas`), Moodle (:mod:`.moodle`),
Blackboard (:mod:`.blackboard`), Gradescope (:mod:`.gradescope`) and nbgrader's own submitted layout
(:mod:`.nbgrader_submitted`). :func:`read_export` descends through wrapper folders (``submitted/``, a zip's top
folder), looks at how the files and folders there are named, and hands them to the one layout that names them so;
``layout=`` forces one. An export whose names follow two layouts, or none, is a :class:`LayoutError` that names a
few of the names seen and the layouts known. Nothing here writes to the export.
"""
from __future__ import annotations

import pathlib
from dataclasses import dataclass

from . import blackboard, canvas, gradescope, moodle, nbgrader_submitted
from .model import Attempt, ExportStudent, LayoutError, SubmittedFile, Submitter, notebooks_under, skipped

__all__ = ["Attempt", "Export", "ExportStudent", "LAYOUTS", "LayoutError", "SubmittedFile", "Submitter",
           "notebooks_under", "read_export", "skipped"]

# the LMS layouts, the most specific names first (a Blackboard name is never taken for a Canvas one)
LMS_LAYOUTS = (gradescope, blackboard, moodle, canvas)
LAYOUTS = {m.NAME: m for m in (canvas, moodle, blackboard, gradescope, nbgrader_submitted)}
MAX_WRAPPERS = 4
SHOWN = 4  # names quoted in an error message


@dataclass
class Export:
    layout: str  # a key of LAYOUTS
    root: pathlib.Path  # the folder the layout was read at (below any wrapper folders)
    students: list[ExportStudent]
    ignored: list[str]  # folders and notebooks at ``root`` that belong to no student of the layout


def _entries(level: pathlib.Path) -> list[pathlib.Path]:
    return [p for p in sorted(level.iterdir()) if not skipped(p) and not p.is_symlink()]


def classify(level: pathlib.Path) -> dict[str, list[pathlib.Path]]:
    """The entries of ``level`` by who names them so: an LMS layout's name, else ``"folder"``, ``"notebook"`` or
    ``"other"`` (a loose file such as an export's README, which no layout needs)."""
    kinds: dict[str, list[pathlib.Path]] = {}
    for entry in _entries(level):
        owner = next((m.NAME for m in LMS_LAYOUTS if m.claims(entry)), None)
        if owner is None:
            owner = "folder" if entry.is_dir() else "notebook" if entry.suffix.lower() == ".ipynb" else "other"
        kinds.setdefault(owner, []).append(entry)
    return kinds


def _lms_in(kinds: dict) -> list[str]:
    return [m.NAME for m in LMS_LAYOUTS if m.NAME in kinds]


def is_student_folder(folder: pathlib.Path, assignment: str, names: list[str]) -> bool:
    """A student's folder in nbgrader's layout holds ``ASSIGNMENT/`` or one of the notebooks directly."""
    return (folder / assignment).is_dir() or any((folder / f"{n}.ipynb").is_file() for n in names)


def _holds_export(folder: pathlib.Path, assignment: str, names: list[str], depth: int) -> bool:
    kinds = classify(folder)
    if _lms_in(kinds) or any(is_student_folder(d, assignment, names) for d in kinds.get("folder", [])):
        return True
    dirs = kinds.get("folder", [])
    return depth > 0 and len(dirs) == 1 and _holds_export(dirs[0], assignment, names, depth - 1)


def find_export_folder(root: pathlib.Path, assignment: str, names: list[str]) -> pathlib.Path:
    """Descend through wrapper folders (``submitted/``, a zip's top folder, an export's ``assignment_1_export/``)
    to the folder the export's files are in. Loose files beside a wrapper (a README, a stray notebook) do not stop
    the descent; a folder that is a student's own does."""
    for _ in range(MAX_WRAPPERS):
        kinds = classify(root)
        dirs = kinds.get("folder", [])
        if _lms_in(kinds) or len(dirs) != 1:
            return root
        only = dirs[0]
        if only.name == assignment or is_student_folder(only, assignment, names):
            return root
        if not _holds_export(only, assignment, names, MAX_WRAPPERS):
            return root
        root = only
    return root


def _shown(paths: list[pathlib.Path]) -> str:
    names = [p.name + ("/" if p.is_dir() else "") for p in paths[:SHOWN]]
    return ", ".join(names) + (f", ... ({len(paths)} in all)" if len(paths) > SHOWN else "")


def known_layouts() -> str:
    return "; ".join(f"{name}: {m.FORM}" for name, m in LAYOUTS.items())


def _mixed(kinds: dict[str, list[pathlib.Path]]) -> LayoutError:
    parts = [f"{len(kinds[n])} named as {LAYOUTS[n].TITLE} names them ({_shown(kinds[n])})" for n in _lms_in(kinds)]
    loose = kinds.get("folder", []) + kinds.get("notebook", [])
    if loose:
        parts.append(f"{len(loose)} named as none of them ({_shown(loose)})")
    return LayoutError("mixes layouts: " + "; ".join(parts) + ". Grade each export on its own, or force one with "
                       f"--layout {{{','.join(LAYOUTS)}}} (what does not follow it is then left out and listed)")


def _unknown(kinds: dict[str, list[pathlib.Path]]) -> LayoutError:
    notebooks = kinds.get("notebook", [])
    if notebooks:
        seen = f"{len(notebooks)} notebook(s) named as no LMS names its files, and no student folder " \
               f"({_shown(notebooks)})"
    else:
        seen = "no notebook and no folder" + (f" ({_shown(kinds['other'])})" if kinds.get("other") else "")
    return LayoutError(f"is none of the layouts this command reads: it holds {seen}. It reads {known_layouts()}")


def decide(kinds: dict[str, list[pathlib.Path]]) -> str:
    """The layout that names every folder and notebook of ``kinds``; a LayoutError when two do, or none."""
    lms = _lms_in(kinds)
    if len(lms) > 1 or (lms and (kinds.get("folder") or kinds.get("notebook"))):
        raise _mixed(kinds)
    if lms:
        return lms[0]
    if kinds.get("folder"):
        return nbgrader_submitted.NAME
    raise _unknown(kinds)


def _merge(students: list[ExportStudent]) -> list[ExportStudent]:
    """One record per LMS id (a Gradescope student in two submissions, a Moodle student in two plugin folders)."""
    by_id: dict[str, ExportStudent] = {}
    for s in students:
        if s.lms_id not in by_id:
            by_id[s.lms_id] = s
            continue
        first = by_id[s.lms_id]
        first.attempts.extend(s.attempts)
        first.notes.extend(s.notes)
        first.name = first.name or s.name
    return list(by_id.values())


def read_export(root: pathlib.Path, assignment: str, names: list[str], layout: str | None = None) -> Export:
    """Every student of the export under ``root``, read with ``layout`` or the layout its names follow.

    ``names`` are the assignment's notebook names (without ``.ipynb``), used to tell a student's folder from a
    wrapper. Raises :class:`LayoutError` for an unknown ``layout``, an export that mixes layouts or follows none,
    and (with ``layout`` forced) one in which nothing follows it.
    """
    if layout is not None and layout not in LAYOUTS:
        raise LayoutError(f"unknown layout {layout!r} (known: {', '.join(LAYOUTS)})")
    root = find_export_folder(root, assignment, names)
    kinds = classify(root)
    chosen = layout or decide(kinds)
    module = LAYOUTS[chosen]
    students, other = module.read(_entries(root), assignment)
    if not students:
        raise LayoutError(f"holds nothing named as {module.TITLE} names its files ({module.FORM}); it holds "
                          f"{_shown(_entries(root)) or 'nothing'}")
    ignored = [p.name + ("/" if p.is_dir() else "") for p in other if p.is_dir() or p.suffix.lower() == ".ipynb"]
    return Export(chosen, root, _merge(students), ignored)
