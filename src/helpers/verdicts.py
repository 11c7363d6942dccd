"""One rule for every verdict of the book: holds, does not hold, or inconclusive.

A claim about a direction ("label smoothing raises the AUROC") compares two measured
values, each with a standard error. The change holds only when it is larger than its
uncertainty: the one-sided 95 % bound of the change (``delta - z * se`` for a rise,
``delta + z * se`` for a fall, ``z`` = 1.645) lies beyond zero. It does not hold when the
bound on the *other* side lies beyond zero (a clear change the wrong way), and it is
inconclusive otherwise. A claim about a level ("FPR of at least 0.9") works the same way
against the threshold.

Standard errors come from a bootstrap over the evaluation samples for this book's runs
(:func:`helpers.metrics.bootstrap_standard_errors`) and, for published numbers that come
without samples, from the usual large-sample formulas (:func:`auroc_se` after Hanley and
McNeil, 1982; :func:`proportion_se`, binomial) with the number of samples they rest on.
The standard error of a difference of two values from separate computations is
``sqrt(se_a**2 + se_b**2)``, which ignores that both rest on the same samples: it is the
cautious choice (pairing would only shrink it).
"""

from __future__ import annotations

import math
from typing import Iterable

HOLDS, FAILS, INCONCLUSIVE = "holds", "does not hold", "inconclusive"
VERDICTS = (HOLDS, FAILS, INCONCLUSIVE)
Z_ONE_SIDED_95 = 1.6448536269514722


def _finite_se(se: float) -> float:
    se = float(se)
    if not math.isfinite(se) or se < 0:
        raise ValueError(f"parameter 'se' has value {se!r}; allowed: a finite number >= 0")
    return se


def direction(delta: float, se: float, expected: int, z: float = Z_ONE_SIDED_95) -> str:
    """Verdict on a change ``delta`` (new minus old) with standard error ``se``.

    ``expected`` is +1 for "raises" and -1 for "lowers".
    """
    if expected not in (1, -1):
        raise ValueError(f"parameter 'expected' has value {expected!r}; allowed: +1 (raises) or -1 (lowers)")
    margin = z * _finite_se(se)
    signed = float(delta) * expected
    if signed - margin > 0:
        return HOLDS
    if signed + margin < 0:
        return FAILS
    return INCONCLUSIVE


def at_least(value: float, se: float, threshold: float, z: float = Z_ONE_SIDED_95) -> str:
    """Verdict on "``value`` is at least ``threshold``" (``at_least(v, se, t)``)."""
    return direction(float(value) - threshold, se, +1, z)


def difference_se(se_a: float, se_b: float) -> float:
    """Standard error of ``a - b`` from the two standard errors (unpaired, cautious)."""
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
