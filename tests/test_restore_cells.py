"""Cell restoration (``restore_cells.RestoreTestCells``) on hand-built notebooks: fast, no nbgrader run, no kernel.

The notebooks are built the way ``nbgrader generate_assignment`` releases them (``deletable``/``editable`` and
nbgrader metadata with ``grade_id``, ``checksum``, flags, ``points``), for a tiny assignment ``ps1``:

    intro (read-only markdown) | ## Notation | scale (answer) | test_scale (2 points)
                               | ## Affine   | affine (answer) | test_affine (3 points)

then changed the ways a student can change them. Each test asserts the restored notebook's cells (in order) and
the notes recorded for the feedback.
"""
from __future__ import annotations

import copy

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from rnn_helpers.grader.grading_store import GradingStore
from rnn_helpers.grader.nbgrader_cells import grade_id
from rnn_helpers.grader.restore_cells import RestoreTestCells

HIDDEN = "### BEGIN HIDDEN TESTS\nrecord_check('ps1', '{check}', {check}, rtol=1e-7, atol=1e-9)\n### END HIDDEN TESTS\n"
RELEASED = {  # what the student received in each test cell
    "test_scale": "assert scale(2.0, 3.0) == 6.0\n",
    "test_affine": "assert affine(1.0, 2.0, 3.0) == 5.0\n",
}
TRUSTED = {  # the gradebook's copies: the released tests and the hidden ones
    "test_scale": RELEASED["test_scale"] + HIDDEN.format(check="scale"),
    "test_affine": RELEASED["test_affine"] + HIDDEN.format(check="affine"),
}
STUB = "def {name}(*args):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
INTRO = "# Exercise ps1\n\nImplement each function; the cell after it tests it."


def _entry(name, cell_type, source, *, locked=False, grade=False, solution=False, points=None):
    """One cell of the gradebook's source layout (the shape of ``gradebook.source_layout``)."""
    return {"name": name, "cell_type": cell_type, "source": source, "checksum": f"checksum-of-{name}",
            "locked": locked, "grade": grade, "solution": solution, "task": False, "points": points}


LAYOUT = [
    _entry("intro", "markdown", INTRO, locked=True),
    _entry("scale", "code", STUB.format(name="scale"), solution=True),
    _entry("test_scale", "code", TRUSTED["test_scale"], locked=True, grade=True, points=2.0),
    _entry("affine", "code", STUB.format(name="affine"), solution=True),
    _entry("test_affine", "code", TRUSTED["test_affine"], locked=True, grade=True, points=3.0),
]
BY_NAME = {e["name"]: e for e in LAYOUT}
UNTOUCHED = ["intro", "## Notation", "scale", "test_scale", "## Affine", "affine", "test_affine"]


def _released_cell(name: str):
    """A cell as nbgrader releases it: the released source, read-only cells not editable."""
    e = BY_NAME[name]
    source = RELEASED.get(name, e["source"])
    cell = new_code_cell(source) if e["cell_type"] == "code" else new_markdown_cell(source)
    meta = {"cell_type": e["cell_type"], "checksum": e["checksum"], "grade": e["grade"], "grade_id": name,
            "locked": e["locked"], "schema_version": 3, "solution": e["solution"], "task": False}
    if e["grade"]:
        meta["points"] = int(e["points"])  # nbgrader writes the points as the instructor typed them
    cell.metadata.update({"deletable": False, "nbgrader": meta})
    if e["locked"]:
        cell.metadata["editable"] = False
    return cell


def released_notebook(answered: bool = True):
    """The released notebook; ``answered``: the student replaced both stubs by an implementation."""
    nb = new_notebook()
    nb.cells = [_released_cell("intro"), new_markdown_cell("## Notation\n\nx is a float."), _released_cell("scale"),
                _released_cell("test_scale"), new_markdown_cell("## Affine"), _released_cell("affine"),
                _released_cell("test_affine")]
    if answered:
        cell(nb, "scale").source = "def scale(x, k):\n    return k * x"
        cell(nb, "affine").source = "def affine(x, w, b):\n    return w * x + b"
    return nb


def cell(nb, name: str):
    """The cell labelled ``name`` (there must be exactly one)."""
    (found,) = [c for c in nb.cells if grade_id(c) == name]
    return found


def restore(nb):
    """Run the preprocessor as the pipeline does; return the notes it stored."""
    store = GradingStore()
    restorer = RestoreTestCells(store, {"ps1": RELEASED}, {"ps1": LAYOUT}, enabled=True)
    restorer.preprocess(nb, {"nbgrader": {"student": "ann", "notebook": "ps1"}})
    return store.notes.get(("ann", "ps1"), [])


def cells_of(nb) -> list[str]:
    """Each cell by its label, or by its first line when it has none."""
    return [grade_id(c) or c.source.splitlines()[0] for c in nb.cells]


def assert_restored(nb, order=UNTOUCHED):
    """``nb`` has ``order``'s cells, and every labelled cell holds the gradebook's metadata (read-only ones
    also its source, with no outputs)."""
    assert cells_of(nb) == order
    for c in nb.cells:
        name = grade_id(c)
        if name is None:
            assert "nbgrader" not in c.metadata
            continue
        e = BY_NAME[name]
        meta = c.metadata["nbgrader"]
        assert c.cell_type == e["cell_type"] and meta["grade_id"] == name
        assert (meta["grade"], meta["solution"], meta["locked"], meta.get("points")) == \
            (e["grade"], e["solution"], e["locked"], e["points"])
        assert meta["checksum"] == e["checksum"]
        if e["locked"]:
            assert c.source == e["source"]
            assert c.get("outputs", []) == []


# ----------------------------------------------------------------------------- nothing to restore


def test_an_untouched_notebook_gets_its_hidden_tests_back_and_no_note():
    nb = released_notebook()
    assert restore(nb) == []
    assert_restored(nb)
    assert cell(nb, "test_scale").source == TRUSTED["test_scale"]  # the hidden tests are back
    assert cell(nb, "scale").source == "def scale(x, k):\n    return k * x"  # the student's answer is kept


def test_the_trusted_source_submitted_as_it_is_is_not_an_edit():
    """The solutions notebook graded as a submission already holds the hidden tests: no note."""
    nb = released_notebook()
    cell(nb, "test_scale").source = TRUSTED["test_scale"]
    assert restore(nb) == []
    assert_restored(nb)


def test_cells_the_student_added_between_stay_where_they_are():
    nb = released_notebook()
    nb.cells.insert(3, new_code_cell("def helper(x):\n    return x"))  # between scale and test_scale
    nb.cells.insert(5, new_markdown_cell("My notes"))  # after test_scale
    nb.cells.insert(7, new_code_cell("print('trying affine')"))  # between affine's heading and affine
    nb.cells.append(new_code_cell("print('the end')"))
    assert restore(nb) == []
    assert_restored(nb, ["intro", "## Notation", "scale", "def helper(x):", "test_scale", "My notes", "## Affine",
                         "print('trying affine')", "affine", "test_affine", "print('the end')"])


# ----------------------------------------------------------------------------- moved


def test_a_test_cell_moved_above_its_answer_goes_back_after_it():
    nb = released_notebook()
    test = nb.cells.pop(3)
    nb.cells.insert(2, test)  # test_scale now runs before scale
    assert restore(nb) == ["test cell test_scale was modified and has been restored (it had been moved above scale)"]
    assert_restored(nb)


def test_a_moved_test_goes_after_the_students_code_that_follows_its_answer():
    """Helpers the student wrote right after the answer cell still run before the test."""
    nb = released_notebook()
    test = nb.cells.pop(6)
    nb.cells.insert(0, test)  # test_affine first of all
    nb.cells.append(new_code_cell("def _dot(a, b):\n    return a * b"))  # right after affine
    notes = restore(nb)
    assert notes == ["test cell test_affine was modified and has been restored (it had been moved above affine)"]
    assert_restored(nb, ["intro", "## Notation", "scale", "test_scale", "## Affine", "affine", "def _dot(a, b):",
                         "test_affine"])


def test_of_two_swapped_test_cells_only_the_one_above_its_answer_moves():
    """A test cell must run after the cell it follows in the source notebook, not right after it: test_scale,
    swapped to the end, still runs after scale and stays; test_affine, now above affine, goes after it."""
    nb = released_notebook()
    nb.cells[3], nb.cells[6] = nb.cells[6], nb.cells[3]
    notes = restore(nb)
    assert notes == ["test cell test_affine was modified and has been restored (it had been moved above affine)"]
    assert_restored(nb, ["intro", "## Notation", "scale", "## Affine", "affine", "test_affine", "test_scale"])


def test_a_moved_read_only_markdown_cell_goes_back_to_the_top():
    nb = released_notebook()
    nb.cells.append(nb.cells.pop(0))  # the intro last
    assert restore(nb) == []  # intro has no anchor: at the end it is still after every cell before it
    assert cells_of(nb) == UNTOUCHED[1:] + ["intro"]
    nb = released_notebook()
    scale = nb.cells.pop(2)
    nb.cells.insert(0, scale)  # the answer above the intro: intro, anchored nowhere, stays; scale is the student's
    assert restore(nb) == []
    assert cells_of(nb) == ["scale", "intro", "## Notation", "test_scale", "## Affine", "affine", "test_affine"]


# ----------------------------------------------------------------------------- relabelled


def test_a_relabelled_test_cell_is_taken_back_by_its_source():
    nb = released_notebook()
    cell(nb, "test_affine").metadata["nbgrader"]["grade_id"] = "test_mine"
    notes = restore(nb)
    assert notes == ["test cell test_affine was modified and has been restored (it had been relabelled)"]
    assert_restored(nb)


def test_a_test_cell_whose_nbgrader_metadata_was_removed_is_taken_back():
    nb = released_notebook()
    del cell(nb, "test_scale").metadata["nbgrader"]
    notes = restore(nb)
    assert notes == ["test cell test_scale was modified and has been restored (its nbgrader metadata had been removed)"]
    assert_restored(nb)


def test_a_relabelled_and_edited_test_cell_stays_ordinary_and_the_test_is_re_added():
    nb = released_notebook()
    mine = cell(nb, "test_affine")
    mine.metadata["nbgrader"]["grade_id"] = "test_mine"
    mine.source = "pass  # all good\n"
    notes = restore(nb)
    assert notes == ["test cell test_affine was missing and has been restored",
                     "a cell labelled 'test_mine', which this assignment does not have, is graded as an ordinary cell"]
    assert_restored(nb, UNTOUCHED[:-1] + ["pass  # all good", "test_affine"])


def test_a_made_up_test_cell_counts_for_nothing():
    nb = released_notebook()
    bonus = new_code_cell("assert True")
    bonus.metadata["nbgrader"] = {"grade": True, "grade_id": "test_bonus", "locked": True, "points": 100,
                                  "schema_version": 3, "solution": False, "task": False}
    nb.cells.append(bonus)
    notes = restore(nb)
    assert notes == ["a cell labelled 'test_bonus', which this assignment does not have, is graded as an ordinary cell"]
    assert_restored(nb, UNTOUCHED + ["assert True"])


@pytest.mark.parametrize("nbgrader, note", [
    ({"grade": True, "grade_id": 7, "points": 5}, "a cell labelled 7, which this assignment does not have, "
                                                  "is graded as an ordinary cell"),
    ({"grade": True, "points": 5}, "a cell labelled without a name, which this assignment does not have, "
                                   "is graded as an ordinary cell"),
    ({"grade_id": "scratch"}, None),  # no flag set: an ordinary cell anyway, nothing to say
    ("junk", None),
])
def test_malformed_labels_are_dropped(nbgrader, note):
    nb = released_notebook()
    odd = new_code_cell("x = 1")
    odd.metadata["nbgrader"] = nbgrader
    nb.cells.append(odd)
    assert restore(nb) == ([note] if note else [])
    assert_restored(nb, UNTOUCHED + ["x = 1"])


# ----------------------------------------------------------------------------- deleted


def test_a_deleted_test_cell_is_re_added_after_its_answer():
    nb = released_notebook()
    nb.cells.remove(cell(nb, "test_scale"))
    assert restore(nb) == ["test cell test_scale was missing and has been restored"]
    assert_restored(nb)
    back = cell(nb, "test_scale")
    assert back.metadata["deletable"] is False and back.metadata["editable"] is False
    assert back.execution_count is None


def test_a_deleted_read_only_cell_without_anchor_is_re_added_first():
    nb = released_notebook()
    nb.cells.remove(cell(nb, "intro"))
    assert restore(nb) == ["read-only cell intro was missing and has been restored"]
    assert_restored(nb)
    assert "outputs" not in cell(nb, "intro")  # a markdown cell


def test_with_its_answer_deleted_a_test_follows_the_cell_before_that():
    nb = released_notebook()
    nb.cells.remove(cell(nb, "affine"))
    nb.cells.remove(cell(nb, "test_affine"))
    assert restore(nb) == ["test cell test_affine was missing and has been restored"]
    # the answer cell is the student's to delete (only read-only cells come back); its test goes after test_scale
    assert_restored(nb, ["intro", "## Notation", "scale", "test_scale", "test_affine", "## Affine"])


def test_everything_deleted_comes_back_in_order():
    nb = new_notebook()
    notes = restore(nb)
    assert notes == ["read-only cell intro was missing and has been restored",
                     "test cell test_scale was missing and has been restored",
                     "test cell test_affine was missing and has been restored"]
    assert_restored(nb, ["intro", "test_scale", "test_affine"])


# ----------------------------------------------------------------------------- duplicated


def test_a_duplicated_test_cell_is_graded_once():
    nb = released_notebook()
    copy_of_test = copy.deepcopy(cell(nb, "test_scale"))
    copy_of_test.source = "assert scale(1.0, 1.0) == 1.0\n"
    nb.cells.append(copy_of_test)
    assert restore(nb) == ["a second cell labelled 'test_scale' is graded as an ordinary cell"]
    assert_restored(nb, UNTOUCHED + ["assert scale(1.0, 1.0) == 1.0"])


def test_a_duplicate_above_the_original_is_the_one_moved_back():
    """The first cell with a label keeps it; the original further down is then an ordinary code cell of the
    student's after the answer, so the test moved back goes after it."""
    nb = released_notebook()
    nb.cells.insert(0, copy.deepcopy(cell(nb, "test_scale")))
    notes = restore(nb)
    assert notes == ["a second cell labelled 'test_scale' is graded as an ordinary cell",
                     "test cell test_scale was modified and has been restored (it had been moved above scale)"]
    assert_restored(nb, ["intro", "## Notation", "scale", "assert scale(2.0, 3.0) == 6.0", "test_scale", "## Affine",
                         "affine", "test_affine"])


# ----------------------------------------------------------------------------- edited


def test_an_edited_test_cell_gets_the_gradebooks_source_and_loses_its_outputs():
    nb = released_notebook()
    test = cell(nb, "test_scale")
    test.source = "# assert scale(2.0, 3.0) == 6.0\nprint('All tests passed!')\n"
    test.outputs = [{"output_type": "stream", "name": "stdout", "text": "All tests passed!\n"}]
    test.execution_count = 4
    assert restore(nb) == ["test cell test_scale was modified and has been restored (its code was edited)"]
    assert_restored(nb)


def test_an_edited_read_only_markdown_cell_is_restored():
    nb = released_notebook()
    cell(nb, "intro").source = "# Exercise ps1\n\nNothing to do here."
    assert restore(nb) == ["read-only cell intro was modified and has been restored (its code was edited)"]
    assert_restored(nb)


def test_whitespace_around_a_test_is_not_an_edit():
    nb = released_notebook()
    cell(nb, "test_scale").source = "\n" + RELEASED["test_scale"] + "\n\n"
    assert restore(nb) == []
    assert_restored(nb)


# ----------------------------------------------------------------------------- changed metadata


@pytest.mark.parametrize("change, named", [
    ({"points": 200}, "points"),
    ({"grade": False}, "grade"),
    ({"locked": False, "solution": True}, "locked, solution"),
    ({"task": True}, "task"),
])
def test_changed_test_metadata_is_put_back_and_named(change, named):
    nb = released_notebook()
    cell(nb, "test_affine").metadata["nbgrader"].update(change)
    assert restore(nb) == [f"test cell test_affine was modified and has been restored (its nbgrader metadata: {named})"]
    assert_restored(nb)


def test_points_written_as_an_int_or_a_float_are_the_same():
    nb = released_notebook()
    cell(nb, "test_affine").metadata["nbgrader"]["points"] = 3.0
    cell(nb, "test_scale").metadata["nbgrader"]["points"] = "2"
    assert restore(nb) == []
    assert_restored(nb)


def test_an_answer_cell_with_changed_metadata_keeps_the_students_code():
    nb = released_notebook()
    answer = cell(nb, "scale")
    answer.metadata["nbgrader"]["solution"] = False
    answer.metadata["nbgrader"]["locked"] = True
    assert restore(nb) == ["answer cell scale was modified and has been restored (its nbgrader metadata: locked, "
                           "solution)"]
    assert_restored(nb)
    assert answer.source == "def scale(x, k):\n    return k * x"


def test_a_test_cell_turned_into_markdown_is_a_code_cell_again():
    nb = released_notebook()
    index = nb.cells.index(cell(nb, "test_scale"))
    as_markdown = new_markdown_cell(RELEASED["test_scale"])
    as_markdown.metadata = copy.deepcopy(nb.cells[index].metadata)
    nb.cells[index] = as_markdown
    assert restore(nb) == ["test cell test_scale was modified and has been restored (its type (markdown))"]
    assert_restored(nb)
    assert cell(nb, "test_scale").execution_count is None


def test_several_changes_to_one_cell_make_one_note():
    nb = released_notebook()
    test = cell(nb, "test_scale")
    test.metadata["nbgrader"]["points"] = 20
    test.source = "pass\n"
    nb.cells.remove(test)
    nb.cells.insert(0, test)
    assert restore(nb) == ["test cell test_scale was modified and has been restored (its nbgrader metadata: points; "
                           "it had been moved above scale; its code was edited)"]
    assert_restored(nb)


def test_cell_metadata_that_is_not_a_dict_is_replaced():
    nb = released_notebook()
    nb.cells.append(new_code_cell("y = 2"))
    nb.cells[-1]["metadata"] = ["not", "a", "dict"]
    assert restore(nb) == []
    assert_restored(nb, UNTOUCHED + ["y = 2"])
