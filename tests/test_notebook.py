"""Chapter conveniences: shown source code and percentages."""

from __future__ import annotations

import math

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
