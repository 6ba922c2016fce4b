"""Every hidden-test case's seed comes from ``rnn_helpers.checks.seeds.case_seed``.

- the seed is deterministic, distinct for every (assignment, check, index), and a grading secret changes it;
- bad arguments are refused with a clear error;
- no case generator of ``rnn_helpers/checks/ch*.py`` seeds a generator from a number of its own
  (``rng(1000 + i)``): an ast scan of their source.
"""
from __future__ import annotations

import ast
import itertools
import pathlib

import pytest

from rnn_helpers.checks.registry import ASSIGNMENTS, checks_for
from rnn_helpers.checks.seeds import case_seed

CHECKS_DIR = pathlib.Path(__file__).resolve().parents[1] / "rnn_helpers" / "checks"


def _keys(indices=range(12)):
    names = [(a, name) for a in ASSIGNMENTS for name in checks_for(a)]
    return [(a, name, i) for (a, name), i in itertools.product(names, indices)]


def test_the_published_seeds_are_deterministic_and_distinct():
    keys = _keys()
    seeds = [case_seed(*k) for k in keys]
    assert seeds == [case_seed(*k) for k in keys]
    assert len(set(seeds)) == len(keys)
    assert all(0 <= s < 2 ** 63 for s in seeds)
    assert case_seed("02_simple_rnn", "rnn_cell_forward", 0) == case_seed("02_simple_rnn", "rnn_cell_forward", 0,
                                                                          None)


def test_names_are_not_confused_with_each_other():
    # moving a character from the check to the assignment, or an index into the name, changes the seed
    assert case_seed("a", "bc", 1) != case_seed("ab", "c", 1)
    assert case_seed("a", "b1", 0) != case_seed("a", "b", 10)


def test_a_secret_changes_every_seed_and_is_itself_deterministic():
    keys = _keys(range(3))
    published = [case_seed(*k) for k in keys]
    term = [case_seed(*k, secret=b"autumn term") for k in keys]
    other = [case_seed(*k, secret=b"spring term") for k in keys]
    assert term == [case_seed(*k, secret=b"autumn term") for k in keys]
    assert not set(term) & set(published) and not set(term) & set(other)
    assert case_seed("a", "b", 0, secret=b"") == case_seed("a", "b", 0)  # the empty secret is no secret


@pytest.mark.parametrize("args, error", [
    (("", "b", 0), TypeError), (("a", None, 0), TypeError), (("a", "b", -1), ValueError),
    (("a", "b", 1.0), ValueError), (("a", "b", True), ValueError),
])
def test_bad_arguments_are_refused(args, error):
    with pytest.raises(error):
        case_seed(*args)


def test_a_secret_must_be_bytes():
    with pytest.raises(TypeError, match="secret must be bytes"):
        case_seed("a", "b", 0, secret="text")


SEEDED_CALLS = {"rng", "default_rng", "manual_seed", "seed", "RandomState"}
DERIVED = {"case_seed", "case_rng"}


def _literal_ints(node: ast.AST) -> list[int]:
    """Integer literals in ``node``, leaving out those inside a case_seed/case_rng call (its index)."""
    found = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Call) and getattr(n.func, "id", getattr(n.func, "attr", None)) in DERIVED:
            continue
        if isinstance(n, ast.Constant) and type(n.value) is int:
            found.append(n.value)
        stack.extend(ast.iter_child_nodes(n))
    return found


def _literal_seeds(tree: ast.Module) -> list[tuple[str, int, str]]:
    """(function, line, what) for every generator seeded from a literal, and every case's "seed" from one."""
    hits = []
    for fn in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
        for node in ast.walk(fn):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", None))
                if name in SEEDED_CALLS and any(_literal_ints(a) for a in node.args):
                    hits.append((fn.name, node.lineno, ast.unparse(node)))
            if isinstance(node, ast.Dict):
                for k, v in zip(node.keys, node.values):
                    if isinstance(k, ast.Constant) and k.value == "seed" and _literal_ints(v):
                        hits.append((fn.name, node.lineno, f"'seed': {ast.unparse(v)}"))
    return hits


@pytest.mark.parametrize("path", sorted(CHECKS_DIR.glob("ch*.py")), ids=lambda p: p.name)
def test_every_case_generator_takes_its_seeds_from_case_seed(path):
    hits = _literal_seeds(ast.parse(path.read_text(encoding="utf-8")))
    assert not hits, f"seeded from literals instead of case_seed(assignment, check, index): {hits}"


def test_the_scan_sees_a_literal_seed():
    src = ("def _cases():\n    r = rng(1000 + seed)\n    return [{'seed': 6100 + k}]\n"
           "def _fine():\n    return rng(case_seed('a', 'b', 0)), {'seed': case_seed('a', 'c', 3)}\n")
    assert [h[:2] for h in _literal_seeds(ast.parse(src))] == [("_cases", 2), ("_cases", 3)]
