"""The runner's chapter cache: what invalidates an executed chapter, and what does not."""

from __future__ import annotations

import shutil
from pathlib import Path

from helpers.tooling.execution_key import execution_key, library_modules
from helpers.tooling.runner import execute_chapters

REAL_CHAPTER = sorted((Path(__file__).resolve().parents[1] / "book" / "chapters").glob("03_*.py"))[0]


def _fake_package(root: Path) -> Path:
    pkg = root / "helpers"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "attacks.py").write_text("from .metrics import auroc\nfrom . import scores\n")
    (pkg / "metrics.py").write_text("def auroc():\n    return 1\n")
    (pkg / "scores.py").write_text("def load():\n    from .cache import read\n    return read\n")
    (pkg / "cache.py").write_text("def read():\n    pass\n")
    (pkg / "plots.py").write_text("import numpy\n")
    return pkg


def test_library_modules_follow_imports_transitively(tmp_path):
    pkg = _fake_package(tmp_path)
    chapter = tmp_path / "01_x.py"
    chapter.write_text("import numpy as np\nfrom helpers.attacks import make\n")
    assert set(library_modules(chapter, pkg)) == {"attacks", "metrics", "scores", "cache", ""}


def test_editing_a_module_changes_the_key_of_exactly_the_chapters_that_reach_it(tmp_path):
    pkg = _fake_package(tmp_path)
    uses_attacks, uses_plots = tmp_path / "01_a.py", tmp_path / "02_b.py"
    uses_attacks.write_text("from helpers.attacks import make\n")
    uses_plots.write_text("from helpers import plots\n")
    before = {c: execution_key(c, "digits", {}, pkg) for c in (uses_attacks, uses_plots)}
    (pkg / "cache.py").write_text("def read():\n    return 2\n")  # reached through scores (a function-level import)
    after = {c: execution_key(c, "digits", {}, pkg) for c in (uses_attacks, uses_plots)}
    assert after[uses_attacks] != before[uses_attacks]
    assert after[uses_plots] == before[uses_plots]


def test_parameters_profile_and_source_enter_the_key(tmp_path):
    chapter = tmp_path / REAL_CHAPTER.name
    shutil.copy(REAL_CHAPTER, chapter)
    base = execution_key(chapter, "quick", {})
    assert execution_key(chapter, "quick", {}) == base
    assert execution_key(chapter, "digits", {}) != base
    assert execution_key(chapter, "quick", {"overrides": {"seed": 7}}) != base
    chapter.write_text(chapter.read_text() + "\n# %% [markdown]\n# One more sentence.\n")
    assert execution_key(chapter, "quick", {}) == base  # prose does not enter the key
    chapter.write_text(chapter.read_text() + "\n# %%\nprint(1)\n")
    assert execution_key(chapter, "quick", {}) != base
    assert "attacks" in library_modules(REAL_CHAPTER)


def test_runner_reuses_an_unchanged_chapter_and_reexecutes_an_edited_one(tmp_path):
    chapters = tmp_path / "chapters"
    chapters.mkdir()
    source = chapters / "01_tiny.py"
    source.write_text('# %% tags=["parameters"]\nprofile = "digits"\n\n# %%\nfrom helpers.metrics import auroc\nx = 1\n')
    build = tmp_path / "build"
    lines: list[str] = []

    def echo(text="", **kw):
        lines.append(text)

    first = execute_chapters([source], "digits", build_dir=build, echo=echo)
    second = execute_chapters([source], "digits", build_dir=build, echo=echo)
    assert not first[0].reused and second[0].reused and second[0].seconds == 0.0
    forced = execute_chapters([source], "digits", build_dir=build, echo=echo, force=True)
    assert not forced[0].reused
    source.write_text(source.read_text().replace("x = 1", "x = 2"))
    third = execute_chapters([source], "digits", build_dir=build, echo=echo)
    assert not third[0].reused
    assert any("reused" in line for line in lines)


def test_a_prose_edit_reuses_the_outputs_and_brings_the_new_text(tmp_path):
    import nbformat

    source = tmp_path / "01_prose.py"
    source.write_text(
        '# %% tags=["parameters"]\nprofile = "digits"\n\n'
        "# %% [markdown]\n# The old sentence.\n\n"
        "# %%\nimport random\nprint(random.random())\n"
    )
    build = tmp_path / "build"
    quiet = lambda *a, **k: None  # noqa: E731
    first = execute_chapters([source], "digits", build_dir=build, echo=quiet)[0]
    printed = nbformat.read(first.output, as_version=4).cells[-1].outputs[0]["text"]
    source.write_text(source.read_text().replace("The old sentence.", "A new sentence."))
    second = execute_chapters([source], "digits", build_dir=build, echo=quiet)[0]
    assert second.reused
    cells = nbformat.read(second.output, as_version=4).cells
    markdown = "".join(c.source for c in cells if c.cell_type == "markdown")
    assert "A new sentence." in markdown and "old sentence" not in markdown
    assert cells[-1].outputs[0]["text"] == printed  # the random draw was not re-run
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in cells)
    source.write_text(source.read_text().replace("print(random", "print(2 * random"))
    assert not execute_chapters([source], "digits", build_dir=build, echo=quiet)[0].reused


def test_merge_prose_refuses_notebooks_whose_code_differs(tmp_path):
    import nbformat.v4 as v4

    from helpers.tooling.execution_key import merge_prose

    src = v4.new_notebook(cells=[v4.new_markdown_cell("a"), v4.new_code_cell("x = 1")])
    done = v4.new_notebook(cells=[v4.new_markdown_cell("b"), v4.new_code_cell("x = 2")])
    assert merge_prose(src, done) is None
    done.cells[1].source = "x = 1"
    done.cells.append(v4.new_code_cell("y = 1"))
    assert merge_prose(src, done) is None
