"""Browser-side assets of the built book, taken from the npm registry at build time.

The HTML must work offline, so the scripts that a page would otherwise pull from a CDN
(RequireJS and the ipywidgets HTML manager for the widgets, MathJax 3 for the math) are
served from the book itself. They come from pinned npm packages: each tarball is fetched
once into a cache folder (``.cache/npm`` at the repository root), checked against the
registry's sha512 integrity pinned below, and the files a page needs are unpacked into
the staged book's ``_vendor`` folder, which ``_config.yml`` names as a static path.

``_vendor`` rather than ``_static``: Jupyter Book adds every ``*.js`` and ``*.css`` found
under a book's ``_static`` folder to every page, which would load these files twice.

Fetching uses ``npm pack`` when npm is installed (so ``.npmrc`` proxies and mirrors apply)
and a plain HTTPS download from the registry otherwise. Run ``python -m helpers.tooling.assets``
to fill the cache ahead of an offline build.

The module is also the small Sphinx extension that does this during the book build
(``sphinx: extra_extensions: [helpers.tooling.assets]`` in ``_config.yml``): it unpacks the assets
into ``<book>/_vendor`` before Sphinx checks its static paths, and it drops inline scripts
that Sphinx 7.4 writes twice into a page (sphinx-thebe's ``const THEBE_JS_URL`` is
registered after the builder starts, once as ``None`` and once as ``''``, and the second
declaration throws in the browser).
"""

from __future__ import annotations

import argparse
import base64
import fnmatch
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..paths import REPO_ROOT

DEFAULT_CACHE = REPO_ROOT / ".cache" / "npm"
DEFAULT_REGISTRY = "https://registry.npmjs.org"


class AssetError(RuntimeError):
    """A vendored package could not be fetched or failed its integrity check."""


@dataclass(frozen=True)
class Rule:
    """Copy ``package/<base>/<rest>`` to ``<dest>/<rest>`` when ``rest`` matches ``pattern``."""

    base: str
    pattern: str
    dest: str


@dataclass(frozen=True)
class NpmPackage:
    """One pinned npm package and the files of it that the book serves."""

    name: str
    version: str
    integrity: str  # the registry's dist.integrity (sha512, base64)
    rules: tuple[Rule, ...]

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def tarball_name(self) -> str:
        """File name ``npm pack`` gives the tarball (scope folded in, as npm does)."""
        return f"{self.name.lstrip('@').replace('/', '-')}-{self.version}.tgz"

    def tarball_url(self, registry: str = DEFAULT_REGISTRY) -> str:
        short = self.name.rsplit("/", 1)[-1]
        return f"{registry.rstrip('/')}/{self.name}/-/{short}-{self.version}.tgz"


_FONTS = ("*.woff2", "*.woff", "*.ttf", "*.eot", "*.svg")

#: The pinned packages. ``_config.yml`` refers to ``widgets/require.js``,
#: ``widgets/embed-amd.js`` and ``mathjax/tex-mml-chtml.js``; keep them in step.
PACKAGES: tuple[NpmPackage, ...] = (
    NpmPackage(
        "requirejs", "2.3.8",
        "sha512-7/cTSLOdYkNBNJcDMWf+luFvMriVm7eYxp4BcFCsAX0wF421Vyce5SXP17c+Jd5otXKGNehIonFlyQXSowL6Mw==",
        (Rule("", "require.js", "widgets"),),
    ),
    NpmPackage(
        # 1.0.x is the manager for ipywidgets 8 (widget model versions 2.0.0).
        "@jupyter-widgets/html-manager", "1.0.15",
        "sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
        # Its fonts go beside the bundle; widgets/offline.js tells RequireJS where that is.
        (Rule("dist", "embed-amd.js", "widgets"),) + tuple(Rule("dist", f, "widgets") for f in _FONTS),
    ),
    NpmPackage(
        "mathjax", "3.2.2",
        "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
        # The combined component plus what it loads on demand (TeX extensions, CHTML
        # fonts, accessibility and menu modules); the other combined bundles are left out.
        (
            Rule("", "LICENSE", "mathjax"),
            Rule("es5", "tex-mml-chtml.js", "mathjax"),
            Rule("es5", "input/*", "mathjax"),
            Rule("es5", "output/chtml/*", "mathjax"),
            Rule("es5", "a11y/*", "mathjax"),
            Rule("es5", "ui/*", "mathjax"),
            Rule("es5", "sre/*", "mathjax"),
        ),
    ),
)


VENDOR_DIR = "_vendor"

#: Files of our own, written beside the npm assets.
BOOK_CSS = "book.css"

LOCAL_FILES = {
    # One table style for the whole book, and nothing wider than the content column: wide
    # tables and long code lines scroll inside their own box (tests/browser_check.py fails
    # on anything that spills over or is cut off).
    BOOK_CSS: """\
/* Written by helpers.tooling.assets. */
.bd-article table {
  display: block;
  max-width: 100%;
  overflow-x: auto;
  border-collapse: collapse;
}
.bd-article table th,
.bd-article table td {
  padding: 0.2rem 0.7rem;
  white-space: nowrap;
}
.bd-article .cell_output td { text-align: right; }
.bd-article .cell_output img { max-width: 100%; height: auto; }
.bd-article pre { overflow-x: auto; }
""",
    # Loaded before require.js and the widget manager (see nb_ipywidgets_js).
    "widgets/offline.js": """\
/* Written by helpers.tooling.assets: helps the ipywidgets HTML manager work offline. */
(function () {
  "use strict";
  // The manager's stylesheet finds its fonts beside the AMD module that holds it; without
  // a path, RequireJS places that module beside the page. Map it to this folder (a global
  // `require` object set before require.js loads is its configuration).
  var here = document.currentScript && document.currentScript.src;
  if (here) {
    var folder = new URL(".", here).href.slice(0, -1);  // without the final slash
    var paths = { "@jupyter-widgets/html-manager/dist": folder };
    if (typeof window.require === "function" && window.require.config) {
      window.require.config({ paths: paths });
    } else {
      var config = window.require || {};
      config.paths = Object.assign(config.paths || {}, paths);
      window.require = config;
    }
  }

  // ipywidgets 8 typesets widget text with MathJax 2's MathJax.Hub.Queue
  // (jupyter-widgets/ipywidgets#3829); the book loads MathJax 3, which has no Hub and
  // replaces window.MathJax when it starts. Give every object that becomes
  // window.MathJax a Hub whose Queue forwards to MathJax 3's typesetPromise.
  var current;
  var hub = {
    Queue: function () {
      Array.prototype.forEach.call(arguments, function (job) {
        var element = Array.isArray(job) ? job[2] : undefined;
        var mj = current;
        // Before MathJax has started there is nothing to call: its start-up typesets the page.
        if (!element || !mj || typeof mj.typesetPromise !== "function") { return; }
        var ready = (mj.startup && mj.startup.promise) || Promise.resolve();
        ready.then(function () { return mj.typesetPromise([element]); })
          .catch(function (err) { console.warn("MathJax could not typeset a widget", err); });
      });
    }
  };
  function adopt(value) {
    if (value && typeof value === "object" && !value.Hub) { value.Hub = hub; }
    return value;
  }
  current = adopt(window.MathJax);
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    enumerable: true,
    get: function () { return current; },
    set: function (value) { current = adopt(value); }
  });
})();
""",
}


def integrity_of(data: bytes) -> str:
    """The npm ``integrity`` string (sha512) of ``data``."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def _verified(path: Path, pkg: NpmPackage) -> bool:
    return path.is_file() and integrity_of(path.read_bytes()) == pkg.integrity


def _registry() -> str:
    return os.environ.get("npm_config_registry") or os.environ.get("NPM_CONFIG_REGISTRY") or DEFAULT_REGISTRY


def _fetch_with_npm(pkg: NpmPackage, npm: str, into: Path) -> Path:
    proc = subprocess.run(
        [npm, "pack", pkg.spec, "--pack-destination", str(into), "--json", "--loglevel=error",
         # one quick retry: offline, npm's default back-off takes more than a minute
         "--fetch-retries=1", "--fetch-retry-mintimeout=2000", "--fetch-retry-maxtimeout=5000"],
        capture_output=True, text=True, timeout=300,
    )
    try:
        answer = json.loads(proc.stdout)
    except ValueError:
        answer = None
    if proc.returncode != 0:
        reason = answer.get("error", {}).get("summary") if isinstance(answer, dict) else None
        raise AssetError(f"`npm pack {pkg.spec}` failed: {reason or f'exit {proc.returncode}'}")
    try:
        filename = answer[0]["filename"]
    except (LookupError, TypeError):
        filename = pkg.tarball_name
    return into / filename


def _fetch_with_urllib(pkg: NpmPackage, into: Path) -> Path:
    url = pkg.tarball_url(_registry())
    target = into / pkg.tarball_name
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            target.write_bytes(response.read())
    except (urllib.error.URLError, OSError) as exc:
        raise AssetError(f"download of {url} failed: {getattr(exc, 'reason', exc)}") from None
    return target


def fetch(pkg: NpmPackage, cache: Path = DEFAULT_CACHE, echo=None) -> Path:
    """Path of the verified tarball of ``pkg`` in ``cache``, downloading it when absent."""
    cached = cache / pkg.tarball_name
    if _verified(cached, pkg):
        return cached
    cache.mkdir(parents=True, exist_ok=True)
    npm = shutil.which("npm")
    if echo:
        echo(f"fetching npm package {pkg.spec} ({'npm pack' if npm else 'registry download'})")
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        try:
            got = _fetch_with_npm(pkg, npm, Path(tmp)) if npm else _fetch_with_urllib(pkg, Path(tmp))
        except (AssetError, subprocess.TimeoutExpired) as exc:
            raise AssetError(
                f"could not fetch npm package {pkg.spec} (needed for the offline book): {exc}. "
                f"Connect to the npm registry ({_registry()}) or put its tarball "
                f"{pkg.tarball_name} into {cache}."
            ) from None
        actual = integrity_of(got.read_bytes())
        if actual != pkg.integrity:
            raise AssetError(
                f"npm package {pkg.spec} failed its integrity check: expected {pkg.integrity}, "
                f"got {actual}. Refusing to use it."
            )
        os.replace(got, cached)
    return cached


def fetch_all(cache: Path = DEFAULT_CACHE, packages=PACKAGES, echo=print) -> list[Path]:
    """Make sure every pinned package is in the cache (verified); returns the tarballs."""
    return [fetch(pkg, cache, echo) for pkg in packages]


def unpack(pkg: NpmPackage, tarball: Path, dest: Path) -> list[Path]:
    """Copy the files of ``pkg`` selected by its rules from ``tarball`` into ``dest``."""
    written = []
    with tarfile.open(tarball, "r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            name = member.name.split("/", 1)[1] if "/" in member.name else member.name
            for rule in pkg.rules:
                prefix = f"{rule.base}/" if rule.base else ""
                if not name.startswith(prefix):
                    continue
                rest = name[len(prefix):]
                if ".." in rest.split("/") or not fnmatch.fnmatch(rest, rule.pattern):
                    continue
                target = dest / rule.dest / rest
                target.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(member) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
                written.append(target)
                break
    missing = [r for r in pkg.rules if "*" not in r.pattern
               and not (dest / r.dest / r.pattern).is_file()]
    if missing:
        raise AssetError(f"npm package {pkg.spec} lacks {[r.pattern for r in missing]}")
    return written


def vendor_assets(dest: Path, cache: Path = DEFAULT_CACHE, packages=PACKAGES, echo=None) -> list[Path]:
    """Fill ``dest`` (emptied first) with the book's browser assets; returns the files."""
    tarballs = [(pkg, fetch(pkg, cache, echo)) for pkg in packages]
    if dest.exists():
        shutil.rmtree(dest)
    written = []
    for pkg, tarball in tarballs:
        written += unpack(pkg, tarball, dest)
    for relative, text in LOCAL_FILES.items():
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        written.append(target)
    return written


# --- Sphinx extension -----------------------------------------------------------------

def _vendor_for_sphinx(app, config) -> None:
    """config-inited: unpack the assets before Sphinx validates ``html_static_path``."""
    from sphinx.errors import ExtensionError
    from sphinx.util import logging

    if VENDOR_DIR not in config.html_static_path:
        return
    log = logging.getLogger(__name__)
    start = time.perf_counter()
    try:
        files = vendor_assets(Path(app.confdir) / VENDOR_DIR, echo=log.info)
    except AssetError as exc:
        raise ExtensionError(str(exc)) from None
    log.info(f"vendored {len(files)} asset files in {time.perf_counter() - start:.2f} s")


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    """html-page-context: keep the first of scripts that differ only by ``None`` vs ``''``."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        attributes = getattr(js, "attributes", {})
        key = (getattr(js, "filename", js) or "", getattr(js, "priority", 500),
               tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    scripts[:] = unique  # the builder restores its own list after each page


def setup(app):
    app.connect("config-inited", _vendor_for_sphinx, priority=100)
    app.add_css_file(BOOK_CSS)
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.tooling.assets", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="tarball cache folder")
    parser.add_argument("--dest", type=Path, default=None,
                        help="also unpack into this folder (default: only fill the cache)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        if args.dest is None:
            for pkg in PACKAGES:
                print(f"{pkg.spec}: {fetch(pkg, args.cache, echo=print)}")
        else:
            files = vendor_assets(args.dest, args.cache, echo=print)
            print(f"{len(files)} files in {args.dest}")
    except AssetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"done in {time.perf_counter() - start:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
