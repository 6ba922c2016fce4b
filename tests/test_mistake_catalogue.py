"""The catalogue of typical mistakes (``rnn_helpers/grader/mistakes``): every mistake is caught, and says why.

For every catalogued mistake of every assignment:

- it is one change to the solution's function (within 3 consecutive lines), its code compiles, and its
  book section is a heading of the book;
- it is caught (``mistakes.caught.how_caught``): the visible test of its function fails with an assertion
  message, or the visible test passes, a hidden check fails on it and the explainer names it. A mistake that
  earns the cell's points (``escapes``) or fails only with a generic message (``generic``: a visible test that
  raises another exception, which stops the cell before its hidden checks) fails here.

Known holes, where the visible tests and the hidden cases are too weak today, are listed in ``HOLES`` with the
fix they need; they are ``xfail(strict=True)``, so each goes red the moment it is fixed (then delete its line).
For the mistakes in ``VISIBLE_NAMES``, the visible message must also name the fault (not another term that
the failing assert happens to involve).
Also: every graded function has mistakes (at least 5 per function on average per assignment), and the harness
itself passes the solutions (visible tests and hidden checks).

In-process: the solution notebook's code cells are executed here, with one function replaced by the mistaken one.
"""
from __future__ import annotations

import difflib
import re
from collections import Counter
from pathlib import Path

import pytest

from rnn_helpers.checks.registry import ASSIGNMENTS, checks_for
from rnn_helpers.grader.explain import MistakeRunner, recorded_outputs
from rnn_helpers.grader.mistakes import catalogue
from rnn_helpers.grader.mistakes.caught import NAMED, VISIBLE, how_caught

ROOT = Path(__file__).resolve().parents[1]
MIN_PER_FUNCTION = 4
MIN_MEAN_PER_FUNCTION = 5
MAX_CHANGED_LINES = 3  # one change: an edited line, or two adjacent lines swapped or rewritten together

# (assignment, mistake id) -> why it escapes today and the fix it needs (in the solution's tests or the checks)
HOLES: dict[tuple[str, str], str] = {}  # none today: the last three were fixed by hidden cases and asserts

# (assignment, mistake id) -> what the visible test's message must name: the fault, not another term the same assert
# happens to involve (a missing tanh once read "h_next ignores b_hh"); one fault per assert
# (a visible test turns the exception a mistake raises into an assert that says what is wrong: those are listed
# here too, since a cell that raises anything else stops before its hidden checks and explains nothing)
VISIBLE_NAMES = {
    ("01_motivation", "bag_of_words.integer_dtype"): "float64",
    ("01_motivation", "one_hot.wrong_axis"): "LAST axis",
    ("01_motivation", "embedding_lookup.columns"): "ROWS of W",
    ("01_motivation", "embedding_lookup.time_major"): "batch first",
    ("01_motivation", "pad_sequences.shortest"): "LONGEST",
    ("02_simple_rnn", "rnn_cell_forward.no_tanh"): "tanh(",
    ("02_simple_rnn", "rnn_cell_forward.relu"): "tanh(",
    ("02_simple_rnn", "rnn_cell_forward.untransposed_W_ih"): "x_t @ W_ih.T",
    ("02_simple_rnn", "rnn_forward.time_axis_0"): "reads x[:, t]",
    ("02_simple_rnn", "rnn_forward.shifted_store"): "store step t at h[:, t]",
    ("02_simple_rnn", "rnn_param_count.one_layer"): "two layers",
    ("02_simple_rnn", "output_probs.untransposed"): "h @ W_out.T",
    ("02_simple_rnn", "stacked_rnn_forward.every_layer_reads_x"): "state sequence of the layer below",
    ("02_simple_rnn", "stacked_rnn_forward.first_layer_W_hh"): "its own parameters layers[1]",
    ("02_simple_rnn", "torch_rnn_from_params.swapped_dims"): "FIRST axis",
    ("03_bptt", "rnn_cell_backward.dx_transposed"): "dx_t = da @ W_ih",
    ("03_bptt", "many_to_one_backward.time_major"): "(B, T, H), batch first",
    ("03_bptt", "many_to_one_backward.only_x"): "return every gradient",
    ("03_bptt", "numerical_gradient.rows_not_entries"): "one ENTRY",
    ("03_bptt", "numerical_gradient.fixed_eps"): "use the eps argument",
    ("04_gru", "gru_cell_forward.gates_swapped"): "reset gate r is block 1",
    ("04_gru", "gru_forward.keeps_cache"): "returns (h_next, cache)",
    ("04_gru", "gru_cell_backward.tanh_of_tanh"): "do not take tanh of it again",
    ("05_lstm", "lstm_cell_forward.missing_b_hh"): "ignores b_hh",
    ("05_lstm", "lstm_cell_forward.forget_on_h"): "f * c_prev",
    ("05_lstm", "lstm_forward.h_not_carried"): "carry both h and c",
    ("05_lstm", "lstm_backward.dc_none"): "dc may be None",
    ("06_applications", "sample_with_temperature.unnormalised"): "sum to 1",
    ("06_applications", "persistence_forecast.keeps_axis"): "1-D array",
    ("06_applications", "CharModel.bidirectional"): "no bidirectional layer",
    ("06_applications", "CharModel.head_from_embedding"): "nn.Linear(hidden_size, V)",
    ("06_applications", "train_step.clip_by_value"): "clip_grad_norm_",
    ("06_applications", "train_step.not_flattened"): "flatten B and T",
    ("06_applications", "beam_search.length_without_eos"): "eos included",
    ("06_applications", "softmax_with_temperature.max_before_scaling"): "maximum of the SCALED logits",
    ("06_applications", "train_step.no_zero_grad"): "zero_grad()",
    ("06_applications", "perplexity.sign"): "MINUS",
    ("06_applications", "perplexity.base_2"): "natural logs",
    ("06_applications", "perplexity.no_mean"): "number of real tokens",
    ("06_applications", "beam_search.never_finishes"): "do not extend it",
    ("06_applications", "beam_search.prefix_without_bos"): "starts with bos",
    ("06_applications", "beam_search.no_pruning"): "beam_width = 1",
}


def _params():
    out = []
    for a in ASSIGNMENTS:
        for mistake_id in catalogue(a):
            why = HOLES.get((a, mistake_id))
            marks = [pytest.mark.xfail(strict=True, reason=f"{mistake_id}: {why}")] if why else []
            out.append(pytest.param(a, mistake_id, marks=marks, id=f"{a}:{mistake_id}"))
    return out


ALL = _params()


@pytest.fixture(scope="module")
def runner():
    return MistakeRunner(ROOT / "solutions")


def _book_anchors() -> dict[str, set[str]]:
    """``{page.html: {heading anchors}}`` of book/*.md: docutils' id of each heading outside code fences."""
    from docutils.nodes import make_id

    anchors = {}
    for page in sorted((ROOT / "book").glob("*.md")):
        found, fence = set(), None
        for line in page.read_text(encoding="utf-8").splitlines():
            m = re.match(r"^(`{3,}|:{3,})", line)
            if m:
                fence = None if fence and line.strip() == fence else (fence or m.group(1))
                continue
            heading = re.match(r"^#{1,6} (.+?)\s*$", line)
            if heading and fence is None:
                found.add(make_id(heading.group(1)))
        anchors[page.stem + ".html"] = found
    return anchors


def test_the_catalogue_is_grader_side_only():
    """The grading kernel's build of the package stubs the catalogue and the explainer (the grader, whole)."""
    import pkgutil

    import rnn_helpers.grader.mistakes as package
    from rnn_helpers.grader.stripped import GRADER_SIDE, stripped_modules

    stripped = stripped_modules()
    modules = ["rnn_helpers.grader.explain", package.__name__] + \
        [f"{package.__name__}.{m.name}" for m in pkgutil.iter_modules(package.__path__)]
    for module in modules:
        assert any(module == s or module.startswith(s + ".") for s in stripped), f"{module} reaches the kernel"
    assert GRADER_SIDE in stripped


def test_known_holes_are_catalogued():
    for (a, mistake_id) in HOLES:
        assert mistake_id in catalogue(a), f"HOLES names {a}:{mistake_id}, which the catalogue does not have"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_graded_function_has_mistakes(assignment, runner):
    functions = runner.notebook(assignment).graded_functions()
    counts = Counter(m.function for m in catalogue(assignment).values())
    ungraded = set(counts) - set(functions)
    assert not ungraded, f"mistakes of functions that are not graded: {ungraded}"
    few = {f: counts.get(f, 0) for f in functions if counts.get(f, 0) < MIN_PER_FUNCTION}
    assert not few, f"graded functions with fewer than {MIN_PER_FUNCTION} catalogued mistakes: {few}"
    assert sum(counts.values()) >= MIN_MEAN_PER_FUNCTION * len(functions)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_sections_are_headings_of_the_book(assignment):
    anchors = _book_anchors()
    for m in catalogue(assignment).values():
        page, _, anchor = m.section.partition("#")
        assert page in anchors, f"{m.id}: no book page {page}"
        assert anchor in anchors[page], f"{m.id}: {page} has no heading with anchor #{anchor}"
        assert m.says.strip().endswith(".") and len(m.says) < 300, f"{m.id}: one sentence to the student"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_harness_passes_the_solution(assignment, runner):
    """The solution passes its visible tests and every hidden check when run the way mistakes are run."""
    nb = runner.notebook(assignment)
    checks = checks_for(assignment)
    ns, errors = nb.namespace()
    assert not errors, f"solution cells raise: {errors}"
    for function in nb.graded_functions():
        assert nb.run_visible_test(function, ns) is None, f"visible test of {function} fails on the solution"
    for name, recorded in nb.recorded().items():
        check, cases = checks[name], checks[name].cases()
        got = recorded_outputs(eval(recorded.function, ns), check, cases)  # noqa: S307 - the notebook's expression
        expected = runner.reference(assignment, check, cases)
        for i, (g, e) in enumerate(zip(got, expected)):
            assert check.compare_output(g, e, recorded.rtol, recorded.atol) is None, f"{name} case {i}"


@pytest.mark.parametrize("assignment,mistake_id", [p.values for p in ALL])
def test_mistake_is_one_change_that_compiles(assignment, mistake_id, runner):
    nb = runner.notebook(assignment)
    m = catalogue(assignment)[mistake_id]
    solution, mistaken = nb.function_source(m.function), nb.mistaken_source(m)
    compile(mistaken, m.id, "exec")
    assert mistaken != solution
    changed = [op for op in difflib.SequenceMatcher(None, solution.splitlines(), mistaken.splitlines()).get_opcodes()
               if op[0] != "equal"]
    first, last = changed[0][1], max(op[2] for op in changed)
    assert last - first <= MAX_CHANGED_LINES, \
        f"{m.id} changes lines {first + 1}..{last} of {m.function}: one change is at most {MAX_CHANGED_LINES} lines"


@pytest.mark.parametrize("assignment,mistake_id", ALL)
def test_mistake_is_caught(assignment, mistake_id, runner):
    caught = how_caught(assignment, catalogue(assignment)[mistake_id], runner)
    assert caught.how in (VISIBLE, NAMED), f"{mistake_id} {caught.how}: {caught.detail}"


@pytest.mark.parametrize("assignment,mistake_id", sorted(VISIBLE_NAMES), ids=lambda v: str(v))
def test_visible_message_names_the_fault(assignment, mistake_id, runner):
    caught = how_caught(assignment, catalogue(assignment)[mistake_id], runner)
    assert caught.how == VISIBLE, f"{mistake_id} is caught {caught.how}, not by its visible test: {caught.detail}"
    assert VISIBLE_NAMES[assignment, mistake_id] in caught.detail, \
        f"{mistake_id}: the visible message does not name the fault: {caught.detail}"
