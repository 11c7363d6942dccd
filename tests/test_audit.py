"""The OOD audit: thresholds, exact intervals, per-source FPR and low-FPR TPR.

Every check compares with an independent computation (brute force over thresholds, the
closed-form beta quantiles, scikit-learn's ROC curve, exact binomial coverage).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from sklearn.metrics import roc_curve

from helpers.audit import (
    exchangeable_p_values,
    audit,
    clopper_pearson,
    fpr_audit,
    low_fpr_tpr,
    pivot_audit,
    threshold_at_fpr,
)

SLACK = 1e-12


def _share(scores: np.ndarray, t: float) -> float:
    return float(np.mean(np.asarray(scores, dtype=float) >= t))


def _brute_threshold(cal: np.ndarray, fpr: float) -> float:
    """Smallest candidate threshold meeting the budget, found by trying them all."""
    cal = np.asarray(cal, dtype=float)
    cand = np.unique(np.concatenate([cal, np.nextafter(cal, np.inf), np.nextafter(cal, -np.inf),
                                     [-np.inf, np.inf]]))
    ok = [t for t in cand if _share(cal, t) <= fpr * (1 + SLACK)]
    return float(min(ok))


# ------------------------------------------------------------------ threshold_at_fpr
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("fpr", [0.0, 0.01, 0.05, 0.1, 0.29, 0.5, 0.9])
def test_threshold_is_smallest_meeting_budget(seed: int, fpr: float) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 120))
    # Half the seeds draw few distinct values, so ties are common.
    cal = rng.integers(0, 6, n).astype(float) if seed % 2 else rng.normal(size=n)
    t = threshold_at_fpr(cal, fpr)
    assert _share(cal, t) <= fpr * (1 + SLACK)
    assert t == _brute_threshold(cal, fpr)
    # Anything below it breaks the budget.
    assert _share(cal, np.nextafter(t, -np.inf)) > fpr * (1 + SLACK)


def test_threshold_with_ties_stays_below_target() -> None:
    cal = np.array([1.0] * 4 + [2.0] * 6)
    # 6 of 10 tie at the top: a 50 % budget cannot take them, so nobody is a member.
    t = threshold_at_fpr(cal, 0.5)
    assert t > 2.0 and _share(cal, t) == 0.0
    # With a 60 % budget the whole tie fits.
    t = threshold_at_fpr(cal, 0.6)
    assert 1.0 < t <= 2.0 and _share(cal, t) == 0.6
    assert threshold_at_fpr(cal, 0.6) == np.nextafter(1.0, np.inf)


def test_threshold_exact_counts() -> None:
    cal = np.arange(100, dtype=float)
    assert _share(cal, threshold_at_fpr(cal, 0.29)) == 0.29  # 0.29 * 100 rounds below 29
    assert _share(cal, threshold_at_fpr(cal, 0.01)) == 0.01
    assert _share(cal, threshold_at_fpr(cal, 0.0)) == 0.0
    assert threshold_at_fpr(list(cal), 0.05) == threshold_at_fpr(cal, 0.05)


def test_threshold_with_infinities() -> None:
    cal = np.array([-np.inf] * 5 + list(range(94)) + [np.inf])
    t = threshold_at_fpr(cal, 0.02)
    assert _share(cal, t) == 0.02 and t == _brute_threshold(cal, 0.02)
    # Mostly -inf (e.g. filtered out): the finite scores are all members at a large budget.
    low = np.array([-np.inf] * 9 + [3.0])
    assert _share(low, threshold_at_fpr(low, 0.1)) == pytest.approx(0.1)
    assert threshold_at_fpr(low, 0.05) > 3.0
    assert threshold_at_fpr(np.full(4, -np.inf), 0.0) > -np.inf
    with pytest.raises(ValueError, match=r"\+inf"):
        threshold_at_fpr(cal, 0.0)  # one +inf cannot be excluded


# ------------------------------------------------------------------ Clopper-Pearson
@pytest.mark.parametrize("k,n", [(0, 1), (1, 1), (0, 10), (10, 10), (3, 10), (1, 500), (37, 200)])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_clopper_pearson_matches_beta_quantiles(k: int, n: int, confidence: float) -> None:
    alpha = 1 - confidence
    lo_ref = 0.0 if k == 0 else scipy.stats.beta.ppf(alpha / 2, k, n - k + 1)
    hi_ref = 1.0 if k == n else scipy.stats.beta.ppf(1 - alpha / 2, k + 1, n - k)
    lo, hi = clopper_pearson(k, n, confidence)
    assert lo == pytest.approx(lo_ref, abs=1e-9)
    assert hi == pytest.approx(hi_ref, abs=1e-9)
    assert 0.0 <= lo <= k / n <= hi <= 1.0


def _exact_coverage(interval, n: int, p: float) -> float:
    ks = np.arange(n + 1)
    covered = np.array([lo <= p <= hi for lo, hi in (interval(int(k), n) for k in ks)])
    return float(scipy.stats.binom.pmf(ks, n, p)[covered].sum())


def _wald(k: int, n: int) -> tuple[float, float]:
    p = k / n
    half = 1.959963984540054 * np.sqrt(p * (1 - p) / n)
    return p - half, p + half


@pytest.mark.parametrize("n,p", [(20, 0.05), (100, 0.01), (500, 0.002), (200, 0.3)])
def test_clopper_pearson_coverage(n: int, p: float) -> None:
    # Exact coverage: sum the binomial probabilities of the k whose interval holds p.
    assert _exact_coverage(clopper_pearson, n, p) >= 0.95
    # Simulated coverage on seeded draws.
    ks = np.random.default_rng(7).binomial(n, p, size=2000)
    cis = {k: clopper_pearson(int(k), n) for k in np.unique(ks)}
    hits = np.mean([cis[k][0] <= p <= cis[k][1] for k in ks])
    assert hits >= 0.95


def test_coverage_check_can_fail() -> None:
    # The Wald interval undercovers at small p: the same check rejects it.
    assert _exact_coverage(_wald, 100, 0.01) < 0.95


# ------------------------------------------------------------------ fpr_audit
@pytest.fixture(scope="module")
def synthetic() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    n = 20_000
    return {
        "calibration": rng.normal(0, 1, n),
        "in_distribution": rng.normal(0, 1, n),
        "shifted_up": rng.normal(1, 1, 5_000),
        "shifted_down": rng.normal(-1, 1, 5_000),
        "members": rng.normal(2, 1, 3_000),
    }


def test_fpr_audit_in_and_out_of_distribution(synthetic: dict[str, np.ndarray]) -> None:
    sources = {k: synthetic[k] for k in ("in_distribution", "shifted_up", "shifted_down")}
    table = fpr_audit(sources, synthetic["calibration"], synthetic["members"], fprs=(0.01, 0.05))
    assert len(table) == 6
    assert list(table["source"]) == list(sources) * 2
    for _, row in table.iterrows():
        scores = sources[row["source"]]
        t = threshold_at_fpr(synthetic["calibration"], row["target_fpr"])
        assert row["threshold"] == t
        assert row["calibration_fpr"] <= row["target_fpr"]
        assert row["false_positives"] == int(np.sum(scores >= t))
        assert row["n"] == len(scores)
        assert (row["ci_low"], row["ci_high"]) == clopper_pearson(row["false_positives"], row["n"])
        assert row["tpr"] == pytest.approx(np.mean(synthetic["members"] >= t))
    ind = table[table["source"] == "in_distribution"]
    assert np.allclose(ind["fpr"], ind["target_fpr"], atol=0.004)
    assert table.loc[table["source"] == "shifted_up", "above_target"].all()
    assert table.loc[table["source"] == "shifted_down", "below_target"].all()
    assert not table.loc[table["source"] == "shifted_down", "above_target"].any()


def test_fpr_audit_interval_covers_target_in_distribution() -> None:
    # Over many replicates an in-distribution source's interval should cover the target
    # about 95 % of the time; the large calibration set keeps the threshold's own noise
    # small, and the threshold rule is conservative (realised share <= target).
    rng = np.random.default_rng(11)
    covered, above, above_shifted = [], [], []
    for _ in range(200):
        cal = rng.normal(size=20_000)
        table = fpr_audit(
            {"ind": rng.normal(size=2_000), "shift": rng.normal(0.5, 1, 2_000)}, cal, fprs=[0.05]
        )
        ind, shift = table.iloc[0], table.iloc[1]
        covered.append(ind["ci_low"] <= 0.05 <= ind["ci_high"])
        above.append(ind["above_target"])
        above_shifted.append(shift["above_target"])
    assert np.mean(covered) >= 0.9
    assert np.mean(above) <= 0.05
    assert np.all(above_shifted)


def test_fpr_audit_without_members_and_with_infinities() -> None:
    cal = np.r_[np.arange(99.0), -np.inf]
    table = fpr_audit({"noise": [-np.inf, -np.inf, 200.0, np.inf]}, cal, fprs=[0.02])
    assert "tpr" not in table.columns
    row = table.iloc[0]
    assert row["false_positives"] == 2 and row["fpr"] == 0.5 and row["above_target"]


# ------------------------------------------------------------------ low_fpr_tpr
def _brute_tpr(members: np.ndarray, nonmembers: np.ndarray, fpr: float) -> float:
    cand = np.r_[np.unique(np.r_[members, nonmembers]), np.inf]
    best = 0.0
    for t in cand:
        if np.mean(nonmembers >= t) <= fpr * (1 + SLACK):
            best = max(best, float(np.mean(members >= t)))
    return best


@pytest.mark.parametrize("seed", range(5))
def test_low_fpr_tpr_matches_brute_force_and_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    if seed % 2:  # heavy ties
        members, nonmembers = rng.integers(0, 8, 300) + 1.0, rng.integers(0, 6, 700) * 1.0
    else:
        members, nonmembers = rng.normal(1, 1, 300), rng.normal(0, 1, 700)
    fprs = (0.001, 0.01, 0.05, 0.2)
    table = low_fpr_tpr(members, nonmembers, fprs=fprs)
    y = np.r_[np.ones(len(members)), np.zeros(len(nonmembers))]
    roc_fpr, roc_tpr, _ = roc_curve(y, np.r_[members, nonmembers], drop_intermediate=False)
    for fpr, (_, row) in zip(fprs, table.iterrows()):
        assert row["tpr"] == pytest.approx(_brute_tpr(members, nonmembers, fpr))
        assert row["tpr"] == pytest.approx(roc_tpr[roc_fpr <= fpr + 1e-12].max())
        t = row["threshold"]
        assert row["true_positives"] == np.sum(members >= t)
        assert row["false_positives"] == np.sum(nonmembers >= t) <= row["allowed_false_positives"]
        assert row["fpr"] <= fpr + 1e-12
        k, n = row["true_positives"], row["n_members"]
        assert (row["tpr_ci_low"], row["tpr_ci_high"]) == clopper_pearson(k, n)


def test_low_fpr_tpr_resolvability() -> None:
    rng = np.random.default_rng(3)
    table = low_fpr_tpr(rng.normal(1, 1, 200), rng.normal(0, 1, 500), fprs=(0.001, 0.002, 0.01))
    assert list(table["n_nonmembers"]) == [500] * 3
    assert list(table["allowed_false_positives"]) == [0, 1, 5]
    assert list(table["resolvable"]) == [False, True, True]
    assert table.loc[0, "false_positives"] == 0


def test_low_fpr_tpr_with_infinities() -> None:
    members = np.array([np.inf, np.inf, 5.0, 1.0])
    nonmembers = np.array([-np.inf] * 8 + [2.0, 0.0])
    table = low_fpr_tpr(members, nonmembers, fprs=(0.05, 0.1))
    # 5% of 10 allows no false positive (threshold above 2.0), 10% allows one (1.0).
    assert list(table["tpr"]) == [0.75, 1.0]
    assert list(table["false_positives"]) == [0, 1]
    # Non-members at +inf cannot be excluded: nobody is called a member.
    stuck = low_fpr_tpr([1.0, 2.0], [np.inf, 0.0, 0.0], fprs=(0.1,))
    assert stuck.loc[0, "tpr"] == 0.0 and np.isnan(stuck.loc[0, "threshold"])


# ------------------------------------------------------------------ audit and pivot
def test_audit_several_attacks(synthetic: dict[str, np.ndarray]) -> None:
    rng = np.random.default_rng(1)
    attacks = {
        "calibrated": {
            "calibration": synthetic["calibration"],
            "members": synthetic["members"],
            "test": synthetic["in_distribution"],
            "noise": synthetic["shifted_up"],
        },
        "other": {
            "calibration": rng.normal(0, 2, 1000),
            "noise": rng.normal(0, 2, 1000),
            "test": rng.normal(0, 2, 800),
        },
    }
    long = audit(attacks, fprs=(0.01, 0.05))
    assert len(long) == 2 * 2 * 2 and list(long.columns[:2]) == ["attack", "source"]
    for name, scores in attacks.items():
        sources = {k: v for k, v in scores.items() if k not in ("calibration", "members")}
        ref = fpr_audit(sources, scores["calibration"], scores.get("members"), fprs=(0.01, 0.05))
        got = long[long["attack"] == name].drop(columns="attack").reset_index(drop=True)
        # Counts turn float where the other attack has no members (NaN).
        pd.testing.assert_frame_equal(got[ref.columns], ref, check_dtype=False)
    assert long.loc[long["attack"] == "other", "tpr"].isna().all()

    wide = pivot_audit(long, 0.01)
    assert list(wide.index) == ["calibrated", "other"]
    assert list(wide.columns) == ["test", "noise"]
    row = long[(long["attack"] == "other") & (long["source"] == "test")
               & (long["target_fpr"] == 0.01)].iloc[0]
    expected = f"{100 * row['fpr']:.1f} [{100 * row['ci_low']:.1f}, {100 * row['ci_high']:.1f}]"
    assert wide.loc["other", "test"] == expected
    numbers = pivot_audit(long, 0.05, ci=False, percent=False)
    query = "attack == 'calibrated' and source == 'noise' and target_fpr == 0.05"
    assert numbers.loc["calibrated", "noise"] == pytest.approx(long.query(query)["fpr"].item())
    single = pivot_audit(fpr_audit({"a": [1.0, 2.0]}, [0.0, 1.0, 2.0], fprs=[0.5]), 0.5)
    assert single.shape == (1, 1)


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    "bad, match",
    [
        ([], "empty"),
        ([[1.0, 2.0]], "shape"),
        ([1.0, np.nan], "NaN"),
        (["a", "b"], "numbers"),
    ],
)
def test_bad_scores(bad, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        threshold_at_fpr(bad, 0.1)
    with pytest.raises(ValueError, match="member_scores"):
        low_fpr_tpr(bad, [0.0])
    with pytest.raises(ValueError, match=r"source_scores\['x'\]"):
        fpr_audit({"x": bad}, [0.0, 1.0])


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, float("nan"), "0.1", None, True])
def test_bad_rates(bad) -> None:
    with pytest.raises(ValueError, match="'fpr' has value"):
        threshold_at_fpr([0.0, 1.0], bad)
    with pytest.raises(ValueError, match="'fprs' has value"):
        fpr_audit({"x": [0.0]}, [0.0, 1.0], fprs=[0.01, bad])
    with pytest.raises(ValueError, match="'confidence' has value"):
        clopper_pearson(1, 2, confidence=bad)


def test_other_errors() -> None:
    with pytest.raises(ValueError, match="'fprs' has value 0.0"):
        low_fpr_tpr([1.0], [0.0], fprs=(0.0,))
    with pytest.raises(ValueError, match="'fprs' is empty"):
        fpr_audit({"x": [0.0]}, [0.0], fprs=())
    with pytest.raises(ValueError, match="'k' has value 11"):
        clopper_pearson(11, 10)
    with pytest.raises(ValueError, match="'k' has value -1"):
        clopper_pearson(-1, 10)
    with pytest.raises(ValueError, match="'n' has value 0"):
        clopper_pearson(0, 0)
    with pytest.raises(ValueError, match="'k' has value 1.5"):
        clopper_pearson(1.5, 10)
    with pytest.raises(ValueError, match="'source_scores' is empty"):
        fpr_audit({}, [0.0])
    with pytest.raises(ValueError, match="'source_scores' has type list"):
        fpr_audit([[0.0]], [0.0])
    with pytest.raises(ValueError, match="calibration key 'calibration'"):
        audit({"a": {"test": [0.0]}})
    with pytest.raises(ValueError, match="no non-member source"):
        audit({"a": {"calibration": [0.0], "members": [1.0]}})
    with pytest.raises(ValueError, match="'attack_scores' has value"):
        audit({})
    table = fpr_audit({"x": [0.0, 1.0]}, [0.0, 1.0], fprs=[0.01])
    with pytest.raises(ValueError, match="'target_fpr' has value 0.05"):
        pivot_audit(table, 0.05)
    with pytest.raises(ValueError, match="'value' has value 'tpr'"):
        pivot_audit(table, 0.01, value="tpr")
    with pytest.raises(ValueError, match="'table' is not an audit table"):
        pivot_audit(pd.DataFrame({"a": [1]}), 0.01)


def _false_flag_rates(runs: int, n_cal: int = 500, n_src: int = 500, sources: int = 1, seed: int = 3):
    """Share of runs in which an in-distribution source is flagged above target: by the
    library (exact test, Holm over sources x levels) and by the old rule (ci_low > target)."""
    rng = np.random.default_rng(seed)
    flagged, old_rule = 0, 0
    for _ in range(runs):
        cal = rng.normal(size=n_cal)
        table = fpr_audit({f"s{i}": rng.normal(size=n_src) for i in range(sources)}, cal, fprs=(0.01, 0.05))
        flagged += bool(table.above_target.any())
        old_rule += bool((table.ci_low > table.target_fpr).any())
    return flagged / runs, old_rule / runs


def test_an_in_distribution_source_is_rarely_flagged_despite_the_thresholds_noise(capsys):
    """500 calibration scores, as noisy as the 500 of the source: the old rule (the source's
    interval alone) flags an in-distribution source far above its nominal 2.5 %; the exact
    test with Holm stays within it for the whole family of cells."""
    new, old = _false_flag_rates(800)
    with capsys.disabled():
        print(f"\n[audit] in-distribution source flagged above target: {100 * new:.1f} % of 800 runs "
              f"(exact test + Holm), {100 * old:.1f} % (the source's Clopper-Pearson interval alone)")
    assert new <= 0.025 + 3 * np.sqrt(0.025 * 0.975 / 800)
    assert old > 0.05  # the test above can tell the two rules apart
    many, _ = _false_flag_rates(200, sources=6, seed=4)
    assert many <= 0.025 + 3 * np.sqrt(0.025 * 0.975 / 200)


def test_exchangeable_p_values_match_a_simulation_of_the_threshold():
    rng = np.random.default_rng(5)
    n_cal, n_src, k = 200, 150, 4
    counts = []
    for _ in range(4000):
        cal = np.sort(rng.random(n_cal))[::-1]
        counts.append(int(np.sum(rng.random(n_src) > cal[k])))  # above the (k+1)-th largest
    counts = np.array(counts)
    for fp in (2, 5, 9):
        p_above, p_below = exchangeable_p_values(fp, n_src, k, n_cal)
        assert p_above == pytest.approx(np.mean(counts >= fp), abs=0.025)
        assert p_below == pytest.approx(np.mean(counts <= fp), abs=0.025)
    with pytest.raises(ValueError, match="calibration_above"):
        exchangeable_p_values(1, 10, 20, 20)


def test_flags_are_corrected_over_every_attack_source_and_level():
    rng = np.random.default_rng(6)
    cal = rng.normal(size=400)
    src = rng.normal(0.4, 1, size=400)  # a modest shift
    one = fpr_audit({"x": src}, cal, fprs=(0.05,))
    many = audit({f"a{i}": {"calibration": cal, "x": src, **{f"pad{j}": rng.normal(size=400) for j in range(5)}}
                  for i in range(4)}, fprs=(0.01, 0.05))
    p = one.p_above.iloc[0]
    assert 0.025 / 48 < p <= 0.025, p  # significant alone, not among 48 cells
    assert one.above_target.iloc[0]
    row = many[(many.source == "x") & (many.target_fpr == 0.05)]
    assert not row.above_target.any()
