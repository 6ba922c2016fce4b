"""Gradescope's "Export Submissions" zip: ``submission_NNNN/`` folders and a ``submission_metadata.yml``.

The export (``assignment_<id>_export/``) holds one folder per submission, ``submission_<id>/``, with the files as
uploaded, and ``submission_metadata.yml`` at its root, a YAML mapping written from Ruby, so its keys are symbols:
``submission_<id>: {":submitters": [{":name", ":sid", ":email"}, ...], ":created_at": <time>, ":score",
":history": [earlier submissions]}`` (a submission can have several submitters: a group). Each folder holds the
*active* submission only (the latest, unless an instructor activated an older one); ``:history`` lists the others.
A ``:late`` flag is read where an export has one. The student's id is the submitter's SID, else their e-mail.
"""
from __future__ import annotations

import pathlib
import re

from .model import MAX_METADATA_BYTES, Attempt, ExportStudent, files_of, iso_time

NAME = "gradescope"
TITLE = "Gradescope"
FORM = "submission_NNNN/ folders beside a submission_metadata.yml"

METADATA = "submission_metadata.yml"
FOLDER = re.compile(r"submission_\d+")


def claims(entry: pathlib.Path) -> bool:
    if entry.name == METADATA and entry.is_file():
        return True
    return entry.is_dir() and FOLDER.fullmatch(entry.name) is not None and (entry.parent / METADATA).is_file()


def _loader():
    """PyYAML's safe loader that reads any tag (Ruby's ``!ruby/object:...``) as the plain value it tags."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def untagged(loader, suffix, node):
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node)
        return loader.construct_scalar(node)

    Loader.add_multi_constructor("!", untagged)
    Loader.add_multi_constructor("tag:", untagged)
    return Loader


def _plain(value):
    """Ruby-symbol keys (``":name"``) as plain ones (``"name"``), all the way down."""
    if isinstance(value, dict):
        return {str(k).lstrip(":"): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def read_metadata(path: pathlib.Path) -> dict[str, dict]:
    """``{"submission_<id>": {...}}`` with plain keys; a metadata file that cannot be read is a LayoutError."""
    import yaml

    from .model import LayoutError

    try:
        if path.stat().st_size > MAX_METADATA_BYTES:
            raise LayoutError(f"{path.name} is larger than {MAX_METADATA_BYTES >> 20} MiB")
        data = yaml.load(path.read_text(encoding="utf-8", errors="replace"), Loader=_loader())
    except (OSError, yaml.YAMLError) as exc:
        raise LayoutError(f"Gradescope's {path.name} cannot be read ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0][:160]})") from None
    data = _plain(data)
    if not isinstance(data, dict):
        raise LayoutError(f"Gradescope's {path.name} is not a mapping of submissions")
    return {str(k): v for k, v in data.items() if isinstance(v, dict)}


def _late(value) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "false", "no"):
        return value.strip().lower() in ("true", "yes")
    return None


def _student(folder: str, meta: dict | None, path: pathlib.Path | None) -> ExportStudent:
    files = files_of(path) if path is not None else []
    if meta is None:
        student = ExportStudent(folder, folder, "", [Attempt(files, label=folder)])
        student.notes.append(f"{folder} is not in {METADATA}: graded under its folder name")
        return student
    submitters = [s for s in meta.get("submitters") or [] if isinstance(s, dict)]
    first = submitters[0] if submitters else {}
    lms_id = str(first.get("sid") or first.get("email") or folder)
    attempt = Attempt(files, iso_time(meta.get("created_at")), _late(meta.get("late")), folder)
    student = ExportStudent(lms_id, folder, str(first.get("name") or ""), [attempt])
    if len(submitters) > 1:
        others = ", ".join(str(s.get("name") or s.get("sid") or s.get("email")) for s in submitters[1:])
        student.notes.append(f"group submission {folder}, graded under {lms_id}; also submitted by {others}")
    history = [h for h in meta.get("history") or [] if isinstance(h, dict)]
    if history:
        times = ", ".join(iso_time(h.get("created_at")) or "?" for h in history)
        student.notes.append(f"graded Gradescope's active submission ({attempt.submitted_at or folder}); "
                             f"its earlier submission(s), not in the export, were ignored: {times}")
    if path is None:
        student.notes.append(f"{folder} is in {METADATA} but has no folder in the export")
    return student


def read(entries: list[pathlib.Path], assignment: str) -> tuple[list[ExportStudent], list[pathlib.Path]]:
    """One student per submission folder (and per metadata entry without one), keyed by the first submitter."""
    metadata_files = [e for e in entries if e.name == METADATA and e.is_file()]
    meta = read_metadata(metadata_files[0]) if metadata_files else {}
    folders = {e.name: e for e in entries if e.is_dir() and FOLDER.fullmatch(e.name)}
    other = [e for e in entries if e.name not in folders and e not in metadata_files]
    names = sorted(set(folders) | set(meta), key=lambda n: (len(n), n))
    return [_student(n, meta.get(n), folders.get(n)) for n in names], other
