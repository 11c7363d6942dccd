"""One rule for every verdict of the book: holds, does not hold, or inconclusive.

A claim about a direction ("label smoothing raises the AUROC") compares two measured
values. The change holds only when it is larger than its uncertainty: the one-sided 95 %
bound of the change (``delta - q * se`` for a rise, ``delta + q * se`` for a fall) lies
beyond zero. It does not hold when the bound on the *other* side lies beyond zero (a clear
change the wrong way), and it is inconclusive otherwise. A claim about a level ("FPR of at
least 0.9") works the same way against the threshold.

Where the uncertainty comes from:

* **One run** (a published number, or a profile with ``replicates: 1``): ``se`` is the
  standard error over the evaluation samples (a bootstrap for this book's runs,
  :func:`helpers.metrics.bootstrap_standard_errors`; the large-sample formulas
  :func:`auroc_se` and :func:`proportion_se` for published numbers), and ``q`` is the
  normal quantile 1.645. Such a margin knows nothing of training randomness.
* **Several training runs** (:func:`pool`): each replicate gives an effect ``d_k`` with its
  within-run error ``s_k``. The pooled effect is the mean of the ``d_k``; its variance is
  ``max(S**2, mean(s_k**2)) / K``, where ``S**2`` is the sample variance of the ``d_k``
  (which already contains both training and evaluation noise), and ``q`` is the 95 %
  quantile of Student's t with ``K - 1`` degrees of freedom. This is the t interval over
  replicate effects, made more cautious when the replicates happen to agree more closely
  than their own evaluation noise allows.

A claim checked on several rows (architectures, attacks) *holds* when every row holds (an
intersection-union test: no correction is needed for that side). It *does not hold* when a
row clears the margin the wrong way after Holm's correction over the claim's rows
(:func:`holm_fails`), so that a claim with many rows and no effect is not failed by chance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
from scipy import stats

HOLDS, FAILS, INCONCLUSIVE = "holds", "does not hold", "inconclusive"
VERDICTS = (HOLDS, FAILS, INCONCLUSIVE)
Z_ONE_SIDED_95 = 1.6448536269514722


def _finite_se(se: float) -> float:
    se = float(se)
    if not math.isfinite(se) or se < 0:
        raise ValueError(f"parameter 'se' has value {se!r}; allowed: a finite number >= 0")
    return se


def quantile(df: float = math.inf, alpha: float = 0.05) -> float:
    """The one-sided ``1 - alpha`` quantile: normal for ``df`` = inf, Student's t otherwise."""
    if not (0 < alpha < 0.5):
        raise ValueError(f"parameter 'alpha' has value {alpha!r}; allowed: a number in (0, 0.5)")
    if not (df > 0):
        raise ValueError(f"parameter 'df' has value {df!r}; allowed: a number > 0 (inf for one run)")
    return float(stats.norm.isf(alpha)) if math.isinf(df) else float(stats.t.isf(alpha, df))


def direction(delta: float, se: float, expected: int, z: float | None = None, df: float = math.inf) -> str:
    """Verdict on a change ``delta`` (new minus old) with standard error ``se``.

    ``expected`` is +1 for "raises" and -1 for "lowers"; ``df`` the degrees of freedom of
    ``se`` (inf for one run, ``K - 1`` for ``K`` pooled replicates); ``z`` overrides the
    quantile.
    """
    if expected not in (1, -1):
        raise ValueError(f"parameter 'expected' has value {expected!r}; allowed: +1 (raises) or -1 (lowers)")
    margin = (quantile(df) if z is None else z) * _finite_se(se)
    signed = float(delta) * expected
    if signed - margin > 0:
        return HOLDS
    if signed + margin < 0:
        return FAILS
    return INCONCLUSIVE


def p_wrong_way(delta: float, se: float, expected: int, df: float = math.inf) -> float:
    """One-sided p-value of "the change goes the wrong way" (small when it clearly does);
    the input of Holm's correction on the *does not hold* side."""
    signed = float(delta) * expected
    se = _finite_se(se)
    if se == 0:
        return 0.0 if signed < 0 else 1.0
    t = -signed / se
    return float(stats.norm.sf(t) if math.isinf(df) else stats.t.sf(t, df))


@dataclass(frozen=True)
class Pooled:
    """An effect pooled over training replicates: its ``estimate``, standard error ``se``
    and degrees of freedom ``df`` (inf for a single run), and the replicates' own values."""

    estimate: float
    se: float
    df: float
    values: tuple[float, ...]

    def direction(self, expected: int) -> str:
        return direction(self.estimate, self.se, expected, df=self.df)

    def at_least(self, threshold: float) -> str:
        return direction(self.estimate - threshold, self.se, +1, df=self.df)

    def p_wrong_way(self, expected: int, threshold: float = 0.0) -> float:
        return p_wrong_way(self.estimate - threshold, self.se, expected, df=self.df)


def pool(values: Sequence[float], ses: Sequence[float]) -> Pooled:
    """Pool one effect measured on ``K`` training replicates (see the module docstring):
    the mean, with the t interval's standard error ``sqrt(max(S**2, mean(se**2)) / K)`` and
    ``K - 1`` degrees of freedom; a single run keeps its own error and the normal quantile."""
    v = np.asarray(values, dtype=float)
    e = np.asarray([_finite_se(x) for x in ses], dtype=float)
    if v.ndim != 1 or len(v) == 0 or len(v) != len(e):
        raise ValueError(f"parameters 'values' and 'ses' have lengths {len(v)} and {len(e)}; "
                         "allowed: the same length >= 1 (one value and error per replicate)")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"parameter 'values' has value {v.tolist()!r}; allowed: finite numbers")
    k = len(v)
    if k == 1:
        return Pooled(float(v[0]), float(e[0]), math.inf, (float(v[0]),))
    spread = float(np.var(v, ddof=1))
    within = float(np.mean(e ** 2))
    return Pooled(float(v.mean()), math.sqrt(max(spread, within) / k), float(k - 1), tuple(float(x) for x in v))


def holm_corrected(verdicts: Sequence[str], p_values: Sequence[float], alpha: float = 0.05) -> list[str]:
    """The rows' verdicts with Holm's correction on the *does not hold* side: a row that fails
    on its own but is not kept by :func:`holm_fails` over all rows becomes inconclusive."""
    keep = holm_fails(p_values, alpha)
    return [INCONCLUSIVE if (v == FAILS and not k) else v for v, k in zip(verdicts, keep)]


def holm_fails(p_values: Sequence[float], alpha: float = 0.05) -> np.ndarray:
    """Which rows are rejected by Holm's step-down procedure at family level ``alpha``
    (used for the *does not hold* side of a claim with several rows)."""
    p = np.asarray(p_values, dtype=float)
    out = np.zeros(len(p), dtype=bool)
    m = len(p)
    for rank, i in enumerate(np.argsort(p, kind="stable")):
        if p[i] <= alpha / (m - rank):
            out[i] = True
        else:
            break
    return out


def at_least(value: float, se: float, threshold: float, z: float | None = None, df: float = math.inf) -> str:
    """Verdict on "``value`` is at least ``threshold``" (``at_least(v, se, t)``)."""
    return direction(float(value) - threshold, se, +1, z, df)


def difference_se(se_a: float, se_b: float) -> float:
    """Standard error of ``a - b`` from the two standard errors, for values from separate
    samples (or, for published numbers, when nothing else is known). Two values from the same
    bootstrap replicates get the paired error instead (e.g. the report's
    ``se_recall_minus_precision``)."""
    return math.hypot(_finite_se(se_a), _finite_se(se_b))


def mean_se(ses: Iterable[float]) -> float:
    """Standard error of the mean of values with these standard errors, without assuming
    they are independent: the mean of the errors, exact when the values move together (as
    the FPRs of one attack on several sources do, through its shared threshold) and an
    upper bound otherwise."""
    ses = [_finite_se(s) for s in ses]
    if not ses:
        raise ValueError("parameter 'ses' is empty; allowed: at least one standard error")
    return sum(ses) / len(ses)


def combine(verdicts: Iterable[str]) -> str:
    """One verdict from many (one per architecture, attack, ...): does not hold if any row
    fails, holds if every row holds, inconclusive otherwise (and when there is none)."""
    verdicts = list(verdicts)
    unknown = set(verdicts) - set(VERDICTS)
    if unknown:
        raise ValueError(f"verdicts {sorted(unknown)} are not allowed; allowed: {list(VERDICTS)}")
    if FAILS in verdicts:
        return FAILS
    if verdicts and all(v == HOLDS for v in verdicts):
        return HOLDS
    return INCONCLUSIVE


def proportion_se(p: float, n: int) -> float:
    """Binomial standard error of a proportion from ``n`` samples, with the Agresti-Coull
    adjustment so that 0 and 1 still get a non-zero error."""
    if n < 1:
        raise ValueError(f"parameter 'n' has value {n!r}; allowed: an integer >= 1")
    adjusted = (p * n + 2) / (n + 4)
    return math.sqrt(adjusted * (1 - adjusted) / (n + 4))


def auroc_se(auc: float, n_pos: int, n_neg: int) -> float:
    """Hanley and McNeil's (1982) standard error of an AUROC from ``n_pos`` positives and
    ``n_neg`` negatives."""
    if n_pos < 1 or n_neg < 1:
        raise ValueError(f"parameters 'n_pos', 'n_neg' have values {n_pos!r}, {n_neg!r}; allowed: integers >= 1")
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc * auc) + (n_neg - 1) * (q2 - auc * auc)) / (n_pos * n_neg)
    return math.sqrt(max(var, 0.0))
