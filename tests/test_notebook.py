"""Chapter conveniences: shown source code and percentages."""

from __future__ import annotations

import math

import pytest

from helpers.notebook import fmt_pct, show_source
from helpers.reference_attacks import LiRA, rank_p_value


def test_show_source_displays_the_code_the_library_runs():
    shown = show_source(rank_p_value).data
    assert shown.startswith("```python\ndef rank_p_value(") and shown.endswith("```")
    method = show_source(LiRA._score).data
    assert method.startswith("```python\ndef _score(self")  # dedented out of its class
    assert "norm.logsf" in method


def test_fmt_pct():
    assert fmt_pct(0.4476) == "44.8 %"
    assert fmt_pct(math.nan) == "n/a"


@pytest.mark.parametrize("display", [False, True])
@pytest.mark.parametrize("value", ["41.5 %", 3.25, ["a", 1]])
def test_glue_bundle_is_the_one_myst_nb_writes(monkeypatch, value, display):
    """The book reads glued values back with myst-nb: our bundle must be byte for byte the one
    ``myst_nb.glue`` publishes (a myst-nb upgrade that changes its format fails here)."""
    import myst_nb.ext.glue as myst_glue

    from helpers.notebook import glue_bundle

    published = []
    monkeypatch.setattr(myst_glue, "ipy_display", lambda data, **kw: published.append((data, kw)))
    myst_glue.glue("ch0_value", value, display=display)
    (data, kwargs), = published
    assert kwargs == {"raw": True, "metadata": glue_bundle("ch0_value", value, display)[1]}
    assert data == glue_bundle("ch0_value", value, display)[0]
    assert any(k.startswith("application/papermill.record/") for k in data) != display


def test_glue_outside_a_kernel_returns_the_value_and_publishes_nothing(capsys):
    from helpers.notebook import glue

    assert glue("ch0_x", 12.5) == 12.5
    assert capsys.readouterr().out == ""
