"""Reading LMS exports (issue 12): each layout recognised by itself, its students' ids, names, late flags and times
kept, the latest attempt graded, mixed or unknown exports refused with what was seen. No kernel is started.

Every export is built in ``tmp_path`` by the helpers below, each named as its LMS names its files; the docstring
of each helper says where that naming is published. The notebooks are the fixture assignment's source notebook
(``tests/fixtures/grading``), submitted under the real assignment name ``02_simple_rnn``.
"""
from __future__ import annotations

import csv
import hashlib
import json
import pathlib
import sys
import zipfile

import pytest

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "grading"
sys.path.insert(0, str(FIXTURES))
import fixture_course as fc  # noqa: E402

from rnn_helpers.grader.submissions import InvocationError, collect, collect_from  # noqa: E402

A = "02_simple_rnn"
NOTEBOOK = json.dumps(fc.source_notebook())


def _put(path: pathlib.Path, text: str = NOTEBOOK) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _hash(root: pathlib.Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _by_id(students):
    return {s.student_id: s for s in students}


def _collect(root, tmp_path, **kw):
    return _by_id(collect(root, A, [A], tmp_path / "copy", **kw))


# ----------------------------------------------------------------------------- the exports, as each LMS names them


def canvas_export(root: pathlib.Path) -> pathlib.Path:
    """Canvas's "Download Submissions": flat files ``<lastfirst>[_LATE]_<user id>_<attachment id>_<display name>``
    (instructure/canvas-lms ``lib/content_zipper.rb``: ``get_filename``, ``add_upload_submission``; a file uploaded
    again under the same name gets ``-1``; a text entry is ``..._<user id>_text.html``)."""
    _put(root / f"doejane_12345_678901_{A}.ipynb")
    _put(root / f"roerichard_LATE_23456_678902_{A}.ipynb")
    _put(root / f"smithann_34567_678903_{A}.ipynb")
    _put(root / f"smithann_34567_678950_{A}-1.ipynb")          # Ann uploaded it again: the later upload
    _put(root / "leebo_45678_text.html", "<p>I could not upload it</p>")
    return root


def moodle_export(root: pathlib.Path) -> pathlib.Path:
    """Moodle's "Download all submissions" in folders (moodle/moodle ``mod/assign/locallib.php``,
    ``load_submissionplugin_filelist``): ``<full name>_<participant id>_assignsubmission_file_/`` (Moodle 3.x;
    ``..._file/`` in Moodle 4), anonymous submissions named ``Participant``, online text in its own plugin folder."""
    _put(root / "Jane Doe_20003_assignsubmission_file_" / f"{A}.ipynb")
    _put(root / "Richard Roe_20004_assignsubmission_file" / "work" / f"{A}.ipynb")   # Moodle 4, a sub-folder
    _put(root / "Participant_20005_assignsubmission_file_" / f"{A}.ipynb")
    _put(root / "Bo Lee_20006_assignsubmission_onlinetext_" / "onlinetext.html", "<p>see attached</p>")
    return root


def moodle_flat_export(root: pathlib.Path) -> pathlib.Path:
    """Moodle without "Download submissions in folders" (the layout before 3.1): flat
    ``<full name>_<participant id>_assignsubmission_file_<file name>``."""
    _put(root / f"Jane Doe_20003_assignsubmission_file_{A}.ipynb")
    _put(root / f"Richard Roe_20004_assignsubmission_file_{A}.ipynb")
    return root


RECEIPT = """Name: {name} ({user})
Assignment: 02 Simple RNN
Date Submitted: Sunday, November 30, 2026 2:05:11 PM CET
Current Grade: Needs Grading

Submission Field:
There is no student submission text data for this assignment.

Comments:
There are no student comments for this assignment.

Files:
\tOriginal filename: {original}
\tFilename: {stored}
"""


def blackboard_export(root: pathlib.Path) -> pathlib.Path:
    """Blackboard's "Download Assignment", nbgrader's ``zip_collect`` convention
    (jupyter/nbgrader ``docs/source/user_guide/managing_assignment_files_manually.ipynb`` and its example zip
    ``ps1_bitdiddle_attempt_2016-01-30-15-30-10_problem1.ipynb``): ``<assignment>_<username>_attempt_<YYYY-MM-DD-
    HH-MM-SS>_<file>``, and the ``.txt`` receipt Blackboard writes per attempt (``Name: First Last (username)``,
    ``Original filename:`` / ``Filename:``)."""
    for user, name, stamp, original in [("jdoe", "Jane Doe", "2026-11-30-14-05-11", f"{A}.ipynb"),
                                        ("rroe", "Richard Roe", "2026-11-29-09-00-00", f"{A}.ipynb"),
                                        ("rroe", "Richard Roe", "2026-11-30-23-59-58", f"{A} (2).ipynb")]:
        stored_file = f"{A}_{user}_attempt_{stamp}_{original.replace(' ', '_')}"
        _put(root / stored_file)
        _put(root / f"{A}_{user}_attempt_{stamp}.txt",
             RECEIPT.format(name=name, user=user, original=original, stored=stored_file))
    return root


METADATA = """\
:submission_1001:
  :submitters:
  - :name: Jane Doe
    :sid: '30001'
    :email: jane@example.edu
  :created_at: 2026-11-30 14:05:11.123456000 -08:00
  :score: 0.0
  :status: processed
  :history: []
submission_1002:
  :submitters:
  - :name: Richard Roe
    :sid: '30002'
    :email: richard@example.edu
  - :name: Ann Smith
    :sid: '30003'
    :email: ann@example.edu
  :created_at: 2026-12-01 09:30:00.000000000 -08:00
  :late: true
  :history:
  - :created_at: 2026-11-29 10:00:00.000000000 -08:00
    :score: 0.0
submission_1003:
  :submitters:
  - :name: No Sid
    :email: nosid@example.edu
  :created_at: 2026-11-30 08:00:00.000000000 -08:00
"""


def gradescope_export(root: pathlib.Path) -> pathlib.Path:
    """Gradescope's "Export Submissions": ``assignment_<id>_export/`` holding one ``submission_<id>/`` folder per
    submission and ``submission_metadata.yml`` with Ruby-symbol keys (``:submitters: [{:name, :sid, :email}]``,
    ``:created_at``, ``:history``), as read by public tools such as ``metadata[folder][':submitters'][0][':name']``
    and ``record[':submitters'][0][':sid']``; a group submission has several submitters."""
    export = root / "assignment_777_export"
    _put(export / "submission_metadata.yml", METADATA)
    _put(export / "submission_1001" / f"{A}.ipynb")
    _put(export / "submission_1002" / f"{A}.ipynb")
    _put(export / "submission_1003" / "notebooks" / f"{A}.ipynb")
    return root


def nbgrader_export(root: pathlib.Path) -> pathlib.Path:
    """nbgrader's submitted layout, ``<student>/<assignment>/<notebook>.ipynb`` with ``timestamp.txt`` as
    ``nbgrader collect`` writes it (jupyter/nbgrader ``docs/source/user_guide/philosophy``)."""
    _put(root / "ann" / A / f"{A}.ipynb")
    _put(root / "ann" / A / "timestamp.txt", "2026-11-30 14:05:11.000000 UTC")
    _put(root / "bob" / A / f"{A}.ipynb")
    return root


def _zip(tree: pathlib.Path, archive: pathlib.Path, top: str = "") -> pathlib.Path:
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted(tree.rglob("*")):
            if p.is_file():
                zf.write(p, top + p.relative_to(tree).as_posix())
    return archive


# ----------------------------------------------------------------------------- each layout by itself


def test_canvas_export_is_recognised_and_keyed_by_user_id(tmp_path):
    subs = canvas_export(tmp_path / "subs")
    s = _collect(subs, tmp_path)
    assert sorted(s) == ["12345", "23456", "34567", "45678"]
    assert {sid: x.submitter.layout for sid, x in s.items()} == dict.fromkeys(s, "canvas")
    assert (s["12345"].submitter.name, s["12345"].submitter.late) == ("doejane", False)
    assert s["23456"].submitter.late is True and s["23456"].folder == "roerichard_LATE_23456"
    assert s["12345"].submitter.submitted_at == ""                      # Canvas's file names carry no time
    assert A in s["12345"].notebooks and not s["12345"].problems


def test_canvas_grades_the_latest_upload_with_a_note(tmp_path):
    ann = _collect(canvas_export(tmp_path / "subs"), tmp_path)["34567"]
    assert A in ann.notebooks and not ann.problems
    note = " ".join(ann.notes)
    assert f"graded {A}-1.ipynb, the latest upload" in note and f"ignored: {A}.ipynb" in note


def test_canvas_student_with_only_a_text_entry_is_kept_with_a_reason(tmp_path):
    bo = _collect(canvas_export(tmp_path / "subs"), tmp_path)["45678"]
    assert not bo.notebooks and "no notebook" in bo.problems[A]


def test_canvas_anonymous_submissions_keep_their_anonymous_id(tmp_path):
    _put(tmp_path / "subs" / f"anon_Xk3p9_678901_{A}.ipynb")
    _put(tmp_path / "subs" / f"LATE_anon_Qw8r2_678902_{A}.ipynb")
    _put(tmp_path / "subs" / "LATE_anon_Zz1aa_text.html", "<p>typed, not uploaded</p>")
    s = _collect(tmp_path / "subs", tmp_path)
    assert sorted(s) == ["anon_Qw8r2", "anon_Xk3p9", "anon_Zz1aa"]
    assert s["anon_Qw8r2"].submitter.late is True and s["anon_Xk3p9"].submitter.name == ""
    assert s["anon_Zz1aa"].submitter.late is True and "no notebook" in s["anon_Zz1aa"].problems[A]


@pytest.mark.parametrize("build", [moodle_export, moodle_flat_export])
def test_moodle_export_is_keyed_by_participant_id_with_names(tmp_path, build):
    s = _collect(build(tmp_path / "subs"), tmp_path)
    assert {"20003", "20004"} <= set(s)
    assert s["20003"].submitter.layout == "moodle" and s["20003"].submitter.name == "Jane Doe"
    assert s["20004"].submitter.name == "Richard Roe" and A in s["20004"].notebooks
    assert not any("instead of" in n for n in s["20003"].notes)        # the notebook is where Moodle puts it


def test_moodle_anonymous_and_online_text_only_participants(tmp_path):
    s = _collect(moodle_export(tmp_path / "subs"), tmp_path)
    assert sorted(s) == ["20003", "20004", "20005", "20006"]
    assert s["20005"].submitter.name == "" and A in s["20005"].notebooks
    assert s["20006"].submitter.name == "Bo Lee" and "no notebook" in s["20006"].problems[A]


def test_blackboard_export_names_from_receipts_and_latest_attempt_graded(tmp_path):
    s = _collect(blackboard_export(tmp_path / "subs"), tmp_path)
    assert sorted(s) == ["jdoe", "rroe"]
    jane, richard = s["jdoe"].submitter, s["rroe"].submitter
    assert (jane.layout, jane.name, jane.submitted_at) == ("blackboard", "Jane Doe", "2026-11-30T14:05:11")
    assert richard.submitted_at == "2026-11-30T23:59:58" and richard.late is None   # Blackboard's names do not say
    notes = " ".join(s["rroe"].notes)
    assert "graded the latest of 2 attempts (attempt 2026-11-30T23:59:58)" in notes
    assert "earlier attempt(s) ignored: attempt 2026-11-29T09:00:00" in notes
    # the receipt gives the original name "02_simple_rnn (2).ipynb": graded as a numbered copy
    assert A in s["rroe"].notebooks and f"graded {A} (2).ipynb" in notes


def test_gradescope_export_keyed_by_sid_with_time_late_group_and_history(tmp_path):
    s = _collect(gradescope_export(tmp_path / "subs"), tmp_path)
    assert sorted(s) == ["30001", "30002", "nosid@example.edu"]
    jane = s["30001"].submitter
    assert (jane.layout, jane.name, jane.late) == ("gradescope", "Jane Doe", None)
    assert jane.submitted_at == "2026-11-30T14:05:11.123456-08:00"
    richard = s["30002"]
    assert richard.submitter.late is True and richard.folder == "submission_1002"
    notes = " ".join(richard.notes)
    assert "also submitted by Ann Smith" in notes and "2026-11-29T10:00:00" in notes
    assert A in s["nosid@example.edu"].notebooks        # in a sub-folder of its submission: still found


def test_nbgrader_layout_keeps_working_and_reads_timestamp_txt(tmp_path):
    s = _collect(nbgrader_export(tmp_path / "subs"), tmp_path)
    assert sorted(s) == ["ann", "bob"]
    assert s["ann"].submitter.layout == "nbgrader" and s["ann"].submitter.submitted_at == "2026-11-30T14:05:11+00:00"
    assert s["bob"].submitter.submitted_at == "" and s["ann"].folder == "ann"


@pytest.mark.parametrize("build, top", [(canvas_export, "course-02_simple_rnn submissions/"),
                                        (gradescope_export, ""), (blackboard_export, "gradebook/")])
def test_a_zip_of_an_export_reads_as_the_folder_does(tmp_path, build, top):
    """The zip keeps the files that say who submitted (Gradescope's metadata, Blackboard's receipts)."""
    tree = build(tmp_path / "tree")
    archive = _zip(tree, tmp_path / "export.zip", top)
    from_zip = _by_id(collect_from(archive, A, [A], tmp_path / "work"))
    from_dir = _collect(tree, tmp_path)
    assert {k: v.submitter for k, v in from_zip.items()} == {k: v.submitter for k, v in from_dir.items()}
    assert {k: sorted(v.notebooks) for k, v in from_zip.items()} == {k: sorted(v.notebooks) for k, v in from_dir.items()}


@pytest.mark.parametrize("build", [canvas_export, moodle_export, moodle_flat_export, blackboard_export,
                                   gradescope_export, nbgrader_export])
def test_reading_an_export_changes_nothing_in_it(tmp_path, build):
    subs = build(tmp_path / "subs")
    before = _hash(subs)
    _collect(subs, tmp_path)
    assert _hash(subs) == before


def test_wrapper_folders_are_descended(tmp_path):
    canvas_export(tmp_path / "subs" / "Downloads" / "course-02 submissions")
    (tmp_path / "subs" / "readme.txt").write_text("exported by the LMS")
    assert sorted(_collect(tmp_path / "subs", tmp_path)) == ["12345", "23456", "34567", "45678"]


# ----------------------------------------------------------------------------- forced, mixed, unknown


def test_layout_can_be_forced_and_what_does_not_follow_it_is_named(tmp_path):
    subs = canvas_export(tmp_path / "subs")
    _put(subs / "stray" / f"{A}.ipynb")
    with pytest.raises(InvocationError, match="mixes layouts"):
        collect(subs, A, [A], tmp_path / "copy")
    told = []
    s = _collect(subs, tmp_path, layout="canvas", echo=told.append)
    assert sorted(s) == ["12345", "23456", "34567", "45678"]
    assert len(told) == 1 and told[0].startswith("[layout]") and "stray/" in told[0]


def test_a_mixed_export_names_what_it_saw_and_the_way_out(tmp_path):
    subs = canvas_export(tmp_path / "subs")
    moodle_export(subs)
    with pytest.raises(InvocationError) as exc:
        collect(subs, A, [A], tmp_path / "copy")
    message = str(exc.value)
    assert "named as Moodle names them" in message and "named as Canvas names them" in message
    assert "Jane Doe_20003_assignsubmission_file_/" in message and "doejane_12345_678901_" in message
    assert "--layout" in message and "\n" not in message


def test_an_unknown_export_names_a_few_files_and_the_layouts_it_knows(tmp_path):
    for name in ("jane homework.ipynb", "bob.ipynb", "carol-final.ipynb", "dan.ipynb", "eve.ipynb"):
        _put(tmp_path / "subs" / name)
    with pytest.raises(InvocationError) as exc:
        collect(tmp_path / "subs", A, [A], tmp_path / "copy")
    message = str(exc.value)
    assert "bob.ipynb" in message and "(5 in all)" in message
    for layout in ("canvas", "moodle", "blackboard", "gradescope", "nbgrader"):
        assert f"{layout}: " in message


def test_a_zip_without_notebooks_names_its_files(tmp_path):
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("doejane_12345_678901_report.pdf", b"%PDF-1.4")
        zf.writestr("roerichard_23456_678902_report.docx", b"PK")
    with pytest.raises(InvocationError) as exc:
        collect_from(archive, A, [A], tmp_path / "work")
    assert str(exc.value).startswith(f"SUBMISSIONS {archive} ")
    assert "doejane_12345_678901_report.pdf" in str(exc.value)


def test_a_forced_layout_that_nothing_follows_is_a_wrong_invocation(tmp_path):
    nbgrader_export(tmp_path / "subs")
    with pytest.raises(InvocationError, match="nothing named as Canvas names its files"):
        collect(tmp_path / "subs", A, [A], tmp_path / "copy", layout="canvas")
    with pytest.raises(InvocationError, match="unknown layout 'webct'"):
        collect(tmp_path / "subs", A, [A], tmp_path / "copy", layout="webct")


def test_broken_gradescope_metadata_is_a_wrong_invocation(tmp_path):
    gradescope_export(tmp_path / "subs")
    (tmp_path / "subs" / "assignment_777_export" / "submission_metadata.yml").write_text(":a: [unclosed\n")
    with pytest.raises(InvocationError, match="submission_metadata.yml cannot be read"):
        collect(tmp_path / "subs", A, [A], tmp_path / "copy")


# ----------------------------------------------------------------------------- grades.csv


def test_grades_csv_appends_name_late_and_submitted_at_after_the_old_columns(tmp_path):
    from rnn_helpers.grader.grades_csv import BASE_COLUMNS, write_csv
    from rnn_helpers.grader.grading_store import CellResult
    from rnn_helpers.grader.lms import Submitter
    from rnn_helpers.grader.pipeline import NotebookResult, StudentResult

    def result(sid, submitter):
        res = StudentResult(sid, A, [NotebookResult(A, [CellResult("test_a", 1.0, 1.0, True)])], folder=sid)
        res.submitter = submitter
        return res

    results = [result("12345", Submitter("canvas", "12345", "doejane", True, "")),
               result("30001", Submitter("gradescope", "30001", "Jane Doe", None, "2026-11-30T14:05:11-08:00")),
               result("old", None)]
    write_csv(tmp_path / "grades.csv", results, {A: [{"name": "test_a"}]})
    rows = list(csv.reader(open(tmp_path / "grades.csv", encoding="utf-8")))
    assert rows[0] == BASE_COLUMNS + ["test_a", "name", "late", "submitted_at"]
    assert [r[-3:] for r in rows[1:]] == [["doejane", "yes", ""], ["Jane Doe", "", "2026-11-30T14:05:11-08:00"],
                                         ["", "", ""]]
