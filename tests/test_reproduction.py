"""Chapter 7's tables and figure from claim rows: formats, the verdict column, every run."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from helpers import verdicts as vd
from helpers.claims import check_claims, claim_summary, results_from_paper, support
from helpers.config import load_profile
from helpers.reproduction import (
    claims_not_holding,
    deviation_table,
    format_value,
    plot_claims_by_replicate,
    reproduction_table,
    row_table,
)


@pytest.fixture(scope="module")
def two_runs():
    table = results_from_paper()
    other = table.assign(replicate=1, value=table.value + 0.002)
    rows = check_claims(pd.concat([table, other], ignore_index=True))
    return rows, claim_summary(rows)


def test_values_are_percent_levels_or_signed_points():
    assert format_value(0.9312, level=True) == "93.1 %"
    assert format_value(0.0831, level=False) == "+8.3 pts"
    assert format_value(-0.05, level=False) == "-5.0 pts"


def test_the_verdict_table_puts_the_verdict_beside_the_claim(two_runs):
    rows, summary = two_runs
    paper_rows = check_claims(results_from_paper())
    table = reproduction_table(summary, rows, claim_summary(paper_rows), paper_rows)
    assert list(table.columns[:2]) == ["claim", "verdict"]
    assert (table.verdict == summary.verdict).all()
    scaled = table.loc["scaled_inputs_are_members", "this run"]
    assert scaled.endswith("%") and "pts" not in scaled  # a level, not a change
    assert "pts" in table.loc["ls_raises_auroc", "this run"]


def test_the_row_table_lists_every_runs_value(two_runs):
    rows, _ = two_runs
    table = row_table(rows)
    assert len(table) == len(rows)
    first = rows.iloc[0]
    listed = table.iloc[0].runs.split(", ")
    assert len(listed) == 2 == len(first.replicates)


def test_the_sentence_names_exactly_the_claims_that_do_not_hold():
    summary = pd.DataFrame({"claim": ["A rises.", "B falls.", "C."],
                            "verdict": [vd.HOLDS, vd.FAILS, "not checked"]}, index=["a", "b", "c"])
    assert claims_not_holding(summary) == "the others: B falls. (does not hold)"
    assert claims_not_holding(summary.iloc[[0, 2]]) == "every checked claim holds"


def test_support_is_positive_exactly_on_the_claims_side(two_runs):
    rows, _ = two_runs
    s = support(rows)
    held = rows.verdict == vd.HOLDS
    assert (s.pooled[held] - s.margin[held] > 0).all()
    level = rows[rows.claim == "scaled_inputs_are_members"].iloc[0]
    assert s.loc[level.name, "pooled"] == pytest.approx(level.measured - 0.9)


def test_the_figure_has_a_panel_per_checked_claim(two_runs):
    rows, summary = two_runs
    fig = plot_claims_by_replicate(support(rows), summary)
    titled = [ax.get_title(loc="left") for ax in fig.axes if ax.get_title(loc="left")]
    assert len(titled) == (summary.checked > 0).sum()
    assert all(":" in t for t in titled)


def test_the_deviation_table_fills_in_the_profile():
    cfg = load_profile("quick")
    table = deviation_table(cfg, measured={"ties": "0.1 points"})
    assert table.loc["Training runs per configuration", "this book"].startswith(f"{cfg.replicates} training run")
    assert table.loc["Label-smoothing factor", "this book"] == f"{cfg.label_smoothing:g}"
    assert str(cfg.epochs_for("resnet18")) in table.loc["Epochs", "this book"]
    assert table.loc["Ties between scores", "measured effect"] == "0.1 points"
    assert (table["measured effect"] != "").all()
