"""scan_source: the grader's check, outside the kernel, of what a solution cell may not use."""
import pytest

from rnn_helpers.grader.source_check import scan_source

HONEST = '''
import numpy as np

def rnn_cell_forward(x_t, h_prev, W_ih, W_hh, b_ih, b_hh, *, nonlinearity="tanh"):
    """x_t (B, D), h_prev (B, H) -> h_next (B, H), cache."""
    a = x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh
    h_next = np.tanh(a) if nonlinearity == "tanh" else np.maximum(a, 0.0)
    cache = {"x_t": x_t, "h_prev": h_prev, "W_ih": W_ih, "W_hh": W_hh, "h_next": h_next}
    return h_next, cache

def grads(input, data):        # "input" is a fine parameter name
    total = sum(v.sum() for v in data.values())
    with open("scratch.txt") as fh:   # a plain relative file is allowed
        fh.read()
    return getattr(input, "shape"), total
'''


def test_honest_solution_has_no_findings():
    assert scan_source(HONEST, from_scratch=True) == []


def test_torch_modules_are_fine_outside_from_scratch_cells():
    src = "import torch\nrnn = torch.nn.RNN(3, 4, batch_first=True)\n"
    assert scan_source(src, from_scratch=False) == []
    assert any("torch.nn.RNN" in r for r in scan_source(src, from_scratch=True))


@pytest.mark.parametrize("src, expected", [
    ("from rnn_helpers.simple_rnn import rnn_cell_forward as f", "calls the reference: rnn_helpers.simple_rnn"),
    ("from rnn_helpers import gru\ngru.gru_forward", "calls the reference: rnn_helpers.gru"),
    ("import rnn_helpers as r\nr.lstm.lstm_forward(1)", "calls the reference: rnn_helpers.lstm"),
    ("import rnn_helpers.deep_rnn", "calls the reference: rnn_helpers.deep_rnn"),
    ("import rnn_helpers\nf = getattr(rnn_helpers, 'simple_rnn')", "calls the reference: rnn_helpers.simple_rnn"),
    ("import rnn_helpers\nf = getattr(rnn_helpers, 'simple' + '_rnn')", "looks up attributes by computed name (getattr)"),
    ("import importlib\nm = importlib.import_module('rnn_helpers.' + 'lstm')", "imports modules dynamically (importlib)"),
    ("m = __import__('rnn_helpers')", "imports modules dynamically (__import__)"),
    ("name = 'rnn_helpers.gru'", "names the reference in a string: rnn_helpers.gru"),
    ("e = eval\ne('1')", "runs code built at run time (eval)"),
    ("exec('x = 1')", "runs code built at run time (exec)"),
    ("c = compile('1', 'f', 'eval')", "compiles code at run time (compile)"),
])
def test_delegation_and_dynamic_code(src, expected):
    assert expected in scan_source(src, from_scratch=True)


@pytest.mark.parametrize("src", [
    "import torch\ntorch.nn.RNN(2, 3)", "import torch.nn as nn\nnn.GRU(2, 3)", "from torch import nn\nnn.LSTM(2, 3)",
    "from torch.nn import LSTMCell", "import torch\ncell = torch.nn.GRUCell(2, 3)", "import torch\ntorch._VF.lstm(1)",
    "from torch import _VF", "import torch\ntorch.rnn_tanh(1)", "import torch\ntorch.lstm_cell(1)",
    "import torch\ntorch.gru(1)", "import torch\nnn = torch.nn\nnn.RNN(2, 3)", "import torch\ntorch.ops.aten.lstm(1)",
])
def test_torch_recurrent_in_from_scratch_cells(src):
    found = scan_source(src, from_scratch=True)
    assert any("torch's built-in recurrent implementation" in r for r in found), found


@pytest.mark.parametrize("src, expected", [
    ("get_ipython().input_transformers_cleanup.append(f)", "installs an IPython input transformer"),
    ("ip = get_ipython()\nip.ast_transformers.append(t)", "installs an IPython AST transformer"),
    ("get_ipython().set_custom_exc((Exception,), h)", "installs an IPython custom exception handler"),
    ("ip = get_ipython()\nip.showtraceback = lambda *a, **k: None", "replaces IPython's traceback display"),
    ("get_ipython().register_magic_function(f)", "registers an IPython magic"),
    ("get_ipython().events.register('post_run_cell', f)", "registers an IPython event callback"),
    ("import sys\nsys.excepthook = h", "replaces sys.excepthook"),
    ("import sys\nsys.modules['rnn_helpers.simple_rnn'] = m", "touches sys.modules"),
    ("import sys\nsys.path.insert(0, '/work/main')", "changes the import path (sys.path)"),
    ("import builtins\nbuiltins.print = p", "patches builtins"),
    ("__builtins__.len = l", "patches builtins"),
    ("import numpy as np\nnp.allclose = lambda *a, **k: True", "patches numpy.allclose (assigns to a library's attribute)"),
    ("import numpy\nnumpy.testing.assert_allclose = f",
     "patches numpy.testing.assert_allclose (assigns to a library's attribute)"),
    ("import numpy as np\nsetattr(np, 'allclose', f)", "patches numpy (setattr)"),
    ("import os\nos.fork()", "starts processes (os.fork)"),
    ("import os\nos.system('sleep 100 &')", "runs shell commands (os.system)"),
    ("import os\nos.execv('/bin/sh', ['sh'])", "starts programs (os.exec*)"),
    ("import subprocess\nsubprocess.Popen(['sh'])", "starts processes (subprocess)"),
    ("from multiprocessing import Process", "starts processes (multiprocessing)"),
    ("import ctypes", "calls native code (ctypes)"),
    ("import sys\nsys.settrace(f)", "installs a trace hook (sys.settrace)"),
    ("import sys\nsys.setprofile(f)", "installs a profile hook (sys.setprofile)"),
    ("import signal\nsignal.signal(2, 1)", "handles signals (signal)"),
    ("open('/work/main/solutions/02_simple_rnn/02_simple_rnn.ipynb')",
     "opens a file outside the notebook's directory ('/work/main/solutions/02_simple_rnn/02_simple_rnn.ipynb')"),
    ("open('../other_student/02_simple_rnn.ipynb')",
     "opens a file outside the notebook's directory ('../other_student/02_simple_rnn.ipynb')"),
    ("open(path)", "opens a file whose path is computed at run time"),
    ("open('numpy.py', 'w')", "writes files (open for writing)"),
    ("class Liar(np.ndarray):\n    pass", "defines a subclass of np.ndarray (values that can lie about equality)"),
    ("class L:\n    def __eq__(self, other):\n        return True", "defines __eq__ (objects that can lie about comparisons)"),
    ("class L:\n    def __array_ufunc__(self, *a, **k):\n        return True",
     "defines __array_ufunc__ (objects that can lie about comparisons)"),
    ("%%capture\nx = 1", "uses IPython magics or shell commands (% or !)"),
    ("!rm -rf ~", "uses IPython magics or shell commands (% or !)"),
    ("import sys\nsys.exit(0)", "exits the kernel (sys.exit)"),
    ("import os\nos._exit(0)", "exits the kernel (os._exit)"),
    ("quit()", "exits the kernel (quit)"),
    ("from rnn_helpers.checks.records import emit", "reaches into the grading helpers (rnn_helpers.checks) from a solution cell"),
        ("from rnn_helpers.grader import pipeline", "reaches into the grading helpers (rnn_helpers.grader) from a solution cell"),
    ("def record_check(*a, **k):\n    pass", "defines a function named record_check (shadows the grading helpers)"),
])
def test_tampering_is_reported_in_plain_words(src, expected):
    assert expected in scan_source(src, from_scratch=False)


@pytest.mark.parametrize("src", ["def f(:\n    pass", "x = (", "\x00", "if True:\nreturn"])
def test_syntax_errors_are_a_reason_not_an_exception(src):
    found = scan_source(src, from_scratch=True)
    assert len(found) == 1 and found[0].startswith("does not parse"), found


def test_pathological_input_never_raises():
    deep = "x = " + "(" * 5000 + "1" + ")" * 5000
    assert scan_source(deep, from_scratch=True)  # too deep for the parser: reported, not raised
    assert scan_source(None, from_scratch=True) == ["cell source is not text (NoneType)"]
    assert scan_source("", from_scratch=True) == []


def test_the_scan_reports_every_module_the_stripped_build_removes():
    """The scan and the stripped build derive from one list (grader/reference_modules.py): whatever the kernel
    lacks, a solution cell that names it is told so; what the kernel keeps may be named."""
    from rnn_helpers.grader.stripped import grader_side, stripped_modules

    for module in stripped_modules():
        if grader_side(module):
            continue
        found = scan_source(f"import {module}", from_scratch=False)
        assert any(r.startswith("calls the reference: ") and module.startswith(r.split(": ")[1]) for r in found), \
            (module, found)
    for kept in ("rnn_helpers.datasets.adding", "rnn_helpers.figures.style", "rnn_helpers.datasets"):
        assert scan_source(f"import {kept}", from_scratch=True) == [], kept
    assert scan_source("from rnn_helpers import datasets\ndatasets.seq2seq.encode", from_scratch=False) == [
        "calls the reference: rnn_helpers.datasets.seq2seq"]


def test_docstrings_and_comments_may_name_anything():
    src = ('def rnn_param_count(D, H):\n    """Same count as torch.nn.RNN and rnn_helpers.simple_rnn."""\n'
           '    # torch._VF.rnn_tanh is what nn.RNN calls\n    return H * (D + H + 2)\n')
    assert scan_source(src, from_scratch=True) == []


@pytest.mark.parametrize("src", ["print(In[-2])", "x = _ih", "print(_i3)", "get_ipython().history_manager"])
def test_reading_the_input_history_is_reported(src):
    """The hidden tests' source reaches the kernel as executed cells; a later cell could print it."""
    assert "reads IPython's input/output history (the source of other cells)" in scan_source(src, from_scratch=False)


@pytest.mark.parametrize("src", [
    "import sys\nprint('debug', file=sys.stderr)",
    "import sys\nsys.stderr.write('debug\\n')\nsys.stderr.flush()",
    "import sys\nprint('x', file=sys.stdout)\nsys.stdout.write('y')",
    "from sys import stderr\nprint('debug', file=stderr)",
    "import sys as s\nlog = s.stderr\nprint('debug', file=log)",
    "import sys\nprint('raw', file=sys.__stderr__)",
])
def test_writing_to_the_standard_streams_is_honest(src):
    assert scan_source(src, from_scratch=True) == []


@pytest.mark.parametrize("src, expected", [
    ("import sys\nsys.stderr = open('/dev/null', 'w')", "redirects output (sys.stderr)"),
    ("import sys\nsys.stdout = None", "redirects output (sys.stdout)"),
    ("import sys\nsys.__stderr__ = x", "redirects output (sys.stderr)"),
    ("import sys\nsys.stderr.write = lambda *a: 0", "redirects output (sys.stderr)"),
    ("import sys\nsetattr(sys, 'stdout', x)", "redirects output (sys.stdout)"),
    ("import sys\ndel sys.stderr", "redirects output (sys.stderr)"),
    ("import sys\nsys.stderr.close()", "redirects output (sys.stderr)"),
    ("import sys as s\ns.stdout, s.stderr = a, b", "redirects output (sys.stderr)"),
    ("import sys\nsys.exit", "exits the kernel (sys.exit)"),
])
def test_changing_the_standard_streams_is_reported(src, expected):
    assert expected in scan_source(src, from_scratch=False)


def _solution_cells():
    """(assignment, grade_id, source, from_scratch) of every solution cell, from_scratch decided as the grader
    does: from the checks that the next test cell records."""
    import pathlib

    import nbformat

    from rnn_helpers.grader.record_calls import record_calls
    from rnn_helpers.checks.registry import checks_for

    root = pathlib.Path(__file__).resolve().parents[1] / "solutions"
    for path in sorted(root.glob("*/*.ipynb")):
        checks = checks_for(path.parent.name)
        pending = []
        for cell in nbformat.read(str(path), as_version=4).cells:
            meta = cell.metadata.get("nbgrader") or {}
            if cell.cell_type != "code":
                continue
            if meta.get("solution"):
                pending.append((meta["grade_id"], cell.source))
            elif meta.get("grade"):
                scratch = any(checks[c.check].from_scratch for c in record_calls(cell.source) if c.check in checks)
                for gid, source in pending:
                    yield path.parent.name, gid, source, scratch
                pending = []


def test_the_solutions_raise_no_findings():
    """The instructor's own solutions must pass the scan (else an honest student copying the idea loses)."""
    cells = list(_solution_cells())
    if not cells:
        pytest.skip("no solutions/ in this checkout")
    found = {f"{a}/{gid}": scan_source(src, from_scratch=fs) for a, gid, src, fs in cells}
    assert {k: v for k, v in found.items() if v} == {}


TORCH_IDIOM = '''
import torch
module = torch.nn.RNN(3, 4, batch_first=True)
for slot, value in [("weight_ih_l0", 1.0), ("bias_hh_l0", 0.0)]:
    getattr(module, slot).data.fill_(value)
'''


def test_computed_getattr_on_a_local_object_is_fine_where_torch_is_allowed():
    """The notebooks' own idiom for loading parameters into a torch module cost a student the cell before."""
    assert scan_source(TORCH_IDIOM, from_scratch=False) == []
    assert "looks up attributes by computed name (getattr)" in scan_source(TORCH_IDIOM, from_scratch=True)


@pytest.mark.parametrize("src", [
    "import torch\nf = getattr(torch, 'n' + 'n')",                 # a guarded module
    "import torch as t\nf = getattr(t, 'n' + 'n')",                # an alias of one
    "import torch\nf = getattr(torch.nn, 'R' + 'NN')",             # a module path
    "import rnn_helpers as r\nf = getattr(r, 'simple' + '_rnn')",
    "import numpy\nm = numpy\nf = getattr(m, 'e' + 'xp')",         # a module under a new name
])
def test_computed_getattr_on_modules_stays_flagged_where_torch_is_allowed(src):
    assert "looks up attributes by computed name (getattr)" in scan_source(src, from_scratch=False)


@pytest.mark.parametrize("source", ["%matplotlib inline", "%matplotlib", "%precision 3", "%timeit sum(range(3))",
                                    "%%time\nx = 1", "%config InlineBackend.figure_format = 'svg'"])
def test_the_magics_the_chapters_use_are_not_findings(source):
    assert scan_source(source, from_scratch=True) == []


@pytest.mark.parametrize("source", ["%time import importlib", "%%timeit\nimport subprocess", "!ls", "%run x.py",
                                    "%matplotlib inline; import importlib",
                                    "%config InlineBackend.figure_format = __import__('os').getcwd()"])
def test_timing_magics_still_scan_their_code_and_other_magics_are_findings(source):
    assert scan_source(source, from_scratch=True)
