"""A build of ``rnn_helpers`` without the reference implementations, for the grading kernel.

In the sandboxed kernel, ``rnn_helpers`` must keep what a student legitimately uses (data sets, figures,
the kernel-side package ``rnn_helpers.checks``: records, registry and cases) but not the modules that
hold the reference implementations of graded functions: delegation then cannot work, whatever route it
takes (import, alias, ``importlib``, a path on disk). Each removed module is replaced by a stub that
raises, when imported::

    ImportError: rnn_helpers.simple_rnn is not available while grading: implement the function yourself

Which modules are removed (:func:`stripped_modules`):

1. every module of the list of reference modules (:data:`.reference_modules.REFERENCE_MODULES`; a listed
   package goes whole), so that a missing or broken checks module can never ship them into the kernel;
2. every module named in a ``Check.reference`` of any assignment whose ``ch<assignment>`` checks module exists
   (what is graded, from the registry);
3. any other module that *defines* a function with the name of a graded function (a second copy of a
   reference, e.g. a helper that re-implements ``rnn_cell_forward``);
4. any module that imports a stripped module at import time (it could not import anyway; the stub
   says why), repeated until nothing changes;
5. the grader side, ``rnn_helpers.grader``, whole: the kernel has no use for it.

Rules 2-4 are a net under the list: a test fails when they catch a module the list does not name, so the list
stays the one statement of what the kernel lacks.

Nothing compiled is copied (no ``__pycache__``, no ``.pyc``): bytecode of a stripped module would bring
the reference back.
"""
from __future__ import annotations

import ast
import importlib.util
import shutil
from pathlib import Path

from .reference_modules import REFERENCE_MODULES, reference_module_of

PACKAGE = "rnn_helpers"
KERNEL_SIDE = "rnn_helpers.checks"  # what the hidden tests import: kept whole
GRADER_SIDE = "rnn_helpers.grader"  # never runs in the kernel: stubbed whole
STUB_MESSAGE = "{module} is not available while grading: implement the function yourself"


def package_dir() -> Path:
    """The directory of the real (installed or editable) ``rnn_helpers``."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"{PACKAGE} is not installed")
    return Path(list(spec.submodule_search_locations)[0])


def _module_files(root: Path) -> dict[str, Path]:
    """Dotted module name -> source file, for every ``.py`` of the package."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        rel = path.relative_to(root.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def graded_references() -> dict[str, set[str]]:
    """``{module: {function, ...}}`` named by the checks of every assignment that has a checks module."""
    from rnn_helpers.checks import registry

    refs: dict[str, set[str]] = {}
    for assignment in registry.ASSIGNMENTS:
        if importlib.util.find_spec(f"rnn_helpers.checks.ch{assignment}") is None:
            continue
        for check in registry.checks_for(assignment).values():
            module, _, name = check.reference.partition(":")
            refs.setdefault(module, set()).add(name)
    return refs


def imports_of(tree: ast.Module, module: str, is_package: bool, *, top_level_only: bool) -> list[tuple[int, str]]:
    """``(line, absolute module name)`` of every import in ``tree``, the source of ``module`` (a package's
    ``__init__`` when ``is_package``): ``import a.b``, ``from a import b`` (both ``a`` and ``a.b``), relative
    imports resolved, and ``importlib.import_module``/``__import__`` of a literal name. ``top_level_only``: only
    what runs at import time (not inside a function or lambda)."""
    base = module.split(".") if is_package else module.split(".")[:-1]  # what relative imports resolve in
    found = []
    stack = list(tree.body)
    while stack:
        n = stack.pop()
        if top_level_only and isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(n, ast.Import):
            found += [(n.lineno, a.name) for a in n.names]
        elif isinstance(n, ast.ImportFrom):
            if n.level:
                prefix = ".".join(base[: len(base) - (n.level - 1)])
                mod = f"{prefix}.{n.module}" if n.module else prefix
            else:
                mod = n.module or ""
            found.append((n.lineno, mod))
            found += [(n.lineno, f"{mod}.{a.name}") for a in n.names]
        elif isinstance(n, ast.Call) and getattr(n.func, "attr", getattr(n.func, "id", "")) in (
                "import_module", "__import__") and n.args and isinstance(n.args[0], ast.Constant):
            found.append((n.lineno, str(n.args[0].value)))
        stack.extend(ast.iter_child_nodes(n))
    return sorted(found)


def grader_side(dotted: str) -> bool:
    """Whether the dotted name is :data:`GRADER_SIDE` or inside it."""
    return reference_module_of(dotted, (GRADER_SIDE,)) is not None


def _defined_functions(tree: ast.Module) -> set[str]:
    return {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


def stripped_modules(root: Path | None = None) -> dict[str, str]:
    """``{module: why}`` for every module the stripped build replaces by a stub."""
    root = root or package_dir()
    files = _module_files(root)
    refs = graded_references()
    why: dict[str, str] = {}
    for module in REFERENCE_MODULES:
        if module in files:
            why[module] = "holds reference implementations (listed in reference_modules.py)"
    for module in refs:
        if module in files and not reference_module_of(module, why):
            why[module] = "holds the reference of a graded function"
    graded_names = set().union(*refs.values()) if refs else set()
    trees = {m: ast.parse(p.read_text(encoding="utf-8")) for m, p in files.items()}
    for module, tree in trees.items():
        if reference_module_of(module, [*why, KERNEL_SIDE]):
            continue
        if grader_side(module):
            why[module] = "grader-side module"
            continue
        copies = sorted(_defined_functions(tree) & graded_names)
        if copies:
            why[module] = f"defines graded function(s) {', '.join(copies)}"
    changed = True
    while changed:
        changed = False
        for module, tree in trees.items():
            if reference_module_of(module, why) or module == PACKAGE:
                continue
            is_pkg = files[module].name == "__init__.py"
            for _, imported in imports_of(tree, module, is_pkg, top_level_only=True):
                hit = reference_module_of(imported, why)
                if hit:
                    why[module] = f"imports {hit}"
                    changed = True
                    break
    return why


def _stub(module: str) -> str:
    message = STUB_MESSAGE.format(module=module)
    return (f'"""Removed from the grading build of rnn_helpers."""\n'
            f"raise ImportError({message!r}, name={module!r})\n")


def build_stripped(dest: str | Path) -> dict[str, str]:
    """Write the stripped package to ``dest/rnn_helpers`` (replacing what is there).

    Put ``dest`` first on the kernel's ``sys.path``. Returns ``{module: why}`` of the stubbed modules.
    """
    src = package_dir()
    dest = Path(dest)
    out = dest / PACKAGE
    if out.exists():
        shutil.rmtree(out)
    dest.mkdir(parents=True, exist_ok=True)
    why = stripped_modules(src)
    files = _module_files(src)
    shutil.copytree(src, out, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", "*.so", "*.egg-info"))
    for module in sorted(why, key=len):
        path = out / files[module].relative_to(src)
        if path.name == "__init__.py":  # a whole subpackage goes: one stub in its place
            shutil.rmtree(path.parent)
            path.parent.mkdir()
        if path.exists() or path.name == "__init__.py":
            path.write_text(_stub(module), encoding="utf-8")
    for path in out.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    (dest / "STRIPPED.txt").write_text("".join(f"{m}: {w}\n" for m, w in sorted(why.items())), encoding="utf-8")
    return why
