"""report.html / report.json: score distribution, pass rates, grouped reasons, students that need a look.

The figures are checked from ``report.json`` (computed from hand-made results, so every count is known; their
messages are worded by the grader's own functions, ``explain.describe`` and ``verify_records.raised_message``, as a
real run words them), and the page is opened in headless Chromium (the harness of tests/test_book_render.py): it renders, its images
load (naturalWidth > 0) and the console shows no error. Without Chromium that test is skipped and says so.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from rnn_helpers.grader import class_report
from rnn_helpers.grader.explain import describe
from rnn_helpers.grader.feedback import BOOK_URL_ENV
from rnn_helpers.grader.grading_store import CellResult
from rnn_helpers.grader.mistakes import catalogue
from rnn_helpers.grader.pipeline import NotebookResult, StudentResult
from rnn_helpers.grader.verify_records import raised_message

A = "02_simple_rnn"
LAYOUT = {A: [{"name": "test_rnn_forward", "max_score": 2.0, "kind": "test"},
              {"name": "test_softmax", "max_score": 1.0, "kind": "test"}]}
AXIS = "softmax.max_wrong_axis"
VISIBLE = "h[:, t] must read x[:, t] (time is axis 1)"
T1 = {"check": "rnn_forward", "mistakes": [], "where": "fails only when T = 1 (cases 2, 4 of 5)",
      "first_wrong": "case 2, output[0][0, 0, 0]: got 0, expected 0.3"}


def _explained(name: str, max_points: float, entry: dict) -> CellResult:
    """A cell whose hidden check failed and was explained, as verify_records records it."""
    return CellResult(name, max_points, 0.0, False, [describe(A, entry)], mistakes=list(entry["mistakes"]),
                      failing_cases=[{"check": entry["check"], "case": 0, "reason": "differs"}],
                      explanations=[entry])


def _softmax_named():
    return _explained("test_softmax", 1.0, {"check": "softmax", "mistakes": [AXIS], "where": "fails on every case (5)",
                                            "first_wrong": "case 0, output[0, 0]: got 0.1, expected 0.2"})


def _forward(passed: bool, message: str = ""):
    return CellResult("test_rnn_forward", 2.0, 2.0 if passed else 0.0, passed, [] if passed else [message])


def _student(sid, cells, notes=(), problem=None):
    return StudentResult(sid, A, [NotebookResult(A, cells, problem=problem, notes=list(notes))], folder=sid)


def _results():
    visible = raised_message("AssertionError", VISIBLE)
    scanned = CellResult("test_rnn_forward", 2.0, 0.0, False, ["calls the reference: rnn_helpers.rnn.rnn_forward"],
                         findings=["calls the reference: rnn_helpers.rnn.rnn_forward"])
    return [
        _student("ann", [_forward(True), CellResult("test_softmax", 1.0, 1.0, True)]),
        _student("bob", [_forward(False, visible), _softmax_named()]),
        _student("cy", [_forward(False, visible), _softmax_named()],
                 notes=["test cell test_softmax was modified and has been restored (its code was edited)"]),
        _student("dee", [_explained("test_rnn_forward", 2.0, T1), CellResult("test_softmax", 1.0, 1.0, True)]),
        _student("eve", [scanned, CellResult("test_softmax", 1.0, 1.0, True)]),
        _student("fay", [CellResult(c["name"], c["max_score"], 0.0, False, ["not graded: not a notebook"])
                         for c in LAYOUT[A]], problem="not a notebook"),
    ]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as env:  # the page's links are relative then: it names no web address
        env.delenv(BOOK_URL_ENV, raising=False)
        class_report.write_report(out, _results(), LAYOUT, A)
    return out, json.loads((out / "report.json").read_text(encoding="utf-8"))


def test_scores_and_pass_rates(written):
    _, data = written
    assert data["students"] == 6 and data["max_score"] == 3.0
    assert sorted(data["scores"]["values"]) == [0.0, 0.0, 0.0, 1.0, 1.0, 3.0]
    assert sum(h["count"] for h in data["scores"]["histogram"]) == 6
    rates = {c["name"]: (c["passed"], c["graded"]) for c in data["cells"]}
    assert rates == {"test_rnn_forward": (1, 5), "test_softmax": (3, 5)}  # fay's notebook was not graded


def test_reasons_grouped_and_counted_with_the_section_to_reteach(written):
    _, data = written
    cells = {c["name"]: c for c in data["cells"]}
    softmax = cells["test_softmax"]["reasons"]
    assert [(r["kind"], r["id"], r["count"]) for r in softmax] == [("mistake", AXIS, 2)]
    section = catalogue(A)[AXIS].section
    assert softmax[0]["section"] == section and softmax[0]["href"].endswith("book/" + section)
    assert softmax[0]["text"] == catalogue(A)[AXIS].says
    forward = {(r["kind"], r["text"]): r["count"] for r in cells["test_rnn_forward"]["reasons"]}
    assert forward[("visible test", VISIBLE)] == 2
    # grouped without the first wrong value (one student's numbers), and not counted again as an "other" message
    assert forward[("hidden check", f"rnn_forward: {T1['where']}")] == 1
    assert not any(kind == "other" and "T = 1" in text for kind, text in forward)
    assert forward[("source scan", "the source scan flagged the student's code")] == 1
    assert list(forward.values())[0] == 2  # most frequent first


def test_students_that_need_a_look(written):
    _, data = written
    look = {s["student_id"]: " ".join(s["why"]) for s in data["needs_look"]}
    assert set(look) == {"cy", "eve", "fay"}
    assert "restored" in look["cy"] and "calls the reference" in look["eve"] and "not gradable" in look["fay"]


def test_page_is_self_contained(written):
    out, _ = written
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count('src="data:image/png;base64,') == 2
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert AXIS in page and catalogue(A)[AXIS].section in page


# ----------------------------------------------------------------------------- in a browser
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="module")
def browser():
    from test_book_render import Browser, find_chromium

    executable = find_chromium()
    if executable is None:
        pytest.skip("headless Chromium not found (install Debian's `chromium`): report.html's rendering is not "
                    "checked")
    try:
        import websocket  # noqa: F401
    except ImportError:
        pytest.skip("websocket-client is not installed (pip install -r requirements.txt)")
    driver = Browser(executable)
    yield driver
    driver.close()


@pytest.mark.browser
def test_report_renders_in_chromium_with_its_images(browser, written):
    from test_book_render import StaticServer, visit_problems

    out, _ = written
    server = StaticServer(out)
    try:
        visit = browser.open(server.url + "report.html")
    finally:
        server.close()
    assert visit_problems(visit) == []
    assert visit.report["title"] == f"{A}: class report"
    assert visit.report["images"] == 2 and visit.report["broken_images"] == []
    sizes = browser.evaluate("Array.from(document.images).map(i => i.naturalWidth)")
    assert sizes and all(w > 0 for w in sizes), sizes
