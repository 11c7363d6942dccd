"""The runner fails fast and clearly, and never writes over the sources."""

import subprocess
import sys
import time

import pytest

from helpers.config import ConfigError
from helpers.tooling.runner import ChapterFailed, execute_chapter, select_chapters


def _run_cli(*args):
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "helpers", *args], capture_output=True, text=True)
    return proc, time.perf_counter() - start


def test_unknown_profile_fails_fast_with_one_paragraph(tmp_path):
    proc, seconds = _run_cli("run", "--profile", "nosuch", "--build-dir", str(tmp_path))
    assert proc.returncode == 2
    assert "'profile' has value 'nosuch'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert seconds < 10
    assert not (tmp_path / "executed").exists()


def test_wrong_parameter_type_fails_fast(tmp_path):
    proc, _ = _run_cli("run", "-p", "epochs", "ten", "--build-dir", str(tmp_path))
    assert proc.returncode == 2
    assert "'epochs' has value 'ten' of type str" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_chapter_is_named():
    with pytest.raises(ConfigError, match="'chapters' has value '99'"):
        select_chapters(["99"])


def test_failing_chapter_reports_cell_and_keeps_partial_output(tmp_path):
    source = tmp_path / "src" / "09_broken.py"
    source.parent.mkdir()
    source.write_text(
        '# %% tags=["parameters"]\nprofile = "quick"\n\n# %%\nx = 1\n\n# %%\nraise ValueError("boom here")\n'
    )
    out = tmp_path / "out"
    with pytest.raises(ChapterFailed, match="ValueError: boom here") as info:
        execute_chapter(source, out, "quick")
    assert "09_broken" in str(info.value)
    assert (out / "09_broken.failed.ipynb").exists()
    assert not (out / "09_broken.ipynb").exists()
    assert source.read_text().endswith('raise ValueError("boom here")\n')


def test_chapter_parameters_pass_only_where_declared(tmp_path):
    from helpers.tooling.runner import split_parameters

    chapter = tmp_path / "05_x.py"
    chapter.write_text('# %% tags=["parameters"]\nprofile = "quick"\noverrides = {}\nrule = "ranked"\n')
    overrides, only = split_parameters("quick", {"epochs": 3, "rule": "paper"}, [chapter])
    assert overrides == {"epochs": 3} and only == {"rule": "paper"}
    with pytest.raises(ConfigError, match="'nosuch' has value 1; allowed: a profile parameter"):
        split_parameters("quick", {"nosuch": 1}, [chapter])
