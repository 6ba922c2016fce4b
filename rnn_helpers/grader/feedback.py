"""Per-student feedback pages: each test's name, points and message, and the student's own cells.

nbgrader's ``generate_feedback`` renders the autograded notebook, hidden tests included (their source is
restored into every test cell before execution), and copies every non-notebook file of the assignment into
the feedback folder. This page is written by the grader instead, from its own decisions:

- first, what to fix: for every failed hidden check the grader explained (:mod:`.explain`), the likely
  mistake (its sentence and a link to the book section that explains the point) or where the function fails
  (which cases, what sets them apart, the first wrong element);
- a table of the graded cells: name, points earned / possible, and why a cell earned nothing;
- the notes on the submission (restored test cells, a notebook graded under another name, ...);
- the student's notebook: markdown and the student's code with its text outputs; a test cell shows only the
  source the student received (the released, visible part) and the grader's verdict, never the hidden
  tests nor a traceback (tracebacks quote the cell's code).

Everything taken from the submission is escaped; markdown is rendered with raw HTML disabled.

Book links: a catalogued mistake's section is ``<page>.html#<anchor>`` under the book's ``book/`` folder. The
link is ``$RNN_COURSE_BOOK_URL`` + ``book/`` + section, where ``RNN_COURSE_BOOK_URL`` is the address of the
published book's root (the built ``_build/html``, e.g. ``https://example.org/rnn-course/``); when it is not set
the link is relative to the book's root (``book/02_simple_rnn.html#the-equations``), and the page shows that
path too, so a student can find the section in a book built locally.
"""
from __future__ import annotations

import html
import os
import pathlib

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#222;line-height:1.45}
table{border-collapse:collapse;width:100%;margin:1rem 0}th,td{border:1px solid #ccc;padding:.35rem .5rem;text-align:left;
vertical-align:top}th{background:#f3f3f3}.pass{color:#17692a;font-weight:600}.fail{color:#a11;font-weight:600}
pre{background:#f7f7f7;padding:.6rem;overflow-x:auto;white-space:pre-wrap;border-radius:4px}
.cell{margin:1rem 0}.test{border-left:4px solid #888;padding-left:.6rem}.out{background:#fff;border:1px dashed #ccc}
.err{background:#fff0f0}.notes li{margin:.2rem 0}.score{font-size:1.3rem}
.math{font-family:ui-monospace,monospace;white-space:pre-wrap}div.math{margin:.5rem 1rem}
"""


BOOK_URL_ENV = "RNN_COURSE_BOOK_URL"


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def book_href(section: str) -> str:
    """Where a catalogue section (``02_simple_rnn.html#the-equations``) is in the book (see the module docstring)."""
    base = os.environ.get(BOOK_URL_ENV, "").strip()
    if base and not base.endswith("/"):
        base += "/"
    return f"{base}book/{section}"


def _book_link(section: str) -> str:
    href = book_href(section)
    return f'<a href="{_e(href)}">book: {_e(section.replace(".html", "").replace("#", " / "))}</a>'


def _explanations(assignment: str, cells) -> str:
    """The "what to fix first" section: named mistakes with their book links, else where a check fails
    (from each failed cell's ``explanations``, worded by :func:`.explain.describe`)."""
    from .explain import describe, mistake_items

    items = []
    for c in cells:
        if c.passed:
            continue
        for entry in c.explanations:
            if not entry["mistakes"]:
                items.append(f"<li><code>{_e(c.name)}</code>: {_e(describe(assignment, entry))}</li>")
            for mid, says, section in mistake_items(assignment, entry["mistakes"]):
                link = f" ({_book_link(section)})" if section else ""
                items.append(f"<li><code>{_e(c.name)}</code>: likely mistake <code>{_e(mid)}</code>: {_e(says)}"
                             f"{link}</li>")
    items = list(dict.fromkeys(items))  # a mistake two checks of a cell name is listed once
    if not items:
        return ""
    return ('<section id="explanations"><h2>What to fix first</h2><ul class="explain">' + "".join(items)
            + "</ul></section>")


def _markdown(text: str) -> str:
    """Markdown to HTML, raw HTML disabled. TeX between dollars is kept as written (plain markdown would eat its
    backslashes; the page loads no MathJax), and relative links, which point into the course repository and
    cannot work from a feedback file, become plain text."""
    try:
        from markdown_it import MarkdownIt
        from mdit_py_plugins.dollarmath import dollarmath_plugin

        md = MarkdownIt("commonmark", {"html": False}).use(dollarmath_plugin, double_inline=True)
        md.add_render_rule("link_open", _link_open)
        md.add_render_rule("link_close", _link_close)
        return md.render(text)
    except Exception:  # markdown-it missing: show the text as it is
        return f"<pre>{_e(text)}</pre>"


def _is_web_link(token) -> bool:
    return str(token.attrGet("href") or "").startswith(("https://", "http://"))


def _link_open(self, tokens, idx, options, env):
    token = tokens[idx]
    return f'<a href="{_e(token.attrGet("href"))}">' if _is_web_link(token) else '<span class="link">'


def _link_close(self, tokens, idx, options, env):
    # the matching link_open is the nearest one before this token at the same nesting level
    level = tokens[idx].level
    opener = next(t for t in reversed(tokens[:idx]) if t.type == "link_open" and t.level == level)
    return "</a>" if _is_web_link(opener) else "</span>"


def _outputs(outputs) -> str:
    parts = []
    for out in outputs or []:
        kind = out.get("output_type")
        if kind == "stream":
            parts.append(f'<pre class="out">{_e(out.get("text", ""))[:20000]}</pre>')
        elif kind in ("display_data", "execute_result"):
            data = out.get("data", {}) or {}
            if "image/png" in data and isinstance(data["image/png"], str):
                parts.append(f'<img alt="figure output" src="data:image/png;base64,{_e(data["image/png"].strip())}">')
            elif "text/plain" in data:
                parts.append(f'<pre class="out">{_e(data["text/plain"])[:20000]}</pre>')
        elif kind == "error":
            parts.append(f'<pre class="out err">{_e(out.get("ename", "Error"))}: {_e(out.get("evalue", ""))[:2000]}</pre>')
    return "".join(parts)


def render(student_result, nb_result, released_tests: dict[str, str] | None = None) -> str:
    """The feedback page (a complete HTML document) of one student's notebook."""
    released_tests = released_tests or {}
    title = f"{student_result.assignment} / {nb_result.notebook}: feedback for {student_result.student_id}"
    rows = []
    for c in nb_result.cells:
        verdict = '<span class="pass">passed</span>' if c.passed else '<span class="fail">no points</span>'
        message = "<br>".join(_e(m) for m in c.messages) if c.messages else ""
        rows.append(f"<tr><td><code>{_e(c.name)}</code></td><td>{c.points:g} / {c.max_points:g}</td>"
                    f"<td>{verdict}</td><td>{message}</td></tr>")
    notes = list(student_result.notes) + list(nb_result.notes)
    body = [f"<h1>{_e(title)}</h1>",
            f'<p class="score">Score: <strong>{nb_result.score:g} / {nb_result.max_score:g}</strong></p>']
    explained = _explanations(student_result.assignment, nb_result.cells)
    if explained:
        body.append(explained)
    if nb_result.problem:
        body.append(f'<p class="fail">This notebook was not graded: {_e(nb_result.problem)}</p>')
    if notes:
        body.append('<h2>Notes</h2><ul class="notes">' + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>")
    body.append("<h2>Tests</h2><table><tr><th>test</th><th>points</th><th>result</th><th>message</th></tr>"
                + "".join(rows) + "</table>")
    if nb_result.executed is not None:
        body.append("<h2>Your notebook, as graded</h2>")
        decided = {c.name: c for c in nb_result.cells}
        for cell in nb_result.executed.get("cells", []):
            body.append(_cell(cell, decided, released_tests))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(title)}</title><style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def _cell(cell, decided, released_tests) -> str:
    meta = (cell.get("metadata", {}) or {}).get("nbgrader") or {}
    gid = meta.get("grade_id")
    if cell.get("cell_type") == "markdown":
        return f'<div class="cell">{_markdown(cell.get("source", ""))}</div>'
    if cell.get("cell_type") != "code":
        return ""
    is_test = bool(meta.get("grade")) and not meta.get("solution")
    if is_test:
        visible = released_tests.get(gid, "# (test code not shown)")
        c = decided.get(gid)
        if c is None:
            verdict = ""
        elif c.passed:
            verdict = f'<p class="pass">{_e(gid)}: passed, {c.points:g} / {c.max_points:g}</p>'
        else:
            verdict = (f'<p class="fail">{_e(gid)}: {c.points:g} / {c.max_points:g}</p><pre class="out err">'
                       + _e("\n".join(c.messages)) + "</pre>")
        return (f'<div class="cell test"><p>Test cell <code>{_e(gid)}</code> (hidden tests not shown)</p>'
                f"<pre>{_e(visible)}</pre>{verdict}</div>")
    return f'<div class="cell"><pre>{_e(cell.get("source", ""))}</pre>{_outputs(cell.get("outputs"))}</div>'


def write(path: pathlib.Path, student_result, nb_result, released_tests: dict[str, str] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(student_result, nb_result, released_tests), encoding="utf-8")
