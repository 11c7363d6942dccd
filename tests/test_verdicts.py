"""The verdict rule over training replicates: error rates on simulated claims with known
truth, pooling against scipy's t interval, and Holm's correction."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from helpers import verdicts as vd
from helpers.verdict_simulation import simulate_claim, verdict_rates

DRAWS = 2000
# one-sided 5 % plus three binomial standard errors of the simulated rate
LIMIT = 0.05 + 3 * math.sqrt(0.05 * 0.95 / DRAWS)
# training randomness five times the evaluation noise, as measured between seeds
NOISY = dict(replicates=3, between=0.05, within=0.01)


@pytest.mark.parametrize("rows, correlation", [(1, 0.0), (6, 0.0), (6, 0.8), (12, 0.5)])
def test_no_effect_holds_or_fails_in_at_most_five_percent_of_draws(rows, correlation):
    rates = verdict_rates(0.0, draws=DRAWS, seed=rows, rows=rows, correlation=correlation, **NOISY)
    assert rates[vd.HOLDS] <= LIMIT, rates
    assert rates[vd.FAILS] <= LIMIT, rates


def test_the_one_run_rule_errs_far_more_often_on_the_same_data():
    """The rule the book used before (one run, its own bootstrap error): the same null
    claims hold or fail in most draws, so the test above can tell the rules apart."""
    rates = verdict_rates(0.0, draws=500, seed=3, rows=1, naive=True, **NOISY)
    assert rates[vd.HOLDS] + rates[vd.FAILS] > 0.5, rates


def test_a_true_effect_of_four_run_to_run_deviations_is_found_in_most_draws():
    rates = verdict_rates(0.2, draws=1000, seed=5, rows=6, correlation=0.5, **NOISY)
    assert rates[vd.HOLDS] >= 0.8, rates
    assert rates[vd.FAILS] == 0.0, rates


def test_a_true_effect_the_other_way_is_found_not_to_hold():
    rates = verdict_rates(-0.2, draws=1000, seed=6, rows=6, correlation=0.5, **NOISY)
    assert rates[vd.FAILS] >= 0.8, rates


def test_pool_equals_the_t_interval_when_replicates_vary_more_than_their_errors():
    values, ses = [0.10, 0.16, 0.04, 0.12], [0.01] * 4
    pooled = vd.pool(values, ses)
    assert pooled.estimate == pytest.approx(np.mean(values))
    assert pooled.se == pytest.approx(stats.sem(values))
    assert pooled.df == 3
    lower = stats.t.interval(0.90, 3, loc=np.mean(values), scale=stats.sem(values))[0]
    assert pooled.direction(+1) == (vd.HOLDS if lower > 0 else vd.INCONCLUSIVE)
    assert pooled.p_wrong_way(-1) == pytest.approx(stats.ttest_1samp(values, 0, alternative="greater").pvalue)


def test_pool_never_trusts_replicates_that_agree_more_than_their_own_noise():
    pooled = vd.pool([0.05, 0.05, 0.05], [0.04, 0.04, 0.04])
    assert pooled.se == pytest.approx(0.04 / math.sqrt(3))
    assert pooled.direction(+1) == vd.INCONCLUSIVE  # 0.05 < 2.92 * 0.023


def test_a_single_run_keeps_its_error_and_the_normal_quantile():
    pooled = vd.pool([0.05], [0.02])
    assert (pooled.se, pooled.df) == (0.02, math.inf)
    assert pooled.direction(+1) == vd.direction(0.05, 0.02, +1) == vd.HOLDS


def test_holm_matches_a_direct_step_down():
    p = np.array([0.001, 0.04, 0.012, 0.3, 0.0125])
    # sorted: 0.001 <= .05/5, 0.012 <= .05/4, 0.0125 <= .05/3, 0.04 > .05/2 -> stop
    assert vd.holm_fails(p).tolist() == [True, False, True, False, True]
    assert not vd.holm_fails([0.03, 0.04]).any()
    assert vd.holm_fails([]).tolist() == []


def test_simulated_values_have_the_requested_spread():
    values, ses = simulate_claim(np.random.default_rng(0), 0.0, rows=2000, replicates=3, between=0.05, within=0.01)
    assert values.std() == pytest.approx(math.hypot(0.05, 0.01), rel=0.05)
    assert (ses == 0.01).all()


@pytest.mark.parametrize("bad", [dict(values=[], ses=[]), dict(values=[0.1, 0.2], ses=[0.1]),
                                 dict(values=[np.nan], ses=[0.1]), dict(values=[0.1], ses=[-1.0])])
def test_pool_rejects_bad_input(bad):
    with pytest.raises(ValueError, match="parameter"):
        vd.pool(**bad)
