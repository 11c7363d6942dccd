"""Tests of helpers.reference_attacks against independent, naive computations."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from sklearn.metrics import roc_auc_score

from helpers.attacks import NotFittedError
from helpers.metrics import best_threshold
from helpers.reference_attacks import (
    REFERENCE_ATTACKS,
    RMIA,
    DifficultyCalibration,
    LiRA,
    RankTest,
    ReferenceSignals,
    cross_entropy,
    logit_confidence,
    make_reference_attack,
    rank_p_value,
    signal_classes,
    true_class_probability,
)


# ------------------------------------------------------------------ fixtures and naive helpers
def naive_softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def naive_prob(z: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Softmax probability at ``classes`` for (N, C) or (K, N, C) logits."""
    p = naive_softmax(z)
    return p[..., np.arange(z.shape[-2]), classes]


def naive_phi(z: np.ndarray, classes: np.ndarray) -> np.ndarray:
    p = naive_prob(z, classes)
    return np.log(p / (1.0 - p))


def random_signals(seed: int, n: int = 40, k: int = 8, c: int = 5, *, in_rate: float = 0.0,
                   labelled: bool = True, member_shift: float = 0.0) -> ReferenceSignals:
    """Moderate random logits; references IN with probability ``in_rate`` (>= 2 OUT kept)."""
    rng = np.random.default_rng(seed)
    base = rng.normal(0.0, 2.0, (n, c))
    labels = rng.integers(0, c, n)
    base[np.arange(n), labels] += 2.0
    refs = base[None] + rng.normal(0.0, 1.0, (k, n, c))
    target = base + rng.normal(0.0, 1.0, (n, c))
    target[np.arange(n), labels] += member_shift
    member = None
    if in_rate > 0:
        member = rng.random((k, n)) < in_rate
        member[:2] = False  # every input keeps at least two OUT references
        refs = refs + 3.0 * member[..., None] * np.eye(c)[labels][None]  # IN refs look different
    return ReferenceSignals(target, refs, labels if labelled else None, member)


# ------------------------------------------------------------------ statistics
def test_logit_confidence_matches_naive_log_odds():
    rng = np.random.default_rng(0)
    z2 = rng.normal(0, 3, (50, 7))
    z3 = rng.normal(0, 3, (4, 50, 7))
    y = rng.integers(0, 7, 50)
    np.testing.assert_allclose(logit_confidence(z2, y), naive_phi(z2, y), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(logit_confidence(z3, y), naive_phi(z3, y), rtol=1e-10, atol=1e-10)
    assert logit_confidence(z3, y).shape == (4, 50)
    assert logit_confidence(z2.astype(np.float32), y).dtype == np.float64


def test_logit_confidence_finite_for_huge_logits():
    z = np.array([[1e4, 0.0, -1e4], [1e4, 0.0, -1e4], [0.0, 5e3, 1e4]])
    y = np.array([0, 1, 2])
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        naive = np.log(np.exp(z[np.arange(3), y]) / (np.exp(z).sum(1) - np.exp(z[np.arange(3), y])))
    assert not np.isfinite(naive).all()  # the naive formula overflows
    phi = logit_confidence(z, y)
    assert np.isfinite(phi).all()
    np.testing.assert_allclose(phi, [1e4, -1e4, 5e3], rtol=0, atol=1e-9)


def test_probability_and_loss_match_naive():
    rng = np.random.default_rng(1)
    z = rng.normal(0, 3, (3, 30, 6))
    y = rng.integers(0, 6, 30)
    np.testing.assert_allclose(true_class_probability(z, y), naive_prob(z, y), rtol=1e-12)
    np.testing.assert_allclose(cross_entropy(z, y), -np.log(naive_prob(z, y)), rtol=1e-10)
    assert np.isfinite(cross_entropy(np.array([[2e4, -2e4]]), np.array([1]))).all()


def test_signal_classes_label_modes():
    s = random_signals(2)
    np.testing.assert_array_equal(signal_classes(s, "labelled"), s.labels)
    np.testing.assert_array_equal(signal_classes(s, "top_class"), s.target_logits.argmax(1))
    unlabelled = random_signals(2, labelled=False)
    with pytest.raises(ValueError, match="labels=None"):
        signal_classes(unlabelled, "labelled")


# ------------------------------------------------------------------ container
def test_signals_container_subset_and_references():
    s = random_signals(3, n=20, k=6, in_rate=0.4)
    assert len(s) == 20 and s.n_references == 6 and s.n_classes == 5
    np.testing.assert_array_equal(s.out_mask, ~s.reference_in)
    np.testing.assert_array_equal(s.n_out, (~s.reference_in).sum(0))
    sub = s.subset([3, 1])
    np.testing.assert_array_equal(sub.target_logits, s.target_logits[[3, 1]])
    np.testing.assert_array_equal(sub.reference_logits, s.reference_logits[:, [3, 1]])
    np.testing.assert_array_equal(sub.reference_in, s.reference_in[:, [3, 1]])
    np.testing.assert_array_equal(sub.labels, s.labels[[3, 1]])
    mask = np.zeros(20, bool)
    mask[5:9] = True
    assert len(s.subset(mask)) == 4 and len(s.subset(slice(0, 3))) == 3
    few = s.take_references([0, 2])
    assert few.n_references == 2
    np.testing.assert_array_equal(few.reference_logits, s.reference_logits[[0, 2]])
    np.testing.assert_array_equal(few.reference_in, s.reference_in[[0, 2]])
    no_mask = ReferenceSignals(s.target_logits, s.reference_logits)
    assert no_mask.out_mask.all() and no_mask.out_mask.shape == (6, 20)
    ints = ReferenceSignals(s.target_logits.astype(np.float32), s.reference_logits,
                            s.labels.astype(np.int32), s.reference_in.astype(int))
    assert ints.target_logits.dtype == np.float64 and ints.labels.dtype == np.int64
    assert ints.reference_in.dtype == bool


# ------------------------------------------------------------------ LiRA
def naive_lira(signals: ReferenceSignals, classes: np.ndarray, sigma: float | None = None,
               student_t: bool = False) -> np.ndarray:
    out = signals.out_mask
    scores = []
    for i in range(len(signals)):
        c = classes[i:i + 1]
        phi_t = naive_phi(signals.target_logits[i:i + 1], c)[0]
        phi_r = naive_phi(signals.reference_logits[:, i:i + 1], c)[:, 0][out[:, i]]
        mu = np.mean(phi_r)
        sd = np.std(phi_r, ddof=1) if sigma is None else sigma
        if student_t:
            n = len(phi_r)
            scale = sd * np.sqrt(1 + 1 / n)
            scores.append(-scipy.stats.t.logsf(phi_t, df=n - 1, loc=mu, scale=scale))
        else:
            scores.append(-scipy.stats.norm.logsf(phi_t, loc=mu, scale=sd))
    return np.array(scores)


def test_lira_per_example_matches_naive_loop():
    shadow_m = random_signals(10, in_rate=0.5, member_shift=2.0)
    shadow_n = random_signals(11, in_rate=0.5)
    target = random_signals(12, n=60, in_rate=0.5, member_shift=1.0)
    assert len(np.unique(target.n_out)) > 1  # the OUT count varies across inputs
    attack = LiRA().fit(shadow_m, shadow_n)
    got = attack.membership_score(target)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, naive_lira(target, target.labels), rtol=1e-9, atol=1e-12)
    m, n = attack.shadow_membership_scores_
    np.testing.assert_allclose(m, naive_lira(shadow_m, shadow_m.labels), rtol=1e-9, atol=1e-12)
    assert attack.threshold_ == best_threshold(m, n)
    np.testing.assert_array_equal(attack.predict(target), got >= attack.threshold_)
    assert attack.name == "lira"


def test_lira_does_not_saturate():
    s = random_signals(13, n=5, k=8)
    t = s.target_logits.copy()
    t[np.arange(5), s.labels] += 200.0  # far above every OUT reference
    far = ReferenceSignals(t, s.reference_logits, s.labels)
    score = LiRA().fit(s, s).membership_score(far)
    assert np.isfinite(score).all() and (score > 100).all()


def test_lira_fixed_uses_sigma_from_fit():
    shadow_m = random_signals(20, in_rate=0.5, member_shift=2.0)
    shadow_n = random_signals(21, in_rate=0.5)
    target = random_signals(22, n=50, in_rate=0.3)
    stds = []
    for s in (shadow_m, shadow_n):
        for i in range(len(s)):
            phi = naive_phi(s.reference_logits[:, i:i + 1], s.labels[i:i + 1])[:, 0]
            stds.append(np.std(phi[s.out_mask[:, i]], ddof=1))
    attack = LiRA(variance="fixed").fit(shadow_m, shadow_n)
    assert attack.sigma_ == pytest.approx(np.median(stds), rel=1e-10)
    np.testing.assert_allclose(attack.membership_score(target),
                               naive_lira(target, target.labels, sigma=np.median(stds)),
                               rtol=1e-9, atol=1e-12)
    assert attack.name == "lira_fixed"
    # the pooled variant: std of every OUT phi of the fitting inputs together
    pooled = np.concatenate([
        naive_phi(s.reference_logits, s.labels)[s.out_mask] for s in (shadow_m, shadow_n)])
    attack_p = LiRA(variance="fixed", fixed_sigma="pooled").fit(shadow_m, shadow_n)
    assert attack_p.sigma_ == pytest.approx(np.std(pooled), rel=1e-10)
    # sigma_ stays fixed: scoring new data does not change it
    before = attack.sigma_
    attack.membership_score(random_signals(23, k=8, c=5))
    assert attack.sigma_ == before


def test_lira_top_class_uses_argmax_of_target():
    shadow_m = random_signals(30, labelled=False, member_shift=2.0)
    shadow_n = random_signals(31, labelled=False)
    target = random_signals(32, labelled=False, in_rate=0.3)
    attack = LiRA(label_mode="top_class").fit(shadow_m, shadow_n)
    top = target.target_logits.argmax(1)
    np.testing.assert_allclose(attack.membership_score(target), naive_lira(target, top),
                               rtol=1e-9, atol=1e-12)
    assert attack.name == "lira_top_class"
    fixed = LiRA(variance="fixed", label_mode="top_class").fit(shadow_m, shadow_n)
    np.testing.assert_allclose(fixed.membership_score(target),
                               naive_lira(target, top, sigma=fixed.sigma_), rtol=1e-9, atol=1e-12)
    # the labelled form reads a different class where label != top class
    labelled = random_signals(32, in_rate=0.3)
    assert (labelled.labels != top).any()
    lab = LiRA().fit(random_signals(30), random_signals(31)).membership_score(labelled)
    assert not np.allclose(lab, naive_lira(target, top))


def test_lira_student_t_matches_scipy_t():
    shadow_m = random_signals(40, in_rate=0.5, member_shift=2.0)
    shadow_n = random_signals(41, in_rate=0.5)
    target = random_signals(42, n=60, in_rate=0.5, member_shift=1.0)
    attack = LiRA(student_t=True).fit(shadow_m, shadow_n)
    np.testing.assert_allclose(attack.membership_score(target),
                               naive_lira(target, target.labels, student_t=True),
                               rtol=1e-9, atol=1e-12)
    # heavier tails than the Gaussian: a smaller score far above the OUT mean
    gauss = LiRA().fit(shadow_m, shadow_n).membership_score(target)
    high = gauss > 5
    assert high.any() and (attack.membership_score(target)[high] < gauss[high]).all()
    assert attack.name == "lira_student_t"


def test_lira_floors_zero_spread():
    t = np.array([[1.0, 0.0], [2.0, 0.0]])
    refs = np.tile(np.array([[1.0, 0.0], [1.0, 0.0]]), (3, 1, 1))  # identical OUT values
    s = ReferenceSignals(t, refs, np.array([0, 0]))
    score = LiRA().fit(s, s).membership_score(s)
    assert score[0] == pytest.approx(np.log(2))  # phi_t == mu: -log(1/2)
    assert np.isfinite(score[1]) and score[1] > 1e10  # 1 logit above a spread of 1e-6


# ------------------------------------------------------------------ the OOD property
def _scaled_signals(rng, n: int, k: int, c: int, scale: float, member: bool) -> ReferenceSignals:
    base = rng.normal(0.0, 2.0, (n, c))
    labels = rng.integers(0, c, n)
    base[np.arange(n), labels] += 3.0
    refs = base[None] + rng.normal(0.0, 1.0, (k, n, c))
    target = base + rng.normal(0.0, 1.0, (n, c))
    if member:
        target[np.arange(n), labels] += 2.0
    return ReferenceSignals(scale * target, scale * refs, labels)


def test_per_example_lira_keeps_fpr_on_scaled_ood_inputs_fixed_does_not():
    rng = np.random.default_rng(2024)
    k, c = 16, 10
    shadow_m = _scaled_signals(rng, 1500, k, c, 1.0, True)
    shadow_n = _scaled_signals(rng, 1500, k, c, 1.0, False)
    id_non = _scaled_signals(rng, 4000, k, c, 1.0, False)
    ood_non = _scaled_signals(rng, 4000, k, c, 25.0, False)  # every logit x25, target and refs
    fpr = {}
    for attack in (LiRA(), LiRA(variance="fixed")):
        attack.fit(shadow_m, shadow_n)
        thr = np.quantile(attack.membership_score(id_non), 0.99)  # 1 % FPR in distribution
        fpr[attack.name] = float(np.mean(attack.membership_score(ood_non) > thr))
    assert fpr["lira"] < 0.03, fpr
    assert fpr["lira_fixed"] > 0.2, fpr
    assert fpr["lira_fixed"] > 8 * fpr["lira"], fpr


# ------------------------------------------------------------------ RMIA
def privacy_meter_rmia(target_p, ref_p, ref_in, z_target_p, z_ref_p, a, num_ref=None):
    """ML Privacy Meter's ``run_rmia`` rewritten: signals are (samples, models) arrays.

    With more than one reference kept, the IN entries are zeroed, each row is sorted in
    decreasing order and the first ``num_ref`` columns are averaged; with one, IN entries are
    mapped to an OUT estimate. ``p(x) = (1+a)/2 * mean + (1-a)/2``; the score is the share
    of population rows whose ratio the row's ratio beats strictly.
    """
    if num_ref is None:
        num_ref = max(ref_p.shape[1] // 2, 1)

    def mean_out(p, member):
        kept = np.where(member, 0.0, p)
        if num_ref > 1:
            kept = -np.sort(-kept, axis=1)[:, :num_ref]
        else:
            kept = kept + np.where(member, (p + a - 1) / a if a != 0 else (p - 0.7) / 0.3, 0.0)
        return kept.mean(axis=1)

    p_x = (1 + a) / 2 * mean_out(ref_p, ref_in) + (1 - a) / 2
    p_z = (1 + a) / 2 * mean_out(z_ref_p, np.zeros(z_ref_p.shape, bool)) + (1 - a) / 2
    ratio_x = target_p / p_x
    ratio_z = z_target_p / p_z
    return np.mean(ratio_x[:, None] / ratio_z[None, :] > 1.0, axis=1)


def _probs(s: ReferenceSignals, classes=None):
    c = s.labels if classes is None else classes
    return naive_prob(s.target_logits, c), naive_prob(s.reference_logits, c).T  # (N,), (N, K)


@pytest.mark.parametrize("a", [0.0, 0.3, 0.7, 1.0])
def test_rmia_matches_privacy_meter_all_out(a):
    k = 6
    x = random_signals(50, n=80, k=k, member_shift=1.0)
    pop = random_signals(51, n=120, k=k)
    attack = RMIA(a=a).fit(random_signals(52, k=k, member_shift=2.0), random_signals(53, k=k),
                           population=pop)
    t, r = _probs(x)
    zt, zr = _probs(pop)
    expected = privacy_meter_rmia(t, r, np.zeros_like(r, bool), zt, zr, a, num_ref=k)
    got = attack.membership_score(x, population=pop)
    assert 0 <= got.min() < 0.5 < got.max() <= 1  # a spread of scores, not a degenerate one
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert attack.a_ == a and attack.a_aurocs_ is None


def test_rmia_matches_privacy_meter_with_in_references():
    # exactly K/2 references are IN for every x (ML Privacy Meter's paired design); the
    # population's references agree with each other, so the library's top-K/2 mean of the
    # population equals the mean over all of them
    k, n = 8, 70
    rng = np.random.default_rng(60)
    x = random_signals(61, n=n, k=k, member_shift=1.0)
    member = np.zeros((k, n), bool)
    for i in range(n):
        member[rng.choice(k, k // 2, replace=False), i] = True
    onehot = np.eye(x.n_classes)[x.labels]
    refs = x.reference_logits + 4.0 * member[..., None] * onehot  # IN refs differ, to be ignored
    x = ReferenceSignals(x.target_logits, refs, x.labels, member)
    p0 = random_signals(62, n=150, k=1)
    pop = ReferenceSignals(p0.target_logits, np.repeat(p0.reference_logits, k, axis=0), p0.labels)
    attack = RMIA(a=0.4).fit(x, x, population=pop)
    t, r = _probs(x)
    zt, zr = _probs(pop)
    expected = privacy_meter_rmia(t, r, member.T, zt, zr, 0.4)
    np.testing.assert_allclose(attack.membership_score(x, population=pop), expected, atol=1e-12)


def test_rmia_gamma_and_top_class():
    k = 5
    x = random_signals(70, n=50, k=k, labelled=False, member_shift=1.0)
    pop = random_signals(71, n=90, k=k, labelled=False)
    attack = RMIA(a=0.5, gamma=2.0, label_mode="top_class").fit(x, x, population=pop)
    assert attack.name == "rmia_top_class"
    ct, cz = x.target_logits.argmax(1), pop.target_logits.argmax(1)
    t, r = _probs(x, ct)
    zt, zr = _probs(pop, cz)
    ratio_x = t / (0.75 * r.mean(1) + 0.25)
    ratio_z = zt / (0.75 * zr.mean(1) + 0.25)
    expected = np.mean(ratio_x[:, None] / ratio_z[None, :] >= 2.0, axis=1)
    np.testing.assert_allclose(attack.membership_score(x, population=pop), expected, atol=1e-12)


def test_rmia_tunes_a_by_shadow_auroc():
    k, c = 2, 5
    rng = np.random.default_rng(5)

    def make(n, shift):
        # few, noisy references: the constant (1 - a) / 2 then regularises p(x)
        base = rng.normal(0.0, 2.0, (n, c))
        labels = rng.integers(0, c, n)
        base[np.arange(n), labels] += rng.normal(0.0, 3.0, n)
        refs = base[None] + rng.normal(0.0, 2.0, (k, n, c))
        target = base + rng.normal(0.0, 1.0, (n, c))
        target[np.arange(n), labels] += shift
        return ReferenceSignals(target, refs, labels)

    members, nonmembers, pop = make(300, 1.5), make(300, 0.0), make(300, 0.0)
    attack = RMIA().fit(members, nonmembers, population=pop)
    grid = np.linspace(0, 1, 11)
    y = np.r_[np.ones(300), np.zeros(300)]
    zt, zr = _probs(pop)
    aucs = []
    for a in grid:
        s = [privacy_meter_rmia(*_probs(part), np.zeros((len(part), k), bool), zt, zr, a,
                                num_ref=k) for part in (members, nonmembers)]
        aucs.append(roc_auc_score(y, np.concatenate(s)))
    aucs = np.array(aucs)
    best = int(np.argmax(aucs))
    assert 0 < best < len(grid) - 1  # an interior optimum: neither end of the grid
    assert aucs[best] - np.sort(aucs)[-2] > 1e-6  # a unique one
    assert attack.a_ == pytest.approx(grid[best])
    np.testing.assert_allclose(attack.a_aurocs_, aucs, atol=1e-12)
    m, n = attack.shadow_membership_scores_
    assert roc_auc_score(y, np.r_[m, n]) == pytest.approx(aucs[best])
    assert attack.threshold_ == best_threshold(m, n)


def test_rmia_counts_ties_as_dominated():
    # the paper's rule LR(x, z) >= gamma: an input that is its own population point counts
    x = random_signals(85, n=40, k=4)
    attack = RMIA(a=0.6).fit(x, x, population=x)
    t, r = _probs(x)
    ratio = t / (0.8 * r.mean(1) + 0.2)
    expected = np.mean(ratio[:, None] / ratio[None, :] >= 1.0, axis=1)
    got = attack.membership_score(x, population=x)
    np.testing.assert_allclose(got, expected, atol=1e-12)
    assert got.max() == 1.0 and got.min() == pytest.approx(1 / 40)


# ------------------------------------------------------------------ difficulty calibration
@pytest.mark.parametrize("statistic", ["loss", "logit_confidence"])
def test_difficulty_calibration_matches_naive(statistic):
    shadow_m = random_signals(90, in_rate=0.5, member_shift=2.0)
    shadow_n = random_signals(91, in_rate=0.5)
    target = random_signals(92, n=60, in_rate=0.5)
    attack = DifficultyCalibration(statistic=statistic).fit(shadow_m, shadow_n)
    expected = []
    for i in range(len(target)):
        c = target.labels[i:i + 1]
        if statistic == "loss":
            s_t = -np.log(naive_prob(target.target_logits[i:i + 1], c))[0]
            s_r = -np.log(naive_prob(target.reference_logits[:, i:i + 1], c))[:, 0]
            expected.append(np.mean(s_r[target.out_mask[:, i]]) - s_t)
        else:
            s_t = naive_phi(target.target_logits[i:i + 1], c)[0]
            s_r = naive_phi(target.reference_logits[:, i:i + 1], c)[:, 0]
            expected.append(s_t - np.mean(s_r[target.out_mask[:, i]]))
    np.testing.assert_allclose(attack.membership_score(target), expected, rtol=1e-9, atol=1e-12)
    m, n = attack.shadow_membership_scores_
    assert m.mean() > n.mean()  # members score higher
    assert attack.threshold_ == best_threshold(m, n)


# ------------------------------------------------------------------ rank test
def _phi_signals(values: np.ndarray, member=None) -> ReferenceSignals:
    """Signals whose logit confidence at class 0 is exactly ``values``.

    ``values`` is (K + 1, N); row 0 is the target's."""
    logits = np.stack([values, np.zeros_like(values)], axis=-1)
    return ReferenceSignals(logits[0], logits[1:], np.zeros(values.shape[1], int), member)


def test_rank_test_exact_p_value():
    values = np.array([[2.0], [1.0], [2.0], [3.0], [0.5]])
    s = _phi_signals(values)
    np.testing.assert_allclose(logit_confidence(s.reference_logits, s.labels)[:, 0], values[1:, 0])
    assert RankTest().p_value(s)[0] == pytest.approx(3 / 5)  # 1 + #{2, 3}, over 4 + 1
    member = np.array([[False], [False], [True], [False]])  # the reference with 3.0 is IN
    assert RankTest().p_value(_phi_signals(values, member))[0] == pytest.approx(2 / 4)
    np.testing.assert_allclose(rank_p_value([2.0], [[1.0], [2.0], [3.0], [0.5]]), [3 / 5])
    attack = RankTest().fit(s, s)
    assert attack.membership_score(s)[0] == pytest.approx(1 - 3 / 5)
    loss = RankTest(statistic="loss")
    assert loss.name == "rank_loss"
    # a low loss is member-like; the loss decreases with phi, so the rank is the same
    assert loss.p_value(s)[0] == pytest.approx(3 / 5)


@pytest.mark.parametrize("discrete", [False, True])
def test_rank_test_is_valid_under_h0_on_any_input_distribution(discrete):
    rng = np.random.default_rng(7 + discrete)
    n, k = 24000, 9
    loc = rng.normal(0, 5, n)
    scale = rng.uniform(0.1, 3.0, n)
    ood = np.arange(n) >= 3 * n // 4
    loc[ood] += 1e3
    scale[ood] *= 100.0
    noise = rng.integers(0, 3, (k + 1, n)) if discrete else rng.standard_t(3, (k + 1, n))
    values = loc + scale * noise  # target and references i.i.d. per input
    member = rng.random((k, n)) < 0.2  # some references IN: ignored, whatever they hold
    values[1:][member] += 1e6
    p = RankTest().p_value(_phi_signals(values, member))
    n_out = (~member).sum(0)
    for group in (np.ones(n, bool), ood):
        for alpha in np.arange(1, k + 1) / (k + 1):
            rate = np.mean(p[group] <= alpha + 1e-12)
            margin = 4 * np.sqrt(alpha * (1 - alpha) / group.sum())
            assert rate <= alpha + margin, (alpha, rate)
            if not discrete:  # continuous statistic, constant K_out: exactly uniform
                exact = group & (n_out == k)
                rate_k = np.mean(p[exact] <= alpha + 1e-12)
                assert rate_k >= alpha - 4 * np.sqrt(alpha * (1 - alpha) / exact.sum())


# ------------------------------------------------------------------ registry and errors
def test_registry_names_and_fit():
    shadow_m = random_signals(100, in_rate=0.4, member_shift=2.0)
    shadow_n = random_signals(101, in_rate=0.4)
    pop = random_signals(102, n=60)
    target = random_signals(103, in_rate=0.4, member_shift=1.0)
    for name in REFERENCE_ATTACKS:
        attack = make_reference_attack(name)
        assert attack.name == name
        attack.fit(shadow_m, shadow_n, population=pop)
        score = attack.membership_score(target, population=pop)
        assert score.dtype == np.float64 and score.shape == (len(target),)
        np.testing.assert_array_equal(attack.predict(target, population=pop),
                                      score >= attack.threshold_)


def test_bad_names_and_parameters():
    with pytest.raises(ValueError, match=r"'variance' has value 'global'.*per_example"):
        LiRA(variance="global")
    with pytest.raises(ValueError, match=r"'label_mode' has value 'labels'.*top_class"):
        LiRA(label_mode="labels")
    with pytest.raises(ValueError, match="'fixed_sigma'"):
        LiRA(variance="fixed", fixed_sigma="mean")
    with pytest.raises(ValueError, match="'student_t'"):
        LiRA(variance="fixed", student_t=True)
    with pytest.raises(ValueError, match="'min_std'"):
        LiRA(min_std=0.0)
    with pytest.raises(ValueError, match="'statistic'"):
        DifficultyCalibration(statistic="entropy")
    with pytest.raises(ValueError, match="'statistic'"):
        RankTest(statistic="entropy")
    with pytest.raises(ValueError, match="'label_mode'"):
        RMIA(label_mode="x")
    with pytest.raises(ValueError, match="'a' has value 1.5"):
        RMIA(a=1.5)
    with pytest.raises(ValueError, match="'gamma'"):
        RMIA(gamma=0.0)
    with pytest.raises(ValueError, match="'a_grid'"):
        RMIA(a_grid=[0.5, 2.0])
    with pytest.raises(ValueError, match="'name' has value 'nope'"):
        make_reference_attack("nope")


def test_labelled_without_labels_raises():
    s = random_signals(110, labelled=False)
    for attack in (LiRA(), DifficultyCalibration(), RankTest()):
        with pytest.raises(ValueError, match="labels=None"):
            attack.fit(s, s)
    with pytest.raises(ValueError, match="labels=None"):
        RMIA(a=0.5).fit(s, s, population=s)


def test_shape_and_value_errors():
    rng = np.random.default_rng(0)
    t, r = rng.normal(size=(5, 3)), rng.normal(size=(4, 5, 3))
    with pytest.raises(ValueError, match="'target_logits' has shape"):
        ReferenceSignals(t[0], r)
    with pytest.raises(ValueError, match="'target_logits' has shape"):
        ReferenceSignals(t[:, :1], r[..., :1])
    with pytest.raises(ValueError, match="'reference_logits' has shape"):
        ReferenceSignals(t, r[:, :4])
    with pytest.raises(ValueError, match="'reference_logits' has shape"):
        ReferenceSignals(t, r[0])
    with pytest.raises(ValueError, match="'labels' has shape"):
        ReferenceSignals(t, r, np.zeros(4, int))
    with pytest.raises(ValueError, match="'labels' has value 3"):
        ReferenceSignals(t, r, np.array([0, 1, 2, 3, 0]))
    with pytest.raises(ValueError, match="'labels' has non-integer"):
        ReferenceSignals(t, r, np.array([0, 1, 2, 0.5, 0]))
    with pytest.raises(ValueError, match="'reference_in' has shape"):
        ReferenceSignals(t, r, None, np.zeros((5, 4), bool))
    with pytest.raises(ValueError, match="'reference_in' has values"):
        ReferenceSignals(t, r, None, np.full((4, 5), 2))
    bad = t.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="'target_logits' contains NaN"):
        ReferenceSignals(bad, r)
    with pytest.raises(ValueError, match="'classes' has shape"):
        logit_confidence(t, np.zeros(4, int))
    with pytest.raises(ValueError, match="'classes' has values"):
        logit_confidence(t, np.full(5, 3))


def test_fit_and_score_errors():
    s = random_signals(120)
    with pytest.raises(NotFittedError, match="not fitted"):
        LiRA().predict(s)
    with pytest.raises(NotFittedError):
        RMIA().membership_score(s, population=s)
    with pytest.raises(TypeError, match="'shadow_member_signals' has type ndarray"):
        LiRA().fit(s.target_logits, s)
    with pytest.raises(ValueError, match="same number of classes"):
        LiRA().fit(s, random_signals(121, c=4))
    attack = LiRA().fit(s, s)
    with pytest.raises(ValueError, match="'signals' has 4 classes"):
        attack.membership_score(random_signals(121, c=4))
    with pytest.raises(ValueError, match="'population' has value None"):
        RMIA().fit(s, s)
    with pytest.raises(ValueError, match="'population' has C=5, K=3"):
        RMIA().fit(s, s, population=random_signals(122, k=3))
    # too few OUT references
    one_out = np.ones((8, len(s)), bool)
    one_out[0] = False
    lonely = ReferenceSignals(s.target_logits, s.reference_logits, s.labels, one_out)
    with pytest.raises(ValueError, match=r"'signals': input 0 has 1 OUT references.*at least 2"):
        attack.membership_score(lonely)
    assert np.isfinite(DifficultyCalibration().fit(s, s).membership_score(lonely)).all()
    none_out = ReferenceSignals(s.target_logits, s.reference_logits, s.labels,
                                np.ones((8, len(s)), bool))
    for a in (DifficultyCalibration(), RankTest(), RMIA(a=0.5)):
        with pytest.raises(ValueError, match="has 0 OUT references"):
            a.fit(none_out, none_out, population=s)


# ------------------------------------------------------------------ own top class
def test_own_top_class_reads_each_model_at_its_argmax():
    rng = np.random.default_rng(5)
    target, refs = rng.normal(size=(7, 4)), rng.normal(size=(3, 7, 4))
    sig = ReferenceSignals(target_logits=target, reference_logits=refs)
    attack = RankTest(label_mode="own_top_class")
    p = attack.p_value(sig)
    own_t = naive_phi(target, target.argmax(1))
    own_r = np.stack([naive_phi(z, z.argmax(1)) for z in refs])
    expected = (1 + (own_r >= own_t).sum(0)) / 4
    np.testing.assert_allclose(p, expected)
    with pytest.raises(ValueError, match="own_top_class"):
        signal_classes(sig, "own_top_class")


def test_target_top_class_is_biased_own_top_class_is_not():
    """Non-members, target and references exchangeable, logits blown up (an OOD input):
    reading everyone at the target's argmax makes the target look special, reading each
    model at its own argmax keeps the rank test at its nominal level."""
    rng = np.random.default_rng(11)
    n, k, c = 4000, 9, 10
    centre = 25.0 * rng.normal(size=(n, c))  # what every model shares about the input
    target = centre + 25.0 * rng.normal(size=(n, c))
    refs = centre + 25.0 * rng.normal(size=(k, n, c))
    sig = ReferenceSignals(target_logits=target, reference_logits=refs)
    alpha = 1 / (k + 1)
    fpr = {mode: float(np.mean(RankTest(label_mode=mode).p_value(sig) <= alpha))
           for mode in ("top_class", "own_top_class")}
    se = np.sqrt(alpha * (1 - alpha) / n)
    assert fpr["own_top_class"] <= alpha + 3 * se
    assert fpr["top_class"] > 3 * alpha
