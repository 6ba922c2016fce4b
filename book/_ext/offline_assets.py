"""Make the rendered book readable with no network.

Three jobs, all for the HTML builder only:

1. Serve MathJax 3 from the build instead of Sphinx's default CDN. The MathJax files come from the PyPI
   package ``django-static-mathjax`` (pinned in requirements.txt; it ships MathJax 3.2.2's ``es5`` bundle
   and depends on nothing, Django included). The subset of ``es5`` that the ``tex-mml-chtml`` component
   loads (TeX input and its extensions, CommonHTML output and its woff fonts, the menu and its
   accessibility helpers) is copied to ``_build/html/_static/mathjax/`` and ``mathjax_path`` points there.
2. After the build, scan every HTML page and every stylesheet of the output for an asset that a browser
   would fetch from another host (``<script src>``, ``<link href>`` of stylesheets, preloads and icons,
   ``<img>``/``<source>``/``<iframe>`` sources, CSS ``@import`` and ``url()``) and warn for each one, so that
   ``jupyter-book build -W`` fails on a new remote asset. Plain hyperlinks (``<a href>``) are not assets.
3. Drop duplicated <script> entries of a page (sphinx-thebe's inline configuration is added twice, which is a
   JavaScript error in the console of every page).

Registered from ``_config.yml`` (``sphinx.local_extensions: {offline_assets: book/_ext}``).
"""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from importlib import metadata
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

MATHJAX_DIST = "django-static-mathjax"
MATHJAX_ENTRY = "tex-mml-chtml.js"
# What tex-mml-chtml.js may load at run time, relative to MathJax's es5/ folder. The other combined
# components (tex-svg, mml-*, ...) are never loaded and stay out of the build.
MATHJAX_SUBSET = (MATHJAX_ENTRY, "input", "output/chtml", "ui", "a11y", "adaptors", "sre", "LICENSE")
# Relative to _static/: Sphinx prefixes a relative mathjax_path with the _static/ of each page.
MATHJAX_STATIC_DIR = "mathjax"
STAMP_NAME = ".copied-from"

# Attributes of elements whose URL the browser fetches by itself while rendering the page.
_FETCHED = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "iframe": ("src",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "input": ("src",),
}
# <link rel=...> values that make the browser fetch href (a plain rel="canonical" or "next" does not).
_FETCHED_LINK_RELS = {"stylesheet", "preload", "modulepreload", "icon", "shortcut", "apple-touch-icon",
                      "manifest", "prefetch", "preconnect", "dns-prefetch"}
_REMOTE = re.compile(r"^\s*(?:[a-zA-Z][a-zA-Z0-9+.-]*:)?//")
_CSS_REMOTE = re.compile(r"""(?:@import\s+(?:url\()?|url\()\s*['"]?\s*((?:https?:)?//[^'")\s]+)""", re.I)


def mathjax_es5_dir() -> Path:
    """The es5/ folder of the installed MathJax 3 distribution (found through the package's file list)."""
    try:
        dist = metadata.distribution(MATHJAX_DIST)
    except metadata.PackageNotFoundError as err:
        raise ExtensionError(
            f"offline_assets: the PyPI package {MATHJAX_DIST!r} (MathJax 3 served from the book) is not "
            "installed; run `pip install -r requirements.txt`") from err
    for file in dist.files or ():
        if file.as_posix().endswith(f"/es5/{MATHJAX_ENTRY}"):
            return Path(dist.locate_file(file)).parent
    raise ExtensionError(f"offline_assets: {MATHJAX_DIST} has no es5/{MATHJAX_ENTRY}")


def remote_assets_in_html(html: str) -> list[str]:
    """Every URL on another host that a browser fetches by itself when it renders ``html``."""
    finder = _RemoteAssetFinder()
    finder.feed(html)
    finder.close()
    return finder.found


def remote_assets_in_css(css: str) -> list[str]:
    """Every ``@import``/``url()`` target on another host in a stylesheet."""
    return _CSS_REMOTE.findall(css)


class _RemoteAssetFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attrs = {name: value or "" for name, value in attrs}
        names = _FETCHED.get(tag, ())
        if tag == "link" and set(attrs.get("rel", "").lower().split()) & _FETCHED_LINK_RELS:
            names = ("href",)
        for name in names:
            for url in _urls(attrs.get(name, ""), srcset=name == "srcset"):
                if _REMOTE.match(url):
                    self.found.append(f"<{tag} {name}={url}>")
        for url in remote_assets_in_css(attrs.get("style", "")):
            self.found.append(f"<{tag} style=url({url})>")
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.found.extend(f"<style> {url}" for url in remote_assets_in_css(data))


def _urls(value: str, *, srcset: bool) -> list[str]:
    if not value:
        return []
    if srcset:  # "a.png 1x, b.png 2x"
        return [part.strip().split()[0] for part in value.split(",") if part.strip()]
    return [value]


def _set_mathjax_path(app: Sphinx, config) -> None:
    # Sphinx serves a relative mathjax_path from the page's _static/ folder.
    config.mathjax_path = f"{MATHJAX_STATIC_DIR}/{MATHJAX_ENTRY}"


def _copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    source = mathjax_es5_dir()
    target = Path(app.outdir) / "_static" / MATHJAX_STATIC_DIR
    stamp = target / STAMP_NAME
    origin = f"{metadata.version(MATHJAX_DIST)} {source}"
    # A rebuild with nothing changed must stay fast: copy only when the source changed.
    if stamp.is_file() and stamp.read_text() == origin and (target / MATHJAX_ENTRY).is_file():
        return
    if target.exists():
        shutil.rmtree(target)
    for part in MATHJAX_SUBSET:
        src = source / part
        if not src.exists():
            src = source.parent / part  # LICENSE sits beside es5/
        if src.is_dir():
            shutil.copytree(src, target / part)
        elif src.is_file():
            (target / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target / part)
        else:
            raise ExtensionError(f"offline_assets: MathJax file {part!r} missing in {source}")
    stamp.write_text(origin)


def _check_no_remote_assets(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    for page in sorted(outdir.rglob("*.html")):
        for asset in remote_assets_in_html(page.read_text(encoding="utf-8", errors="replace")):
            logger.warning("offline book: %s loads a remote asset %s", page.relative_to(outdir), asset,
                           type="offline_assets", subtype="remote")
    static = outdir / "_static"
    for sheet in sorted(static.rglob("*.css")) if static.is_dir() else ():
        if MATHJAX_STATIC_DIR in sheet.relative_to(static).parts[:1]:
            continue
        for url in remote_assets_in_css(sheet.read_text(encoding="utf-8", errors="replace")):
            logger.warning("offline book: stylesheet %s imports a remote asset %s", sheet.relative_to(outdir),
                           url, type="offline_assets", subtype="remote")


def _drop_duplicate_scripts(app: Sphinx, pagename, templatename, context, doctree) -> None:
    # Surprise of JB 1.0.4's stack (Sphinx 7.4 + sphinx-thebe 0.3.1): sphinx-thebe adds its inline
    # `const THEBE_JS_URL = ...` script from env-before-read-docs, and every page gets it twice, so the
    # browser logs "SyntaxError: Identifier 'THEBE_JS_URL' has already been declared" on every page
    # (app.add_js_file after builder-inited lands both in the registry and in the builder's list).
    # Keep the first of identical script entries (same file, same attributes and body).
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for script in scripts:
        # The copy added through the registry has filename None, the one added to the builder has "".
        key = (str(getattr(script, "filename", script) or ""),
               tuple(sorted((k, str(v)) for k, v in (getattr(script, "attributes", None) or {}).items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    context["script_files"] = kept


def setup(app: Sphinx) -> dict:
    app.setup_extension("sphinx.ext.mathjax")
    app.connect("config-inited", _set_mathjax_path)
    app.connect("html-page-context", _drop_duplicate_scripts)
    # Copy first (priority 400 < default 500), then scan what the build wrote.
    app.connect("build-finished", _copy_mathjax, priority=400)
    app.connect("build-finished", _check_no_remote_assets, priority=600)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
