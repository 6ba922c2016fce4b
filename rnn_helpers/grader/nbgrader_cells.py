"""Reading a cell's nbgrader label, and writing an error into its outputs, the same way in every preprocessor."""
from __future__ import annotations

from nbformat.notebooknode import NotebookNode


def grade_id(cell) -> str | None:
    """The cell's nbgrader ``grade_id``, or ``None`` for an ordinary cell."""
    return (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")


def is_test_cell(cell) -> bool:
    """An autograded test cell: a code cell with points that is not an answer cell."""
    meta = cell.get("metadata", {}).get("nbgrader") or {}
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def error_output(ename: str, message: str) -> NotebookNode:
    """An ``error`` output, which nbgrader's ``determine_grade`` reads as a failed cell."""
    return NotebookNode(output_type="error", ename=ename, evalue=message, traceback=[f"{ename}: {message}"])
