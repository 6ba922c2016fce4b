"""What explaining hidden failures costs: a class where every student is wrong somewhere, graded with and without
the explainer, side by side in one run.

    .venv/bin/python benchmarks/bench_explain.py [--assignment 03_bptt] [--repeats 2] [--sandboxed]

The class: one student per catalogued mistake of the assignment (``rnn_helpers/grader/mistakes``), each the
solution notebook with that one change, so every student loses points somewhere, and the mistakes that pass the
visible tests make the grader explain a failed hidden check (03_bptt has the most of those). The same class is
graded by the real pipeline with the explainer (``verify_records.FailureExplainer``, as ``rnn-course grade``
runs) and without it (hidden failures keep their generic message), the two interleaved ``--repeats`` times so that
machine load hits both alike. Target (issue 14): explaining adds at most 10% to the grading time.

``--unsafe`` kernels by default (the course's own code, no sandbox; needs no root): a smaller denominator than a
sandboxed run, so the ratio measured is the upper bound; ``--sandboxed`` grades as an instructor's run does.
Prints a Markdown table for benchmarks/README.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def mistaken_notebook(solution: dict, old: str, new: str) -> dict | None:
    """The solution notebook with one catalogued change (``None`` when the change is not in exactly one place:
    that mistake is left out of the class)."""
    from rnn_helpers.grader.mistakes.solution import notebook_with_change

    try:
        return notebook_with_change(solution, old, new)
    except ValueError:
        return None


def mistakes_class(assignment: str, dest: Path) -> int:
    """One student folder per catalogued mistake under ``dest``; returns how many."""
    from rnn_helpers.grader.mistakes import catalogue

    solution = json.loads((REPO / "solutions" / assignment / f"{assignment}.ipynb").read_text(encoding="utf-8"))
    n = 0
    for mistake in catalogue(assignment).values():
        nb = mistaken_notebook(solution, mistake.old, mistake.new)
        if nb is None:
            continue
        folder = dest / f"s{n:03d}" / assignment
        folder.mkdir(parents=True)
        (folder / f"{assignment}.ipynb").write_text(json.dumps(nb), encoding="utf-8")
        n += 1
    return n


def grade_once(assignment: str, subs: Path, out: Path, *, explain: bool, unsafe: bool) -> tuple[float, int]:
    """Wall time of one grading run, and how many cells it explained with a named mistake."""
    import inspect

    from rnn_helpers.grader import pipeline

    saved = pipeline.FailureExplainer
    if not explain:
        pipeline.FailureExplainer = lambda *args, **kw: None  # the plan's explainer: None keeps the generic text
    kw = {"jobs": 1} if "jobs" in inspect.signature(pipeline.grade).parameters else {}
    try:
        t0 = time.perf_counter()
        run = pipeline.grade(assignment, subs, out, source_root=REPO, unsafe=unsafe, echo=lambda line: None,
                             regrade=True, **kw)
        elapsed = time.perf_counter() - t0
    finally:
        pipeline.FailureExplainer = saved
    if any(s.score >= s.max_score for s in run.students):
        raise SystemExit(f"{assignment}: a student of the mistakes class earned full marks")
    named = sum(1 for s in run.students for nb in s.notebooks for c in nb.cells if getattr(c, "mistakes", None))
    return elapsed, named


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="03_bptt")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--sandboxed", action="store_true", help="grade in the kernel sandbox (needs root)")
    args = parser.parse_args()
    unsafe = not args.sandboxed
    load0 = os.getloadavg()
    times: dict[bool, list[float]] = {True: [], False: []}
    named: dict[bool, int] = {}
    with tempfile.TemporaryDirectory(prefix="rnn-bench-explain-") as tmp:
        tmp = Path(tmp)
        students = mistakes_class(args.assignment, tmp / "subs")
        for r in range(args.repeats):
            for explain in ((True, False) if r % 2 == 0 else (False, True)):
                elapsed, named[explain] = grade_once(args.assignment, tmp / "subs", tmp / f"out-{r}-{explain}",
                                                     explain=explain, unsafe=unsafe)
                times[explain].append(elapsed)
                print(f"run {r} {'explained' if explain else 'generic  '}: {elapsed:.1f} s, "
                      f"{named[explain]} cell(s) named", file=sys.stderr)
    load1 = os.getloadavg()
    with_e, without = statistics.median(times[True]), statistics.median(times[False])
    ratio = with_e / without
    print("\n".join([
        f"| assignment | students (one mistake each) | kernels | with explainer (s) | without (s) | ratio | "
        f"cells named |",
        "|---|---|---|---|---|---|---|",
        f"| {args.assignment} | {students} | {'sandboxed' if args.sandboxed else 'unsafe'} | {with_e:.1f} | "
        f"{without:.1f} | {ratio:.3f} | {named[True]} |",
        "",
        f"Explaining adds {100 * (ratio - 1):.1f}% ({'within' if ratio <= 1.10 else 'ABOVE'} the 10% target); "
        f"median of {args.repeats} interleaved runs each. Machine: {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average before / after {load0[0]:.2f} / {load1[0]:.2f}.",
    ]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
