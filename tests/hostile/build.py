"""Hostile (and broken) submissions for the grading-integrity tests, built from the real notebooks.

``build_class(dest, targets)`` writes one class in nbgrader's submitted layout,
``dest/<student>/02_simple_rnn/02_simple_rnn.ipynb``, and returns ``{student: Expect}``. Every submission
starts from the *released* notebook (``rnn-course release`` into a temporary folder), as a student gets it;
``honest`` fills every solution cell with the instructor's solution; the others edit cells the way a
hostile student would, in the eight kinds of attack that ``rnn_helpers/grader/THREAT_MODEL.md``
("What is defended") defends against: 1 tampering with the comparison, 2 with the oracle (``rnn_helpers``),
3 delegating to the reference or torch, 4 hiding errors, 5 editing test cells, 6 exhausting the grader,
7 malformed submissions, 8 reaching what is not theirs. ``Expect`` says what grading must give at most (the
honest work of that submission) and which cells must earn nothing.

``targets`` holds absolute paths the hostile code aims at (the gradebook, the grader's output, the
solutions, other submissions): the sandbox must keep all of them out of reach.
"""
from __future__ import annotations

import copy
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ASSIGNMENT = "02_simple_rnn"
POINTS = {"test_rnn_cell_forward": 2, "test_rnn_forward": 2, "test_rnn_param_count": 1, "test_softmax": 1,
          "test_output_probs": 1, "test_stacked_rnn_forward": 2, "test_torch_rnn_from_params": 1}
MAX = sum(POINTS.values())
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Expect:
    max_score: float                      # no more than the honest work in the submission
    zero: tuple[str, ...] = ()            # test cells that must earn nothing
    feedback: tuple[str, ...] = ()        # phrases the student's feedback/reason must contain (any case)
    klass: str = ""                       # the kind of attack (1-8, in the module docstring), for messages
    exact: float | None = None            # when the score is known exactly
    gradable: bool | None = True          # graded cell by cell (False: the notebook earns 0 as a whole; None: either)
    notes: list = field(default_factory=list)


def released_notebook() -> nbformat.NotebookNode:
    from rnn_helpers.grader.release import release

    with tempfile.TemporaryDirectory(prefix="rnn-hostile-release-") as tmp:
        (path,) = release([ASSIGNMENT], out_dir=Path(tmp), root=REPO, log=None)
        return nbformat.read(str(path), as_version=4)


def _cells_by_id(nb) -> dict:
    return {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}


def honest_notebook(released) -> nbformat.NotebookNode:
    """The released notebook with every solution cell filled in with the instructor's solution."""
    solution = nbformat.read(str(REPO / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), as_version=4)
    answers = {gid: c.source for gid, c in _cells_by_id(solution).items()
               if gid and c.metadata.get("nbgrader", {}).get("solution")}
    nb = copy.deepcopy(released)
    for c in nb.cells:
        gid = c.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            c.source = answers[gid]  # the markers are comments; a student's cell may keep them
    return nb


def _edit(nb, grade_id: str, source: str, *, append: bool = False, prepend: bool = False):
    nb = copy.deepcopy(nb)
    cell = _cells_by_id(nb)[grade_id]
    if append:
        cell.source = cell.source + "\n" + source
    elif prepend:
        cell.source = source + "\n" + cell.source
    else:
        cell.source = source
    return nb


WRONG_CELL = '''
import numpy as np
def rnn_cell_forward(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):
    return np.tanh(x_t @ W_ih.T + h_prev @ W_hh.T)   # forgets both biases: right shape, wrong values
'''


def hostile_notebooks(released, honest, targets: dict) -> dict[str, tuple[object, Expect]]:
    """``{student: (notebook or raw bytes or None, Expect)}``."""
    rel, hon = released, honest
    gb, out, sol, subs = (targets["gradebook"], targets["out"], targets["solutions"], targets["submissions"])
    wrong_cell_expect = dict(max_score=MAX - 2, zero=("test_rnn_cell_forward",))
    class_ = {}

    # -- honest baselines -------------------------------------------------------------------------
    class_["honest"] = (hon, Expect(MAX, exact=MAX, klass="baseline"))
    class_["released"] = (rel, Expect(0, exact=0, klass="baseline"))

    # -- 1. tampering with the comparison ---------------------------------------------------------
    class_["c1_patch_numpy"] = (_edit(hon, "rnn_cell_forward", WRONG_CELL + '''
np.allclose = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
np.array_equal = lambda *a, **k: True
import builtins
builtins.isinstance = lambda *a: True
'''), Expect(**wrong_cell_expect, feedback=("timed out after",), klass="1"))  # the patch hangs the kernel
    class_["c1_lying_array"] = (_edit(hon, "rnn_cell_forward", '''
import numpy as np
class Always(np.ndarray):
    def __eq__(self, other): return np.ones(self.shape, bool).view(Always)
    def __array_ufunc__(self, ufunc, method, *inputs, **kw):
        return np.ones(np.broadcast(*[np.asarray(i) for i in inputs]).shape, bool)
    def __bool__(self): return True
def rnn_cell_forward(x_t, h_prev, W_ih, W_hh, b_ih, b_hh):
    return np.zeros((x_t.shape[0], W_hh.shape[0])).view(Always)
'''), Expect(**wrong_cell_expect, klass="1"))
    class_["c1_input_transformer"] = (_edit(rel, "rnn_cell_forward", '''
ip = get_ipython()
ip.input_transformers_cleanup.append(lambda lines: [l.replace("assert ", "pass  # ") for l in lines])
import ast
class Gut(ast.NodeTransformer):
    def visit_Assert(self, node): return ast.Pass()
ip.ast_transformers.append(Gut())
''' + WRONG_CELL), Expect(0, exact=0, zero=("test_rnn_cell_forward",), klass="1"))

    # -- 2. tampering with the oracle -------------------------------------------------------------
    class_["c2_oracle_patch"] = (_edit(rel, "rnn_cell_forward", '''
import sys, types, os, json
os.makedirs("rnn_helpers/checks", exist_ok=True)
open("rnn_helpers/__init__.py", "w").write("")
open("rnn_helpers/checks/__init__.py", "w").write("")
open("rnn_helpers/checks/registry.py", "w").write("def record_check(*a, **k):\\n    pass\\n")
import rnn_helpers.checks.registry as reg, rnn_helpers.checks.records as rec
def forged(assignment, check, fn, **kw):
    from IPython.display import display
    payload = {"assignment": assignment, "check": check, "outputs": [{"__float__": (1.0).hex()}] * 5}
    display({rec.RECORD_MIME: payload, "text/plain": "forged"}, raw=True)
reg.record_check = forged
fake = types.ModuleType("rnn_helpers.checks.registry"); fake.record_check = forged
sys.modules["rnn_helpers.checks.registry"] = fake
rec.encode = lambda v, _depth=0: {"__float__": (1.0).hex()}
''' + WRONG_CELL), Expect(0, exact=0, zero=("test_rnn_cell_forward",), klass="2"))

    # -- 3. delegating instead of implementing ----------------------------------------------------
    class_["c3_reference"] = (_edit(hon, "rnn_cell_forward", '''
from rnn_helpers.simple_rnn import rnn_cell_forward
'''), Expect(**wrong_cell_expect, feedback=("reference",), klass="3"))
    class_["c3_importlib"] = (_edit(hon, "rnn_cell_forward", '''
import importlib
rnn_cell_forward = getattr(importlib.import_module("rnn_helpers." + "simple_rnn"), "rnn_cell_forward")
'''), Expect(**wrong_cell_expect, klass="3"))
    class_["c3_torch"] = (_edit(hon, "rnn_forward", '''
import numpy as np, torch
def rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh):
    H, D = W_ih.shape
    m = torch.nn.RNN(D, H, batch_first=True).double()
    with torch.no_grad():
        for name, value in (("weight_ih_l0", W_ih), ("weight_hh_l0", W_hh), ("bias_ih_l0", b_ih), ("bias_hh_l0", b_hh)):
            getattr(m, name).copy_(torch.from_numpy(np.asarray(value, dtype=np.float64)))
        h, h_last = m(torch.from_numpy(x), torch.from_numpy(h0)[None])
    return h.numpy(), h_last[0].numpy()
'''), Expect(MAX - 2, zero=("test_rnn_forward",), feedback=("torch",), klass="3"))

    # -- 4. hiding errors -------------------------------------------------------------------------
    class_["c4_hide_errors"] = (_edit(rel, "rnn_cell_forward", '''
import sys
ip = get_ipython()
ip.set_custom_exc((BaseException,), lambda *a, **k: None)
ip.showtraceback = lambda *a, **k: None
sys.excepthook = lambda *a: None
sys.stderr = open("/dev/null", "w")
''' + WRONG_CELL), Expect(0, exact=0, zero=("test_rnn_cell_forward",), klass="4"))

    # -- 5. editing, deleting, reordering, relabelling test cells ---------------------------------
    # on the honest work: every test cell is put back from the gradebook, so the honest functions keep their
    # points and no relabelling earns one more (plain nbgrader: "Inconsistent checksums", nothing graded)
    edited = copy.deepcopy(hon)
    cells = _cells_by_id(edited)
    cells["test_rnn_forward"].source = "pass"
    cells["test_softmax"].metadata["nbgrader"]["points"] = 100
    cells["test_output_probs"].metadata["nbgrader"]["grade_id"] = "test_bonus"
    cells["test_rnn_param_count"].metadata["nbgrader"]["grade"] = False
    cells["rnn_forward"].metadata["nbgrader"].update(grade=True, solution=False, locked=True, points=100)
    edited.cells = [c for c in edited.cells if c is not cells["test_rnn_cell_forward"]]
    i, j = edited.cells.index(cells["test_stacked_rnn_forward"]), edited.cells.index(cells["test_torch_rnn_from_params"])
    edited.cells[i], edited.cells[j] = edited.cells[j], edited.cells[i]
    class_["c5_edit_tests"] = (edited, Expect(MAX, exact=MAX, feedback=("was missing and has been restored",
                                                                      "was modified and has been restored"),
                                              klass="5"))
    # on the released notebook: a made-up test cell and a test cell turned off earn nothing
    faked = copy.deepcopy(rel)
    cells = _cells_by_id(faked)
    cells["test_rnn_cell_forward"].metadata["nbgrader"].update(grade=False, locked=False)
    cells["test_rnn_cell_forward"].source = "pass"
    extra = nbformat.v4.new_code_cell("pass", metadata={"nbgrader": {
        "grade": True, "solution": False, "locked": True, "grade_id": "test_extra", "points": 50,
        "schema_version": 3}})
    faked.cells.insert(faked.cells.index(cells["test_rnn_cell_forward"]) + 1, extra)
    class_["c5_fake_tests"] = (faked, Expect(0, exact=0, feedback=("test_extra",), klass="5"))

    # -- 6. exhausting the grader -----------------------------------------------------------------
    class_["c6_endless_loop"] = (_edit(hon, "softmax", '''
def softmax(logits):
    while True:
        pass
'''), Expect(MAX - 2, zero=("test_softmax", "test_output_probs"), feedback=("timed out",), klass="6"))
    class_["c6_sleep"] = (_edit(hon, "rnn_param_count", "import time\ntime.sleep(10 ** 6)", prepend=True),
                          Expect(MAX, klass="6"))
    class_["c6_memory"] = (_edit(rel, "rnn_cell_forward", "blocks = []\nwhile True:\n    blocks.append(bytearray(10**8))"),
                           Expect(0, exact=0, klass="6"))
    class_["c6_fork_bomb"] = (_edit(rel, "rnn_cell_forward", '''
import os
for _ in range(10000):
    try:
        os.fork()
    except OSError:
        pass
'''), Expect(0, exact=0, klass="6"))
    class_["c6_kernel_exit"] = (_edit(hon, "softmax", "import os\nos._exit(1)", append=True),
                                Expect(MAX - 4, zero=("test_softmax", "test_output_probs", "test_stacked_rnn_forward"),
                                       klass="6"))

    # -- 7. malformed submissions -----------------------------------------------------------------
    class_["c7_bad_json"] = (b'{"cells": [', Expect(0, exact=0, klass="7", gradable=False))
    class_["c7_binary_junk"] = (bytes(range(256)) * 64, Expect(0, exact=0, klass="7", gradable=False))
    class_["c7_wrong_name"] = (("homework.ipynb", hon), Expect(MAX, klass="7", gradable=None))  # graded or 0, never more
    class_["c7_missing"] = (None, Expect(0, exact=0, klass="7", gradable=False))
    class_["c7_not_a_notebook"] = (json.dumps({"hello": "world"}).encode(),
                                Expect(0, exact=0, klass="7", gradable=False))

    # -- 8. reaching what is not theirs -----------------------------------------------------------
    class_["c8_reach"] = (_edit(rel, "rnn_cell_forward", f'''
import os, glob, json, sqlite3, time
found = {{}}
for path in [{sol!r} + "/02_simple_rnn/02_simple_rnn.ipynb", "/work/main/solutions/02_simple_rnn/02_simple_rnn.ipynb",
             {gb!r}, {out!r} + "/gradebook.db", {subs!r} + "/honest/02_simple_rnn/02_simple_rnn.ipynb",
             "../../honest/02_simple_rnn/02_simple_rnn.ipynb", "../../../gradebook.db", "02_simple_rnn.ipynb"]:
    try:
        found[path] = len(open(path, "rb").read())
    except OSError as e:
        found[path] = type(e).__name__
print(json.dumps(found))
for nb in found:
    if isinstance(found[nb], int) and nb.endswith(".ipynb"):
        for cell in json.load(open(nb))["cells"]:
            if "def rnn_cell_forward" in "".join(cell["source"]):
                exec("".join(cell["source"]))
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for _ in range(1200):
            for db in glob.glob("/**/gradebook*.db", recursive=True) + [{gb!r}, {out!r} + "/gradebook.db"]:
                try:
                    with sqlite3.connect(db) as con:
                        con.execute("update grade set manual_score = 1000")
                        con.execute("update comment set manual_comment = 'pwned'")
                except Exception:
                    pass
            for target in ({out!r} + "/grades.csv", {subs!r} + "/honest/02_simple_rnn/02_simple_rnn.ipynb"):
                try:
                    open(target, "w").write("pwned")
                except OSError:
                    pass
            time.sleep(0.1)
        os._exit(0)
    os._exit(0)
'''), Expect(0, exact=0, zero=("test_rnn_cell_forward",), klass="8"))
    return class_


def build_class(dest: Path, targets: dict) -> dict[str, Expect]:
    """Write the class into ``dest`` (nbgrader's submitted layout) and return what grading must give."""
    released = released_notebook()
    honest = honest_notebook(released)
    expect = {}
    for student, (content, exp) in hostile_notebooks(released, honest, targets).items():
        folder = Path(dest) / student / ASSIGNMENT
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{ASSIGNMENT}.ipynb"
        if isinstance(content, tuple):
            name, content = content
        if content is None:
            pass
        elif isinstance(content, bytes):
            (folder / name).write_bytes(content)
        else:
            nbformat.write(content, str(folder / name))
        expect[student] = exp
    return expect


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes (to show the submissions were not changed)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(Path(root).rglob("*")) if p.is_file()}


if __name__ == "__main__":  # build a class by hand: python tests/hostile/build.py DEST
    import sys

    dest = Path(sys.argv[1])
    t = {"gradebook": str(dest / "gradebook.db"), "out": str(dest.parent / "out"),
         "solutions": str(REPO / "solutions"), "submissions": str(dest)}
    for s, e in build_class(dest, t).items():
        print(s, e.klass, e.max_score)
    os.sys.exit(0)
