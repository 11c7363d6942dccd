"""The paper's effects on the default (`quick`) run: the book's own models on the bundled
CIFAR-10 subset. A change of data, sizes or training that loses one of them fails here.

Marked ``after_book``: `make test` runs these after the book, so the models come from the
model cache the book filled (a cold cache trains them, a few minutes on 2 cores).
"""

from __future__ import annotations

import numpy as np
import pytest

from helpers.evaluation import AttackEvaluation
from helpers.experiment import Experiment
from helpers.architectures import effective_activation
from helpers.sources import nonmember_set

pytestmark = pytest.mark.after_book

ATTACKS = ("entropy", "max_score", "top3")


@pytest.fixture(scope="module")
def ev() -> AttackEvaluation:
    return AttackEvaluation(Experiment("quick", progress=False))


def _report(ev, arch, variant="standard", source=None, x=None):
    if source is None:
        return ev.evaluate(arch, variant).set_index("attack")
    return ev.evaluate(arch, variant, source=source, nonmember_x=x).set_index("attack")


def test_quick_uses_the_bundled_real_images(ev):
    assert ev.exp.profile.dataset == "cifar10-mini"
    assert ev.exp.data.in_channels == 3 and ev.exp.data.image_size == 32


def test_standard_models_overfit_and_attacks_favour_recall(ev):
    for arch in ev.exp.profile.architectures:
        m = ev.model_metrics(arch, "standard")
        assert m["train_accuracy"] >= 0.99, (arch, m)
        assert m["test_accuracy"] <= m["train_accuracy"] - 0.3, (arch, m)
        rep = _report(ev, arch)
        for attack in ATTACKS:
            assert rep.loc[attack, "recall"] > rep.loc[attack, "precision"], (arch, attack, rep.loc[attack].to_dict())


def test_standard_models_are_overconfident_and_attackable(ev):
    for arch in ev.exp.profile.architectures:
        m = ev.model_metrics(arch, "standard")
        assert m["ece"] >= 0.10, (arch, m)
        assert _report(ev, arch).loc["max_score", "auroc"] >= 0.70, arch


def test_scaled_inputs_are_members_for_relu_networks(ev):
    """Theorem 1 on the book's models: the max-score attack calls scaled non-members members."""
    scaled = nonmember_set(ev.exp, "scaled")
    relu = [a for a in ev.exp.profile.architectures if effective_activation(a, ev.exp.profile.activation) == "relu"]
    assert relu
    for arch in relu:
        assert _report(ev, arch, source="scaled", x=scaled.x).loc["max_score", "fpr"] >= 0.95, arch


def test_label_smoothing_calibrates_and_helps_the_attack(ev):
    for arch in ev.exp.profile.architectures:
        std, ls = ev.model_metrics(arch, "standard"), ev.model_metrics(arch, "label_smoothing")
        assert ls["ece"] < std["ece"], (arch, std["ece"], ls["ece"])
        a0 = _report(ev, arch).loc["max_score", "auroc"]
        a1 = _report(ev, arch, "label_smoothing").loc["max_score", "auroc"]
        assert a1 > a0, (arch, a0, a1)


def test_laplace_prior_is_inside_its_grid_and_lowers_an_ood_fpr(ev):
    lo, hi = 10.0 ** -4, 10.0 ** 4  # the grid of helpers.calibration.laplace_last_layer
    sets = {name: nonmember_set(ev.exp, name) for name in ("scaled", "permuted")}
    for arch in ev.exp.profile.architectures:
        prior = float(np.mean(ev.laplace(arch, "target").prior_precision))
        assert lo * 1.01 < prior < hi / 1.01, (arch, prior)
        lowered = [
            _report(ev, arch, "laplace", name, s.x).loc["max_score", "fpr"]
            < _report(ev, arch, "standard", name, s.x).loc["max_score", "fpr"]
            for name, s in sets.items()
        ]
        assert any(lowered), arch


@pytest.mark.parametrize("variant", ["temperature", "l2"])
def test_defences_lower_the_auroc_of_entropy_and_max_score(ev, variant):
    """The paper: temperature scaling and L2 lower the AUROC of the entropy and max-score
    attacks (it makes no such claim for top-3)."""
    for arch in ev.exp.profile.architectures:
        base, var = _report(ev, arch), _report(ev, arch, variant)
        for attack in ("entropy", "max_score"):
            assert var.loc[attack, "auroc"] < base.loc[attack, "auroc"], (arch, variant, attack)


@pytest.fixture(scope="module")
def study(ev):
    from helpers.reference_attacks import RankTest
    from helpers.reference_study import ReferenceStudy

    own = {"rank test, own class": lambda: RankTest(label_mode="own_top_class")}
    return ReferenceStudy(ev, ev.exp.profile.architectures[0], n_queries=500, label_only=False,
                          extra_reference_attacks=own)


def test_chapter8_scaled_inputs_fool_fixed_variance_lira_not_per_example_lira(study):
    """Chapter 8's prediction from the scaling theorem, at a 5 % threshold set in-distribution."""
    from helpers.audit import clopper_pearson, threshold_at_fpr

    x = study.query_set("test").x * 100.0
    scores = study.score_inputs(x, attacks=["LiRA", "LiRA, fixed variance", "max score"])
    cal = study.scores("calibration")
    fpr = {a: float(np.mean(s >= threshold_at_fpr(cal[a], 0.05))) for a, s in scores.items()}
    n = len(x)
    assert clopper_pearson(round(fpr["LiRA, fixed variance"] * n), n)[0] > 0.5, fpr
    assert clopper_pearson(round(fpr["max score"] * n), n)[0] > 0.9, fpr
    assert clopper_pearson(round(fpr["LiRA"] * n), n)[0] < 0.1, fpr


def test_chapter8_target_class_breaks_the_rank_test_on_test_images(study):
    """Reading the references at the target's own top class biases the rank test upwards;
    reading every model at its own top class keeps it near its level on test images."""
    from helpers.audit import clopper_pearson

    alpha = 1 / (study.refs.n_references + 1)
    s = study.scores("test")
    n = len(s["rank test"])
    k_target = int(np.sum(s["rank test"] >= 1 - alpha - 1e-12))
    k_own = int(np.sum(s["rank test, own class"] >= 1 - alpha - 1e-12))
    assert clopper_pearson(k_target, n)[0] > alpha, (k_target, n, alpha)
    assert clopper_pearson(k_own, n)[0] <= alpha, (k_own, n, alpha)
