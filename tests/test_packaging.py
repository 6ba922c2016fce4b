"""pyproject.toml declares what the package imports, with bounds that the pins of requirements.txt satisfy.

- every third-party module imported anywhere in ``rnn_helpers`` (an ast scan of every import, lazy ones included)
  belongs to a distribution that pyproject.toml declares, as a dependency or in an extra;
- every declared distribution that requirements.txt pins is pinned to a version its specifier accepts.
"""
from __future__ import annotations

import ast
import importlib.metadata
import pathlib
import re
import sys
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = pathlib.Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def declared() -> dict[str, Requirement]:
    reqs = [Requirement(r) for r in PROJECT["dependencies"]]
    for extra in PROJECT.get("optional-dependencies", {}).values():
        reqs += [Requirement(r) for r in extra]
    return {canonicalize_name(r.name): r for r in reqs if canonicalize_name(r.name) != "rnn-helpers"}


def pins() -> dict[str, str]:
    found = {}
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        if m := re.match(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s#]+)", line.strip()):
            found[canonicalize_name(m[1])] = m[2]
    return found


def third_party_imports() -> set[str]:
    tops = set()
    for path in (ROOT / "rnn_helpers").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                tops |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                tops.add(node.module.split(".")[0])
    return {t for t in tops if t not in sys.stdlib_module_names and t != "rnn_helpers"}


def test_every_imported_distribution_is_declared():
    providers = importlib.metadata.packages_distributions()
    wanted = declared()
    missing = {}
    for module in sorted(third_party_imports()):
        dists = {canonicalize_name(d) for d in providers.get(module, [])}
        assert dists, f"{module} is imported by rnn_helpers but is not installed"
        if not dists & set(wanted):
            missing[module] = sorted(dists)
    assert not missing, f"imported by rnn_helpers, not declared in pyproject.toml: {missing}"


def test_declared_bounds_accept_the_pinned_versions():
    pinned = pins()
    assert pinned, "requirements.txt pins nothing?"
    for name, req in declared().items():
        if name in pinned:
            assert req.specifier.contains(pinned[name], prereleases=True), (
                f"pyproject.toml wants {req}, requirements.txt pins {name}=={pinned[name]}")
    for name in ("numpy", "matplotlib", "torch", "nbgrader"):
        assert name in declared() and name in pinned, name
