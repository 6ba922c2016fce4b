"""Grading the fixture class gives, byte for byte, the grades.csv the grader gave before it was reorganised.

``tests/fixtures/grading/grades_1831118.csv`` is what the code at commit 1831118 (the last commit before the
grading code was split into ``rnn_helpers.checks`` and ``rnn_helpers.grader``) wrote for this class. It was made
by running that commit's own ``tests/test_grade_fixture.py`` ``course`` fixture (the same 19 students, the same
limits, ``unsafe=True``; that fixture is now ``tests/conftest.py``'s, graded once per session) from a worktree,
with this repository's venv::

    git worktree add /tmp/old1831118 1831118
    # in /tmp/old1831118/tests/test_grade_fixture.py, the kernel's PYTHONPATH becomes
    #   str(FIXTURES) + os.pathsep + "/tmp/old1831118"   (so the kernel, too, imports the old rnn_helpers)
    # and a test that takes the `course` fixture copies course["out"] / "grades.csv" out
    cd /tmp/old1831118 && PYTHONPATH=/tmp/old1831118 /work/main/.venv/bin/python -m pytest <that test>
    git worktree remove --force /tmp/old1831118

(checking that ``rnn_helpers.grading.pipeline`` was imported from the worktree). grades.csv holds no times, paths
or run identifiers (see ``grader/grades_csv.py``); the one configured number in it, the cell timeout ("timed out
after 8 s"), is ``conftest.CELL_TIMEOUT``.

What is masked, and only that: the columns added since 1831118 on purpose, at the end of every row
(``ADDED_COLUMNS``: what an LMS export says of the student, ``grades_csv.SUBMITTER_COLUMNS``). A class graded
without an export leaves them empty; the test checks that they are the last columns and empty in every row, cuts
them off each line (``,name,late,submitted_at`` of the header, ``,,,`` of a row), and compares the rest byte for
byte. Should another deliberate change of a message or a column make this fail, regenerate the file from the
commit that makes the change and say so there.
"""
from __future__ import annotations

import pathlib

import pytest

pytestmark = pytest.mark.slow
GOLDEN = pathlib.Path(__file__).parent / "fixtures" / "grading" / "grades_1831118.csv"
ADDED_COLUMNS = ["name", "late", "submitted_at"]  # appended after 1831118, empty without an LMS export
EOL = b"\r\n"  # the csv module's line terminator; no field of this class spans lines


def without_added_columns(data: bytes) -> bytes:
    """``data`` with the trailing ADDED_COLUMNS cut off every line; fails if they are not last, or not empty."""
    header, *rows = data.split(EOL)
    suffix = ("," + ",".join(ADDED_COLUMNS)).encode()
    if not header.endswith(suffix):
        return data  # not added (yet, or any more): nothing to mask
    empty = b"," * len(ADDED_COLUMNS)
    for row in rows:
        assert not row or row.endswith(empty), f"an added column is not empty: {row[-80:]!r}"
    return EOL.join([header[: -len(suffix)]] + [row[: -len(empty)] if row else row for row in rows])


def test_grades_csv_is_byte_identical_to_the_graders_before_the_split(course):
    assert course["limits"].cell_timeout == 8, "the golden file was made with 8 s cell timeouts"
    now = without_added_columns((course["out"] / "grades.csv").read_bytes())
    golden = GOLDEN.read_bytes()
    if now != golden:
        old, new = golden.decode().splitlines(), now.decode().splitlines()
        changed = [f"- {a}\n+ {b}" for a, b in zip(old, new) if a != b] + [f"? {len(old)} vs {len(new)} rows"]
        pytest.fail("grades.csv differs from grades_1831118.csv:\n" + "\n".join(changed[:10]))


def test_only_empty_trailing_added_columns_are_masked():
    old = b"a,b\r\n1,2\r\n"
    assert without_added_columns(b"a,b,name,late,submitted_at\r\n1,2,,,\r\n") == old
    assert without_added_columns(old) == old
    with pytest.raises(AssertionError, match="not empty"):
        without_added_columns(b"a,b,name,late,submitted_at\r\n1,2,Ann,no,\r\n")
