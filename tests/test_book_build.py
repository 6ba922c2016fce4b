"""The whole book builds with warnings as errors, every page is there, chapters are executed, exercises are not.

The session fixture ``built_book`` (tests/book_build.py) runs `jupyter-book build . -W -n --keep-going` when
_build/html is older than the sources. The small tests at the end build throw-away books in tmp_path to pin
down what the configuration promises: a broken internal link or a remote asset fails the build.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path, PurePosixPath

import pytest
import yaml
from bs4 import BeautifulSoup

sys.path.insert(0, str(Path(__file__).resolve().parent))
from book_build import (ANSI, HTML_DIR, REPO, built_book, html_of, run_build, source_of,  # noqa: E402,F401
                        toc_files)

sys.path.insert(0, str(REPO / "book" / "_ext"))
import offline_assets  # noqa: E402

REQUIRED_KEYS = ["elman1990", "werbos1990", "hochreiter1991", "bengio1994", "hochreiter1997", "gers2000",
                 "pascanu2013", "cho2014", "chung2014", "karpathy2015", "graves2013", "sutskever2014",
                 "bahdanau2015", "vaswani2017", "vinyals2015", "jozefowicz2015", "olah2015", "ng_sequence_models"]
CONFIG = yaml.safe_load((REPO / "_config.yml").read_text())


def chapter_pages() -> list[str]:
    return [page for page in toc_files() if re.fullmatch(r"book/0\d_\w+", page)]


def exercise_pages() -> list[str]:
    return [page for page in toc_files() if page.startswith("exercises/")]


def soup_of(page: str) -> BeautifulSoup:
    path = html_of(page)
    assert path.is_file(), f"{page} was not built: {path} is missing"
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def article(soup: BeautifulSoup):
    """The page's content (the theme's navigation, logo and icons excluded)."""
    main = soup.find("article") or soup.find(attrs={"role": "main"})
    assert main is not None, "no <article> in the page: did the theme change?"
    return main


# ---------------------------------------------------------------- configuration (no build needed)

def test_toc_lists_the_course_pages():
    pages = toc_files()
    assert pages[0] == "book/intro"
    assert chapter_pages() == ["book/01_motivation", "book/02_simple_rnn", "book/03_bptt", "book/04_gru",
                               "book/05_lstm", "book/06_applications"]
    assert [p.split("/")[1] for p in exercise_pages()] == [p.split("/")[1] for p in chapter_pages()]
    assert {"book/conclusion", "book/bibliography"} <= set(pages)


def test_execution_exclude_pattern_matches_every_exercise_and_no_chapter():
    # Surprise pinned down: myst-nb tests exclude patterns with PurePosixPath(abs_path).match(pattern), which
    # anchors at the END of the path and lets "*" match one component only. The natural "exercises/*" matches
    # no exercise notebook (exercises/NN_name/NN_name.ipynb), and the build then executes them.
    patterns = CONFIG["execute"]["exclude_patterns"]
    assert not PurePosixPath("/repo/exercises/02_simple_rnn/02_simple_rnn.ipynb").match("exercises/*")
    for page in exercise_pages():
        path = PurePosixPath((REPO / f"{page}.ipynb").as_posix())
        assert any(path.match(p) for p in patterns), f"{page} would be executed: patterns {patterns}"
    for page in chapter_pages() + ["book/intro", "book/conclusion"]:
        path = PurePosixPath((REPO / f"{page}.md").as_posix())
        assert not any(path.match(p) for p in patterns), f"{page} would not be executed: patterns {patterns}"


def test_config_executes_with_cache_and_never_hides_cell_errors():
    assert CONFIG["execute"]["execute_notebooks"] == "cache"
    assert CONFIG["execute"].get("allow_errors", False) is False
    assert CONFIG["sphinx"]["config"]["nb_execution_raise_on_error"] is True
    assert CONFIG["sphinx"]["config"]["nitpicky"] is True


def test_references_bib_has_every_required_key_with_author_title_year():
    from pybtex.database import parse_file

    bib = parse_file(str(REPO / "book" / "references.bib"))
    missing = [key for key in REQUIRED_KEYS if key not in bib.entries]
    assert not missing, f"book/references.bib lacks {missing}"
    for key in REQUIRED_KEYS:
        entry = bib.entries[key]
        assert entry.persons.get("author"), f"{key} has no author"
        assert entry.fields.get("title") and entry.fields.get("year"), f"{key} lacks a title or a year"
        venue = {"article": "journal", "inproceedings": "booktitle"}.get(entry.type)
        if venue:
            assert entry.fields.get(venue), f"{key} ({entry.type}) lacks its {venue}"
        else:
            assert entry.fields.get("howpublished"), f"{key} ({entry.type}) does not say where it appeared"


# ---------------------------------------------------------------- offline asset detector (no build needed)

def test_remote_asset_detector_flags_what_a_browser_would_fetch():
    page = """<html><head>
      <script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"></script>
      <link rel="stylesheet" href="//fonts.googleapis.com/css?family=Lato">
      <style>@import url("https://example.org/x.css"); .a { background: url(http://e.org/b.png) }</style>
      <script src="_static/local.js"></script><link rel="canonical" href="https://example.org/book/">
    </head><body><img src="https://example.org/fig.png" alt="remote"><img src="_images/fig.png" alt="local">
      <a href="https://example.org/paper.pdf">a link is not an asset</a></body></html>"""
    found = offline_assets.remote_assets_in_html(page)
    assert len(found) == 5, found
    assert any("cdn.jsdelivr.net" in f for f in found) and any("googleapis" in f for f in found)
    assert not any("paper.pdf" in f or "canonical" in f or "local" in f for f in found)


# ---------------------------------------------------------------- the built book

@pytest.mark.slow
def test_book_builds_with_no_warning(built_book):
    assert built_book.returncode == 0, "the book build failed:\n" + "\n".join(built_book.log.splitlines()[-60:])
    assert built_book.warnings == [], "the book build warned:\n" + "\n".join(built_book.warnings)


@pytest.mark.slow
def test_every_toc_page_is_built(built_book):
    missing = [page for page in toc_files() if not html_of(page).is_file()]
    assert not missing, f"pages of _toc.yml missing from {HTML_DIR}: {missing}"
    assert (HTML_DIR / "index.html").is_file() and (HTML_DIR / "search.html").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("page", chapter_pages())
def test_chapter_is_executed_with_outputs(built_book, page):
    main = article(soup_of(page))
    cells = main.select("div.cell")
    outputs = [o for o in main.select("div.cell_output") if o.get_text(strip=True) or o.find("img")]
    assert cells, f"{page} has no code cell"
    assert outputs, f"{page} has code cells but no executed output"
    errors = main.select("div.output.traceback, div.output.error")
    assert not errors, f"{page} shows a cell error"


@pytest.mark.slow
@pytest.mark.parametrize("page", chapter_pages() + ["book/intro", "book/conclusion"])
def test_figures_have_alt_text(built_book, page):
    for img in article(soup_of(page)).find_all("img"):
        alt = (img.get("alt") or "").strip()
        src = img.get("src", "")
        # myst-nb falls back to the image's own file path as alt when a cell sets none: not alt text.
        assert alt and not re.search(r"\.(png|svg|jpe?g|gif)$", alt, re.I) and alt != src, (
            f"{page}: image {src} has no alt text (alt={alt!r}); set mystnb: image: alt: in the cell metadata "
            "or use a {figure} with :alt:")


@pytest.mark.slow
@pytest.mark.parametrize("page", exercise_pages())
def test_exercise_page_is_not_executed_and_offers_the_notebook(built_book, page):
    source = REPO / f"{page}.ipynb"
    assert source.is_file(), f"{source} is missing (rnn-course release generates it)"
    released = json.loads(source.read_text())
    main = article(soup_of(page))
    stored_outputs = sum(len(c.get("outputs", [])) for c in released["cells"] if c["cell_type"] == "code")
    if stored_outputs == 0:
        assert not [o for o in main.select("div.cell_output") if o.get_text(strip=True)], (
            f"{page} shows outputs the released notebook does not have: it was executed")
    # The download button links to the page's .ipynb, copied into the build unchanged.
    name = PurePosixPath(page).name + ".ipynb"
    links = [a["href"] for a in soup_of(page).find_all("a", href=True)
             if a["href"].endswith("/" + name) and "download" in " ".join(a.get("class", [])) + a.get("title", "")]
    assert links, f"{page} has no download button for {name}"
    target = (html_of(page).parent / links[0]).resolve()
    assert target.is_file(), f"the download link {links[0]} of {page} points to nothing"
    assert json.loads(target.read_text()) == released


@pytest.mark.slow
def test_execution_cache_holds_the_chapters_and_no_exercise(built_book):
    from jupyter_cache import get_cache

    cache = REPO / "_build" / ".jupyter_cache"
    assert cache.is_dir(), "no execution cache: is execute_notebooks still 'cache'?"
    uris = {Path(record.uri).resolve() for record in get_cache(str(cache)).list_cache_records()}
    for page in chapter_pages():
        assert source_of(page).resolve() in uris, f"{page} was not executed through the cache"
    executed_exercises = [u for u in uris if (REPO / "exercises") in u.parents]
    assert not executed_exercises, f"exercise notebooks were executed: {executed_exercises}"


@pytest.mark.slow
def test_bibliography_lists_every_required_reference(built_book):
    from pybtex.database import parse_file

    def normal(text: str) -> str:  # BibTeX's "--" is an en dash on the page; braces only protect case
        return " ".join(text.replace("--", "\u2013").replace("{", "").replace("}", "").lower().split())

    text = normal(article(soup_of("book/bibliography")).get_text(" "))
    bib = parse_file(str(REPO / "book" / "references.bib"))
    for key in REQUIRED_KEYS:
        title = normal(bib.entries[key].fields["title"])
        assert title in text, f"the bibliography page does not list {key} ({title!r})"


@pytest.mark.slow
def test_mathjax_is_served_from_the_build(built_book):
    entry = HTML_DIR / "_static" / offline_assets.MATHJAX_STATIC_DIR / offline_assets.MATHJAX_ENTRY
    assert entry.is_file() and entry.stat().st_size > 100_000
    fonts = list((entry.parent / "output" / "chtml" / "fonts").rglob("*.woff"))
    assert fonts, "MathJax's CommonHTML fonts were not copied"
    scripts = [s["src"] for s in soup_of("book/intro").find_all("script", src=True)]
    local = [src for src in scripts if src.split("?")[0].endswith("_static/mathjax/tex-mml-chtml.js")]
    assert local and not any("//" in src for src in local), f"MathJax is not loaded from the build: {scripts}"


@pytest.mark.slow
def test_no_page_loads_anything_from_another_host(built_book):
    found = {}
    for page in sorted(HTML_DIR.rglob("*.html")):
        remote = offline_assets.remote_assets_in_html(page.read_text(encoding="utf-8"))
        if remote:
            found[str(page.relative_to(HTML_DIR))] = remote
    assert not found, f"remote assets in the built book: {found}"


# ---------------------------------------------------------------- what the configuration promises (tiny books)

TINY_TOC = "format: jb-book\nroot: book/intro\nchapters:\n  - file: book/page\n  - file: book/bibliography\n"


def tiny_book(tmp_path: Path, page_body: str) -> Path:
    """A three-page book (intro, page, bibliography) with the repository's _config.yml, bibliography and extension."""
    root = tmp_path / "tiny"
    (root / "book").mkdir(parents=True)
    shutil.copy(REPO / "_config.yml", root / "_config.yml")
    for name in ("references.bib", "bibliography.md"):
        shutil.copy(REPO / "book" / name, root / "book" / name)
    for folder in ("_ext", "_static"):
        shutil.copytree(REPO / "book" / folder, root / "book" / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "_toc.yml").write_text(TINY_TOC)
    (root / "book" / "intro.md").write_text("# Tiny\n\nSee [the page](page.md) and {cite}`elman1990`.\n\n"
                                            "Some math: $h_t = \\tanh(W x_t + U h_{t-1} + b)$.\n")
    (root / "book" / "page.md").write_text("# Page\n\n(a-label)=\n## Section\n\n" + page_body + "\n")
    return root


@pytest.mark.slow
def test_tiny_book_with_valid_links_builds(tmp_path):
    # The control for the two tests below: the same book without the fault builds cleanly.
    root = tiny_book(tmp_path, "Back to [the intro](intro.md), to {ref}`a-label`, and {cite}`bengio1994`.")
    done = run_build(root, timeout=600)
    warnings = [line for line in ANSI.sub("", done.stdout).splitlines() if "WARNING" in line]
    assert done.returncode == 0, "\n".join(warnings) or done.stdout[-3000:]
    assert (root / "_build" / "html" / "_static" / "mathjax" / "tex-mml-chtml.js").is_file()


@pytest.mark.slow
def test_broken_internal_links_fail_the_build(tmp_path):
    root = tiny_book(tmp_path, "[gone](no_such_page.md), [no anchor](intro.md#no-such-section), "
                               "{ref}`no-such-label`, {doc}`no_such_doc`, {cite}`no_such_key`.")
    done = run_build(root, timeout=600)
    assert done.returncode != 0
    for needle in ("no_such_page.md", "no-such-section", "no-such-label", "no_such_doc", "no_such_key"):
        assert re.search(rf"WARNING: .*{re.escape(needle)}", done.stdout), f"no warning for {needle}"


@pytest.mark.slow
def test_a_remote_asset_fails_the_build(tmp_path):
    root = tiny_book(tmp_path, '<img src="https://example.org/figure.png" alt="a remote figure">')
    done = run_build(root, timeout=600)
    assert done.returncode != 0
    assert re.search(r"WARNING: offline book: book/page\.html loads a remote asset <img src=https://example\.org",
                     done.stdout), done.stdout[-3000:]
