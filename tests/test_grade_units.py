"""Fast tests of the grading command's parts: the decision on a test cell (the comparison itself is
test_comparison.py's), reading submissions, and wrong invocations (which must exit non-zero with one line and write
nothing). No kernel is started."""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
import zipfile

import pytest
from nbformat.notebooknode import from_dict

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "grading"
sys.path.insert(0, str(FIXTURES))
import fixture_course as fc  # noqa: E402

from rnn_helpers.grader import command  # noqa: E402
from rnn_helpers.checks.records import RECORD_MIME, run_cases  # noqa: E402
from rnn_helpers.grader.grading_store import CellResult, GradingStore  # noqa: E402
from rnn_helpers.grader.record_calls import DEFAULT_RTOL, TrustedSourceError, record_calls  # noqa: E402
from rnn_helpers.grader.reference_cache import ReferenceCache  # noqa: E402
from rnn_helpers.grader.verify_records import VerifyRecords  # noqa: E402
from rnn_helpers.grader.submissions import InvocationError, collect, extract_zip  # noqa: E402

TRUSTED = fc.TESTS["test_scale"]


def _record(fn, check="scale"):
    c = fc.checks_provider("ps1")[check]
    payload = {"assignment": "ps1", "check": check, "outputs": run_cases(fn, c.cases(), c.call)}
    return {"output_type": "display_data", "metadata": {}, "data": {RECORD_MIME: payload, "text/plain": "rec"}}


def _finds_nothing(source, *, from_scratch):
    return []


def _decide(outputs, *, trusted=TRUSTED, reply="ok", scanner=_finds_nothing, student_source="def scale(x, k): ..."):
    cell = from_dict({"cell_type": "code", "source": trusted, "outputs": outputs, "execution_count": 1,
                      "metadata": {"nbgrader": {"grade": True, "solution": False, "locked": True,
                                                "grade_id": "test_scale", "points": 2}}})
    sol = from_dict({"cell_type": "code", "source": student_source, "outputs": [], "execution_count": 1,
                     "metadata": {"nbgrader": {"grade": False, "solution": True, "locked": False, "grade_id": "scale"}}})
    nb = from_dict({"cells": [sol, cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    store = GradingStore()
    verify = VerifyRecords(store, ReferenceCache(fc.checks_provider), {"ps1": {"test_scale": trusted}},
                           {"ps1": {"test_scale"}}, "ps1", scanner, cell_timeout=30, enabled=True)
    resources = {"nbgrader": {"student": "s", "notebook": "ps1"}, "rnn_course": {"reply_status": {1: reply}}}
    verify.preprocess(nb, resources)
    return store.cells[("s", "ps1")]["test_scale"], nb.cells[1]


def _grade_of(cell):
    from nbgrader.utils import determine_grade

    return determine_grade(cell)[0]


def test_right_record_passes_and_nbgrader_agrees():
    result, cell = _decide([_record(lambda x, k: k * x)])
    assert result.passed and result.points == 2 and _grade_of(cell) == 2


def test_wrong_record_fails_with_the_check_case_and_tolerance():
    result, cell = _decide([_record(lambda x, k: k * x + 1e-3)])
    assert not result.passed and _grade_of(cell) == 0
    assert result.messages[0].startswith("scale: case 0 differs from the reference (max abs diff 0.001")
    assert "rtol=1e-07, atol=1e-09" in result.messages[0]


@pytest.mark.parametrize("junk", [
    {"output_type": "stream", "name": "stdout", "text": "All tests passed!\n"},
    {"output_type": "execute_result", "metadata": {}, "execution_count": 1, "data": {"text/plain": "2.0"}},
])
def test_kernel_output_cannot_fake_a_pass_without_a_matching_record(junk):
    result, cell = _decide([junk])
    assert not result.passed and "no record" in result.messages[0] and _grade_of(cell) == 0


def test_stderr_in_a_test_cell_does_not_cost_the_points():
    stderr = {"output_type": "stream", "name": "stderr", "text": "UserWarning: debug\n"}
    result, cell = _decide([stderr, _record(lambda x, k: k * x)])
    assert result.passed and _grade_of(cell) == 2


def test_a_raised_error_or_an_error_reply_fails_even_with_a_right_record():
    err = {"output_type": "error", "ename": "AssertionError", "evalue": "scale must keep the shape of x",
           "traceback": []}
    result, _ = _decide([_record(lambda x, k: k * x), err])
    assert not result.passed and result.messages == ["the test cell raised AssertionError: scale must keep the shape of x"]
    result, _ = _decide([_record(lambda x, k: k * x)], reply="error")
    assert not result.passed and "suppressed" in result.messages[0]


def test_a_timeout_is_reported_as_such_not_as_the_interrupt_that_ended_it():
    interrupt = {"output_type": "error", "ename": "KeyboardInterrupt", "evalue": "", "traceback": []}
    timeout = {"output_type": "error", "ename": "CellTimeoutError", "evalue": "", "traceback": []}
    result, cell = _decide([interrupt, timeout], reply="error")
    assert not result.passed and result.messages == ["timed out after 30 s"] and _grade_of(cell) == 0
    timeout["evalue"] = "timed out after 7 s"  # the sandbox (or KeepGoingMixin) says which limit applied
    assert _decide([timeout], reply="error")[0].messages == ["timed out after 7 s"]


def test_malformed_record_and_record_for_another_assignment_fail():
    rec = _record(lambda x, k: k * x)
    rec["data"][RECORD_MIME]["outputs"] = [{"__ndarray__": "!!", "dtype": "<f8", "shape": [2]}] * 2
    result, _ = _decide([rec])
    assert "malformed record" in result.messages[0]
    rec = _record(lambda x, k: k * x)
    rec["data"][RECORD_MIME]["assignment"] = "other"
    assert "malformed record" in _decide([rec])[0].messages[0]


def test_tolerance_comes_from_the_trusted_source():
    loose = TRUSTED.replace("rtol=1e-7, atol=1e-9", "rtol=1e-7, atol=1e-2")
    assert _decide([_record(lambda x, k: k * x + 1e-3)], trusted=loose)[0].passed


def test_source_scanner_findings_zero_the_cell():
    calls = []

    def scanner(source, *, from_scratch):
        calls.append((source, from_scratch))
        return ["called the reference fixture_course.reference_scale"]

    result, cell = _decide([_record(lambda x, k: k * x)], scanner=scanner)
    assert not result.passed and result.messages == ["called the reference fixture_course.reference_scale"]
    assert calls == [("def scale(x, k): ...", True)]  # the student's cell, not the trusted test cell


def test_record_calls_reads_literal_arguments_and_refuses_others():
    calls = record_calls(fc.TESTS["test_affine"])
    assert [(c.check, c.rtol, c.atol) for c in calls] == [("affine", 1e-6, 1e-8), ("affine_first_row", 1e-6, 1e-8)]
    assert record_calls("record_check('a', 'b', f)")[0].rtol == DEFAULT_RTOL
    with pytest.raises(TrustedSourceError):
        record_calls("record_check('a', name, f, rtol=1e-7, atol=0)")


def test_zip_slip_symlinks_and_non_notebooks_are_not_extracted(tmp_path):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../evil.ipynb", "{}")
        zf.writestr("/abs/evil2.ipynb", "{}")
        zf.writestr("s1/ps1/ps1.ipynb", "{}")
        zf.writestr("s1/ps1/run.py", "print('x')")
        link = zipfile.ZipInfo("s1/ps1/link.ipynb")
        link.external_attr = (0o120777 << 16)
        zf.writestr(link, "/etc/passwd")
    dest = tmp_path / "x" / "out"
    extract_zip(archive, dest)
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()) == ["s1/ps1/ps1.ipynb"]
    assert not (tmp_path / "x" / "evil.ipynb").exists()


def test_collect_finds_notebooks_under_wrapper_folders_and_reports_problems(tmp_path):
    base = tmp_path / "class" / "submitted"
    (base / "ann" / "ps1").mkdir(parents=True)
    (base / "ann" / "ps1" / "ps1.ipynb").write_text(json.dumps(fc.source_notebook()))
    (base / "bob" / "ps1").mkdir(parents=True)
    (base / "bob" / "ps1" / "ps1.ipynb").write_text("[1, 2]")
    (base / "c d").mkdir()
    students = collect(tmp_path / "class", "ps1", ["ps1"], tmp_path / "copy")
    by_id = {s.student_id: s for s in students}
    assert sorted(by_id) == ["ann", "bob", "c_d"]
    assert "ps1" in by_id["ann"].notebooks and not by_id["ann"].problems
    assert "not a notebook" in by_id["bob"].problems["ps1"]
    assert "no notebook" in by_id["c_d"].problems["ps1"] and by_id["c_d"].notes


def test_a_wrapper_folder_next_to_a_loose_file_is_still_a_wrapper(tmp_path):
    base = tmp_path / "class"
    for sid in ("ann", "bob"):
        (base / "submitted" / sid / "ps1").mkdir(parents=True)
        (base / "submitted" / sid / "ps1" / "ps1.ipynb").write_text(json.dumps(fc.source_notebook()))
    (base / "export_info.txt").write_text("exported by the LMS")
    students = collect(base, "ps1", ["ps1"], tmp_path / "copy")
    assert sorted(s.student_id for s in students) == ["ann", "bob"]


def test_a_wrapper_of_lms_folders_holding_the_notebook_directly_is_descended(tmp_path):
    base = tmp_path / "class" / "PS1-export"
    for sid in ("Ann Lee_1_assignsubmission_file_", "Bob Ray_2_assignsubmission_file_"):
        (base / sid).mkdir(parents=True)
        (base / sid / "ps1.ipynb").write_text(json.dumps(fc.source_notebook()))
    students = collect(tmp_path / "class", "ps1", ["ps1"], tmp_path / "copy")
    assert len(students) == 2 and all("ps1" in s.notebooks for s in students)


def test_submissions_of_another_assignment_are_a_wrong_invocation(tmp_path):
    for sid in ("ann", "bob"):
        (tmp_path / "subs" / sid / "02_simple_rnn").mkdir(parents=True)
        (tmp_path / "subs" / sid / "02_simple_rnn" / "02_simple_rnn.ipynb").write_text(
            json.dumps(fc.source_notebook()))
    with pytest.raises(InvocationError, match="02_simple_rnn"):
        collect(tmp_path / "subs", "03_bptt", ["03_bptt"], tmp_path / "copy")


def test_saved_outputs_do_not_make_a_notebook_too_large(tmp_path):
    nb = fc.source_notebook()
    code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    code["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "y" * (21 * 1024 * 1024)}]
    (tmp_path / "subs" / "ann" / "ps1").mkdir(parents=True)
    (tmp_path / "subs" / "ann" / "ps1" / "ps1.ipynb").write_text(json.dumps(nb))
    (ann,) = collect(tmp_path / "subs", "ps1", ["ps1"], tmp_path / "copy")
    assert "ps1" in ann.notebooks and not ann.problems


def _args(tmp_path, assignment="02_simple_rnn", submissions=None, out=None):
    """The command line's arguments, parsed by the command's own parser (every option at its default)."""
    parser = argparse.ArgumentParser()
    command.configure(parser)
    return parser.parse_args([assignment, str(submissions or tmp_path / "subs"), "--out", str(out or tmp_path / "out"),
                              "--unsafe"])


@pytest.mark.parametrize("case", ["unknown assignment", "missing folder", "empty folder", "out is a file",
                                  "not a zip"])
def test_wrong_invocations_exit_nonzero_with_one_line_and_write_nothing(tmp_path, capsys, monkeypatch, case):
    from rnn_helpers.grader import grade_worker

    started = []  # the workers that --jobs 2 prestarts
    spawn = grade_worker._spawn
    monkeypatch.setattr(grade_worker, "_spawn", lambda env: started.append(spawn(env)) or started[-1])
    (tmp_path / "subs").mkdir()
    args = _args(tmp_path)
    args.jobs = 2
    if case == "unknown assignment":
        args.assignment = "07_transformers"
        (tmp_path / "subs" / "ann" / "x").mkdir(parents=True)
    elif case == "missing folder":
        args.submissions = tmp_path / "nope"
    elif case == "out is a file":
        (tmp_path / "subs" / "ann" / "02_simple_rnn").mkdir(parents=True)
        args.out.write_text("keep me")
    elif case == "not a zip":
        args.submissions = tmp_path / "class.zip"
        args.submissions.write_bytes(b"PK junk")
    if case != "unknown assignment" and command.source_root() is None:
        pytest.skip("solutions/ is not in this checkout")
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    code = command.run(args)
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0
    assert len(err) == 1 and err[0].startswith("rnn-course grade: error:")
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before
    if case == "out is a file":
        assert args.out.read_text() == "keep me"
    # a known assignment gets as far as prestarting the workers; the wrong invocation ends them, none is left
    assert len(started) == (0 if case == "unknown assignment" else 1)
    assert all(proc.poll() is not None for proc in started)


def test_refuses_without_sandbox_unless_unsafe(tmp_path, monkeypatch, capsys):
    from rnn_helpers.grader import pipeline

    monkeypatch.setattr(pipeline, "sandbox_status", lambda: (False, "needs root (test)"))
    (tmp_path / "subs" / "ann" / "ps1").mkdir(parents=True)
    fc.write_source_tree(tmp_path)
    with pytest.raises(InvocationError, match="--unsafe"):
        pipeline.grade("ps1", tmp_path / "subs", tmp_path / "out", source_root=tmp_path,
                       checks_provider=fc.checks_provider, unsafe=False)
    assert not (tmp_path / "out").exists()


def test_the_not_root_refusal_gives_its_advice_once(tmp_path, monkeypatch):
    from rnn_helpers.grader import pipeline
    from rnn_helpers.grader.sandbox import NEEDS_ROOT

    monkeypatch.setattr(pipeline, "sandbox_status", lambda: (False, NEEDS_ROOT))
    (tmp_path / "subs" / "ann" / "ps1").mkdir(parents=True)
    fc.write_source_tree(tmp_path)
    with pytest.raises(InvocationError) as err:
        pipeline.grade("ps1", tmp_path / "subs", tmp_path / "out", source_root=tmp_path,
                       checks_provider=fc.checks_provider, unsafe=False)
    assert str(err.value).count("--unsafe") == 1, str(err.value)


REPO = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("module, flags", [
    ("rnn_helpers.grader.source_check", ["--unsafe"]),
    ("rnn_helpers.grader.source_check", []),
    ("rnn_helpers.grader.sandbox", ["--unsafe"]),
    ("rnn_helpers.grader.sandbox", []),
    ("rnn_helpers.grader.sandbox_kernel", []),
])
def test_grading_stops_with_one_line_when_a_protection_cannot_be_imported(tmp_path, module, flags):
    """``rnn-course grade`` with the source scan's or the sandbox's import broken (``None`` in ``sys.modules``
    makes ``import`` raise ImportError) exits non-zero, says in one line what is missing, writes nothing."""
    import subprocess

    from rnn_helpers.grader.pipeline import sandbox_status

    if not (REPO / "solutions" / "02_simple_rnn" / "02_simple_rnn.ipynb").exists():
        pytest.skip("solutions/02_simple_rnn is not in this checkout")
    if module.endswith("sandbox_kernel") and not sandbox_status()[0]:
        pytest.skip(f"the sandbox's kernel classes are loaded only where it works: {sandbox_status()[1]}")
    subs, out = tmp_path / "subs", tmp_path / "out"
    (subs / "ann" / "02_simple_rnn").mkdir(parents=True)
    break_import = (f"import sys; sys.modules[{module!r}] = None; "
                    "from rnn_helpers.grader.cli import main; sys.exit(main(sys.argv[1:]))")
    proc = subprocess.run([sys.executable, "-c", break_import, "grade", "02_simple_rnn", str(subs), "--out", str(out),
                           "--source-root", str(REPO), *flags], capture_output=True, text=True, cwd=tmp_path,
                          timeout=300)
    err = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert len(err) == 1 and err[0].startswith("rnn-course grade: error: cannot grade without"), proc.stderr[-2000:]
    assert f"{module} cannot be imported" in err[0]
    assert not out.exists() and proc.stdout == ""


def test_regrading_into_the_same_out_drops_this_assignments_stale_feedback(tmp_path):
    from rnn_helpers.grader.pipeline import _remove_stale_feedback

    fb = tmp_path / "out" / "feedback"
    for sid, assignment in [("gone", "ps1"), ("kept", "ps1"), ("kept", "ps2"), ("other", "ps2")]:
        (fb / sid / assignment).mkdir(parents=True)
        (fb / sid / assignment / "ps.html").write_text("old")
    _remove_stale_feedback(fb, "ps1")
    assert sorted(str(p.relative_to(fb)) for p in fb.rglob("*.html")) == ["kept/ps2/ps.html", "other/ps2/ps.html"]
    assert not (fb / "gone").exists()


def test_printing_to_stderr_is_not_a_source_check_finding():
    from rnn_helpers.grader.source_check import scan_source as scan

    assert scan("import sys\ndef f(x):\n    print('debug', file=sys.stderr)\n    return x\n", from_scratch=True) == []
    assert scan(fc.STDERR["shout"], from_scratch=True) == []  # the fixture's honest, chatty student
    assert scan("import sys\nsys.stderr = open('log.txt', 'w')\n", from_scratch=True)  # redirecting still is


def test_db_url_uses_that_gradebook_and_a_student_without_notebook_gets_zero(tmp_path):
    from nbgrader.api import Gradebook

    from rnn_helpers.grader.pipeline import grade

    fc.write_source_tree(tmp_path)
    (tmp_path / "subs" / "ann" / "ps1").mkdir(parents=True)
    url = f"sqlite:///{tmp_path / 'class.db'}"
    run = grade("ps1", tmp_path / "subs", tmp_path / "out", source_root=tmp_path, checks_provider=fc.checks_provider,
                db_url=url, unsafe=True, echo=lambda line: None)
    assert [s.score for s in run.students] == [0.0]
    assert not (tmp_path / "out" / "gradebook.db").exists()
    with Gradebook(url) as gb:
        assert gb.find_submission("ps1", "ann").score == 0
        assert gb.find_assignment("ps1").max_score == fc.MAX_SCORE
    assert (tmp_path / "out" / "feedback" / "ann" / "ps1" / "ps1.html").exists()


def test_debug_mode_gives_nbgraders_logs_a_handler(monkeypatch):
    """nbgrader logs to "traitlets", which has only a NullHandler: RNN_GRADE_DEBUG=1 showed nothing before."""
    import logging

    from rnn_helpers.grader.pipeline import _quiet_logs

    logger = logging.getLogger("traitlets")
    saved = (logger.level, list(logger.handlers))
    try:
        monkeypatch.setenv("RNN_GRADE_DEBUG", "1")
        _quiet_logs()
        _quiet_logs()                                     # twice: still one handler of ours
        ours = [h for h in logger.handlers if getattr(h, "_rnn_debug", False)]
        assert len(ours) == 1 and isinstance(ours[0], logging.StreamHandler)
        assert logger.isEnabledFor(logging.INFO)
    finally:
        logger.setLevel(saved[0])
        logger.handlers[:] = saved[1]


def test_grades_csv_maps_each_row_back_to_its_folder_and_keeps_the_notes(tmp_path):
    import csv

    from rnn_helpers.grader.pipeline import NotebookResult, StudentResult
    from rnn_helpers.grader.grades_csv import write_csv

    cell = CellResult("test_a", 1.0, 1.0, True)
    res = StudentResult("jo_smith", "ps1", [NotebookResult("ps1", [cell], notes=["extra.ipynb ignored"])],
                        notes=["folder 'jo smith' graded as jo_smith"], folder="jo smith")
    write_csv(tmp_path / "grades.csv", [res], {"ps1": [{"name": "test_a"}]})
    (row,) = csv.DictReader(open(tmp_path / "grades.csv", encoding="utf-8"))
    assert row["student_id"] == "jo_smith" and row["folder"] == "jo smith"
    assert row["notes"] == "folder 'jo smith' graded as jo_smith | extra.ipynb ignored"
    assert row["test_a"] == "1"


def test_the_working_directorys_checkout_comes_before_the_installed_one(tmp_path, monkeypatch):
    """From a second checkout, release and grade used the checkout the environment was installed from."""
    from rnn_helpers.grader.release import find_course_root

    (tmp_path / "solutions").mkdir()
    (tmp_path / "nbgrader_config.py").write_text("")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert find_course_root() == tmp_path.resolve()
    assert command.source_root() == tmp_path.resolve()


def test_under_sudo_out_is_handed_back_to_the_instructor(tmp_path, monkeypatch):
    out = tmp_path / "out"
    (out / "feedback" / "ann").mkdir(parents=True)
    (out / "grades.csv").write_text("x")
    (out / "link").symlink_to(out / "grades.csv")
    calls = []
    monkeypatch.setattr(command.os, "chown", lambda path, uid, gid: calls.append((pathlib.Path(path), uid, gid)))
    monkeypatch.setattr(command.os, "geteuid", lambda: 0)
    monkeypatch.setenv("SUDO_UID", "1234")
    monkeypatch.setenv("SUDO_GID", "99")
    command.give_to_sudo_user(out)
    assert sorted(p.name for p, _, _ in calls) == ["ann", "feedback", "grades.csv", "out"]   # not the symlink
    assert {(uid, gid) for _, uid, gid in calls} == {(1234, 99)}
    calls.clear()
    monkeypatch.delenv("SUDO_UID")
    command.give_to_sudo_user(out)
    assert calls == []


def test_ctrl_c_is_one_line_and_exit_130(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(command, "_run", interrupted)
    assert command.run(argparse.Namespace()) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "interrupted" in err[0]


def test_numbered_resubmissions_grade_the_highest_copy_once(tmp_path):
    folder = tmp_path / "subs" / "pat" / "ps1"
    folder.mkdir(parents=True)
    for name in ("ps1-1.ipynb", "ps1-2.ipynb"):
        (folder / name).write_text(json.dumps(fc.source_notebook()))
    (pat,) = collect(tmp_path / "subs", "ps1", ["ps1"], tmp_path / "copy")
    assert "ps1" in pat.notebooks and not pat.problems
    notes = " ".join(pat.notes)
    assert "graded ps1/ps1-2.ipynb" in notes and "not ps1/ps1-1.ipynb" in notes and "ignored extra" not in notes


def test_notebooks_named_in_a_problem_are_not_listed_again_as_extras(tmp_path):
    folder = tmp_path / "subs" / "sam" / "ps1"
    folder.mkdir(parents=True)
    for name in ("draft.ipynb", "final.ipynb"):
        (folder / name).write_text(json.dumps(fc.source_notebook()))
    (sam,) = collect(tmp_path / "subs", "ps1", ["ps1"], tmp_path / "copy")
    assert "draft.ipynb" in sam.problems["ps1"] and not any("ignored extra" in n for n in sam.notes)


def test_feedback_keeps_tex_as_written_and_drops_links_into_the_repository():
    from rnn_helpers.grader.feedback import _markdown

    page = _markdown("See [the chapter](../../book/05_lstm.md), [PyTorch](https://pytorch.org).\n\n"
                     "$$\n\\begin{aligned} a &= b \\\\ c &= d \\end{aligned}\n$$\n\nand $h_t$ <b>raw</b>")
    assert "\\begin{aligned} a &amp;= b \\\\ c &amp;= d \\end{aligned}" in page     # both backslashes kept
    assert "../../book" not in page and '<span class="link">the chapter</span>' in page
    assert '<a href="https://pytorch.org">PyTorch</a>' in page
    assert "<b>" not in page and "&lt;b&gt;" in page                                # raw HTML stays text


def test_a_single_notebook_under_another_name_is_graded_with_a_note(tmp_path):
    folder = tmp_path / "subs" / "eve" / "ps1"
    folder.mkdir(parents=True)
    (folder / "my_homework.ipynb").write_text(json.dumps(fc.source_notebook()))
    (eve,) = collect(tmp_path / "subs", "ps1", ["ps1"], tmp_path / "copy")
    assert "ps1" in eve.notebooks and not eve.problems
    assert any("graded the only notebook found, ps1/my_homework.ipynb" in n and "wrong file name" in n
               for n in eve.notes), eve.notes


# ----------------------------------------------------------------------------- computed once, for --jobs' workers


def _never_asked(assignment):
    raise AssertionError("the loaded cache asked for a check: it computed again what it was given")


def test_a_cache_that_loads_what_another_computed_never_computes_it_again():
    import pickle

    computing = ReferenceCache(fc.checks_provider)
    known = pickle.loads(pickle.dumps(computing.computed("ps1")))  # as a --jobs worker gets it: pickled
    assert sorted(known) == sorted(fc.checks_provider("ps1"))
    loaded = ReferenceCache(_never_asked)
    loaded.load("ps1", known)
    for name in fc.checks_provider("ps1"):
        assert repr(loaded.outputs("ps1", name)) == repr(computing.outputs("ps1", name))


def test_a_check_whose_reference_raises_is_left_for_the_loader_to_fail_on():
    import dataclasses

    checks = dict(fc.checks_provider("ps1"))
    checks["scale"] = dataclasses.replace(checks["scale"], reference="fixture_course:no_such_reference")
    known = ReferenceCache(lambda assignment: checks).computed("ps1")
    assert "scale" not in known and "affine" in known
    loaded = ReferenceCache(lambda assignment: checks)
    loaded.load("ps1", known)
    with pytest.raises(AttributeError, match="no_such_reference"):  # as the computing cache fails on it
        loaded.outputs("ps1", "scale")
