"""Before anything runs: put every cell the gradebook knows back as the gradebook knows it.

The student received the released notebook and may have changed anything in it. Plain nbgrader restores the
*source* of a locked cell, but a test cell whose nbgrader metadata was changed (``grade`` flipped, ``points``,
``locked`` or ``solution`` changed) makes its checksum check raise "Inconsistent checksums" and the whole
notebook fails; a renamed ``grade_id`` or a swapped cell order is not handled at all. :class:`RestoreTestCells`
runs first in nbgrader's sanitize phase and undoes all of it, noting each change for the feedback; nbgrader's
``OverwriteCells`` then finds nothing left to object to.

A *layout* entry is one cell of the gradebook's source notebook (:func:`gradebook.source_layout`): a dict with
``name`` (its grade_id), ``cell_type``, ``source``, ``checksum`` and the flags ``locked``, ``grade``,
``solution``, ``task``, ``points``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from nbconvert.preprocessors import Preprocessor
from nbformat.notebooknode import NotebookNode

from .grading_store import GradingStore, SharedPreprocessor, store_key
from .nbgrader_cells import grade_id

COMPARED_FLAGS = ("grade", "solution", "locked", "points", "task")  # the metadata a student may not change


class RestoreTestCells(SharedPreprocessor, Preprocessor):
    """Put back the released test cells (and every other cell the gradebook knows), noting what was changed.

    Per cell, in this order (:func:`restore_cells`):

    1. a cell whose ``grade_id`` is in the gradebook gets the gradebook's nbgrader metadata (and cell type);
       one whose label is unknown, duplicated or malformed loses its nbgrader metadata (an ordinary cell);
    2. a read-only cell (test cells included) that is missing, or that now runs before the cell it follows in
       the source notebook (its anchor: a solution cell, for a test), is put back right after that anchor
       and after the student's own code cells that follow it; a code cell whose source is exactly that
       cell's released (or trusted) source and that lost its label is taken as that cell;
    3. a read-only cell gets the gradebook's source back (hidden tests included).

    Every change is noted for the feedback ("test cell X was modified and has been restored (...)").
    ``released`` maps notebook name -> ``{grade_id: source}`` of the released test cells (what the student
    received); ``layout`` notebook name -> the gradebook's cells in source order (:func:`gradebook.source_layout`).
    """

    def __init__(self, store: GradingStore, released: dict[str, dict[str, str]], layout: dict[str, list[dict]],
                 **kw):
        super().__init__(**kw)
        self.store = store
        self.released = released
        self.layout = layout

    def preprocess(self, nb, resources):
        key = store_key(resources)
        notebook = key[1]
        # a notebook the gradebook does not know raises here: nbgrader then gives up on it (never graded as is)
        for note in restore_cells(nb, self.layout[notebook], self.released.get(notebook, {})):
            self.store.note(key, note)
        return nb, resources


def restore_cells(nb, layout: list[dict], released: dict[str, str]) -> list[str]:
    """Restore ``nb`` in place to the gradebook's ``layout``; the notes for the feedback, in the order given.

    ``released`` maps grade_id -> source of the released test cells (a cell that still holds it is the
    student's unchanged copy, not an edit).
    """
    restoration = _Restoration(layout, released)
    for cell in nb.cells:
        restoration.relabel(cell)
    for entry in layout:
        if entry["locked"]:
            restoration.put_back(nb.cells, entry)
    for cell in nb.cells:
        restoration.restore_source(cell)
    return restoration.notes()


@dataclass
class _Restoration:
    """The state of one notebook's restoration: what was changed in which cell, for the notes."""

    layout: list[dict]
    released: dict[str, str]
    changes: dict[str, list[str]] = field(default_factory=dict)  # grade_id -> what had been changed in it
    unlabelled: dict[int, str] = field(default_factory=dict)  # id(cell) -> note, for cells whose label was dropped
    missing: list[str] = field(default_factory=list)  # notes on cells re-added
    seen: set[str] = field(default_factory=set)  # labels already given to a cell

    def __post_init__(self):
        self.by_name = {entry["name"]: entry for entry in self.layout}
        self.order = {entry["name"]: i for i, entry in enumerate(self.layout)}

    def changed(self, entry: dict, why: str) -> None:
        whys = self.changes.setdefault(entry["name"], [])
        if why not in whys:
            whys.append(why)

    # 1. labels and metadata ----------------------------------------------------------------------------
    def relabel(self, cell) -> None:
        """Give a known label its gradebook metadata and cell type; drop an unknown or repeated one."""
        if not isinstance(cell.get("metadata"), dict):
            cell["metadata"] = NotebookNode()
        if "nbgrader" not in cell.metadata:
            return
        meta = cell.metadata["nbgrader"]
        gid = meta.get("grade_id") if isinstance(meta, dict) else None
        if not isinstance(gid, str) or gid not in self.by_name or gid in self.seen:
            self._unlabel(cell, meta, gid)
            return
        self.seen.add(gid)
        entry = self.by_name[gid]
        want = cell_metadata(entry)
        diff = sorted(k for k in COMPARED_FLAGS if _loosely(meta.get(k)) != _loosely(want.get(k)))
        if diff:
            self.changed(entry, "its nbgrader metadata: " + ", ".join(diff))
        if cell.cell_type != entry["cell_type"]:
            self.changed(entry, f"its type ({cell.cell_type})")
            _set_cell_type(cell, entry["cell_type"])
        cell.metadata["nbgrader"] = NotebookNode(want)

    def _unlabel(self, cell, meta, gid) -> None:
        del cell.metadata["nbgrader"]
        label = repr(gid)[:60] if gid is not None else "without a name"
        if isinstance(gid, str) and gid in self.seen:
            self.unlabelled[id(cell)] = f"a second cell labelled {label} is graded as an ordinary cell"
        elif isinstance(meta, dict) and any(meta.get(k) for k in ("grade", "solution", "locked")):
            self.unlabelled[id(cell)] = (f"a cell labelled {label}, which this assignment does not have, "
                                         "is graded as an ordinary cell")

    # 2. read-only cells in place -----------------------------------------------------------------------
    def put_back(self, cells: list, entry: dict) -> None:
        """Re-add a missing read-only cell, or move a misplaced one, to just after its anchor."""
        name = entry["name"]
        position = {grade_id(c): i for i, c in enumerate(cells) if grade_id(c) is not None}
        if name not in position:
            orphan = self._adopt_orphan(cells, entry)
            if orphan is not None:
                position[name] = orphan
        before = next((p["name"] for p in reversed(self.layout[:self.order[name]]) if p["name"] in position), None)
        anchor = None if before is None else position[before]
        if name in position and (anchor is None or anchor < position[name]):
            return  # in place
        if name in position:
            cell = cells.pop(position[name])
            self.changed(entry, f"it had been moved above {before}")
            anchor -= 1  # the anchor was below the cell just taken out
        else:
            cell = new_cell(entry)
            self.missing.append(f"{cell_kind(entry)} {name} was missing and has been restored")
        cells.insert(_after_anchor(cells, anchor), cell)

    def _adopt_orphan(self, cells: list, entry: dict) -> int | None:
        """The index of an unlabelled cell that still holds ``entry``'s released or trusted source, relabelled."""
        texts = {s.strip() for s in (self.released.get(entry["name"]), entry["source"]) if s}
        orphan = next((i for i, c in enumerate(cells) if grade_id(c) is None
                       and c.cell_type == entry["cell_type"] and c.source.strip() in texts), None)
        if orphan is None:
            return None
        cells[orphan].metadata["nbgrader"] = NotebookNode(cell_metadata(entry))
        dropped = self.unlabelled.pop(id(cells[orphan]), None)
        self.changed(entry, "it had been relabelled" if dropped else "its nbgrader metadata had been removed")
        return orphan

    # 3. read-only sources ------------------------------------------------------------------------------
    def restore_source(self, cell) -> None:
        gid = grade_id(cell)
        entry = self.by_name.get(gid) if gid is not None else None
        if entry is None or not entry["locked"]:
            return
        if cell.source != entry["source"]:
            if cell.source.strip() not in ((self.released.get(gid) or "").strip(), entry["source"].strip()):
                self.changed(entry, "its code was edited")
            cell.source = entry["source"]
        if cell.cell_type == "code":
            cell.outputs = []

    def notes(self) -> list[str]:
        """Missing cells first, then dropped labels, then each changed cell in the source notebook's order."""
        modified = [f"{cell_kind(self.by_name[name])} {name} was modified and has been restored "
                    f"({'; '.join(self.changes[name])})" for name in sorted(self.changes, key=self.order.get)]
        return self.missing + list(self.unlabelled.values()) + modified


def _after_anchor(cells: list, anchor: int | None) -> int:
    """Where a read-only cell goes: right after its anchor and the student's own code cells after it (helpers
    the student wrote there run before the test); at the top when it has no anchor."""
    if anchor is None:
        return 0
    at = anchor + 1
    while at < len(cells) and grade_id(cells[at]) is None and cells[at].cell_type == "code":
        at += 1
    return at


def cell_kind(entry: dict) -> str:
    """"test cell", "answer cell" or "read-only cell", as the feedback names a layout entry."""
    if entry["grade"] and not entry["solution"]:
        return "test cell"
    return "answer cell" if entry["solution"] else "read-only cell"


def cell_metadata(entry: dict) -> dict:
    """The nbgrader metadata of a layout entry, as nbgrader writes it into a released notebook."""
    meta = {"grade": bool(entry["grade"]), "grade_id": entry["name"], "locked": bool(entry["locked"]),
            "schema_version": 3, "solution": bool(entry["solution"]), "task": bool(entry["task"]),
            "cell_type": entry["cell_type"]}
    if entry.get("checksum"):
        meta["checksum"] = entry["checksum"]
    if entry["grade"] or entry["task"]:
        meta["points"] = entry["points"]
    return meta


def new_cell(entry: dict) -> NotebookNode:
    """A read-only cell re-created from its layout entry."""
    meta = NotebookNode({"deletable": False, "editable": False, "nbgrader": NotebookNode(cell_metadata(entry))})
    if entry["cell_type"] == "code":
        return NotebookNode(cell_type="code", metadata=meta, source=entry["source"], outputs=[],
                            execution_count=None)
    return NotebookNode(cell_type=entry["cell_type"], metadata=meta, source=entry["source"])


def _loosely(value):
    """Metadata values compared loosely: a missing flag is False, points compare as floats."""
    if value is None or value is False:
        return False
    if isinstance(value, bool):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return repr(value)


def _set_cell_type(cell, cell_type: str) -> None:
    cell.cell_type = cell_type
    if cell_type == "code":
        cell.setdefault("outputs", [])
        cell.setdefault("execution_count", None)
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)
