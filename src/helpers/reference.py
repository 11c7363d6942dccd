"""The paper's published numbers, for printing beside this book's results.

Source: the result files released with Hintersdorf, Struppek and Kersting (IJCAI 2022),
transcribed into ``reference_data/`` (see the README there). Values are fractions.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import pandas as pd

from .variants import VARIANT_LABELS

ATTACK_LABELS = {"entropy": "Entropy", "max_score": "Max. Score", "top3": "Top-3 Scores"}
CITATION = "Hintersdorf, Struppek & Kersting (IJCAI 2022)"


@lru_cache(maxsize=None)
def _read(name: str) -> pd.DataFrame:
    with resources.files("helpers").joinpath("reference_data", name).open("r") as fh:
        return pd.read_csv(fh)


def paper_attack_results() -> pd.DataFrame:
    """Tidy table: architecture, dataset, variant, source, source_key, attack, metric, value."""
    return _read("paper_attack_results.csv").copy()


def paper_model_results() -> pd.DataFrame:
    """Tidy table: architecture, dataset, variant, metric (accuracies, ECE, OE), value."""
    return _read("paper_model_results.csv").copy()


def paper_table1(dataset: str = "cifar10") -> pd.DataFrame:
    """The paper's Table 1: accuracies and attack metrics on the test split, per architecture."""
    attacks = paper_attack_results()
    attacks = attacks[(attacks.dataset == dataset) & (attacks.variant == "standard")
                      & (attacks.source_key == "test")
                      & attacks.metric.isin(["Precision", "Recall", "FPR", "AUROC"])]
    models = paper_model_results()
    models = models[(models.dataset == dataset) & (models.variant == "standard")
                    & models.metric.isin(["train_accuracy_target", "test_accuracy_target"])]
    rows = {}
    for arch, group in models.groupby("architecture"):
        rows.setdefault(arch, {})
        for _, r in group.iterrows():
            label = "Train Accuracy" if r.metric.startswith("train") else "Test Accuracy"
            rows[arch][label] = r.value
    for (arch, attack, metric), value in attacks.groupby(["architecture", "attack", "metric"])["value"].first().items():
        short = {"Precision": "Pre", "Recall": "Rec"}.get(metric, metric)
        rows.setdefault(arch, {})[f"{ATTACK_LABELS[attack]} {short}"] = value
    order = ["Train Accuracy", "Test Accuracy"] + [
        f"{label} {m}" for label in ATTACK_LABELS.values() for m in ("Pre", "Rec", "FPR", "AUROC")
    ]
    table = pd.DataFrame(rows)
    return table.reindex([r for r in order if r in table.index])




def paper_table2(variants=tuple(VARIANT_LABELS)) -> pd.DataFrame:
    """The paper's Table 2 (ResNet-50 on Stanford Dogs): columns ``("resnet50 (paper)", label)``."""
    models = paper_model_results().query("architecture == 'resnet50' and dataset == 'stanford_dogs'")
    attacks = paper_attack_results().query("architecture == 'resnet50' and dataset == 'stanford_dogs' "
                                           "and source_key == 'test'")
    names = {"train_accuracy_target": "Train Accuracy", "test_accuracy_target": "Test Accuracy",
             "ece_target": "ECE", "oe_target": "OE"}
    short = {"Precision": "Pre", "Recall": "Rec", "FPR": "FPR", "AUROC": "AUROC"}
    columns = {}
    for variant in variants:
        col = {names[r.metric]: r.value for r in models[models.variant == variant].itertuples() if r.metric in names}
        for r in attacks[(attacks.variant == variant) & attacks.metric.isin(list(short))].itertuples():
            col[f"{ATTACK_LABELS[r.attack]} {short[r.metric]}"] = r.value
        columns[("resnet50 (paper)", VARIANT_LABELS[variant])] = col
    return pd.DataFrame(columns)
