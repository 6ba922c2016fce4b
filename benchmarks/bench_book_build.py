"""Time the whole book build: a cold build (no _build, no execution cache) and a rebuild with nothing changed.

    .venv/bin/python benchmarks/bench_book_build.py            # measure, print, update benchmarks/README.md
    .venv/bin/python benchmarks/bench_book_build.py --no-write # measure and print only
    .venv/bin/python benchmarks/bench_book_build.py --path-output /tmp/bookbuild   # keep the built HTML there

The book is copied to a temporary folder first (sources only: no .venv, _build or .git), so the measurement
never touches the repository's own _build and its execution cache. Both builds run the README's command
`jupyter-book build . -W -n --keep-going` (warnings are errors, execution cache on). Targets: cold build
<= 3 min (the Python environment excluded: it is installed once, not per build) and rebuild <= 30 s on a 2-core
machine. The machine's load is recorded beside the times, because on
a shared machine other jobs slow the build down; read the numbers with it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "benchmarks" / "README.md"
SECTION = "## Book build"
COLD_TARGET_S = 3 * 60
REBUILD_TARGET_S = 30
COMMAND = ["build", ".", "-W", "-n", "--keep-going"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")
COPY_IGNORE = shutil.ignore_patterns(".venv", "_build", ".git", ".pytest_cache", "__pycache__", "*.egg-info",
                                     ".ipynb_checkpoints", "_out")


def jupyter_book() -> str:
    beside = Path(sys.executable).with_name("jupyter-book")
    return str(beside) if beside.is_file() else (shutil.which("jupyter-book") or "jupyter-book")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cores} cores ({cpu}), Python {platform.python_version()}, {platform.system()} {platform.release()}"


def load() -> str:
    try:
        return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        return "n/a"


def timed_build(root: Path, path_output: Path | None = None) -> tuple[float, subprocess.CompletedProcess]:
    extra = ["--path-output", str(path_output)] if path_output is not None else []
    start = time.perf_counter()
    done = subprocess.run([jupyter_book(), *COMMAND, *extra], cwd=root, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
    return time.perf_counter() - start, done


def measure(tree: Path = REPO, *, allow_warnings: bool = False, path_output: Path | None = None) -> dict:
    if path_output is not None and path_output.exists() and any(path_output.iterdir()):
        # a folder that already holds a build (and its execution cache) would make the "cold" build warm
        raise SystemExit(f"--path-output {path_output} is not empty; give a new or empty folder")
    with tempfile.TemporaryDirectory(prefix="bench-book-") as tmp:
        root = Path(tmp) / "book"
        shutil.copytree(tree, root, ignore=COPY_IGNORE)
        out_root = path_output if path_output is not None else root
        load_before = load()
        cold_s, cold = timed_build(root, path_output)
        warned = len(re.findall(r"WARNING:", ANSI.sub("", cold.stdout)))
        # -W with --keep-going builds every page and then exits 1 on a warning: the time is still the full build's.
        if cold.returncode != 0 and not (allow_warnings and warned and (out_root / "_build/html/index.html").is_file()):
            sys.stdout.write(cold.stdout[-6000:])
            raise SystemExit(f"the cold build failed (exit {cold.returncode}); nothing recorded")
        # myst-nb logs "<path>: Executed notebook in 12.34 seconds" for every notebook it runs.
        executed = {Path(path).relative_to(root).as_posix(): float(sec) for path, sec in
                    re.findall(r"^(\S+?): Executed notebook in ([0-9.]+) seconds", ANSI.sub("", cold.stdout), re.M)}
        rebuild_s, rebuild = timed_build(root, path_output)
        if rebuild.returncode != 0 and not allow_warnings:
            sys.stdout.write(rebuild.stdout[-6000:])
            raise SystemExit(f"the rebuild failed (exit {rebuild.returncode}); nothing recorded")
        reexecuted = "Executed notebook" in rebuild.stdout
        pages = len(list((out_root / "_build" / "html").rglob("*.html")))
    return {"cold_s": cold_s, "rebuild_s": rebuild_s, "executed": executed, "reexecuted": reexecuted,
            "pages": pages, "warnings": warned, "exit": cold.returncode,
            "tree": "the repository" if tree == REPO else str(tree),
            "path_output": str(path_output) if path_output is not None else None,
            "machine": machine(), "load_before": load_before, "load_after": load(),
            "date": dt.date.today().isoformat()}


def section_text(r: dict) -> str:
    def verdict(seconds, target):
        return "within target" if seconds <= target else "OVER target"

    provisional = (" (PROVISIONAL: a build with warnings fails `make book`; rerun on the finished book)"
                   if r["exit"] or r["tree"] != "the repository" else "")
    built_into = f", built into `--path-output {r['path_output']}`" if r.get("path_output") else ""
    per_chapter = ", ".join(f"`{name}` {sec:.1f} s" for name, sec in sorted(r["executed"].items())) or "none"
    return f"""{SECTION}

Measured by `benchmarks/bench_book_build.py` on a copy of the repository (sources only), with the README's command
`jupyter-book build . -W -n --keep-going` (warnings are errors, execution cache on). Not a timed test: rerun it after
changing chapters, on an otherwise idle machine when possible (the load average is recorded because the machine is shared).

| build | time | target | |
|---|---|---|---|
| cold (no `_build`, no execution cache; every chapter executed) | {r['cold_s']:.1f} s | <= {COLD_TARGET_S} s | {verdict(r['cold_s'], COLD_TARGET_S)} |
| rebuild with nothing changed | {r['rebuild_s']:.1f} s | <= {REBUILD_TARGET_S} s | {verdict(r['rebuild_s'], REBUILD_TARGET_S)} |

- Tree measured: {r['tree']}{built_into}. Build exit code {r['exit']}, {r['warnings']} warning(s){provisional}.
- Pages written: {r['pages']} HTML files. The rebuild re-executed
  {'some notebooks (unexpected: check that the chapters are deterministic)' if r['reexecuted'] else 'nothing (cache hit)'}.
- Execution time per chapter in the cold build: {per_chapter}.
- Machine: {r['machine']}. Load average before / after: {r['load_before']} / {r['load_after']}.
- Date: {r['date']}.
"""


def write_section(text: str) -> None:
    """Replace (or append) the "## Book build" section of benchmarks/README.md, leaving the others alone."""
    current = README.read_text() if README.is_file() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(current):
        updated = pattern.sub(lambda _: text + "\n", current, count=1)
    else:
        updated = current.rstrip("\n") + "\n\n" + text
    README.write_text(updated.rstrip("\n") + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print the results without updating README.md")
    parser.add_argument("--tree", type=Path, default=REPO,
                        help="measure another copy of the book (default: this repository)")
    parser.add_argument("--path-output", type=Path, default=None,
                        help="build into this new or empty folder (jupyter-book's --path-output) and keep it")
    parser.add_argument("--allow-warnings", action="store_true",
                        help="record the times of a build that completed but warned (marked provisional)")
    args = parser.parse_args(argv)
    results = measure(args.tree.resolve(), allow_warnings=args.allow_warnings,
                      path_output=args.path_output.resolve() if args.path_output else None)
    text = section_text(results)
    print(text)
    if not args.no_write:
        write_section(text)
        print(f"updated {README.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
