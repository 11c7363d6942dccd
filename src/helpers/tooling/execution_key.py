"""What an executed chapter depends on, as one hash: the runner reuses a chapter whose key
has not changed since it was last executed.

The key covers the chapter's code cells (their source and which one takes the parameters:
prose, i.e. markdown cells, and display tags do not change what a kernel computes, so an
edit of the text alone keeps the executed outputs and the runner only swaps the new text in,
see :func:`merge_prose`), the parameters it receives, the profile file, the
code of every ``helpers`` module the chapter imports (followed through the library's own
relative imports, so editing a module re-executes exactly the chapters that reach it), the
bundled dataset's manifest, and the versions of Python, torch and the library. Data that
lives outside the repository (an ``imagefolder:`` path, torchvision files) is not hashed:
re-execute with ``--force`` after changing it.
"""

from __future__ import annotations

import ast
import hashlib
import json
import platform
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping

from ..config import profile_dirs

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # the helpers package
KEY_VERSION = "2"  # 2: code cells only, not the whole source file


def _module_path(package_dir: Path, name: str) -> Path | None:
    """File of module ``name`` (dotted, relative to the package), or ``None``."""
    base = package_dir.joinpath(*name.split(".")) if name else package_dir
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports_of_chapter(tree: ast.AST, package: str) -> set[str]:
    """Modules of ``package`` that top-level code imports (``from helpers.x import ...``,
    ``import helpers.x``, ``from helpers import x``)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == package:
                found.update(alias.name for alias in node.names)
                found.add("")
            elif node.module.startswith(package + "."):
                found.add(node.module[len(package) + 1:])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == package:
                    found.add("")
                elif alias.name.startswith(package + "."):
                    found.add(alias.name[len(package) + 1:])
    return found


def _relative_imports(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Modules of the same package that a library module imports (relative or absolute)."""
    found: set[str] = set()
    parts = module.split(".") if module else []
    here = parts if is_package else parts[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            anchor = here[: len(here) - (node.level - 1)] if node.level > 1 else here
            target = ".".join(anchor + ([node.module] if node.module else []))
            found.add(target)
            found.update(".".join(filter(None, [target, alias.name])) for alias in node.names)
    return found


@lru_cache(maxsize=None)
def _reached_from(path: str, mtime_ns: int, size: int, name: str, package: str) -> frozenset[str]:
    """Modules of ``package`` that the module file ``path`` imports (memoised per file version)."""
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    return frozenset(_relative_imports(tree, name, path.endswith("__init__.py")) | _imports_of_chapter(tree, package))


def library_modules(source: Path, package_dir: Path = PACKAGE_DIR) -> dict[str, Path]:
    """Every module of the library a chapter reaches through its imports, by name."""
    package = package_dir.name
    pending = _imports_of_chapter(ast.parse(source.read_text(encoding="utf-8")), package)
    seen: dict[str, Path] = {}
    while pending:
        name = pending.pop()
        path = _module_path(package_dir, name)
        if path is None or name in seen:
            continue
        seen[name] = path
        st = path.stat()
        pending |= _reached_from(str(path), st.st_mtime_ns, st.st_size, name, package) - set(seen)
    return dict(sorted(seen.items()))


def _is_parameters_cell(cell: Any) -> bool:
    return "parameters" in cell.get("metadata", {}).get("tags", [])


def code_cells_json(source: Path) -> str:
    """What a kernel executes in a chapter: its code cells' sources, in order, and which
    cell receives the parameters, as JSON (markdown and display metadata left out)."""
    import jupytext

    nb = jupytext.read(source)
    cells = [
        {"source": c.source, "parameters": _is_parameters_cell(c)}
        for c in nb.cells
        if c.cell_type == "code"
    ]
    return json.dumps(cells, sort_keys=True)


def merge_prose(source_nb: Any, executed_nb: Any) -> Any | None:
    """``executed_nb`` with the markdown and cell metadata of ``source_nb``, or ``None``
    when their code cells differ (then the chapter must be executed again).

    The executed code cells (outputs, papermill's metadata and the cell papermill injects
    after the parameters cell) are kept; every other cell and every code cell's tags come
    from the source, so a prose edit reaches the book without running a kernel.
    """
    import copy

    executed = [c for c in executed_nb.cells if c.cell_type == "code"]
    merged, i = [], 0
    for cell in source_nb.cells:
        if cell.cell_type != "code":
            merged.append(copy.deepcopy(cell))
            continue
        if i >= len(executed) or executed[i].source != cell.source:
            return None
        done = copy.deepcopy(executed[i])
        done.metadata = {**done.metadata, **copy.deepcopy(dict(cell.metadata))}
        if "tags" not in cell.metadata:
            done.metadata.pop("tags", None)
        merged.append(done)
        i += 1
        if i < len(executed) and "injected-parameters" in executed[i].metadata.get("tags", []):
            merged.append(copy.deepcopy(executed[i]))
            i += 1
    if i != len(executed):
        return None
    result = copy.deepcopy(executed_nb)
    result.cells = merged
    return result


def _profile_file(profile: str) -> Path | None:
    return next((d / f"{profile}.yml" for d in profile_dirs() if (d / f"{profile}.yml").is_file()), None)


def execution_key(source: Path, profile: str, parameters: Mapping[str, Any],
                  package_dir: Path = PACKAGE_DIR) -> str:
    """The hex sha256 of everything the executed chapter depends on (see the module docstring)."""
    digest = hashlib.sha256(f"execution-key {KEY_VERSION}\n".encode())

    def add(label: str, data: bytes) -> None:
        digest.update(f"{label} {len(data)}\n".encode())
        digest.update(data)

    add("chapter", code_cells_json(source).encode())
    add("parameters", json.dumps({"profile": profile, **parameters}, sort_keys=True, default=str).encode())
    profile_path = _profile_file(profile)
    add("profile", profile_path.read_bytes() if profile_path else b"")
    for name, path in library_modules(source, package_dir).items():
        add(f"module {name}", path.read_bytes())
    manifest = package_dir / "bundled" / "cifar10-mini.json"
    add("bundled", manifest.read_bytes() if manifest.is_file() else b"")
    try:  # the installed version, without importing torch (seconds)
        torch_version = metadata.version("torch")
    except metadata.PackageNotFoundError:  # pragma: no cover - torch is a dependency
        torch_version = "none"
    add("versions", f"{sys.version}|{platform.machine()}|{torch_version}".encode())
    return digest.hexdigest()
