"""Check the built book in a real, headless Chromium, offline.

The HTML folder is served on 127.0.0.1 by a throw-away HTTP server; every request that
leaves 127.0.0.1 is blocked and reported. For each page (index plus every page of the
table of contents) the checker records console errors, uncaught exceptions, failed
requests and HTTP errors, images that did not load, widgets that did not render and math
that MathJax did not typeset; it moves sliders that step through pre-rendered pictures
and checks that the picture changes; it follows the navigation (sidebar and "next" links)
and can save a full-page screenshot of every page.

Used by tests/test_browser.py; also runnable by hand::

    python tests/browser_check.py book/_build/html --toc book/_toc.yml --screenshots book/_build/screenshots
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import yaml

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-quic",
]
LOCAL_HOST = "127.0.0.1"
WIDGET_VIEW = 'script[type="application/vnd.jupyter.widget-view+json"]'
WIDGET_FAILURE_TEXT = ("Loading widget", "Error displaying widget", "Could not create a view")


def find_chromium() -> str | None:
    """The Chromium executable: $CHROMIUM, else the first browser found on PATH."""
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def toc_pages(toc_file: Path) -> list[str]:
    """HTML paths (relative to the site root) of the root and every file in ``_toc.yml``."""
    toc = yaml.safe_load(Path(toc_file).read_text())
    pages = [f"{toc['root']}.html"]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                pages.append(f"{node['file']}.html")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in toc.items() if k != "root"})
    return pages


@dataclass
class PageResult:
    path: str
    problems: list[str] = field(default_factory=list)
    images: int = 0
    widgets: int = 0
    math: int = 0
    sliders: int = 0  # sliders over pictures that were moved and switched the picture
    seconds: float = 0.0
    screenshot: Path | None = None


@dataclass
class Report:
    pages: dict[str, PageResult] = field(default_factory=dict)
    navigation: list[str] = field(default_factory=list)  # problems with the links

    @property
    def problems(self) -> list[str]:
        found = [f"{p.path}: {msg}" for p in self.pages.values() for msg in p.problems]
        return found + [f"navigation: {msg}" for msg in self.navigation]

    def summary(self) -> str:
        lines = [
            f"{p.path}: {p.images} img, {p.widgets} widget(s), {p.sliders} slider(s) moved, "
            f"{p.math} math, {p.seconds:.1f} s"
            for p in self.pages.values()
        ]
        return "\n".join(lines + (self.problems or ["no problems"]))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


@contextlib.contextmanager
def serve(root: Path):
    """Serve ``root`` on 127.0.0.1 at a free port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer((LOCAL_HOST, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{LOCAL_HOST}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


# Runs in the page: wait for images, widgets and math, then describe what is there.
_INSPECT = """
async ([widgetSelector, failureTexts, timeoutMs]) => {
  const deadline = Date.now() + timeoutMs;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const views = () => [...document.querySelectorAll(widgetSelector)];
  const widgetDone = (tag) => {
    const area = tag.parentElement;
    return area.querySelector('.jupyter-widgets') !== null
      || failureTexts.some((t) => area.textContent.includes(t));
  };
  const mathNodes = () => document.querySelectorAll('.math, span.math, div.math');
  // Called after the network went idle: a manager or MathJax that is not there by now
  // is not coming (a missing script), so do not wait for what it would have drawn.
  const managerLoaded = () => !!(window.require && window.require.defined
    && window.require.defined('@jupyter-widgets/html-manager/dist/libembed-amd'));
  const mathjaxLoaded = () => !!(window.MathJax && window.MathJax.version);
  while (Date.now() < deadline) {
    const widgetsReady = !managerLoaded() || views().every(widgetDone);
    const mathReady = mathNodes().length === 0 || !mathjaxLoaded()
      || (MathJax.startup && MathJax.startup.document
          && document.querySelectorAll('mjx-container').length > 0);
    const imagesReady = [...document.images].every((img) => img.complete);
    if (widgetsReady && mathReady && imagesReady) break;
    await sleep(100);
  }
  if (mathjaxLoaded() && MathJax.startup && MathJax.startup.promise) {
    await Promise.race([MathJax.startup.promise, sleep(Math.max(0, deadline - Date.now()))]);
  }
  const describe = (el) => el.getAttribute('src') || el.currentSrc || el.outerHTML.slice(0, 80);
  // Tables, figures and code must fit the content column or scroll inside their own box.
  const article = document.querySelector('.bd-article') || document.querySelector('main');
  const overflow = [];
  if (article) {
    const limit = article.getBoundingClientRect().right + 1;
    for (const el of article.querySelectorAll('table, img, pre, svg')) {
      const box = el.getBoundingClientRect();
      if (box.width === 0 || box.right <= limit) continue;
      let verdict = 'runs past the right edge of the page';
      for (let a = el.parentElement; a && a !== article.parentElement; a = a.parentElement) {
        const mode = getComputedStyle(a).overflowX;
        if (mode === 'auto' || mode === 'scroll') {
          if (a.getBoundingClientRect().right <= limit) verdict = null;
          break;
        }
        if (mode === 'hidden' || mode === 'clip') { verdict = 'is cut off'; break; }
      }
      if (verdict) {
        const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '');
        overflow.push(`${name} (${Math.round(box.width)} px wide, ends at ${Math.round(box.right)} px,`
                      + ` the column at ${Math.round(limit)} px) ${verdict}`);
      }
    }
    // Numbers in neighbouring columns must not run together.
    const tight = [...article.querySelectorAll('td, th')].filter((c) => {
      const style = getComputedStyle(c);
      return c.textContent.trim() && parseFloat(style.paddingLeft) + parseFloat(style.paddingRight) < 6;
    });
    if (tight.length) {
      overflow.push(`${tight.length} table cell(s) with under 6 px of horizontal padding, e.g. `
                    + `"${tight[0].textContent.trim().slice(0, 20)}" (numbers run together)`);
    }
  }
  return {
    images: [...document.images].map((img) => ({
      src: describe(img), ok: img.complete && img.naturalWidth > 0,
    })),
    widgets: views().map((tag) => {
      const area = tag.parentElement;
      const text = area.textContent;
      return {
        model: JSON.parse(tag.textContent).model_id,
        rendered: area.querySelector('.jupyter-widgets') !== null,
        controls: area.querySelectorAll('.widget-slider, .widget-hslider, .widget-image, .widget-box').length,
        failure: failureTexts.filter((t) => text.includes(t)),
      };
    }),
    overflow: overflow,
    mathSource: mathNodes().length,
    mathTypeset: document.querySelectorAll('mjx-container').length,
    mathErrors: document.querySelectorAll('mjx-merror').length,
    leftoverTex: [...mathNodes()].filter((n) => !n.querySelector('mjx-container')
                                        && /\\\\\\(|\\\\\\[|\\$\\$/.test(n.textContent)).length,
  };
}
"""


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return parts.hostname == LOCAL_HOST


def check_book(
    html_root: Path,
    pages: list[str],
    screenshots: Path | None = None,
    chromium: str | None = None,
    timeout_s: float = 30.0,
) -> Report:
    """Load every page of the built book in headless Chromium and report what is broken."""
    from playwright.sync_api import sync_playwright

    html_root = Path(html_root)
    chromium = chromium or find_chromium()
    if not chromium:
        raise FileNotFoundError("no Chromium found (set $CHROMIUM or install chromium)")
    report = Report()
    if screenshots is not None:
        screenshots.mkdir(parents=True, exist_ok=True)
    all_pages = ["index.html"] + [p for p in pages if p != "index.html"]

    with serve(html_root) as base, sync_playwright() as pw, \
            tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=chromium, headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900}, service_workers="block",
        )
        current: list[PageResult] = []

        def note(message: str) -> None:
            if current:
                current[-1].problems.append(message)
            else:
                report.navigation.append(message)

        def route(r):
            url = r.request.url
            if _is_local(url):
                r.continue_()
            else:
                note(f"request to another host blocked: {url}")
                r.abort("blockedbyclient")

        def on_failed(request):
            if _is_local(request.url):
                note(f"request failed: {request.url} ({request.failure})")

        def on_response(response):
            if response.status >= 400:
                note(f"HTTP {response.status} for {response.url}")

        context.route("**/*", route)
        context.on("requestfailed", on_failed)
        context.on("response", on_response)
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and note(f"console error: {m.text}"))
        page.on("pageerror", lambda e: note(f"uncaught exception: {e}"))

        try:
            for path in all_pages:
                result = PageResult(path)
                current[:] = [result]
                report.pages[path] = result
                start = time.perf_counter()
                if not (html_root / path).is_file():
                    result.problems.append("page missing from the built book")
                    continue
                try:
                    page.goto(urljoin(base, path), wait_until="load", timeout=timeout_s * 1000)
                    page.wait_for_load_state("networkidle", timeout=timeout_s * 1000)
                except Exception as exc:  # a timeout is a finding, not a crash
                    result.problems.append(f"did not finish loading: {exc}")
                    continue
                state = page.evaluate(_INSPECT, [WIDGET_VIEW, list(WIDGET_FAILURE_TEXT),
                                                 timeout_s * 1000])
                _judge(result, state)
                if screenshots is not None:
                    shot = screenshots / (path.replace("/", "__").removesuffix(".html") + ".png")
                    page.screenshot(path=str(shot), full_page=True)
                    result.screenshot = shot
                _try_sliders(page, result)
                result.seconds = time.perf_counter() - start
            # Loading problems were reported per page above; here only the links count.
            current[:] = [PageResult("(navigation)")]
            _check_navigation(page, base, pages, report, timeout_s)
        finally:
            context.close()
    return report


_VISIBLE_IMAGES = """area => [...area.querySelectorAll('img')]
    .filter(img => img.offsetParent !== null).map(img => img.src)"""


def _try_sliders(page, result: PageResult) -> None:
    """A slider over pre-rendered pictures must switch the picture without a kernel."""
    for area in page.query_selector_all(".widget-subarea"):
        handle = area.query_selector(".noUi-handle")
        if handle is None or area.query_selector("img") is None:
            continue
        before = area.evaluate(_VISIBLE_IMAGES)
        handle.focus()
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(300)
        after = area.evaluate(_VISIBLE_IMAGES)
        page.keyboard.press("ArrowLeft")
        result.sliders += 1
        if not after or after == before:
            result.problems.append("moving a slider did not change the picture it steps through")


def _judge(result: PageResult, state: dict) -> None:
    for finding in state.get("overflow", []):
        result.problems.append(f"layout: {finding}")
    result.images = len(state["images"])
    for img in state["images"]:
        if not img["ok"]:
            result.problems.append(f"image not loaded: {img['src']}")
    result.widgets = len(state["widgets"])
    for w in state["widgets"]:
        if not w["rendered"] or w["failure"] or not w["controls"]:
            why = ", ".join(w["failure"]) or "no widget view rendered"
            result.problems.append(f"widget {w['model']} not rendered ({why})")
    result.math = state["mathTypeset"]
    if state["mathSource"] and not state["mathTypeset"]:
        result.problems.append(f"math not typeset ({state['mathSource']} math element(s), "
                               "no mjx-container)")
    if state["mathErrors"]:
        result.problems.append(f"{state['mathErrors']} MathJax error(s) (mjx-merror)")
    if state["leftoverTex"]:
        result.problems.append(f"{state['leftoverTex']} math element(s) left as raw TeX")


def _check_navigation(page, base: str, pages: list[str], report: Report, timeout_s: float) -> None:
    """From index.html the sidebar links, and the chain of "next" links, reach every page."""
    wanted = [urljoin(base, p) for p in pages]
    page.goto(urljoin(base, "index.html"), wait_until="load", timeout=timeout_s * 1000)
    page.wait_for_url(wanted[0], timeout=timeout_s * 1000)  # index redirects to the root page
    sidebar = set(page.eval_on_selector_all(
        "nav.bd-docs-nav a[href]", "as => as.map(a => a.href.split('#')[0])"))
    sidebar.add(page.url.split("#")[0])
    for url in wanted:
        if url not in sidebar:
            report.navigation.append(f"sidebar has no link to {url[len(base):]}")
    visited = [page.url.split("#")[0]]
    for _ in range(len(pages) + 1):
        nxt = page.query_selector("a.right-next")
        if nxt is None:
            break
        nxt.click()
        page.wait_for_load_state("load")
        visited.append(page.url.split("#")[0])
    if visited[: len(wanted)] != wanted:
        report.navigation.append(
            "following 'next' from the first page visits "
            f"{[v[len(base):] for v in visited]}, expected {[w[len(base):] for w in wanted]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("html", type=Path, help="the built HTML folder")
    parser.add_argument("--toc", type=Path, default=Path("book/_toc.yml"))
    parser.add_argument("--screenshots", type=Path, default=None)
    args = parser.parse_args(argv)
    report = check_book(args.html, toc_pages(args.toc), args.screenshots)
    print(report.summary())
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
