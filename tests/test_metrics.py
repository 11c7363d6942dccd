"""Metrics agree with scikit-learn and with brute force, ties included."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import (
    average_precision_score,
    confusion_matrix,
    precision_score,
    recall_score,
    roc_auc_score,
)

from helpers.attacks import make_attacks
from helpers.metrics import (
    METRIC_COLUMNS,
    attack_report,
    aupr,
    auroc,
    earth_movers_distance,
    evaluate_attacks,
    false_positive_rate,
    fpr_at_tpr,
    hard_metrics,
    mmps,
    precision,
    recall,
    tpr_at_fpr,
)
from helpers.scores import scores_from_logits

labelled = st.lists(
    st.tuples(st.booleans(), st.booleans(), st.integers(0, 6)), min_size=2, max_size=60
).filter(lambda rows: len({r[0] for r in rows}) == 2)


@settings(max_examples=60, deadline=None)
@given(labelled)
def test_agree_with_sklearn_on_tied_scores(rows):
    y = np.array([r[0] for r in rows])
    pred = np.array([r[1] for r in rows])
    score = np.array([r[2] for r in rows], dtype=float) / 3.0  # few distinct values: many ties
    assert precision(y, pred) == pytest.approx(precision_score(y, pred, zero_division=0))
    assert recall(y, pred) == pytest.approx(recall_score(y, pred))
    tn, fp, fn, tp = confusion_matrix(y, pred, labels=[False, True]).ravel()
    assert false_positive_rate(y, pred) == pytest.approx(fp / (fp + tn))
    assert auroc(y, score) == pytest.approx(roc_auc_score(y, score))
    assert aupr(y, score) == pytest.approx(average_precision_score(y, score))


def brute_operating_points(y, score):
    """(TPR, FPR) of every rule 'member if score >= t', t over the scores and +inf."""
    pts = []
    for t in np.r_[np.unique(score), np.inf]:
        pred = score >= t
        pts.append((pred[y].mean(), pred[~y].mean()))
    return np.array(pts)


@settings(max_examples=60, deadline=None)
@given(labelled, st.sampled_from([0.0, 0.001, 0.01, 0.1, 0.5]), st.sampled_from([0.5, 0.9, 0.95, 1.0]))
def test_low_fpr_points_are_attainable_operating_points(rows, max_fpr, min_tpr):
    y = np.array([r[0] for r in rows])
    score = np.array([r[2] for r in rows], dtype=float)
    pts = brute_operating_points(y, score)
    assert tpr_at_fpr(y, score, max_fpr) == pytest.approx(pts[pts[:, 1] <= max_fpr, 0].max())
    assert fpr_at_tpr(y, score, min_tpr) == pytest.approx(pts[pts[:, 0] >= min_tpr, 1].min())


def test_precision_is_zero_when_nobody_is_called_a_member():
    y = np.array([1, 0, 1, 0])
    m = hard_metrics(y, np.zeros(4, bool))
    assert m["precision"] == 0.0 and m["n_predicted_members"] == 0 and m["recall"] == 0.0 and m["fpr"] == 0.0


def test_mmps_groups_and_empty_group():
    y = np.array([1, 1, 0, 0, 0])
    pred = np.array([1, 0, 1, 1, 1], bool)
    maxs = np.array([0.9, 0.5, 0.8, 0.6, 1.0])
    out = mmps(y, pred, maxs)
    assert out["mmps_tp"] == 0.9 and out["mmps_fn"] == 0.5
    assert out["mmps_fp"] == pytest.approx(0.8) and np.isnan(out["mmps_tn"])


def test_earth_movers_distance_matches_scipy():
    rng = np.random.default_rng(0)
    a, b = rng.uniform(size=100), rng.beta(5, 1, size=70)
    assert earth_movers_distance(a, b) == pytest.approx(scipy.stats.wasserstein_distance(a, b))
    assert earth_movers_distance(a, a) == 0.0
    with pytest.raises(ValueError, match="'a' and 'b'"):
        earth_movers_distance([], b)


def test_metric_input_errors():
    with pytest.raises(ValueError, match="'y_pred' has 2 entries but 'y_true' has 3"):
        precision([1, 0, 1], [1, 0])
    with pytest.raises(ValueError, match="'score' contains NaN"):
        auroc([1, 0], [np.nan, 0.1])
    with pytest.raises(ValueError, match="only one class"):
        auroc([1, 1], [0.3, 0.1])
    with pytest.raises(ValueError, match="'y_true' has values"):
        precision([2, 0], [1, 0])
    with pytest.raises(ValueError, match="'max_fpr'"):
        tpr_at_fpr([1, 0], [0.2, 0.1], max_fpr=2)


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(1)
    def logits(lo, hi, n):
        z = rng.normal(size=(n, 10))
        z[:, 0] += rng.uniform(lo, hi, n)
        return scores_from_logits(z)
    attacks = make_attacks(seed=0)
    for a in attacks.values():
        a.fit(logits(3, 30, 300), logits(0, 20, 300))
    return attacks, logits(3, 30, 200), logits(0, 20, 250)


def test_attack_report_matches_direct_metrics(fitted):
    attacks, members, nonmembers = fitted
    a = attacks["max_score"]
    rep = attack_report(a, members, nonmembers, model="m", attack="renamed")
    assert rep["attack"] == "renamed" and rep["model"] == "m"
    y = np.r_[np.ones(200, bool), np.zeros(250, bool)]
    score = np.r_[a.membership_score(members), a.membership_score(nonmembers)]
    pred = np.r_[a.predict(members), a.predict(nonmembers)]
    assert rep["auroc"] == pytest.approx(roc_auc_score(y, score))
    assert rep["precision"] == pytest.approx(precision_score(y, pred, zero_division=0))
    assert rep["n_members"] == 200 and rep["n_nonmembers"] == 250
    assert rep["threshold"] == a.threshold_


def test_evaluate_attacks_tidy_table(fitted):
    attacks, members, nonmembers = fitted
    df = evaluate_attacks(attacks, members, nonmembers, model="m", variant="standard", source="test")
    assert list(df.columns[:4]) == ["model", "variant", "source", "attack"]
    assert set(METRIC_COLUMNS) <= set(df.columns)
    assert df["attack"].tolist() == list(attacks) and len(df) == 3
    other = evaluate_attacks(attacks, members, members.subset(slice(0, 50)), model="m", variant="standard", source="self")
    both = pd.concat([df, other], ignore_index=True)
    assert both.shape == (6, df.shape[1])
    with pytest.raises(ValueError, match="'attacks' is empty"):
        evaluate_attacks({}, members, nonmembers)


def test_best_threshold_matches_brute_force_with_ties():
    from helpers.metrics import best_threshold

    rng = np.random.default_rng(3)
    for _ in range(20):
        m = rng.integers(0, 6, 40).astype(float)
        n = rng.integers(0, 6, 50).astype(float)
        candidates = np.unique(np.r_[m, n])[::-1]  # highest first: ties go to the highest threshold
        gains = [np.mean(m >= c) - np.mean(n >= c) for c in candidates]
        assert best_threshold(m, n) == candidates[int(np.argmax(gains))]


def test_bootstrap_errors_match_the_binomial_and_shrink_with_more_samples():
    from helpers.metrics import bootstrap_standard_errors

    rng = np.random.default_rng(0)
    for n in (400, 1600):
        y = np.r_[np.ones(n, bool), np.zeros(n, bool)]
        score = np.r_[rng.normal(1, 1, n), rng.normal(0, 1, n)]
        pred = score > 0.5
        se = bootstrap_standard_errors(y, pred, score, n_boot=400)
        fpr = pred[~y].mean()
        assert abs(se["se_fpr"] - np.sqrt(fpr * (1 - fpr) / n)) / np.sqrt(fpr * (1 - fpr) / n) < 0.2
    assert se["se_auroc"] < 0.02


@pytest.mark.parametrize("ties", [False, True])
def test_bootstrap_replicates_from_draw_counts_match_materialised_resamples(ties):
    """The bootstrap keeps each replicate as how often it drew every sample; its AUROC and
    refitted threshold must be those of the resample written out in full (scikit-learn's
    AUROC, a brute-force threshold search)."""
    from sklearn.metrics import roc_auc_score

    from helpers.metrics import _aurocs, _best_thresholds, _row_counts

    rng = np.random.default_rng(7)
    draw = (lambda n: rng.integers(0, 5, n).astype(float)) if ties else (lambda n: rng.normal(size=n))
    members, nonmembers = draw(60) + 0.5, draw(45)
    pick_m, pick_n = rng.integers(0, 60, (25, 60)), rng.integers(0, 45, (25, 45))
    counts_m, counts_n = _row_counts(pick_m, 60), _row_counts(pick_n, 45)
    assert (counts_m.sum(axis=1) == 60).all() and counts_m[3, 10] == (pick_m[3] == 10).sum()
    aurocs = _aurocs(members, nonmembers, counts_m, counts_n)
    thresholds = _best_thresholds(members, nonmembers, counts_m, counts_n)
    for r in range(25):
        m, n = members[pick_m[r]], nonmembers[pick_n[r]]
        assert aurocs[r] == pytest.approx(roc_auc_score(np.r_[np.ones(60), np.zeros(45)], np.r_[m, n]), abs=1e-12)
        candidates = np.unique(np.r_[m, n])[::-1]  # only values this resample drew
        gains = [np.mean(m >= c) - np.mean(n >= c) for c in candidates]
        assert thresholds[r] == candidates[int(np.argmax(gains))]


def test_paired_auroc_difference_matches_brute_force_delong_and_sklearn():
    from sklearn.metrics import roc_auc_score

    from helpers.metrics import paired_auroc_difference

    rng = np.random.default_rng(12)
    y = np.r_[np.ones(40, bool), np.zeros(55, bool)]
    a = np.round(rng.normal(y * 0.8, 1), 1)  # rounded: ties count one half
    b = np.round(a + rng.normal(0, 0.5, len(y)), 1)
    diff, se = paired_auroc_difference(y, a, b)
    assert diff == pytest.approx(roc_auc_score(y, a) - roc_auc_score(y, b))

    def components(s):
        psi = (s[y][:, None] > s[~y][None, :]) + 0.5 * (s[y][:, None] == s[~y][None, :])
        return psi.mean(axis=1), psi.mean(axis=0)

    (a10, a01), (b10, b01) = components(a), components(b)
    d10, d01 = a10 - b10, a01 - b01
    expected = np.sqrt(d10.var(ddof=1) / len(d10) + d01.var(ddof=1) / len(d01))
    assert se == pytest.approx(expected)


def test_pairing_shrinks_the_error_of_a_difference_of_correlated_scores():
    from helpers.metrics import paired_auroc_difference
    from helpers.verdicts import auroc_se, difference_se

    rng = np.random.default_rng(13)
    y = np.r_[np.ones(500, bool), np.zeros(500, bool)]
    a = rng.normal(y * 1.0, 1)
    b = a + rng.normal(0, 0.2, len(y))
    _, paired = paired_auroc_difference(y, a, b)
    unpaired = difference_se(auroc_se(auroc(y, a), 500, 500), auroc_se(auroc(y, b), 500, 500))
    assert paired < 0.5 * unpaired


def test_bootstrap_errors_stay_finite_when_the_attack_flags_nothing():
    """An attack that calls nobody a member has precision 0 (as the point estimate), so its
    errors are finite numbers the verdict rule can pool."""
    y = np.r_[np.ones(50, bool), np.zeros(50, bool)]
    score = np.linspace(0, 1, 100)
    from helpers.metrics import bootstrap_standard_errors

    errors = bootstrap_standard_errors(y, np.zeros(100, bool), score, n_boot=50)
    assert all(np.isfinite(v) for v in errors.values()), errors
    assert errors["se_precision"] == 0.0
