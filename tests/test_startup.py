"""What an ``rnn-course`` process does at its start and at its end. ``import nbformat`` drags in rfc3987_syntax
(a Lark grammar built at import, ~2 s of CPU); grading processes leave it out (rnn_helpers/grader/startup.py) and
validate notebooks exactly as before. Each of those checks runs in a fresh interpreter, since the point is what an
import does the first time. At its end the command leaves its objects to the exit (rnn_helpers/grader/cli.py)."""
from __future__ import annotations

import json
import subprocess
import sys

VALIDATE = """
import json, sys
import nbformat
from nbformat.validator import ValidationError
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
nbformat.validate(nb)
bad = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
bad.cells[0]["outputs"] = "not a list"
try:
    nbformat.validate(bad)
    refused = False
except ValidationError:
    refused = True
print(json.dumps({"loaded": sys.modules.get("rfc3987_syntax") is not None, "refused": refused}))
"""


def _run(prefix: str) -> dict:
    proc = subprocess.run([sys.executable, "-I", "-c", prefix + VALIDATE], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_nbformat_imports_rfc3987_syntax_unless_told_not_to():
    assert _run("") == {"loaded": True, "refused": True}


def test_without_it_notebooks_are_validated_as_before():
    skip = "from rnn_helpers.grader.startup import skip_slow_optional_imports; skip_slow_optional_imports()\n"
    assert _run(skip) == {"loaded": False, "refused": True}


def test_the_rnn_course_command_skips_it_before_its_subcommand_runs():
    probe = ("import sys\nfrom rnn_helpers.grader import cli\n"
             "try:\n    cli.main(['grade', '--help'])\nexcept SystemExit:\n    pass\n")
    assert _run(probe)["loaded"] is False


def test_the_rnn_course_command_leaves_its_objects_to_the_exit(monkeypatch, tmp_path):
    """The ``rnn-course`` command (``main()``, as its console script calls it) freezes the collector's objects
    before its process ends (no last collection over torch's and nbgrader's objects); a caller's
    ``main([...])``, a test's or a notebook's, goes on living and keeps its collector as it was."""
    import gc

    from rnn_helpers.grader import cli

    frozen = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(True))
    args = ["grade", "no_such_assignment", str(tmp_path), "--out", str(tmp_path / "out")]
    assert cli.main(args) == 2  # an unknown assignment: the command's error, and its exit code
    assert frozen == []
    monkeypatch.setattr(sys, "argv", ["rnn-course", *args])
    assert cli.main() == 2
    assert frozen == [True]
