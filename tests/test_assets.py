"""Vendoring of the book's browser assets: pinned, verified, offline-friendly."""

import io
import re
import tarfile
from pathlib import Path

import pytest
import yaml

from helpers.tooling import assets
from helpers.tooling.assets import AssetError, NpmPackage, Rule

ROOT = Path(__file__).resolve().parents[1]


def _tarball(path: Path, files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


@pytest.fixture
def offline(monkeypatch):
    """No npm, and a registry nobody listens on."""
    monkeypatch.setattr(assets.shutil, "which", lambda name: None)
    monkeypatch.setenv("npm_config_registry", "http://127.0.0.1:9")


def _fake_package(cache: Path, integrity: str | None = None) -> NpmPackage:
    pkg = NpmPackage("@demo/widgets", "1.2.3", "", (Rule("dist", "main.js", "w"),
                                                     Rule("dist", "*.woff2", "w")))
    data = _tarball(cache / pkg.tarball_name,
                    {"dist/main.js": b"ok", "dist/a.woff2": b"font", "dist/main.js.map": b"x",
                     "README.md": b"r"})
    return NpmPackage(pkg.name, pkg.version, integrity or assets.integrity_of(data), pkg.rules)


def test_cached_tarball_is_used_without_network(tmp_path, offline):
    cache = tmp_path / "cache"
    cache.mkdir()
    pkg = _fake_package(cache)
    assert pkg.tarball_name == "demo-widgets-1.2.3.tgz"
    files = assets.vendor_assets(tmp_path / "out", cache, packages=(pkg,))
    got = sorted(p.relative_to(tmp_path / "out").as_posix() for p in files)
    assert got == sorted(["w/main.js", "w/a.woff2", *assets.LOCAL_FILES])
    assert (tmp_path / "out" / "w" / "main.js").read_bytes() == b"ok"


def test_offline_without_cache_names_the_package(tmp_path, offline):
    pkg = NpmPackage("mathjax", "3.2.2", "sha512-x", (Rule("es5", "tex-mml-chtml.js", "m"),))
    with pytest.raises(AssetError, match=r"could not fetch npm package mathjax@3\.2\.2"):
        assets.vendor_assets(tmp_path / "out", tmp_path / "cache", packages=(pkg,))
    assert not (tmp_path / "out").exists()


def test_a_tampered_tarball_is_not_used(tmp_path, offline):
    cache = tmp_path / "cache"
    cache.mkdir()
    pkg = _fake_package(cache, integrity="sha512-" + "A" * 86 + "==")
    with pytest.raises(AssetError, match="could not fetch npm package @demo/widgets@1.2.3"):
        assets.fetch(pkg, cache)


def test_tarball_url_follows_the_registry_layout():
    pkg = next(p for p in assets.PACKAGES if p.name == "@jupyter-widgets/html-manager")
    assert pkg.tarball_url() == (
        f"https://registry.npmjs.org/@jupyter-widgets/html-manager/-/html-manager-{pkg.version}.tgz")


def test_pins_are_exact_and_integrity_is_sha512():
    for pkg in assets.PACKAGES:
        assert re.fullmatch(r"\d+\.\d+\.\d+", pkg.version), pkg.spec
        assert re.fullmatch(r"sha512-[A-Za-z0-9+/]{86}==", pkg.integrity), pkg.spec


def test_config_refers_to_files_the_vendoring_provides():
    config = yaml.safe_load((ROOT / "book" / "_config.yml").read_text())
    assert "helpers.tooling.assets" in config["sphinx"]["extra_extensions"]
    sphinx = config["sphinx"]["config"]
    assert sphinx["html_static_path"] == [assets.VENDOR_DIR]
    provided = set(assets.LOCAL_FILES) | {
        f"{rule.dest}/{rule.pattern}" for pkg in assets.PACKAGES for rule in pkg.rules}
    wanted = [sphinx["mathjax_path"], *sphinx["nb_ipywidgets_js"]]
    assert all("://" not in w for w in wanted)
    assert set(wanted) <= provided
    # Jupyter Book would add every script of a book-level _static folder to every page.
    assert not (ROOT / "book" / "_static").exists()
