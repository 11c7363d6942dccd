"""The paper's published numbers, for printing beside this book's results.

Source: the result files released with Hintersdorf, Struppek and Kersting (IJCAI 2022),
transcribed into ``reference_data/`` (see the README there). Values are fractions.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import pandas as pd

from .labels import ATTACK_LABELS, METRIC_LABELS, row_key
from .variants import VARIANT_LABELS

CITATION = "Hintersdorf, Struppek & Kersting (IJCAI 2022)"


@lru_cache(maxsize=None)
def _read(name: str) -> pd.DataFrame:
    with resources.files("helpers").joinpath("reference_data", name).open("r") as fh:
        return pd.read_csv(fh)


def paper_attack_results() -> pd.DataFrame:
    """Tidy table: architecture, dataset, variant, source, source_key, attack, metric, value."""
    return _read("paper_attack_results.csv").copy()


def deviations() -> pd.DataFrame:
    """Tidy table of the deliberate deviations from the authors' setup: key, what, the
    authors, this book, why (see :func:`helpers.reproduction.deviation_table`)."""
    return _read("deviations.csv").copy()


def paper_model_results() -> pd.DataFrame:
    """Tidy table: architecture, dataset, variant, metric (accuracies, ECE, OE), value."""
    return _read("paper_model_results.csv").copy()


# The result files' metric names -> this library's row names.
PAPER_METRICS = {"Precision": "precision", "Recall": "recall", "FPR": "fpr", "AUROC": "auroc"}
PAPER_MODEL_METRICS = {"train_accuracy_target": "train_accuracy", "test_accuracy_target": "test_accuracy",
                       "ece_target": "ece", "oe_target": "oe"}


def _table_rows(models: pd.DataFrame, attacks: pd.DataFrame) -> dict[str, float]:
    """One column of a paper table: model metrics, then ``<attack>_<metric>`` rows."""
    col = {PAPER_MODEL_METRICS[r.metric]: r.value for r in models.itertuples() if r.metric in PAPER_MODEL_METRICS}
    for r in attacks[attacks.metric.isin(list(PAPER_METRICS))].itertuples():
        col[row_key(r.attack, PAPER_METRICS[r.metric])] = r.value
    return col


def _row_order(with_calibration: bool) -> list[str]:
    models = list(PAPER_MODEL_METRICS.values())[: 4 if with_calibration else 2]
    return models + [row_key(a, m) for a in ATTACK_LABELS for m in METRIC_LABELS]


def paper_table1(dataset: str = "cifar10") -> pd.DataFrame:
    """The paper's Table 1 (test split, standard models): columns are architectures, rows
    named as in :meth:`helpers.evaluation.AttackEvaluation.table`."""
    attacks = paper_attack_results().query("dataset == @dataset and variant == 'standard' and source_key == 'test'")
    models = paper_model_results().query("dataset == @dataset and variant == 'standard'")
    models = models[models.metric.isin(["train_accuracy_target", "test_accuracy_target"])]
    table = pd.DataFrame({arch: _table_rows(models[models.architecture == arch],
                                            attacks[attacks.architecture == arch])
                          for arch in sorted(set(models.architecture) | set(attacks.architecture))})
    return table.reindex([r for r in _row_order(False) if r in table.index])


def paper_table2(variants=tuple(VARIANT_LABELS)) -> pd.DataFrame:
    """The paper's Table 2 (ResNet-50 on Stanford Dogs): columns ``("resnet50 (paper)", variant)``,
    rows named as in :func:`helpers.evaluation.variant_table`."""
    models = paper_model_results().query("architecture == 'resnet50' and dataset == 'stanford_dogs'")
    attacks = paper_attack_results().query("architecture == 'resnet50' and dataset == 'stanford_dogs' "
                                           "and source_key == 'test'")
    table = pd.DataFrame({("resnet50 (paper)", v): _table_rows(models[models.variant == v], attacks[attacks.variant == v])
                          for v in variants})
    return table.reindex([r for r in _row_order(True) if r in table.index])
