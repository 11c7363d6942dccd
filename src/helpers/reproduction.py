"""Chapter 7's tables and figure, built from the claim rows of :mod:`helpers.claims`.

The rows hold pooled values (means over training replicates); these functions only format
and draw them: a verdict table beside the paper's, a row table with every run's value, a
sentence naming the claims that do not hold, and a figure of every row and run.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import verdicts as vd
from .plots import plot_claim_support
from .reference import deviations


def _is_level(row) -> bool:
    return float(row.threshold) != 0.0


def format_value(value: float, level: bool) -> str:
    """A level as a percentage (``93.1 %``), a change in percentage points (``+8.3 pts``)."""
    return f"{100 * value:.1f} %" if level else f"{100 * value:+.1f} pts"


def value_range(part: pd.DataFrame) -> str:
    """The pooled values of a claim's rows, as one value or ``low to high``."""
    if part.empty:
        return "-"
    level = _is_level(part.iloc[0])
    lo, hi = part.measured.min(), part.measured.max()
    if math.isclose(lo, hi, abs_tol=5e-4):
        return format_value(lo, level)
    return f"{format_value(lo, level)} to {format_value(hi, level)}"


def reproduction_table(summary: pd.DataFrame, rows: pd.DataFrame, paper_summary: pd.DataFrame,
                       paper_rows: pd.DataFrame) -> pd.DataFrame:
    """One line per claim: the statement, this run's verdict (first, so it is always in view),
    how many rows hold, this run's pooled values, and the paper's verdict and values."""
    return pd.DataFrame({
        "claim": summary.claim,
        "verdict": summary.verdict,
        "rows holding": [f"{h} of {c}" if c else "-" for h, c in zip(summary.holds, summary.checked)],
        "this run": [value_range(rows[rows.claim == k]) for k in summary.index],
        "paper verdict": paper_summary.verdict.reindex(summary.index).fillna("not checked"),
        "paper": [value_range(paper_rows[paper_rows.claim == k]) for k in summary.index],
    }, index=summary.index)


def claims_not_holding(summary: pd.DataFrame) -> str:
    """``'every checked claim holds'`` or ``'the others: statement (verdict); ...'``."""
    checked = summary[summary.verdict != "not checked"]
    others = checked[checked.verdict != vd.HOLDS]
    if others.empty:
        return "every checked claim holds"
    return "the others: " + "; ".join(f"{c} ({v})" for c, v in zip(others.claim, others.verdict))


def row_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Every row of every claim: verdict, pooled value with its one-sided 95 % margin, and
    each training run's value."""
    out = []
    for r in rows.itertuples():
        level = _is_level(r)
        margin = vd.quantile(r.df) * r.se
        out.append({"claim": r.claim, "architecture": r.architecture, "attack": r.attack, "metric": r.metric,
                    "verdict": r.verdict, "pooled": format_value(r.measured, level),
                    "margin": f"±{100 * margin:.1f} pts",
                    "runs": ", ".join(format_value(v, level) for v in r.replicates)})
    return pd.DataFrame(out).set_index(["claim", "architecture", "attack", "metric"])


def plot_claims_by_replicate(support: pd.DataFrame, summary: pd.DataFrame, ncols: int = 2) -> "plt.Figure":
    """A panel per checked claim (:func:`helpers.plots.plot_claim_support`), titled with the
    claim's key and verdict; x in percentage points, right of zero supports the claim."""
    keys = [k for k in summary.index if (support.claim == k).any()]
    if not keys:
        fig, ax = plt.subplots(figsize=(7, 1.5))
        ax.text(0.5, 0.5, "no claim could be checked on this run", ha="center", va="center")
        ax.set_axis_off()
        return fig
    nrows = math.ceil(len(keys) / ncols)
    heights = [max(len(support[support.claim == k]) for k in keys[i * ncols:(i + 1) * ncols]) for i in range(nrows)]
    fig, axes = plt.subplots(nrows, ncols, figsize=(10, 0.32 * sum(heights) + 0.9 * nrows),
                             gridspec_kw={"height_ratios": heights}, constrained_layout=True, squeeze=False)
    for ax, key in zip(axes.flat, keys):
        part = support[support.claim == key].copy()
        part[["pooled", "margin"]] *= 100
        part["replicates"] = [tuple(100 * np.asarray(v)) for v in part.replicates]
        labels = [f"{r.architecture} · {r.attack}" + (f" · {r.metric}" if part.metric.nunique() > 1 else "")
                  for r in part.itertuples()]
        plot_claim_support(ax, part, title=f"{key}: {summary.loc[key, 'verdict']}", labels=labels)
        ax.set_xlabel("points on the claim's side", fontsize=9)
    for ax in list(axes.flat)[len(keys):]:
        ax.set_axis_off()
    return fig


def _profile_value(profile, key: str) -> str | None:
    """This profile's value for a deviation row that depends on it (else None)."""
    archs = list(profile.architectures)
    if key == "replicates":
        return f"{profile.replicates} training run(s) per model, derived seeds"
    if key == "train_size":
        return f"{profile.train_size:,} ({profile.dataset})"
    if key == "epochs":
        return ", ".join(f"{a} {profile.epochs_for(a)}" for a in archs) + f" ({profile.optimizer}, no schedule)"
    if key == "label_smoothing":
        return f"{profile.label_smoothing:g}"
    if key == "weight_decay":
        return f"{profile.weight_decay:g}"
    if key == "architectures":
        return ", ".join(f"{a} (width {profile.width_for(a):g})" for a in archs)
    return None


def deviation_table(profile, measured: dict[str, str] | None = None) -> pd.DataFrame:
    """Every deliberate deviation from the authors' setup (``reference_data/deviations.csv``)
    with this profile's values filled in, and a ``measured effect`` column from ``measured``
    (key -> text; ``not measured here`` otherwise)."""
    table = deviations()
    measured = measured or {}
    table["this book"] = [_profile_value(profile, k) or text for k, text in zip(table.key, table["this book"])]
    table["measured effect"] = [measured.get(k, "not measured here") for k in table.key]
    return table.set_index("what").drop(columns="key")
