"""The stripped build of rnn_helpers that the grading kernel imports (no reference implementations)."""
import json
import subprocess
import sys
import sysconfig

import pytest

from rnn_helpers.checks import registry
from rnn_helpers.grader.reference_modules import REFERENCE_MODULES, reference_module_of
from rnn_helpers.grader.stripped import GRADER_SIDE, build_stripped, grader_side, stripped_modules


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    dest = tmp_path_factory.mktemp("stripped")
    why = build_stripped(dest)
    return dest, why


def run_isolated(dest, code: str) -> subprocess.CompletedProcess:
    """Python with only the stdlib, the stripped build and site-packages on sys.path (as in the kernel):
    -S keeps the editable install's .pth finder from bringing the real package back."""
    path = [str(dest), sysconfig.get_path("purelib")]
    boot = f"import sys; sys.path[len(sys.path):] = {path!r}\n" + code
    return subprocess.run([sys.executable, "-s", "-S", "-P", "-c", boot], capture_output=True, text=True, timeout=120)


def test_every_graded_reference_module_is_listed_and_stripped(build):
    _, why = build
    for assignment in registry.ASSIGNMENTS:
        for check in registry.checks_for(assignment).values():
            module = check.reference.partition(":")[0]
            assert module in why, f"{assignment}/{check.name}: {module} would reach the kernel"
            assert reference_module_of(module), f"{assignment}/{check.name}: add {module} to REFERENCE_MODULES"


def unlisted(why: dict[str, str]) -> list[str]:
    """The modules a build stubs that are neither in REFERENCE_MODULES nor grader side."""
    return sorted(m for m in why
                  if not reference_module_of(m) and not grader_side(m))


def test_the_list_of_reference_modules_and_the_stripped_build_agree(build):
    """Both ways: every listed module is stubbed (a listed package whole, as one stub), and every module the
    build stubs is listed or grader side, so the list is the whole statement of what the kernel lacks."""
    dest, why = build
    for module in REFERENCE_MODULES:
        assert module in why, f"{module} is listed but the build does not stub it (a stale entry?)"
        stub = dest.joinpath(*module.split("."))
        path = stub / "__init__.py" if stub.is_dir() else stub.with_suffix(".py")
        assert "raise ImportError(" in path.read_text(), f"{module} is not a stub in the build"
        if stub.is_dir():
            assert [p.name for p in stub.iterdir()] == ["__init__.py"], f"{module}: a listed package goes whole"
    extra = unlisted(why)
    assert not extra, f"the build stubs modules REFERENCE_MODULES does not name: {[(m, why[m]) for m in extra]}"


def test_importing_a_stripped_module_says_why(build):
    dest, why = build
    modules = sorted(m for m in why if not m.startswith(GRADER_SIDE + "."))
    code = (f"import json\nout = {{}}\nfor m in {modules!r}:\n"
            "    try:\n        __import__(m)\n        out[m] = 'imported'\n"
            "    except ImportError as e:\n        out[m] = str(e)\nprint(json.dumps(out))")
    done = run_isolated(dest, code)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    for m in modules:
        # a module stubbed because it imports a stripped one may report that one instead
        assert out[m].endswith("is not available while grading: implement the function yourself"), (m, out[m])
    assert out["rnn_helpers.simple_rnn"] == (
        "rnn_helpers.simple_rnn is not available while grading: implement the function yourself")


def test_records_registry_and_checks_import_and_need_nothing_stripped(build):
    dest, why = build
    code = (
        "import json, sys\n"
        "import rnn_helpers.checks.records, rnn_helpers.checks.registry as reg\n"
        "n = 0\n"
        "for a in reg.ASSIGNMENTS:\n"
        "    for c in reg.checks_for(a).values():\n"
        "        n += len(c.cases())\n"
        f"bad = sorted(m for m in sys.modules if m in {sorted(why)!r})\n"
        "print(json.dumps({'cases': n, 'bad': bad, 'file': reg.__file__}))")
    done = run_isolated(dest, code)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["bad"] == [], f"checks_* imported stripped modules at import or in cases(): {out['bad']}"
    assert out["cases"] > 0
    assert out["file"].startswith(str(dest))


def test_the_real_package_is_not_reachable_without_the_pth_finder(build):
    """Pins how `pip install -e .` exposes rnn_helpers: a .pth that installs a finder. With -S it is not run,
    so the kernel sees only the stripped build; with site processing the real package would come back."""
    dest, _ = build
    done = run_isolated(dest, "import rnn_helpers; print(rnn_helpers.__file__)")
    assert done.stdout.strip().startswith(str(dest))
    site = sysconfig.get_path("purelib")
    import pathlib
    pths = [p.read_text() for p in pathlib.Path(site).glob("__editable__*rnn_helpers*.pth")]
    assert pths and any("finder" in t or "/" in t for t in pths)


def test_no_bytecode_of_anything_is_copied(build):
    dest, _ = build
    assert not list(dest.rglob("__pycache__")) and not list(dest.rglob("*.pyc"))


def test_a_module_that_copies_a_graded_function_is_stripped(tmp_path, monkeypatch):
    import shutil

    from rnn_helpers.grader import stripped

    fake = tmp_path / "rnn_helpers"
    shutil.copytree(stripped.package_dir(), fake, ignore=shutil.ignore_patterns("__pycache__"))
    (fake / "figures" / "sneaky.py").write_text("def rnn_cell_forward(*a):\n    return a\n")
    (fake / "figures" / "uses_it.py").write_text("from rnn_helpers.figures.sneaky import rnn_cell_forward\n")
    why = stripped_modules(fake)
    assert why["rnn_helpers.figures.sneaky"] == "defines graded function(s) rnn_cell_forward"
    assert why["rnn_helpers.figures.uses_it"] == "imports rnn_helpers.figures.sneaky"
    # and the agreement test above would name both: the list must say so before they ship
    assert unlisted(why) == ["rnn_helpers.figures.sneaky", "rnn_helpers.figures.uses_it"]
