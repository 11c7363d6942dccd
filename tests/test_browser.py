"""The built book in a real browser: offline, images, widgets, math, navigation, Colab.

These tests read ``book/_build/html``, so they run after the book is built (``make test``
runs ``pytest -m "not browser"``, builds the book, then ``pytest -m browser``). Without a
built book or a Chromium they are skipped, except under CI (``CI=true``), where that is a
failure. Screenshots of every page land in ``book/_build/screenshots/``.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

import browser_check

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "book" / "_build" / "html"
SCREENSHOTS = ROOT / "book" / "_build" / "screenshots"
TOC = ROOT / "book" / "_toc.yml"
CONFIG = ROOT / "book" / "_config.yml"
IN_CI = os.environ.get("CI", "").lower() == "true"

pytestmark = pytest.mark.browser


def _require(condition, reason: str) -> None:
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI=true, so the browser tests must run)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def built_book() -> Path:
    _require((HTML / "index.html").is_file(),
             "the book is not built (no book/_build/html/index.html): run `make book`")
    return HTML


@pytest.fixture(scope="module")
def chromium() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _require(False, "the Python package playwright is not installed")
    found = browser_check.find_chromium()
    _require(found, "no Chromium found: install it (apt-get install chromium) or set $CHROMIUM")
    return found


@pytest.fixture(scope="module")
def pages() -> list[str]:
    return browser_check.toc_pages(TOC)


@pytest.fixture(scope="module")
def report(built_book, chromium, pages):
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    return browser_check.check_book(built_book, pages, SCREENSHOTS, chromium)


def _html_files(root: Path):
    return sorted(root.rglob("*.html"))


def test_every_page_renders_cleanly_offline(report, pages):
    assert set(pages) <= set(report.pages), "a page of the table of contents was not visited"
    assert not report.problems, "\n" + report.summary()


def test_widgets_and_math_are_really_there(report, built_book, pages):
    """Guard the checker: it must have seen every widget view and typeset math."""
    for path in pages:
        html = (built_book / path).read_text()
        views = html.count('type="application/vnd.jupyter.widget-view+json"')
        assert report.pages[path].widgets == views, path
        if 'class="math' in html:
            assert report.pages[path].math > 0, f"{path} has math but none was typeset"
    assert sum(p.widgets for p in report.pages.values()) > 0, "no widget anywhere in the book"
    assert sum(p.math for p in report.pages.values()) > 0, "no math anywhere in the book"
    assert sum(p.images for p in report.pages.values()) > 0, "no image anywhere in the book"
    assert sum(p.sliders for p in report.pages.values()) > 0, "no picture slider was tried"


def test_a_screenshot_of_every_page(report):
    for result in report.pages.values():
        assert result.screenshot and result.screenshot.stat().st_size > 10_000, result.path


_TAG = re.compile(r"<(script|link|img|iframe|source)\b[^>]*>", re.I | re.S)
_URL_ATTR = re.compile(r"\b(src|href)\s*=\s*[\"']([^\"']*)[\"']", re.I)


def test_no_script_style_or_font_comes_from_the_network(built_book):
    """Static check of what the pages and stylesheets reference (the browser test sees
    what is actually requested)."""
    remote = []
    for page in _html_files(built_book):
        for tag in _TAG.finditer(page.read_text()):
            text = tag.group(0)
            if tag.group(1).lower() == "link" and not re.search(
                    r"rel=[\"'][^\"']*(stylesheet|preload|icon|modulepreload)", text):
                continue  # navigation links (rel=index, next, ...) load nothing
            for _, url in _URL_ATTR.findall(text):
                if urlsplit(url).scheme in ("http", "https") or url.startswith("//"):
                    remote.append(f"{page.relative_to(built_book)}: {text[:160]}")
    for css in (built_book / "_static").rglob("*.css"):
        text = re.sub(r"/\*.*?\*/", "", css.read_text(errors="replace"), flags=re.S)
        for url in re.findall(r"(?:url\(|@import\s+)[\"']?((?:https?:)?//[^\"')\s]+)", text):
            remote.append(f"{css.relative_to(built_book)}: {url}")
    assert not remote, "remote assets:\n" + "\n".join(remote)


def test_colab_button_opens_the_committed_notebook(built_book, pages):
    config = yaml.safe_load(CONFIG.read_text())
    repo = config["repository"]
    owner, name = urlsplit(repo["url"]).path.strip("/").split("/")[:2]
    chapters = [p for p in pages if p.startswith("chapters/")]
    assert chapters
    for path in chapters:
        stem = Path(path).stem
        html = (built_book / path).read_text()
        links = re.findall(r'href="(https://colab\.research\.google\.com/[^"]+)"', html)
        expected = (f"https://colab.research.google.com/github/{owner}/{name}/blob/"
                    f"{repo.get('branch', 'main')}/book/chapters/{stem}.ipynb")
        assert links == [expected], f"{path}: Colab links {links}"
        assert (ROOT / "book" / "chapters" / f"{stem}.ipynb").is_file()


def test_the_checker_reports_a_broken_image_and_a_missing_script(built_book, chromium,
                                                                 pages, tmp_path):
    copy = tmp_path / "html"
    shutil.copytree(built_book, copy)
    image = None
    for path in pages:
        match = re.search(r'<img[^>]+src="((?:\.\./)*_images/[^"]+)"', (copy / path).read_text())
        if match:
            image = (copy / path).parent / match.group(1)
            break
    assert image is not None and image.is_file(), "no figure under _images to break"
    image.unlink()
    script = copy / "_static" / "widgets" / "embed-amd.js"
    script.unlink()

    report = browser_check.check_book(copy, pages, None, chromium)
    problems = "\n".join(report.problems)
    assert re.search(rf"image not loaded: \S*{re.escape(image.name)}", problems), problems
    assert re.search(r"HTTP 404 for \S*/_static/widgets/embed-amd\.js", problems), problems
    assert "not rendered" in problems, problems


_WIDE = ('<table id="break-wide" style="display: table; max-width: none; width: 3000px">'
         '<tr><td style="padding: 0">a table far wider than the page</td></tr></table>'
         '<div style="overflow: hidden"><pre id="break-clipped" style="width: 3000px; overflow: visible">'
         'a code line that the page cuts off</pre></div>')


def test_the_checker_reports_overflow_cut_off_code_and_cramped_tables(built_book, chromium,
                                                                             pages, tmp_path):
    copy = tmp_path / "html"
    shutil.copytree(built_book, copy)
    target = next(p for p in pages if p.startswith("chapters/"))
    page = copy / target
    html = page.read_text()
    marker = re.search(r'<article class="bd-article"[^>]*>', html)
    assert marker, "no article element to put the wide table into"
    page.write_text(html[: marker.end()] + _WIDE + html[marker.end():])

    report = browser_check.check_book(copy, pages, None, chromium)
    problems = "\n".join(report.pages[target].problems)
    assert re.search(r"table#break-wide .* runs past the right edge", problems), problems
    assert re.search(r"pre#break-clipped .* is cut off", problems), problems
    assert re.search(r"1 table cell\(s\) with under 6 px of horizontal padding", problems), problems
