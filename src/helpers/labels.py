"""Display labels: the paper's spellings, applied only when a table is shown.

Tables of the library are keyed by names (rows ``train_accuracy``, ``ece``,
``max_score_auroc``; variant columns ``label_smoothing``), and chapters and claims read them
by those names. :func:`labelled` turns such a table into the paper's spelling for display
(``Max. Score AUROC``, ``LS``), so renaming a label can never break a computation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .variants import VARIANT_LABELS

ATTACK_LABELS = {"entropy": "Entropy", "max_score": "Max. Score", "top3": "Top-3 Scores"}
METRIC_LABELS = {"precision": "Pre", "recall": "Rec", "fpr": "FPR", "auroc": "AUROC"}
MODEL_METRIC_LABELS = {"train_accuracy": "Train Accuracy", "test_accuracy": "Test Accuracy",
                       "ece": "ECE", "oe": "OE"}


def fmt_pct(x: float | None, digits: int = 1) -> str:
    """``0.4476 -> '44.8 %'`` (NaN or None becomes 'n/a')."""
    if x is None or not np.isfinite(x):
        return "n/a"
    return f"{100 * x:.{digits}f} %"


def row_key(attack: str, metric: str) -> str:
    """The row name of one attack metric, e.g. ``row_key("max_score", "auroc")``."""
    return f"{attack}_{metric}"


def row_label(key: str) -> str:
    """The paper's label of a row name (``max_score_auroc`` -> ``Max. Score AUROC``);
    a name without a label is returned unchanged."""
    if key in MODEL_METRIC_LABELS:
        return MODEL_METRIC_LABELS[key]
    for attack, attack_label in ATTACK_LABELS.items():
        for metric, metric_label in METRIC_LABELS.items():
            if key == row_key(attack, metric):
                return f"{attack_label} {metric_label}"
    return key


def labelled(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``table`` for display: row names and variant names in columns
    ``(architecture, variant)`` replaced by the paper's labels."""
    out = table.rename(index=row_label)
    if isinstance(out.columns, pd.MultiIndex) and out.columns.nlevels == 2:
        out.columns = pd.MultiIndex.from_tuples(
            [(a, VARIANT_LABELS.get(v, v)) for a, v in out.columns], names=out.columns.names)
    return out
