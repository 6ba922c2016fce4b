"""Build the book once per test session, for the book tests (test_book_build.py, test_book_render.py).

Not a conftest.py (that one is shared): the test modules import ``built_book`` from here, which makes it a
fixture of theirs. The build is the README's, without `rnn-course release` (the release test owns that):

    jupyter-book build . -W -n --keep-going          (warnings are errors, nitpicky, execution cache on)

It runs only when ``_build/html`` is missing or older than a source of the book (the config, the table of
contents, the chapters, the bibliography, the exercises, the book extension, or the ``rnn_helpers`` code the
chapters execute). Its exit code and log are kept in ``_build/book_build.json`` and ``_build/book_build.log``,
so a failed build is reported, not silently retried, until a source changes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BUILD_DIR = REPO / "_build"
HTML_DIR = BUILD_DIR / "html"
STATE_FILE = BUILD_DIR / "book_build.json"
LOG_FILE = BUILD_DIR / "book_build.log"
BUILD_ARGS = ["build", ".", "-W", "-n", "--keep-going"]
# Generous: a cold build executes every chapter (the benchmark measures it; the target is 5 minutes).
BUILD_TIMEOUT_S = 30 * 60

# A Sphinx warning line: "path:line: WARNING: message [type.subtype]" or "WARNING: message".
SPHINX_WARNING = re.compile(r"(?:^|: )(WARNING|ERROR|CRITICAL|SEVERE):", re.M)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def jupyter_book_executable() -> str:
    """The jupyter-book of the running interpreter's environment (the pinned one in .venv)."""
    beside = Path(sys.executable).with_name("jupyter-book")
    if beside.is_file():
        return str(beside)
    found = shutil.which("jupyter-book")
    if found is None:
        pytest.skip("jupyter-book is not installed in this environment (pip install -r requirements.txt)")
    return found


def toc_files() -> list[str]:
    """Every page of _toc.yml, root first, as paths without suffix relative to the repository."""
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or ():
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return files


def source_of(page: str) -> Path | None:
    """The source file of a toc page (.md or .ipynb), or None when it does not exist yet."""
    for suffix in (".md", ".ipynb"):
        path = REPO / f"{page}{suffix}"
        if path.is_file():
            return path
    return None


def html_of(page: str) -> Path:
    """Where the build writes a toc page (the root page is also copied to index.html)."""
    return HTML_DIR / f"{page}.html"


def book_sources() -> list[Path]:
    """Every file whose change can change the built book."""
    paths = [REPO / "_config.yml", REPO / "_toc.yml", REPO / "requirements.txt"]
    paths += [p for p in (source_of(page) for page in toc_files()) if p is not None]
    for folder, pattern in (("book", "*.md"), ("book", "*.bib"), ("book/_ext", "*.py"), ("book/_static", "*"),
                            ("rnn_helpers", "*.py")):
        paths += [p for p in (REPO / folder).rglob(pattern) if p.is_file() and "__pycache__" not in p.parts]
    return [p for p in paths if p.is_file()]


def newest_source_mtime() -> float:
    return max(p.stat().st_mtime for p in book_sources())


@dataclass
class BookBuild:
    returncode: int
    log: str
    seconds: float
    html_dir: Path

    @property
    def warnings(self) -> list[str]:
        """The Sphinx warning and error lines of the log (the kernels' own stderr is not one of them)."""
        text = ANSI.sub("", self.log)
        return [line for line in text.splitlines()
                if SPHINX_WARNING.search(line) and not line.startswith("[IPKernelApp]")]


def run_build(cwd: Path = REPO, *, extra_args: tuple[str, ...] = (), timeout: float = BUILD_TIMEOUT_S,
              env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the book build in ``cwd`` and return the finished process (stdout and stderr merged)."""
    return subprocess.run([jupyter_book_executable(), *BUILD_ARGS, *extra_args], cwd=cwd, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
                          env=env or {**os.environ, "PYTHONHASHSEED": "0"})


def ensure_book_built() -> BookBuild:
    """Build the book unless the last build is newer than every source; return that build's result."""
    missing = [page for page in toc_files() if source_of(page) is None]
    if missing:
        pytest.fail(f"pages listed in _toc.yml have no source yet: {missing}", pytrace=False)
    index = HTML_DIR / "index.html"
    if STATE_FILE.is_file() and index.is_file() and LOG_FILE.is_file():
        state = json.loads(STATE_FILE.read_text())
        if state.get("built_at", 0) >= newest_source_mtime() and state.get("args") == BUILD_ARGS:
            return BookBuild(state["returncode"], LOG_FILE.read_text(), state["seconds"], HTML_DIR)
    started = time.time()
    start = time.perf_counter()
    done = run_build()
    seconds = time.perf_counter() - start
    BUILD_DIR.mkdir(exist_ok=True)
    LOG_FILE.write_text(done.stdout)
    # built_at is when the build STARTED: a source edited during the build makes the next session rebuild.
    STATE_FILE.write_text(json.dumps({"returncode": done.returncode, "seconds": seconds, "built_at": started,
                                      "args": BUILD_ARGS}))
    return BookBuild(done.returncode, done.stdout, seconds, HTML_DIR)


@pytest.fixture(scope="session")
def built_book() -> BookBuild:
    """The whole book, built (or reused when up to date) with warnings as errors."""
    return ensure_book_built()
