"""The library's imports run one way: no cycles, counting imports inside functions too
(so no function-level import can be hiding a cycle)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "helpers"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict[str, set[str]]:
    """Module -> the library modules it imports anywhere in its code (dotted names,
    ``tooling.runner``; relative imports resolved, ``from . import x`` counted as ``x``)."""
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in paths}

    def known(name: str) -> str | None:
        while name and name not in paths:
            name = name.rpartition(".")[0]
        return name or None

    for module, path in paths.items():
        here = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.level > 0:
                anchor = here[: len(here) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
                targets = [f"{base}.{a.name}".strip(".") for a in node.names] + [base]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("helpers."):
                base = node.module[len("helpers."):]
                targets = [f"{base}.{a.name}" for a in node.names] + [base]
            elif isinstance(node, ast.Import):
                targets = [a.name[len("helpers."):] for a in node.names if a.name.startswith("helpers.")]
            graph[module] |= {k for t in targets if (k := known(t)) and k != module}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                return stack[stack.index(n):] + [n]
            if n not in state and (found := visit(n)):
                return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_no_import_cycles_even_counting_function_level_imports():
    assert _cycle(_graph()) is None, " -> ".join(_cycle(_graph()) or [])


def test_the_graph_sees_the_tooling_subpackage_and_relative_imports():
    graph = _graph()
    assert {"config", "paths", "progress", "tooling.assets", "tooling.execution_key"} <= graph["tooling.runner"]
    assert "tooling.cli" in graph["__main__"]


def test_the_science_api_never_imports_the_tooling():
    graph = _graph()
    science = [m for m in graph if not m.startswith("tooling") and m != "__main__"]
    assert not [m for m in science if any(t.startswith("tooling") for t in graph[m])]


def test_the_cycle_detector_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_command_line_starts_without_torch():
    """`helpers profiles` / `run` / `book` stay fast: only `helpers train` imports torch."""
    import subprocess
    import sys

    code = "import sys, helpers.tooling.cli, helpers.tooling.runner; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
