"""Every module of the reference package says which chapters use it (d2l's habit), and says it truthfully.

A module's docstring carries one line ``Used in: chapters 02 (simple RNN), 03 (BPTT); exercises 02, 03 grade
against it.`` (``every chapter`` for what all of them use). The test holds that line to the book and the checks:

- every chapter whose ``book/<chapter>.md`` imports the module is named (a chapter may also use a module through
  another one, so more may be named);
- the exercises named are exactly the assignments whose checks take their reference from the module.
"""
from __future__ import annotations

import ast
import pathlib
import re

import pytest

from rnn_helpers.checks.registry import ASSIGNMENTS, checks_for

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "rnn_helpers"
MODULES = sorted([*PACKAGE.glob("*.py"), *(PACKAGE / "datasets").glob("*.py"), *(PACKAGE / "figures").glob("*.py")])
CHAPTERS = [a[:2] for a in ASSIGNMENTS]
USED_IN = re.compile(r"^Used in: (?P<chapters>[^;]*?)(?:; (?P<exercises>exercises? [\d, ]+) grades? against it)?\.$",
                     re.M)


def dotted(path: pathlib.Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def book_imports() -> dict[str, set[str]]:
    """{module: {chapter, ...}} for every ``import``/``from ... import`` of rnn_helpers in the chapters' code."""
    used: dict[str, set[str]] = {}
    for chapter in CHAPTERS:
        (page,) = ROOT.glob(f"book/{chapter}_*.md")
        for line in page.read_text(encoding="utf-8").splitlines():
            if m := re.match(r"\s*from (rnn_helpers[\w.]*) import (.+)", line):
                for name in re.findall(r"\w+", m[2].split("#")[0]):
                    module = f"{m[1]}.{name}"
                    stem = ROOT.joinpath(*module.split("."))
                    hit = module if stem.with_suffix(".py").is_file() or (stem / "__init__.py").is_file() else m[1]
                    used.setdefault(hit, set()).add(chapter)
            elif m := re.match(r"\s*import (rnn_helpers[\w.]*)", line):
                used.setdefault(m[1], set()).add(chapter)
    return used


def graded_from() -> dict[str, set[str]]:
    refs: dict[str, set[str]] = {}
    for a in ASSIGNMENTS:
        for check in checks_for(a).values():
            refs.setdefault(check.reference.partition(":")[0], set()).add(a[:2])
    return refs


BOOK, GRADED = book_imports(), graded_from()


@pytest.mark.parametrize("path", MODULES, ids=lambda p: dotted(p))
def test_the_docstring_names_the_chapters_that_use_the_module(path):
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    lines = USED_IN.findall(doc)
    assert len(lines) == 1, f"{dotted(path)}: expected one 'Used in: ...' line in the docstring"
    m = USED_IN.search(doc)
    named = set(CHAPTERS) if m["chapters"].startswith("every chapter") else set(re.findall(r"\b0\d\b", m["chapters"]))
    assert named <= set(CHAPTERS) and named, m[0]
    module = dotted(path)
    missing = BOOK.get(module, set()) - named
    assert not missing, f"{module} is imported by chapter(s) {sorted(missing)}, which its docstring does not name"
    exercises = set(re.findall(r"\b0\d\b", m["exercises"] or ""))
    assert exercises == GRADED.get(module, set()), (
        f"{module}: the docstring names exercises {sorted(exercises)}, the checks grade against it in "
        f"{sorted(GRADED.get(module, set()))}")


def test_the_book_scan_finds_the_imports_it_should():
    assert {"02", "03"} <= BOOK["rnn_helpers.simple_rnn"] and "06" in BOOK["rnn_helpers.datasets.adding"]
    assert GRADED["rnn_helpers.gru"] == {"04"}
