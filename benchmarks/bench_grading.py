"""Grading time: the kernel sandbox vs ``--unsafe``; students per minute with ``--jobs`` and on a Dask cluster beside
plain ``nbgrader autograde``; and a class of 1,000 in one run.

    sudo .venv/bin/python benchmarks/bench_grading.py [--assignments 02_simple_rnn 04_gru] [--students 2] [--repeats 2]
    sudo .venv/bin/python benchmarks/bench_grading.py --throughput [--assignment 02_simple_rnn] [--students 120] [--rounds 5]
    sudo .venv/bin/python benchmarks/bench_grading.py --scale [--assignment 01_motivation] [--students 1000]

Default mode: for each assignment it builds a class of ``--students`` honest submissions (the released notebook with
the instructor's solutions filled in), then grades it with the grading pipeline, alternating sandboxed and
unsafe runs ``--repeats`` times (interleaved, so machine load hits both alike), and reports the median
wall time of each and their ratio. Target: sandboxed / unsafe <= 1.20.

``--throughput``: one generated class of ``--students`` (a third right: the solution notebook; a third blank: the
released notebook; a third wrong: the solution with one catalogued mistake, ``rnn_helpers/grader/mistakes``),
graded, sandboxed, by ``rnn-course grade`` commands (each a process of its own, as an instructor runs them):
``--jobs 1`` and ``--jobs 2`` ``--rounds`` times each in alternating order (medians; their ratio is the median
of each round's own), ``--scheduler`` with a local Dask scheduler and two workers (``--nthreads 1``) started here
once, and by plain ``nbgrader autograde`` on the same notebooks once (one process, then two processes on half the
class each, in two course folders: nbgrader has no parallel mode). Students per minute of each whole run (start-up
included); the ``rnn-course grade`` runs must write the same ``grades.csv`` and ``grades.json``, byte for byte.

``--scale``: one class of ``--students`` of the same mix, graded by ``rnn-course grade --jobs 2`` (sandboxed) in a
subprocess whose resident memory and open files are sampled every second: wall time, peak RSS (VmHWM) and the most
open files, and both at 10%, 50% and 100% of the students done (bounded: no growth per student beyond its
result).

Needs root (the sandbox). Prints markdown; with ``--write`` it replaces its own part of the "## Grading" section
of benchmarks/README.md (the default mode the section's head, the others their "###" subsection).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "hostile"))
sys.path.insert(0, str(REPO / "benchmarks"))
BIN = Path(sys.executable).parent


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


# ----------------------------------------------------------------------------- a mixed class


def released(assignment: str) -> dict:
    from rnn_helpers.grader.release import release

    with tempfile.TemporaryDirectory(prefix="rnn-bench-release-") as tmp:
        (path,) = release([assignment], out_dir=Path(tmp), root=REPO, log=None)
        return json.loads(path.read_text(encoding="utf-8"))


def mixed_class(assignment: str, dest: Path, students: int) -> dict[str, int]:
    """``students`` folders under ``dest``: in turn right (the solution notebook), blank (the released one) and
    wrong (the solution with one catalogued mistake, a different one each time); returns the count of each."""
    from bench_explain import mistaken_notebook

    from rnn_helpers.grader.mistakes import catalogue

    solution = json.loads((REPO / "solutions" / assignment / f"{assignment}.ipynb").read_text(encoding="utf-8"))
    wrongs = [nb for m in catalogue(assignment).values()
              if (nb := mistaken_notebook(solution, m.old, m.new)) is not None]
    kinds = {"right": solution, "blank": released(assignment)}
    counts = {"right": 0, "blank": 0, "wrong": 0}
    for i in range(students):
        kind = ("right", "blank", "wrong")[i % 3]
        nb = wrongs[(i // 3) % len(wrongs)] if kind == "wrong" else kinds[kind]
        folder = dest / f"s{i:04d}" / assignment
        folder.mkdir(parents=True)
        (folder / f"{assignment}.ipynb").write_text(json.dumps(nb), encoding="utf-8")
        counts[kind] += 1
    return counts


# ----------------------------------------------------------------------------- students per minute


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def local_cluster(workers: int, logs: Path) -> tuple[str, list[subprocess.Popen]]:
    """A Dask scheduler and ``workers`` workers (one thread each) on 127.0.0.1, ready."""
    from distributed import Client

    address = f"tcp://127.0.0.1:{_free_port()}"
    port = address.rpartition(":")[2]
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", port,
                               "--dashboard-address", ":0", "--no-show"], stderr=open(logs / "scheduler.log", "wb"))]
    procs += [subprocess.Popen([str(BIN / "dask"), "worker", address, "--nworkers", "1", "--nthreads", "1",
                                "--no-nanny", "--host", "127.0.0.1", "--dashboard-address", ":0"],
                               stderr=open(logs / f"worker{i}.log", "wb")) for i in range(workers)]
    with Client(address, timeout="90s", set_as_default=False) as client:
        client.wait_for_workers(workers, timeout=90)
    return address, procs


def ours_in_process(assignment: str, subs: Path, out: Path, **kw) -> float:
    """Wall time of one sandboxed grading run in this process (the pipeline; ``kw`` as for ``grade``)."""
    from rnn_helpers.grader.pipeline import grade

    t0 = time.perf_counter()
    grade(assignment, subs, out, source_root=REPO, echo=lambda line: None, **kw)
    return time.perf_counter() - t0


def ours(assignment: str, subs: Path, out: Path, *options: str) -> tuple[float, float, float]:
    """Wall time of one sandboxed ``rnn-course grade`` command, as an instructor runs it (its own process: every
    configuration pays the same start-up, imports included), its steady pace (seconds per student between the
    starts of the 10% and the 90% student, from its progress lines timed as they come: start-up and the last
    students left out) and the machine's busy CPU-seconds meanwhile."""
    shutil.rmtree(out, ignore_errors=True)
    t0, cpu0 = time.perf_counter(), busy_cpu_seconds()
    proc = subprocess.Popen([str(BIN / "rnn-course"), "grade", assignment, str(subs), "--out", str(out), *options],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    starts, tail = [], []
    for line in proc.stderr:
        if line.startswith("[") and "] grading " in line:
            starts.append(time.perf_counter())
        tail = (tail + [line])[-40:]
    code = proc.wait()
    elapsed, cpu = time.perf_counter() - t0, busy_cpu_seconds() - cpu0
    if code != 0:
        raise SystemExit(f"bench_grading: rnn-course grade {' '.join(options)} failed ({code}): {''.join(tail)}")
    first, last = len(starts) // 10, (9 * len(starts)) // 10
    pace = (starts[last] - starts[first]) / (last - first) if last > first else float("nan")
    return elapsed, pace, cpu


def plain_nbgrader(assignment: str, subs: Path, work: Path, processes: int, cpu: list | None = None) -> float:
    """Wall time of plain ``nbgrader autograde`` of the class in ``processes`` course folders at once (the class
    split between them; ``generate_assignment`` done before the clock starts); the machine's busy CPU-seconds
    of the timed part are appended to ``cpu`` when it is given."""
    students = sorted(p.name for p in subs.iterdir())
    cmds = []
    for k in range(processes):
        root = work / f"plain{k}"
        (root / "source").mkdir(parents=True)
        shutil.copytree(REPO / "solutions" / assignment, root / "source" / assignment)
        for sid in students[k::processes]:
            shutil.copytree(subs / sid, root / "submitted" / sid)
        common = [f"--CourseDirectory.root={root}", f"--CourseDirectory.db_url=sqlite:///{root}/gradebook.db"]
        env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
        subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force", *common],
                       env=env, check=True, capture_output=True, cwd=root)
        cmds.append(([sys.executable, "-m", "nbgrader", "autograde", assignment, "--force", *common], env, root))
    t0, cpu0 = time.perf_counter(), busy_cpu_seconds()
    procs = [subprocess.Popen(cmd, env=env, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for cmd, env, root in cmds]
    for p in procs:
        p.wait()
    if cpu is not None:
        cpu.append(busy_cpu_seconds() - cpu0)
    return time.perf_counter() - t0


def busy_cpu_seconds() -> float:
    """CPU time the whole machine has spent busy since boot (/proc/stat: user, nice, system, irq, softirq,
    steal), in seconds: the difference around a run is its CPU, whichever processes spent it."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]) / os.sysconf("SC_CLK_TCK")


def throughput(assignment: str, students: int, rounds: int) -> str:
    load0 = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory(prefix="rnn-bench-throughput-") as tmp:
        tmp = Path(tmp)
        counts = mixed_class(assignment, tmp / "subs", students)
        # --jobs 1 and --jobs 2 in alternating order, ``rounds`` times each: the ratio is between medians of runs
        # that met the same load
        walls: dict[int, list[float]] = {1: [], 2: []}
        cpus: dict[int, list[float]] = {1: [], 2: []}
        paces: dict[int, list[float]] = {1: [], 2: []}
        for r in range(rounds):
            for jobs in ((1, 2) if r % 2 == 0 else (2, 1)):
                wall, pace, cpu = ours(assignment, tmp / "subs", tmp / f"out-{jobs}", "--jobs", str(jobs))
                walls[jobs].append(wall)
                cpus[jobs].append(cpu)
                paces[jobs].append(pace)
                print(f"--jobs {jobs} round {r}: {wall:.1f} s, {cpu:.1f} CPU-s, {pace:.3f} s per student",
                      file=sys.stderr)
        for jobs in (1, 2):
            rows.append((f"`rnn-course grade --jobs {jobs}`", "sandboxed", statistics.median(walls[jobs]),
                         walls[jobs], statistics.median(cpus[jobs]), statistics.median(paces[jobs]),
                         tmp / f"out-{jobs}"))
        address, procs = local_cluster(2, tmp)
        try:
            out = tmp / "out-dask"
            wall, pace, cpu = ours(assignment, tmp / "subs", out, "--scheduler", address)
            rows.append(("`rnn-course grade --scheduler` (2 local Dask workers)", "sandboxed", wall, [wall], cpu,
                         pace, out))
            print(f"dask: {wall:.1f} s", file=sys.stderr)
        finally:
            for p in procs:
                p.kill()
                p.wait()
        for processes in (1, 2):
            label = "plain `nbgrader autograde`" + (" (1 process)" if processes == 1 else " (2 processes, half each)")
            cpu = []
            wall = plain_nbgrader(assignment, tmp / "subs", tmp / f"p{processes}", processes, cpu)
            rows.append((label, "no sandbox", wall, [wall], cpu[0], None, None))
            print(f"{label}: {wall:.1f} s", file=sys.stderr)
        outs = [r[6] for r in rows if r[6] is not None]
        same = all((o / f).read_bytes() == (outs[0] / f).read_bytes() for o in outs for f in ("grades.csv",
                                                                                           "grades.json"))
    load1 = os.getloadavg()
    base = rows[0][2]
    per_notebook = [(rows[0][2] / rows[3][2]), (rows[1][2] / rows[4][2])]
    # each round ran --jobs 1 and --jobs 2 one after the other: the ratio of a round's two runs is what one load
    # gave both, where the ratio of the medians mixes runs from different moments (the machine's speed drifts)
    per_round = [w1 / w2 for w1, w2 in zip(walls[1], walls[2])]
    ratio = statistics.median(per_round)
    steady = rows[0][5] / rows[1][5]
    lines = [
        f"### Students per minute ({assignment}, {students} students in one run)",
        "",
        f"One generated class of {students} students of `{assignment}` ({counts['right']} right, {counts['blank']} "
        f"blank, {counts['wrong']} wrong: one catalogued mistake each), graded by each configuration as a command of "
        "its own (`rnn-course grade ...` in a new process, so each pays the same start-up: imports, worker start-up,",
        f"feedback and outputs included). `--jobs 1` and `--jobs 2` ran {rounds} times each in alternating order; "
        "their wall time is the median (each run in brackets, in round order), the others ran once. CPU busy: the "
        "whole machine's busy CPU time during the run (/proc/stat; medians for `--jobs`), and cores busy that over "
        "the wall time. "
        "Steady pace: seconds per student between the starts of the 10% and the 90% student (start-up and the "
        "last students left out; medians for `--jobs`). Measured by",
        f"`sudo .venv/bin/python benchmarks/bench_grading.py --throughput --assignment {assignment} --students "
        f"{students} --rounds {rounds}`.",
        "",
        "| configuration | kernels | wall (s) | students / min | vs `--jobs 1` | CPU busy (CPU-s) | cores busy "
        "| steady pace (s / student) |",
        "|---|---|---|---|---|---|---|---|",
        *[f"| {label} | {kernels} | {t:.1f}" + (f" ({', '.join(f'{w:.1f}' for w in each)})" if len(each) > 1 else "")
          + f" | {60 * students / t:.1f} | {base / t:.2f}x | {cpu:.1f} | {cpu / t:.2f} of {os.cpu_count()} | "
          + ("-" if pace is None else f"{pace:.3f}") + " |"
          for label, kernels, t, each, cpu, pace, _ in rows],
        "",
        ("The `rnn-course grade` runs wrote byte-identical `grades.csv` and `grades.json`."
         if same else "THE `rnn-course grade` RUNS WROTE DIFFERENT grades.csv / grades.json."),
        f"Against the targets: per notebook, {per_notebook[0]:.2f}x plain nbgrader's at one process and "
        f"{per_notebook[1]:.2f}x at two (target at most 0.5: " + ("both within" if max(per_notebook) <= 0.5 else
                                                                    "NOT both within") + "); "
        f"`--jobs 2` is {ratio:.2f}x `--jobs 1`, the median of the rounds' own ratios ("
        + ", ".join(f"{r:.2f}" for r in per_round) + "; the table's, of the medians, "
        f"{base / rows[1][2]:.2f}x) (target 1.7x: " + ("met" if ratio >= 1.7 else "NOT met") + "); "
        f"at the steady pace, {steady:.2f}x.",
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}; load average before / after "
        f"{load0[0]:.2f} / {load1[0]:.2f}.",
        "",
    ]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- a class of 1,000


def _sample(pid: int) -> tuple[int, int, int] | None:
    """(VmRSS, VmHWM) in KiB and the open files of ``pid``; ``None`` once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    kib = lambda name: int(fields[name].split()[0])  # noqa: E731
    return kib("VmRSS"), kib("VmHWM"), fds


def scale(assignment: str, students: int, jobs: int) -> str:
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="rnn-bench-scale-") as tmp:
        tmp = Path(tmp)
        counts = mixed_class(assignment, tmp / "subs", students)
        results = tmp / "out" / ".results" / assignment
        cmd = [str(BIN / "rnn-course"), "grade", assignment, str(tmp / "subs"), "--out", str(tmp / "out"),
               "--jobs", str(jobs)]
        t0 = time.perf_counter()
        # to files: the summary of a large class would fill a pipe that nobody reads until the end
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=open(tmp / "stdout.log", "w"), stderr=open(tmp / "stderr.log", "w"))
        samples = []  # (seconds, students done, rss KiB, hwm KiB, open files)
        while proc.poll() is None:
            got = _sample(proc.pid)
            if got is not None:
                done = sum(1 for _ in results.glob("*.json")) if results.is_dir() else 0
                samples.append((time.perf_counter() - t0, done, *got))
            time.sleep(1.0)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(f"bench_grading --scale: the run failed ({proc.returncode}): "
                             f"{(tmp / 'stderr.log').read_text()[-2000:]}")
        rows = list(csv_rows(tmp / "out" / "grades.csv"))
    load1 = os.getloadavg()
    peak_rss = max(s[3] for s in samples)
    peak_fds = max(s[4] for s in samples)

    def sample_at(fraction):
        return next((s for s in samples if s[1] >= fraction * students), samples[-1])

    def at(fraction):
        s = sample_at(fraction)
        return f"{s[2] / 1024:.0f} MiB, {s[4]} files"

    growth = (sample_at(1.0)[2] - sample_at(0.1)[2]) / 1024 / max(1, 0.9 * students)
    after_first_tenth = [s[4] for s in samples if s[1] >= 0.1 * students]
    fds_then, fds_most = sample_at(0.1)[4], max(after_first_tenth, default=0)

    lines = [
        f"### A class of {students} in one run ({assignment})",
        "",
        f"{students} generated students of `{assignment}` ({counts['right']} right, {counts['blank']} blank, "
        f"{counts['wrong']} wrong), graded in one sandboxed run by",
        f"`rnn-course grade {assignment} SUBS --out OUT --jobs {jobs}`; the coordinator's memory and open files "
        "sampled every second (`sudo .venv/bin/python benchmarks/bench_grading.py --scale --assignment "
        f"{assignment} --students {students}`). `01_motivation` has the shortest notebook of the course, so the",
        "run measures the grader's own cost per student more than the students' code.",
        "",
        "| students | wall | students / min | coordinator peak RSS | most open files | at 10% done | at 50% | at 100% |",
        "|---|---|---|---|---|---|---|---|",
        f"| {len(rows)} | {wall / 60:.1f} min | {60 * students / wall:.1f} | {peak_rss / 1024:.0f} MiB | {peak_fds} | "
        f"{at(0.1)} | {at(0.5)} | {at(1.0)} |",
        "",
        f"From 10% to 100% done the coordinator's RSS grows {growth:.2f} MiB per student: the results it holds for the "
        "files written at the end (each student's decisions; its executed notebooks are dropped once its feedback is "
        f"rendered). Open files: {fds_then} at 10% done, at most {fds_most} from then on (with `--jobs` the "
        "coordinator grades too: its own kernel's sockets are among them).",
        "",
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}; load average before / after "
        f"{load0[0]:.2f} / {load1[0]:.2f}.",
        "",
    ]
    return "\n".join(lines)


def csv_rows(path: Path):
    import csv

    with open(path, encoding="utf-8", newline="") as fh:
        yield from csv.DictReader(fh)


# ----------------------------------------------------------------------------- README


def write_section(heading: str, text: str) -> None:
    """Replace the part of benchmarks/README.md's grading section that starts at ``heading`` (up to the next
    heading), or add it at the end of the grading section."""
    readme = REPO / "benchmarks" / "README.md"
    old = readme.read_text() if readme.exists() else "# Benchmarks\n"
    if "## Grading" not in old:
        old = old.rstrip("\n") + "\n\n## Grading\n"
    grading = old.find("## Grading")
    section_end = old.find("\n## ", grading + 1)
    section_end = len(old) if section_end < 0 else section_end + 1
    start = old.find(heading, grading, section_end)
    if start < 0:
        start = end = section_end
        text = text if old[start - 2:start] == "\n\n" else "\n" + text
    else:
        nxt = [i for i in (old.find("\n### ", start + 1), old.find("\n## ", start + 1)) if i >= 0]
        end = min(nxt) + 1 if nxt else len(old)
    readme.write_text(old[:start] + text.rstrip("\n") + "\n\n" + old[end:].lstrip("\n"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignments", nargs="+", default=["02_simple_rnn", "04_gru"])
    parser.add_argument("--students", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5, help="runs of --jobs 1 and --jobs 2 each in --throughput")
    parser.add_argument("--throughput", action="store_true", help="students per minute (see above)")
    parser.add_argument("--scale", action="store_true", help="a class of 1,000 in one run (see above)")
    parser.add_argument("--assignment", default=None, help="the assignment of --throughput / --scale")
    parser.add_argument("--jobs", type=int, default=2, help="--jobs of the --scale run")
    parser.add_argument("--write", action="store_true", help="write the section into benchmarks/README.md")
    args = parser.parse_args()

    from rnn_helpers.grader.sandbox import sandbox_available

    ok, reason = sandbox_available()
    if not ok:
        print(f"bench_grading: {reason}", file=sys.stderr)
        return 2
    if args.throughput or args.scale:
        assignment = args.assignment or ("02_simple_rnn" if args.throughput else "01_motivation")
        if args.throughput:
            text = throughput(assignment, args.students or 120, args.rounds)
            heading = "### Students per minute"
        else:
            text = scale(assignment, args.students or 1000, args.jobs)
            heading = "### A class of"
        print(text)
        if args.write:
            write_section(heading, text)
        return 0
    args.students = args.students or 2
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
        write_section("## Grading", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
