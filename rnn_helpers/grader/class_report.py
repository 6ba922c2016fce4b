"""``OUT/report.html`` and ``OUT/report.json``: what a class's grades say an instructor should teach again.

One self-contained page (no script, no request: the figures are PNGs in ``data:`` URIs, drawn with
matplotlib's Agg backend) and the same figures as JSON:

- the score distribution (a histogram, and mean / median / min / max);
- every test cell's pass rate;
- the most frequent reasons each cell failed, grouped, with counts: a catalogued mistake the grader named
  (its sentence and the book section to re-teach, :func:`feedback.book_href`), a visible test's message, a
  hidden check's "fails only when ..." description, or another reason (a timeout, a missing record);
- the students that need a look: not gradable (or partly), test cells the grader restored, findings of the
  source scan, grader errors.

:func:`report` computes the figures from the pipeline's ``StudentResult`` s; :func:`write_report` writes both
files atomically.
"""
from __future__ import annotations

import base64
import html
import io
import json
import pathlib
import statistics
from collections import Counter

from .atomic_write import write_atomic
from .explain import describe, mistake_items
from .feedback import book_href
from .verify_records import visible_test_message

MAX_REASONS = 8  # the reasons listed per cell at most


def _reasons(assignment: str, cell) -> list[tuple[str, str]]:
    """``(kind, text)`` of why one failed cell earned nothing, one per distinct reason. A hidden check's
    description leaves out its first wrong value, which differs from student to student."""
    out = []
    for entry in cell.explanations:
        out += [("mistake", m) for m in entry["mistakes"]]
        if not entry["mistakes"]:
            out.append(("hidden check", describe(assignment, dict(entry, first_wrong=""))))
    explained = {describe(assignment, entry) for entry in cell.explanations}  # the messages they are
    for message in cell.messages:
        if message in explained or message in cell.findings:
            continue
        visible = visible_test_message(message)
        out.append(("visible test", visible) if visible is not None else ("other", message))
    if cell.findings:
        out.append(("source scan", "the source scan flagged the student's code"))
    return list(dict.fromkeys(out))


def needs_look(res) -> list[str]:
    """Why the instructor should look at a student's submission (empty: nothing to look at)."""
    why = []
    if res.status != "graded":
        problems = [f"{nb.notebook}: {nb.problem}" for nb in res.notebooks if nb.problem]
        why.append(f"{res.status}" + (f" ({'; '.join(problems)})" if problems else ""))
    why += [f"restored: {n}" for n in res.all_notes() if "restored" in n]
    for nb in res.notebooks:
        for c in nb.cells:
            why += [f"source scan before {c.name}: {f}" for f in c.findings]
            why += [f"{c.name}: {m}" for m in c.messages if m.startswith("grader error")]
    return list(dict.fromkeys(why))


def report(results, layout: dict[str, list[dict]], assignment: str) -> dict:
    """The class's figures (what ``report.json`` holds); the students in the order given."""
    scores = [r.score for r in results]
    max_score = max([r.max_score for r in results] + [0.0])
    cells = []
    for nb_name, layout_cells in layout.items():
        for lc in layout_cells:
            if lc.get("kind", "test") != "test":
                continue
            decided = [c for r in results for nb in r.notebooks if nb.notebook == nb_name and not nb.problem
                       for c in nb.cells if c.name == lc["name"]]
            counts: Counter = Counter()
            for c in decided:
                if not c.passed:
                    counts.update(_reasons(assignment, c))
            mistakes = {i: (says, section) for i, says, section in
                        mistake_items(assignment, [t for (k, t) in counts if k == "mistake"])}
            reasons = []
            for (kind, text), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
                entry = {"kind": kind, "text": text, "count": n}
                if kind == "mistake":
                    says, section = mistakes.get(text, ("", ""))
                    entry.update(id=text, text=says or text, section=section,
                                 href=book_href(section) if section else "")
                reasons.append(entry)
            passed = sum(1 for c in decided if c.passed)
            cells.append({"name": lc["name"], "notebook": nb_name, "max_points": lc["max_score"],
                          "graded": len(decided), "passed": passed,
                          "pass_rate": passed / len(decided) if decided else None, "reasons": reasons})
    look = [{"student_id": r.student_id, "folder": r.folder, "why": why} for r in results if (why := needs_look(r))]
    return {"assignment": assignment, "students": len(results), "max_score": max_score,
            "scores": {"values": scores, "mean": statistics.fmean(scores) if scores else None,
                       "median": statistics.median(scores) if scores else None,
                       "min": min(scores, default=None), "max": max(scores, default=None),
                       "histogram": _histogram(scores, max_score)},
            "cells": cells, "needs_look": look}


def _histogram(scores: list[float], max_score: float) -> list[dict]:
    """Counts of scores in (at most) 10 equal bins from 0 to the maximum score, the last bin closed."""
    if not scores:
        return []
    top = max(max_score, max(scores), 1e-9)
    n = min(10, max(1, int(round(top))) if top >= 1 else 1)
    width = top / n
    counts = [0] * n
    for s in scores:
        counts[min(n - 1, max(0, int(s / width)))] += 1
    return [{"from": i * width, "to": (i + 1) * width, "count": counts[i]} for i in range(n)]


# ----------------------------------------------------------------------------- figures
def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def figure_class():
    """matplotlib's ``Figure``, drawing with Agg (not pyplot: no global state, no GUI backend). Importing it takes
    0.5-1 s: ``--jobs`` does it while the workers finish their last students (``pipeline``)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    return Figure


def figures(data: dict) -> dict[str, str]:
    """The score histogram and the pass-rate bars, as ``data:`` URIs."""
    Figure = figure_class()
    out = {}
    fig = Figure(figsize=(6, 2.8))
    ax = fig.add_subplot()
    hist = data["scores"]["histogram"]
    if hist:
        ax.bar([h["from"] for h in hist], [h["count"] for h in hist], width=[h["to"] - h["from"] for h in hist],
               align="edge", color="#4a78b0", edgecolor="white")
    ax.set_xlabel(f"score (of {data['max_score']:g})")
    ax.set_ylabel("students")
    ax.set_title("Score distribution")
    out["scores"] = _png(fig)
    cells = data["cells"]
    fig = Figure(figsize=(6, 0.45 * max(len(cells), 1) + 1))
    ax = fig.add_subplot()
    rates = [100 * (c["pass_rate"] or 0.0) for c in cells]
    ax.barh([c["name"] for c in cells], rates, color="#4a9b5a")
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("students who passed (%)")
    ax.set_title("Pass rate per test cell")
    out["pass_rates"] = _png(fig)
    return out


# ----------------------------------------------------------------------------- the page
CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem;
color:#222;line-height:1.45}table{border-collapse:collapse;width:100%;margin:1rem 0}
th,td{border:1px solid #ccc;padding:.35rem .5rem;text-align:left;vertical-align:top}th{background:#f3f3f3}
img{max-width:100%}.kind{color:#555;font-size:.85rem;white-space:nowrap}.n{text-align:right}
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _pct(rate) -> str:
    return "n/a" if rate is None else f"{100 * rate:.0f}%"


def render(data: dict, images: dict[str, str]) -> str:
    s = data["scores"]
    title = f"{data['assignment']}: class report"
    body = [f"<h1>{_e(title)}</h1>"]
    if s["values"]:
        body.append(f"<p>{data['students']} student(s); mean {s['mean']:.3g}, median {s['median']:g}, "
                    f"min {s['min']:g}, max {s['max']:g} (of {data['max_score']:g}).</p>")
    else:
        body.append("<p>No student was graded.</p>")
    body.append(f'<h2>Scores</h2><img alt="score distribution" src="{images["scores"]}">')
    rows = "".join(f"<tr><td><code>{_e(c['name'])}</code></td><td class=\"n\">{c['passed']} / {c['graded']}</td>"
                   f"<td class=\"n\">{_pct(c['pass_rate'])}</td></tr>" for c in data["cells"])
    body.append(f'<h2>Pass rate per test cell</h2><img alt="pass rate per test cell" src="{images["pass_rates"]}">'
                f"<table><tr><th>test cell</th><th>passed</th><th>rate</th></tr>{rows}</table>")
    body.append("<h2>Why cells failed</h2>")
    for c in data["cells"]:
        if not c["reasons"]:
            continue
        items = []
        for r in c["reasons"][:MAX_REASONS]:
            what = _e(r["text"])
            if r["kind"] == "mistake":
                what = f"<code>{_e(r['id'])}</code>: {what}"
                if r.get("section"):
                    what += f' (re-teach: <a href="{_e(r["href"])}">{_e(r["section"])}</a>)'
            items.append(f'<tr><td class="n">{r["count"]}</td><td class="kind">{_e(r["kind"])}</td><td>{what}</td></tr>')
        more = len(c["reasons"]) - MAX_REASONS
        tail = f"<p>and {more} other reason(s), in report.json</p>" if more > 0 else ""
        body.append(f"<h3><code>{_e(c['name'])}</code> ({c['graded'] - c['passed']} failed)</h3>"
                    f"<table><tr><th>students</th><th>kind</th><th>reason</th></tr>{''.join(items)}</table>{tail}")
    body.append("<h2>Students that need a look</h2>")
    if data["needs_look"]:
        body.append("<table><tr><th>student</th><th>folder</th><th>why</th></tr>" + "".join(
            f"<tr><td>{_e(s['student_id'])}</td><td>{_e(s['folder'])}</td><td>"
            + "<br>".join(_e(w) for w in s["why"]) + "</td></tr>" for s in data["needs_look"]) + "</table>")
    else:
        body.append("<p>None.</p>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            # an empty icon: a self-contained page asks for no /favicon.ico
            f"<title>{_e(title)}</title><link rel=\"icon\" href=\"data:,\"><style>{CSS}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def write_report(out: pathlib.Path, results, layout: dict[str, list[dict]], assignment: str) -> dict:
    """Write ``out/report.json`` and ``out/report.html``; the figures."""
    data = report(results, layout, assignment)
    out = pathlib.Path(out)
    write_atomic(out / "report.json", json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    write_atomic(out / "report.html", render(data, figures(data)))
    return data
