"""The book's structure: pinned environment, jupytext pairs, chapter conventions."""

import json
import re
from pathlib import Path

import jupytext
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book" / "chapters").glob("[0-9][0-9]_*.py"))


def _pins(lines):
    return {l.strip() for l in lines if l.strip() and not l.strip().startswith("#")}


def test_environment_yml_and_requirements_agree():
    reqs = _pins((ROOT / "requirements.txt").read_text().splitlines())
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_part = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    env_pins = {p for p in pip_part if not p.startswith("-e")}
    assert reqs == env_pins
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[A-Za-z0-9_.+]+", p) for p in reqs), "every pin exact"
    assert "torch==2.14.1" in reqs and "torchvision==0.29.1" in reqs


def test_the_readme_jupyter_command_works_in_this_environment():
    """README: `.venv/bin/jupyter lab book/chapters/...`; JupyterLab is pinned, so it runs."""
    import subprocess
    import sys

    jupyter = Path(sys.executable).parent / "jupyter"
    assert jupyter.exists(), f"{jupyter} missing: JupyterLab is not installed in this environment"
    out = subprocess.run([str(jupyter), "lab", "--version"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    pinned = next(p for p in _pins((ROOT / "requirements.txt").read_text().splitlines()) if p.startswith("jupyterlab=="))
    assert out.stdout.strip() == pinned.split("==")[1]


def test_there_are_chapters_and_all_are_in_the_toc():
    assert CHAPTERS
    toc = (ROOT / "book" / "_toc.yml").read_text()
    for source in CHAPTERS:
        assert f"chapters/{source.stem}" in toc


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.stem)
def test_pair_in_sync_and_notebook_without_outputs(source):
    paired = source.with_suffix(".ipynb")
    assert paired.exists(), f"{paired.name} missing: run `make pair`"
    raw = json.loads(paired.read_text())
    for cell in raw["cells"]:
        assert not cell.get("outputs"), f"{paired.name} has outputs: strip them"
        assert cell.get("execution_count") is None
    py_cells = [(c.cell_type, c.source) for c in jupytext.read(source).cells]
    nb_cells = [(c.cell_type, c.source) for c in jupytext.read(paired).cells]
    assert py_cells == nb_cells, f"{source.name} and {paired.name} differ: run `make pair`"


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_conventions(source):
    nb = jupytext.read(source)
    code = [c for c in nb.cells if c.cell_type == "code"]
    setup, params = code[0], code[1]
    assert "google.colab" in setup.source and "REPO_URL" in setup.source
    config = yaml.safe_load((ROOT / "book" / "_config.yml").read_text())
    assert f'REPO_URL = "{config["repository"]["url"]}"' in setup.source
    assert "parameters" in params.metadata.get("tags", [])
    assert re.search(r'^profile = "quick"', params.source, re.M)
    headings = [c.source for c in nb.cells if c.cell_type == "markdown"]
    text = "\n".join(headings)
    assert "## Summary" in text and "## Exercises" in text
    assert sum("parameters" in c.metadata.get("tags", []) for c in nb.cells) == 1


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.stem)
def test_prose_has_no_hand_typed_results(source):
    """Percentages and decimals in prose must be glued from the run, not typed.

    Allowed: numbers that are parameters of the method (thresholds such as 0.99, the
    paper's quoted values inside a block marked 'paper'), and numbers in math.
    """
    nb = jupytext.read(source)
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        prose = re.sub(r"\$\$.*?\$\$|\$[^$]*\$|`[^`]*`", "", cell.source, flags=re.S)
        hits = re.findall(r"\b\d+(?:\.\d+)?\s?%", prose)
        assert not hits, f"hand-typed percentage(s) {hits} in {source.name}: glue them"


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_takes_profile_overrides(source):
    """The runner hands every profile parameter to a chapter in its ``overrides`` dict."""
    from helpers.tooling.runner import chapter_parameter_names

    assert {"profile", "overrides"} <= chapter_parameter_names(source)
    assert re.search(r"load_profile\(\s*profile,\s*overrides", source.read_text())


MAX_CODE_LINE = 88  # what the book's content column shows without scrolling


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.stem)
def test_code_lines_fit_the_page(source):
    """Code cells are read on the page: no line longer than MAX_CODE_LINE characters."""
    nb = jupytext.read(source)
    long = [
        f"cell {i}: {line[:60]}... ({len(line)} characters)"
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for line in cell.source.splitlines()
        if len(line) > MAX_CODE_LINE
    ]
    assert not long, f"{source.name}: code lines over {MAX_CODE_LINE} characters:\n" + "\n".join(long)


def _calls_glue(node) -> bool:
    import ast

    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "glue"
               for n in ast.walk(node))


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.stem)
def test_cells_that_glue_numbers_are_hidden_in_the_html(source):
    """Glue calls are plumbing for the prose: they sit in cells tagged remove-cell, which
    the HTML leaves out (the glued values still reach the prose) and Jupyter still runs.
    A hidden cell must not end in a displayed value, which the reader would then miss."""
    import ast

    nb = jupytext.read(source)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        hidden = "remove-cell" in cell.metadata.get("tags", [])
        if _calls_glue(tree):
            assert hidden, f"{source.name} cell {i} glues numbers but is shown:\n{cell.source[:200]}"
        if hidden and tree.body:
            last = tree.body[-1]
            displays = isinstance(last, ast.Expr) and not (
                isinstance(last.value, ast.Call) and _calls_glue(last.value)
            ) and not cell.source.rstrip().endswith(";")
            assert not displays or "Setup" in cell.source, (
                f"{source.name} cell {i} is hidden but displays its last value")
            drawn = re.findall(r"plt\.show|print\(|display\(|subplots|image_stepper|show_source",
                               cell.source)
            assert not drawn or "Setup" in cell.source, (
                f"{source.name} cell {i} is hidden but shows output: {drawn}")


def _shown_objects(source: Path) -> list[tuple[str, object]]:
    """``(expression, object)`` for every ``show_source(X)`` of a chapter, resolved through
    the chapter's own ``from helpers... import`` lines."""
    import ast
    import importlib

    tree = ast.parse(source.read_text(encoding="utf-8"))
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("helpers"):
            for a in node.names:
                module = importlib.import_module(node.module)
                value = getattr(module, a.name, None)
                if value is None:  # ``from helpers import plots``: a submodule
                    value = importlib.import_module(f"{node.module}.{a.name}")
                names[a.asname or a.name] = value
    shown = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "show_source":
            expr = ast.unparse(node.args[0])
            root, *attrs = expr.split(".")
            obj = names[root]
            for attr in attrs:
                obj = getattr(obj, attr)
            shown.append((expr, obj))
    return shown


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.stem)
def test_library_code_shown_in_a_chapter_fits_the_page(source):
    import inspect
    import textwrap

    for expr, obj in _shown_objects(source):
        lines = textwrap.dedent(inspect.getsource(obj)).splitlines()
        long = [f"{len(line)}: {line[:60]}..." for line in lines if len(line) > MAX_CODE_LINE]
        assert not long, f"{source.name} shows {expr} with lines over {MAX_CODE_LINE} characters:\n" + "\n".join(long)
