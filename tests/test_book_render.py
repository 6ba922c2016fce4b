"""Every page of the built book renders in headless Chromium with no network.

The book (_build/html, built by the ``built_book`` fixture of tests/book_build.py when out of date) is served on
127.0.0.1. Chromium resolves no other host (``--host-resolver-rules``), and every request whose host is not
127.0.0.1 is stopped through the DevTools protocol's Fetch domain and recorded: a page that tries one fails.
For each page of _toc.yml the test asserts that

- no request left 127.0.0.1 and no local request failed (HTTP status >= 400 or a network error);
- MathJax (served from the build) typeset every math element, and no raw TeX (``$$``, ``\\(``, ``\\begin{``, ...)
  is left in the page text outside code;
- every <img> has loaded (naturalWidth > 0);
- the console shows no error (console.error, uncaught exception, or a browser error log entry).

The browser is driven over the Chrome DevTools Protocol with ``websocket-client`` (pinned in requirements.txt):
no browser download, no WebDriver. Debian's ``chromium`` is used; without it the tests are skipped and say so.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from book_build import HTML_DIR, built_book, html_of, toc_files  # noqa: E402,F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
LOCAL_HOST = "127.0.0.1"
PAGE_TIMEOUT_S = 60

# Runs in the page once it has loaded: waits for images, MathJax and fonts, then reports what the test asserts.
PAGE_REPORT_JS = r"""
(async () => {
  const images = Array.from(document.images);
  for (const img of images) img.loading = "eager";
  await Promise.all(images.map(img => img.decode().catch(() => null)));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  await document.fonts.ready;
  const root = document.querySelector("article") || document.body;
  const math = Array.from(root.querySelectorAll(".math"));
  const untypeset = math.filter(e => !e.querySelector("mjx-container")).map(e => e.textContent.trim().slice(0, 80));
  const text = root.cloneNode(true);
  text.querySelectorAll("pre, code, script, style, textarea, mjx-container").forEach(e => e.remove());
  const raw = [];
  const content = text.textContent;
  for (const re of [/\$\$/g, /\\\(/g, /\\\)/g, /\\\[/g, /\\\]/g, /\\begin\{/g, /\\end\{/g, /\\frac\{/g,
                    /\$[^$\n]{0,40}\\[a-zA-Z]+/g]) {
    for (const m of content.matchAll(re)) raw.push(content.slice(Math.max(0, m.index - 30), m.index + 40));
  }
  return {
    title: document.title,
    mathjax: (window.MathJax && MathJax.version) || null,
    math: math.length,
    typeset: root.querySelectorAll("mjx-container").length,
    untypeset: untypeset,
    raw_tex: raw,
    images: images.length,
    broken_images: images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.currentSrc || i.src),
  };
})()
"""


def find_chromium() -> str | None:
    for name in (os.environ.get("BOOK_TEST_CHROMIUM"), *CHROMIUM_NAMES):
        if name and (found := shutil.which(name)):
            return found
    return None


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output clean
        pass


class StaticServer:
    """Serves one folder on 127.0.0.1 (random free port) in a background thread."""

    def __init__(self, folder: Path):
        handler = functools.partial(_QuietHandler, directory=str(folder))
        self.httpd = ThreadingHTTPServer((LOCAL_HOST, 0), handler)
        self.url = f"http://{LOCAL_HOST}:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class PageVisit:
    url: str
    report: dict = field(default_factory=dict)
    remote_requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    loaded: bool = False


class Browser:
    """Headless Chromium driven over the DevTools protocol (one websocket, one flattened page session)."""

    def __init__(self, executable: str):
        import websocket  # websocket-client

        self.profile = tempfile.mkdtemp(prefix="book-chromium-")
        args = [executable, "--headless=new", "--remote-debugging-port=0", f"--user-data-dir={self.profile}",
                "--no-first-run", "--no-default-browser-check", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-extensions", "--disable-default-apps", "--mute-audio",
                # Every host but 127.0.0.1 is unreachable, whatever the Fetch interception below misses.
                f"--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE {LOCAL_HOST}",
                "about:blank"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.is_file() and len(port_file.read_text().splitlines()) >= 2):
            if self.process.poll() is not None or time.monotonic() > deadline:
                err = self.process.stderr.read().decode(errors="replace") if self.process.poll() is not None else ""
                self.close()
                raise RuntimeError(f"Chromium did not start its DevTools endpoint: {err[-2000:]}")
            time.sleep(0.05)
        port, path = port_file.read_text().splitlines()[:2]
        self.ws = websocket.create_connection(f"ws://{LOCAL_HOST}:{port}{path}", suppress_origin=True,
                                              timeout=PAGE_TIMEOUT_S)
        self.ids = itertools.count(1)
        self.visit: PageVisit | None = None
        self.events: list[dict] = []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session=self.session)
        self.call("Fetch.enable", {"patterns": [{"urlPattern": "*"}]}, session=self.session)

    # -- protocol
    def _send(self, method: str, params: dict | None = None, session: str | None = None) -> int:
        msg_id = next(self.ids)
        message = {"id": msg_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        return msg_id

    def call(self, method: str, params: dict | None = None, *, session: str | None = None) -> dict:
        msg_id = self._send(method, params, session)
        while True:
            message = self._receive()
            if message.get("id") == msg_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def _receive(self) -> dict:
        message = json.loads(self.ws.recv())
        if "method" in message:
            self._on_event(message["method"], message.get("params", {}))
        return message

    def _on_event(self, method: str, params: dict) -> None:
        self.events.append({"method": method})
        visit = self.visit
        if method == "Fetch.requestPaused":
            url = params["request"]["url"]
            if urlparse(url).hostname == LOCAL_HOST:
                self._send("Fetch.continueRequest", {"requestId": params["requestId"]}, self.session)
            else:
                if visit is not None:
                    visit.remote_requests.append(url)
                self._send("Fetch.failRequest", {"requestId": params["requestId"], "errorReason": "BlockedByClient"},
                           self.session)
        elif visit is None:
            return
        elif method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            if urlparse(url).scheme in ("http", "https", "ws", "wss") and urlparse(url).hostname != LOCAL_HOST:
                if url not in visit.remote_requests:
                    visit.remote_requests.append(url)
        elif method == "Network.responseReceived":
            status = params["response"]["status"]
            if status >= 400:
                visit.failed_requests.append(f"{status} {params['response']['url']}")
        elif method == "Network.loadingFailed":
            if params.get("errorText") != "net::ERR_BLOCKED_BY_CLIENT" and not params.get("canceled"):
                visit.failed_requests.append(f"{params.get('errorText')} (request {params.get('requestId')})")
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            visit.console_errors.append(f"console.{params['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            described = details.get("exception", {}).get("description", "")
            visit.console_errors.append(f"uncaught: {details.get('text', '')} {described}".strip())
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            visit.console_errors.append(f"log: {entry.get('text', '')} {entry.get('url', '')}".strip())
        elif method == "Page.loadEventFired":
            visit.loaded = True

    def _pump(self, seconds: float) -> None:
        """Handle events for a while (late requests, console messages)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.ws.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                self._receive()
            except Exception as err:  # websocket timeout
                if type(err).__name__ != "WebSocketTimeoutException":
                    raise
        self.ws.settimeout(PAGE_TIMEOUT_S)

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                "returnByValue": True, "timeout": PAGE_TIMEOUT_S * 1000},
                           session=self.session)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    # -- pages
    def open(self, url: str) -> PageVisit:
        self.visit = visit = PageVisit(url)
        self.call("Page.navigate", {"url": url}, session=self.session)
        deadline = time.monotonic() + PAGE_TIMEOUT_S
        while not visit.loaded:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not finish loading in {PAGE_TIMEOUT_S} s")
            self._receive()
        visit.report = self.evaluate(PAGE_REPORT_JS)
        self._pump(0.3)
        self.visit = None
        return visit

    def close(self) -> None:
        try:
            if getattr(self, "ws", None) is not None:
                self.ws.close()
        finally:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            shutil.rmtree(self.profile, ignore_errors=True)


def visit_problems(visit: PageVisit, *, expect_math: bool | None = None) -> list[str]:
    """Everything wrong with a rendered page, as readable lines (empty when the page is fine)."""
    report = visit.report
    problems = [f"request to another host: {u}" for u in visit.remote_requests]
    problems += [f"failed local request: {r}" for r in visit.failed_requests]
    problems += [f"console error: {e}" for e in visit.console_errors]
    problems += [f"image did not load: {src}" for src in report.get("broken_images", [])]
    if report.get("math"):
        if not str(report.get("mathjax") or "").startswith("3"):
            problems.append(f"the page has {report['math']} math elements but MathJax 3 did not load")
        problems += [f"math not typeset: {m!r}" for m in report.get("untypeset", [])]
    elif expect_math:
        problems.append("the page should have math, but no math element was found")
    problems += [f"raw TeX in the page text: {snippet!r}" for snippet in report.get("raw_tex", [])]
    return problems


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def chromium() -> str:
    executable = find_chromium()
    if executable is None:
        pytest.skip("headless Chromium not found (install Debian's `chromium`; .ci/run does): "
                    "the offline rendering of the book is not checked")
    try:
        import websocket  # noqa: F401
    except ImportError:
        pytest.skip("websocket-client is not installed (pip install -r requirements.txt)")
    return executable


@pytest.fixture(scope="module")
def browser(chromium):
    driver = Browser(chromium)
    yield driver
    driver.close()


@pytest.fixture(scope="module")
def book_server(built_book):
    if not (HTML_DIR / "index.html").is_file():
        pytest.fail(f"the book build produced no {HTML_DIR / 'index.html'} (see test_book_build.py)")
    server = StaticServer(HTML_DIR)
    yield server
    server.close()


# ---------------------------------------------------------------- the harness can fail (control)

def test_harness_reports_remote_requests_raw_tex_broken_images_and_console_errors(browser, tmp_path):
    (tmp_path / "bad.html").write_text(
        "<!doctype html><html><head><title>bad</title>"
        '<script src="https://cdn.example.org/lib.js"></script></head><body><article>'
        "<p>Raw display math $$x^2$$ and inline \\(y\\).</p>"
        '<img src="missing.png" alt="a missing local image">'
        '<img src="http://images.example.org/a.png" alt="a remote image">'
        "<script>console.error('boom')</script></article></body></html>")
    server = StaticServer(tmp_path)
    try:
        visit = browser.open(server.url + "bad.html")
    finally:
        server.close()
    problems = "\n".join(visit_problems(visit))
    assert "https://cdn.example.org/lib.js" in problems and "http://images.example.org/a.png" in problems
    assert "raw TeX" in problems and "$$x^2$$" in problems
    assert "image did not load" in problems and "missing.png" in problems
    assert "console error: console.error: boom" in problems
    assert "failed local request: 404" in problems


# ---------------------------------------------------------------- the book

@pytest.mark.parametrize("page", toc_files())
def test_page_renders_offline(browser, book_server, page):
    assert html_of(page).is_file(), f"{page} was not built"
    visit = browser.open(book_server.url + f"{page}.html")
    problems = visit_problems(visit)
    assert not problems, f"{page}:\n  " + "\n  ".join(problems)
    assert visit.report["title"], f"{page} has no title"


def test_search_works_offline(browser, book_server):
    visit = browser.open(book_server.url + "search.html?q=recurrent")
    browser.visit = visit  # keep recording while the index loads and the results render
    deadline = time.monotonic() + 20
    hits = 0
    while time.monotonic() < deadline:
        hits = browser.evaluate("document.querySelectorAll('#search-results li').length")
        if hits:
            break
        browser._pump(0.2)
    browser.visit = None
    assert hits > 0, "the search page found nothing for 'recurrent'"
    problems = [p for p in visit_problems(visit) if not p.startswith("raw TeX")]
    assert not problems, "search page:\n  " + "\n  ".join(problems)
