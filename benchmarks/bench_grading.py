"""Grading time of honest solutions with the kernel sandbox vs ``--unsafe``, side by side in one run.

    sudo .venv/bin/python benchmarks/bench_grading.py [--assignments 02_simple_rnn 04_gru] [--students 2] [--repeats 2]

For each assignment it builds a class of ``--students`` honest submissions (the released notebook with the
instructor's solutions filled in), then grades it with the grading pipeline, alternating sandboxed and
unsafe runs ``--repeats`` times (interleaved, so machine load hits both alike), and reports the median
wall time of each and their ratio. Target: sandboxed / unsafe <= 1.20. Needs root.
Prints a markdown table; with ``--write`` it replaces the "## Grading" section of benchmarks/README.md.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "hostile"))


def honest_class(assignment: str, dest: Path, students: int) -> None:
    import build  # tests/hostile/build.py: release + fill in the solutions

    build.ASSIGNMENT = assignment
    honest = build.honest_notebook(build.released_notebook())
    for i in range(students):
        folder = dest / f"student{i:02d}" / assignment
        folder.mkdir(parents=True)
        nbformat.write(honest, str(folder / f"{assignment}.ipynb"))


def grade_once(assignment: str, subs: Path, out: Path, unsafe: bool) -> tuple[float, float]:
    from rnn_helpers.grader.pipeline import grade

    t0 = time.perf_counter()
    result = grade(assignment, subs, out, source_root=REPO, unsafe=unsafe, echo=lambda line: None)
    elapsed = time.perf_counter() - t0
    scores = [s.score for s in result.students]
    maxes = [s.max_score for s in result.students]
    if scores != maxes:
        raise SystemExit(f"{assignment}: honest solutions did not get full marks ({scores} of {maxes})")
    return elapsed, scores[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignments", nargs="+", default=["02_simple_rnn", "04_gru"])
    parser.add_argument("--students", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--write", action="store_true", help="write the section into benchmarks/README.md")
    args = parser.parse_args()

    from rnn_helpers.grader.sandbox import sandbox_available

    ok, reason = sandbox_available()
    if not ok:
        print(f"bench_grading: {reason}", file=sys.stderr)
        return 2
    load0 = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory(prefix="rnn-bench-grading-") as tmp:
        tmp = Path(tmp)
        for assignment in args.assignments:
            subs = tmp / assignment / "subs"
            honest_class(assignment, subs, args.students)
            times = {True: [], False: []}
            for r in range(args.repeats):
                for unsafe in ((False, True) if r % 2 == 0 else (True, False)):
                    elapsed, _ = grade_once(assignment, subs, tmp / assignment / f"out-{r}-{unsafe}", unsafe)
                    times[unsafe].append(elapsed)
                    print(f"{assignment} {'unsafe ' if unsafe else 'sandbox'} run {r}: {elapsed:.1f} s", file=sys.stderr)
            sand, unsafe_t = statistics.median(times[False]), statistics.median(times[True])
            rows.append((assignment, sand, unsafe_t, sand / unsafe_t))
    load1 = os.getloadavg()
    total_s, total_u = sum(r[1] for r in rows), sum(r[2] for r in rows)
    lines = [
        "## Grading",
        "",
        "Grading time of the honest solutions with the kernel sandbox (`rnn-course grade`) against `--unsafe`",
        f"(no sandbox), measured side by side by `benchmarks/bench_grading.py`: {args.students} honest students per",
        f"assignment, the two modes interleaved, median of {args.repeats} runs each, whole pipeline (nbgrader",
        "autograde, record verification, feedback). Target: sandboxed / unsafe <= 1.20. Not a timed test.",
        "",
        "| assignment | sandboxed (s) | unsafe (s) | ratio sandboxed/unsafe |",
        "|---|---|---|---|",
        *[f"| {a} | {s:.1f} | {u:.1f} | {s / u:.2f} |" for a, s, u, _ in rows],
        f"| all | {total_s:.1f} | {total_u:.1f} | {total_s / total_u:.2f} |",
        "",
        f"Overall ratio {total_s / total_u:.2f}: "
        + ("within the 1.20 target." if total_s / total_u <= 1.20 else "ABOVE the 1.20 target."),
        "What the sandbox adds per notebook: the launcher (a second Python start), the namespaces, the allow-listed",
        "mount view and the copy of the notebook's folder, and the stripped build once per run.",
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, Linux {platform.release()}; "
        f"load average before / after {load0[0]:.2f} / {load1[0]:.2f} (shared machine: absolute times are noisy,",
        "the interleaved ratio is the comparison).",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        readme = REPO / "benchmarks" / "README.md"
        old = readme.read_text() if readme.exists() else "# Benchmarks\n"
        start = old.find("## Grading")
        if start >= 0:
            end = old.find("\n## ", start + 1)
            old = old[:start] + (old[end + 1:] if end >= 0 else "")
        readme.write_text(old.rstrip("\n") + "\n\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
