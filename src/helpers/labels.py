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


def attack_label(name: str, n_classes: int | None = None) -> str:
    """The display label of an attack. The top-k attack reads ``min(3, n_classes)`` scores
    (:class:`helpers.attacks.Top3Attack`), so on a two-class task it is "Top-2 Scores";
    ``n_classes=None`` gives the paper's label."""
    if name == "top3" and n_classes is not None and n_classes < 3:
        return f"Top-{max(1, int(n_classes))} Scores"
    return ATTACK_LABELS.get(name, name)


def row_label(key: str, n_classes: int | None = None) -> str:
    """The paper's label of a row name (``max_score_auroc`` -> ``Max. Score AUROC``);
    a name without a label is returned unchanged. ``n_classes`` names the top-k attack
    as :func:`attack_label` does."""
    if key in MODEL_METRIC_LABELS:
        return MODEL_METRIC_LABELS[key]
    for attack in ATTACK_LABELS:
        for metric, metric_label in METRIC_LABELS.items():
            if key == row_key(attack, metric):
                return f"{attack_label(attack, n_classes)} {metric_label}"
    return key


def labelled(table: pd.DataFrame, n_classes: int | None = None) -> pd.DataFrame:
    """A copy of ``table`` for display: row names and variant names in columns
    ``(architecture, variant)`` replaced by the paper's labels (the top-k attack's label
    follows ``n_classes``, see :func:`attack_label`)."""
    out = table.rename(index=lambda key: row_label(key, n_classes))
    if isinstance(out.columns, pd.MultiIndex) and out.columns.nlevels == 2:
        out.columns = pd.MultiIndex.from_tuples(
            [(a, VARIANT_LABELS.get(v, v)) for a, v in out.columns], names=out.columns.names)
    return out
