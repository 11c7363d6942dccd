"""The transcribed reference numbers match values printed in the paper."""

import pytest

from helpers.labels import labelled
from helpers.reference import paper_attack_results, paper_model_results, paper_table1, paper_table2


def test_table1_spot_values_match_the_paper():
    t = paper_table1()
    assert t.loc["test_accuracy", "salem_cnn"] == pytest.approx(0.5904)
    assert t.loc["max_score_auroc", "resnet18"] == pytest.approx(0.7750)
    assert t.loc["top3_recall", "efficientnet_b0"] == pytest.approx(0.8260)
    assert list(t.index[:2]) == ["train_accuracy", "test_accuracy"]
    assert labelled(t).loc["Max. Score AUROC", "resnet18"] == t.loc["max_score_auroc", "resnet18"]


def test_table2_is_keyed_by_variant_names_and_labelled_for_display():
    t = paper_table2(("standard", "label_smoothing"))
    assert t.loc["max_score_auroc", ("resnet50 (paper)", "label_smoothing")] == pytest.approx(0.8563)
    shown = labelled(t)
    assert list(shown.columns) == [("resnet50 (paper)", "Standard"), ("resnet50 (paper)", "LS")]
    assert "Max. Score AUROC" in shown.index and "ECE" in shown.index


def test_table2_and_table3_values_present():
    a = paper_attack_results()
    ls = a[(a.architecture == "resnet50") & (a.variant == "label_smoothing") & (a.source_key == "test")
           & (a.attack == "max_score") & (a.metric == "AUROC")]
    assert ls.value.iloc[0] == pytest.approx(0.8563)
    fp = a[(a.architecture == "resnet50") & (a.variant == "standard") & (a.source_key == "afhq_cats")
           & (a.attack == "entropy") & (a.metric == "FP_MMPS")]
    assert fp.value.iloc[0] == pytest.approx(0.9972)
    m = paper_model_results()
    assert set(m.variant) >= {"standard", "label_smoothing", "laplace", "temperature", "l2"}
