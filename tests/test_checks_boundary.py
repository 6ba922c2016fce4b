"""The kernel side of the grading boundary (``rnn_helpers.checks``) imports nothing from the grader side
(``rnn_helpers.grader``), directly or through anything it imports.

Two ways, because each misses what the other sees:

- a fresh interpreter imports every module of ``rnn_helpers.checks`` and builds every check's cases, then lists
  ``sys.modules`` (catches transitive and lazy imports that run);
- an ast scan of every ``import`` in the package's source, at any depth (catches imports inside functions that
  the first run never calls, and relative imports): ``stripped.imports_of``, the scan the stripped build uses.
"""
from __future__ import annotations

import ast
import json
import pathlib
import subprocess
import sys

import pytest

from rnn_helpers.grader.stripped import KERNEL_SIDE, grader_side, imports_of

ROOT = pathlib.Path(__file__).resolve().parents[1]
KERNEL_DIR = ROOT / "rnn_helpers" / "checks"


def test_importing_the_kernel_side_loads_nothing_of_the_grader_side():
    modules = sorted(f"{KERNEL_SIDE}.{p.stem}" for p in KERNEL_DIR.glob("*.py") if p.stem != "__init__")
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "from rnn_helpers.checks.registry import ASSIGNMENTS, checks_for\n"
        "n = sum(len(c.cases()) for a in ASSIGNMENTS for c in checks_for(a).values())\n"
        f"print(json.dumps({{'cases': n, 'loaded': sorted(m for m in sys.modules if m.startswith('rnn_helpers'))}}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout)
    assert out["cases"] > 0 and set(modules) <= set(out["loaded"])
    leaked = [m for m in out["loaded"] if grader_side(m)]
    assert not leaked, f"the kernel side loaded grader modules: {leaked}"


def grader_imports(path: pathlib.Path, package: str) -> list[str]:
    """``file:line name`` of every import of the grader side in ``path`` (a module of ``package``), at any depth."""
    module = package if path.name == "__init__.py" else f"{package}.{path.stem}"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [f"{path.name}:{line} {name}"
            for line, name in imports_of(tree, module, path.name == "__init__.py", top_level_only=False)
            if grader_side(name)]


@pytest.mark.parametrize("path", sorted(KERNEL_DIR.glob("*.py")), ids=lambda p: p.name)
def test_no_kernel_side_source_imports_the_grader_side(path):
    found = grader_imports(path, KERNEL_SIDE)
    assert not found, f"kernel-side module imports the grader side: {found}"


def test_the_scan_sees_every_form_of_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import rnn_helpers.grader.sandbox\n"
                   "def later():\n    from rnn_helpers.grader import verify_records\n"
                   "def relative():\n    from ..grader import pipeline\n"
                   "def dynamic():\n    import importlib\n    importlib.import_module('rnn_helpers.grader.cli')\n"
                   "from rnn_helpers import grader\n")
    found = grader_imports(bad, KERNEL_SIDE)
    assert [f.split()[0] for f in found] == ["bad.py:1", "bad.py:3", "bad.py:3", "bad.py:5", "bad.py:5", "bad.py:8",
                                            "bad.py:9"], found
