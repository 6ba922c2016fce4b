"""Kernel start and per-notebook grading cost: cold sandboxed kernels vs warm ones, beside plain nbgrader.

    sudo .venv/bin/python benchmarks/bench_kernel_start.py [--assignment 02_simple_rnn] [--students 6] [--repeats 3]

Side by side in one run, interleaved (so that the load of a shared machine hits every mode alike):

1. kernel start to first executed cell (a cell ``1``), then the kernel's shutdown, of the sandboxed kernel started
   cold (the launcher execs a fresh ``ipykernel_launcher``) and warm (forked by the warm parent of
   :mod:`rnn_helpers.grader.warm_kernels`), ``--repeats`` x 3 kernels each; and the warm parent's own start-up
   (once per grading process);
2. grading a class of ``--students`` honest submissions of ``--assignment`` (the solution notebook) through
   ``rnn_helpers.grader.pipeline.grade`` (``--jobs 1``, sandboxed) with cold and with warm kernels, and with plain
   ``nbgrader autograde`` (no sandbox) on the same notebooks (``bench_grading.plain_nbgrader``): the whole run's
   wall time per notebook (each warm run starts its own warm parent, as a new ``rnn-course grade`` does) and,
   for ours, the median time of one student (from the progress callbacks: the steady per-notebook cost).

Target: per-notebook cost at most half of plain nbgrader's, sandbox included. Prints markdown. Not a timed test.
Needs root (the sandbox).
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_grading import honest_class, ours_in_process, plain_nbgrader  # noqa: E402


def kernel_times(workdir: Path, nbdir: Path, warm: bool) -> tuple[float, float]:
    """(seconds from kernel start to the first cell executed, seconds of the kernel's shutdown)."""
    from nbclient import NotebookClient

    from rnn_helpers.grader.sandbox import Limits
    from rnn_helpers.grader.sandbox_kernel import executor_config

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("1")]
    client = NotebookClient(nb, config=executor_config(Limits(), workdir, warm=warm),
                            resources={"metadata": {"path": str(nbdir)}})
    t0 = time.perf_counter()
    with client.setup_kernel():
        client.execute_cell(nb.cells[0], 0)
        t1 = time.perf_counter()
    return t1 - t0, time.perf_counter() - t1


def warm_parent_start(workdir: Path) -> float:
    """Seconds from starting a warm parent to its being ready (its imports and checks)."""
    import json

    from rnn_helpers.grader import warm_kernels

    spec = json.loads((workdir / "sandbox_spec.json").read_text())
    warm_kernels.stop_all()
    t0 = time.perf_counter()
    if warm_kernels.zygote_for(spec) is None:
        raise SystemExit(f"bench_kernel_start: no warm parent here ({warm_kernels._UNAVAILABLE})")
    return time.perf_counter() - t0


class StudentClock:
    """A grade() progress that records how long each student took (``times``), and says nothing."""

    times: list[float] = []

    def __init__(self, total: int, echo):
        self.graded = self.kept = 0
        self._t0 = 0.0

    def start(self, student: str) -> None:
        self._t0 = time.perf_counter()

    def finish_student(self, student: str, kept: bool) -> None:
        StudentClock.times.append(time.perf_counter() - self._t0)
        self.graded += 1

    def close(self) -> None:
        pass


def grade_run(assignment: str, subs: Path, out: Path, warm: bool) -> tuple[float, list[float]]:
    """One sandboxed ``--jobs 1`` run with cold or warm kernels: (wall time, each student's time)."""
    from rnn_helpers.grader import sandbox_kernel, warm_kernels

    warm_kernels.stop_all()  # each run starts its own warm parent, as a new ``rnn-course grade`` does
    original = sandbox_kernel.executor_config
    if not warm:
        sandbox_kernel.executor_config = partial(original, warm=False)  # pipeline.grade takes the module's
    StudentClock.times = []
    try:
        wall = ours_in_process(assignment, subs, out, progress=StudentClock, jobs=1)
    finally:
        sandbox_kernel.executor_config = original
    return wall, list(StudentClock.times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="02_simple_rnn")
    parser.add_argument("--students", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from rnn_helpers.grader.sandbox import sandbox_available

    ok, reason = sandbox_available()
    if not ok:
        print(f"bench_kernel_start: {reason}", file=sys.stderr)
        return 2
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="rnn-bench-kernels-") as tmp:
        tmp = Path(tmp)
        workdir, nbdir = tmp / "w", tmp / "nb"
        nbdir.mkdir()
        starts = {False: [], True: []}
        stops = {False: [], True: []}
        kernel_times(workdir, nbdir, True)  # builds the spec, starts the warm parent: not measured
        zygote = warm_parent_start(workdir)
        for r in range(args.repeats * 3):
            for warm in ((False, True) if r % 2 == 0 else (True, False)):
                start, stop = kernel_times(workdir, nbdir, warm)
                starts[warm].append(start)
                stops[warm].append(stop)
        print(f"kernels: cold {statistics.median(starts[False]):.2f} s, warm {statistics.median(starts[True]):.2f} s",
              file=sys.stderr)

        subs = tmp / "subs"
        honest_class(args.assignment, subs, args.students)
        walls = {"cold": [], "warm": [], "plain": []}
        per_student = {"cold": [], "warm": []}
        order = ("cold", "warm", "plain")
        for r in range(args.repeats):
            for mode in (order if r % 2 == 0 else order[::-1]):
                if mode == "plain":
                    walls[mode].append(plain_nbgrader(args.assignment, subs, tmp / f"plain-{r}", 1))
                else:
                    wall, times = grade_run(args.assignment, subs, tmp / f"out-{mode}-{r}", mode == "warm")
                    walls[mode].append(wall)
                    per_student[mode] += times
                print(f"grading {mode} run {r}: {walls[mode][-1]:.1f} s", file=sys.stderr)
    load1 = os.getloadavg()

    n = args.students
    med = {m: statistics.median(v) for m, v in walls.items()}
    one = {m: statistics.median(v) for m, v in per_student.items()}
    plain = med["plain"] / n
    lines = [
        "### Warm kernels",
        "",
        "Measured side by side, interleaved, by `benchmarks/bench_kernel_start.py` (median of each). Not a timed test.",
        "",
        "| sandboxed kernel | start to first executed cell (s) | shutdown (s) |",
        "|---|---|---|",
        f"| cold (exec a fresh `ipykernel_launcher`) | {statistics.median(starts[False]):.2f} | "
        f"{statistics.median(stops[False]):.2f} |",
        f"| warm (forked by the warm parent) | {statistics.median(starts[True]):.2f} | "
        f"{statistics.median(stops[True]):.2f} |",
        "",
        f"The warm parent itself is ready {zygote:.1f} s after it starts (once per grading process; it starts while "
        "the run sets up).",
        "",
        f"Grading {n} honest `{args.assignment}` submissions (the solution notebook), {args.repeats} runs of each:",
        "",
        "| grading | whole run (s) | per notebook, whole run (s) | one student, median (s) | vs plain nbgrader |",
        "|---|---|---|---|---|",
        f"| `rnn-course grade --jobs 1`, sandboxed, cold kernels | {med['cold']:.1f} | {med['cold'] / n:.2f} | "
        f"{one['cold']:.2f} | {med['cold'] / n / plain:.2f} |",
        f"| `rnn-course grade --jobs 1`, sandboxed, warm kernels | {med['warm']:.1f} | {med['warm'] / n:.2f} | "
        f"{one['warm']:.2f} | {med['warm'] / n / plain:.2f} |",
        f"| plain `nbgrader autograde` (no sandbox) | {med['plain']:.1f} | {plain:.2f} | | 1.00 |",
        "",
        f"Target: per notebook at most half of plain nbgrader's: warm kernels give {med['warm'] / n / plain:.2f} of it "
        f"over the whole run, {one['warm'] / plain:.2f} per student once running.",
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, Linux {platform.release()}; "
        f"load average before / after {load0[0]:.2f} / {load1[0]:.2f}.",
        "",
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
