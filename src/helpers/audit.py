"""An out-of-distribution audit for any membership attack that outputs continuous scores.

The attack calls an input a member when its score is at least a threshold (higher score =
more likely a member). An auditor fixes the threshold on *calibration* scores, i.e. scores
of in-distribution non-members, so that a chosen share of them (the target FPR, e.g. 1 %)
would be called members. The audit then asks two questions:

* :func:`fpr_audit`: what false-positive rate does that threshold actually have on each
  non-member source (held-out test images, scaled images, noise, generated images, ...)?
  Each rate comes with an exact Clopper-Pearson interval, and ``above_target`` flags a
  source flagged significantly more often than in-distribution non-members would be at the
  same threshold (:func:`exchangeable_p_values`, which accounts for the threshold's own
  noise), after Holm's correction over every (attack x) source x level cell of the table.
* :func:`low_fpr_tpr`: what TPR does the attack reach at a low FPR (0.1 %, 1 %), and on
  how many non-members does that figure rest? With 500 non-members a 0.1 % FPR allows
  no false positive at all, so the figure cannot tell 0.1 % from 0 %.

:func:`audit` runs :func:`fpr_audit` for several attacks and :func:`pivot_audit` turns the
long result into an attack-by-source table for display.

Conventions:

* Scores may be lists or arrays; they must be 1-D, non-empty and free of NaN. ``+inf``
  and ``-inf`` are allowed (a filter that rejects an input may give it ``-inf``).
* Rates are compared with the target up to a relative rounding slack of ``1e-12``, so
  that e.g. 29 of 100 counts as a share of at most 0.29.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.stats import betabinom, binomtest

from .verdicts import holm_fails

__all__ = [
    "threshold_at_fpr",
    "clopper_pearson",
    "exchangeable_p_values",
    "fpr_audit",
    "low_fpr_tpr",
    "audit",
    "pivot_audit",
]

_SLACK = 1e-12  # relative slack when comparing a count with rate * n


# ------------------------------------------------------------------ validation
def _scores(a: Any, name: str) -> np.ndarray:
    """A 1-D float64 array without NaN (infinities allowed)."""
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"parameter {name!r} could not be read as numbers ({exc}); allowed: a 1-D "
            "array or list of numbers"
        ) from None
    if arr.ndim != 1:
        raise ValueError(f"parameter {name!r} has shape {arr.shape}; allowed: a 1-D array")
    if arr.size == 0:
        raise ValueError(f"parameter {name!r} is empty; allowed: at least one score")
    if np.isnan(arr).any():
        raise ValueError(
            f"parameter {name!r} contains {int(np.isnan(arr).sum())} NaN value(s); allowed: "
            "numbers, +inf and -inf"
        )
    return arr


def _rate(value: Any, name: str, *, closed_low: bool = False) -> float:
    """A rate in (0, 1), or in [0, 1) when ``closed_low``."""
    allowed = "a number in [0, 1)" if closed_low else "numbers in (0, 1)"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"parameter {name!r} has value {value!r}; allowed: {allowed}")
    v = float(value)
    ok = (0.0 <= v < 1.0) if closed_low else (0.0 < v < 1.0)
    if not ok:  # NaN fails both comparisons
        raise ValueError(f"parameter {name!r} has value {value!r}; allowed: {allowed}")
    return v


def _rates(values: Any, name: str) -> tuple[float, ...]:
    if isinstance(values, (int, float, np.integer, np.floating)) and not isinstance(values, bool):
        values = (values,)
    try:
        items = list(values)
    except TypeError:
        raise ValueError(
            f"parameter {name!r} has value {values!r}; allowed: a sequence of numbers in (0, 1)"
        ) from None
    if not items:
        raise ValueError(f"parameter {name!r} is empty; allowed: at least one number in (0, 1)")
    for v in items:
        _rate(v, name)
    return tuple(float(v) for v in items)


def _confidence(value: Any) -> float:
    return _rate(value, "confidence")


def _allowed_count(rate: float, n: int) -> int:
    """Largest count k with k / n <= rate (up to the rounding slack)."""
    return int(math.floor(rate * n * (1.0 + _SLACK)))


def _sources(source_scores: Any, name: str) -> dict[str, np.ndarray]:
    if not isinstance(source_scores, Mapping):
        raise ValueError(
            f"parameter {name!r} has type {type(source_scores).__name__}; allowed: a mapping "
            "from source name to scores"
        )
    if not source_scores:
        raise ValueError(f"parameter {name!r} is empty; allowed: at least one source")
    return {key: _scores(val, f"{name}[{key!r}]") for key, val in source_scores.items()}


# ------------------------------------------------------------------ thresholds and intervals
def threshold_at_fpr(calibration_scores: Any, fpr: float) -> float:
    """Smallest threshold whose share of calibration scores ``>= threshold`` is at most ``fpr``.

    Let ``c`` be the largest calibration score that cannot be called a member without
    exceeding the budget: more than ``fpr * n`` scores are ``>= c``. The returned
    threshold is the next float64 above ``c`` (``numpy.nextafter``), so the rule
    ``score >= threshold`` is the same as ``score > c``: every score tied with ``c`` is
    called a non-member, and every larger one a member. Ties can therefore push the
    realised share well below ``fpr``; it is never above it.

    ``fpr`` may be 0 (nothing in the calibration set is called a member). ``-inf`` scores
    are never above the threshold. If more than ``fpr * n`` scores are ``+inf``, no
    threshold meets the budget and a ``ValueError`` is raised.
    """
    s = np.sort(_scores(calibration_scores, "calibration_scores"))
    rate = _rate(fpr, "fpr", closed_low=True)
    n = s.size
    k = _allowed_count(rate, n)  # at most k calibration scores may be called members
    c = s[n - k - 1]  # k < n because rate < 1
    if c == np.inf:
        n_inf = int(np.isposinf(s).sum())
        raise ValueError(
            f"parameter 'calibration_scores' has {n_inf} of {n} scores at +inf, more than "
            f"'fpr' = {rate!r} allows; allowed: at most {k} scores at +inf for this fpr"
        )
    return float(np.nextafter(c, np.inf))


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) two-sided interval for a binomial rate with ``k`` of ``n``.

    The lower end is 0 when ``k == 0`` and the upper end is 1 when ``k == n``.
    """
    for name, value in (("k", k), ("n", n)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"parameter {name!r} has value {value!r}; allowed: an integer")
    if n < 1:
        raise ValueError(f"parameter 'n' has value {n!r}; allowed: an integer >= 1")
    if not 0 <= k <= n:
        raise ValueError(f"parameter 'k' has value {k!r}; allowed: an integer in [0, n={n}]")
    level = _confidence(confidence)
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high)


# ------------------------------------------------------------------ the FPR audit
def exchangeable_p_values(false_positives: int, n: int, calibration_above: int,
                          n_calibration: int) -> tuple[float, float]:
    """One-sided p-values that a source is flagged more (first) or less (second) often than
    in-distribution non-members, at a threshold set on the calibration scores.

    The threshold sits just above the ``(k + 1)``-th largest of ``n_calibration``
    calibration scores, where ``k = calibration_above`` of them are at or above it. If the
    source's ``n`` scores and the calibration scores are exchangeable (the source is
    in-distribution), the share of the score distribution above that order statistic is
    Beta(k + 1, n_calibration - k) distributed, so the source's count of scores at or above
    the threshold is beta-binomial(n, k + 1, n_calibration - k): exact for continuous scores,
    including the noise of a threshold read off a finite calibration set, which a binomial
    interval around the target ignores.
    """
    k, n_cal = int(calibration_above), int(n_calibration)
    if not (0 <= k < n_cal) or n < 1 or not (0 <= false_positives <= n):
        raise ValueError(f"parameters 'false_positives', 'n', 'calibration_above', 'n_calibration' have values "
                         f"{false_positives}, {n}, {k}, {n_cal}; allowed: 0 <= false_positives <= n, n >= 1, "
                         "0 <= calibration_above < n_calibration")
    dist = betabinom(n, k + 1, n_cal - k)
    return float(dist.sf(false_positives - 1)), float(dist.cdf(false_positives))


def flag_sources(table: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Set ``above_target`` / ``below_target`` from the table's ``p_above`` / ``p_below``:
    Holm's correction over every row of ``table`` at one-sided level ``(1 - confidence) / 2``
    (the tail a two-sided ``confidence`` interval leaves on each side)."""
    alpha = (1 - _confidence(confidence)) / 2
    out = table.copy()
    out["above_target"] = holm_fails(out["p_above"].to_numpy(), alpha) if len(out) else []
    out["below_target"] = holm_fails(out["p_below"].to_numpy(), alpha) if len(out) else []
    return out


def fpr_audit(
    source_scores: Mapping[str, Any],
    calibration_scores: Any,
    member_scores: Any | None = None,
    fprs: Sequence[float] = (0.01, 0.05),
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Realised FPR on every non-member source of a threshold set on calibration scores.

    For each target FPR the threshold comes from :func:`threshold_at_fpr` on
    ``calibration_scores``. One row per (source, target FPR) with columns

    * ``source``, ``target_fpr``, ``threshold``, ``calibration_fpr`` (share of calibration
      scores at or above the threshold, <= target by construction);
    * ``n``, ``false_positives``, ``fpr``, ``ci_low``, ``ci_high``: the source's size,
      its count at or above the threshold, their ratio and its Clopper-Pearson interval;
    * ``p_above``, ``p_below``: :func:`exchangeable_p_values` against the calibration set;
      ``above_target`` / ``below_target``: significantly more / fewer false positives than
      in-distribution non-members get at this threshold, after Holm's correction over all
      rows (:func:`flag_sources`);
    * with ``member_scores``: ``n_members``, ``true_positives``, ``tpr``, ``tpr_ci_low``,
      ``tpr_ci_high`` at the same threshold.

    The intervals treat the threshold as fixed: they describe the sampling noise of the
    source, not that of the calibration set the threshold came from (read them as somewhat
    too narrow when the calibration set is not large next to the sources). The flags do
    account for it.
    Passing the calibration scores themselves as a source gives the in-sample rate, which
    is at most the target by construction; use a held-out split for an honest estimate.
    """
    sources = _sources(source_scores, "source_scores")
    calibration = _scores(calibration_scores, "calibration_scores")
    members = None if member_scores is None else _scores(member_scores, "member_scores")
    targets = _rates(fprs, "fprs")
    level = _confidence(confidence)

    rows = []
    for target in targets:
        t = threshold_at_fpr(calibration, target)
        cal_above = int(np.sum(calibration >= t))
        cal_fpr = cal_above / calibration.size
        member_part: dict[str, Any] = {}
        if members is not None:
            tp = int(np.sum(members >= t))
            lo, hi = clopper_pearson(tp, members.size, level)
            member_part = {
                "n_members": members.size,
                "true_positives": tp,
                "tpr": tp / members.size,
                "tpr_ci_low": lo,
                "tpr_ci_high": hi,
            }
        for name, scores in sources.items():
            fp = int(np.sum(scores >= t))
            lo, hi = clopper_pearson(fp, scores.size, level)
            p_above, p_below = exchangeable_p_values(fp, scores.size, cal_above, calibration.size)
            rows.append({
                "source": name,
                "target_fpr": target,
                "threshold": t,
                "calibration_fpr": cal_fpr,
                "n": scores.size,
                "false_positives": fp,
                "fpr": fp / scores.size,
                "ci_low": lo,
                "ci_high": hi,
                "p_above": p_above,
                "p_below": p_below,
                **member_part,
            })
    table = flag_sources(pd.DataFrame(rows), level)
    table.attrs["confidence"] = level
    return table


# ------------------------------------------------------------------ TPR at low FPR
def _roc_points(members: np.ndarray, nonmembers: np.ndarray) -> tuple[np.ndarray, ...]:
    """(thresholds, fp counts, tp counts) for every distinct score and one above them all."""
    cand = np.unique(np.concatenate([members, nonmembers]))  # ascending
    top = cand[-1]
    if top != np.inf:
        cand = np.append(cand, np.nextafter(top, np.inf))  # "nobody is a member"
    m, o = np.sort(members), np.sort(nonmembers)
    tp = members.size - np.searchsorted(m, cand, side="left")
    fp = nonmembers.size - np.searchsorted(o, cand, side="left")
    return cand, fp, tp


def low_fpr_tpr(
    member_scores: Any,
    nonmember_scores: Any,
    fprs: Sequence[float] = (0.001, 0.01),
    confidence: float = 0.95,
) -> pd.DataFrame:
    """TPR at low FPR read off the ROC curve, and how much evidence stands behind it.

    For each target FPR: the largest TPR of a threshold whose FPR on ``nonmember_scores``
    is at most the target (the ROC points of every distinct score, no interpolation; the
    same numbers as ``sklearn.metrics.roc_curve`` on finite scores). Among thresholds with
    that TPR the largest is reported. Columns:

    * ``target_fpr``, ``threshold``, ``tpr``, ``fpr`` (realised), ``true_positives``,
      ``false_positives``, ``n_members``, ``n_nonmembers``;
    * ``allowed_false_positives`` = ``floor(target_fpr * n_nonmembers)``, the most false
      positives the figure may contain, and ``resolvable`` = ``target_fpr * n_nonmembers
      >= 1``. When it is False the figure rests on zero false positives: the data cannot
      tell this FPR from 0;
    * ``tpr_ci_low``, ``tpr_ci_high``: Clopper-Pearson interval for the TPR.

    If ``+inf`` non-member scores make every threshold exceed the target, nobody is
    called a member: ``tpr`` is 0 and ``threshold`` is NaN.
    """
    members = _scores(member_scores, "member_scores")
    nonmembers = _scores(nonmember_scores, "nonmember_scores")
    targets = _rates(fprs, "fprs")
    level = _confidence(confidence)
    cand, fp, tp = _roc_points(members, nonmembers)
    n1, n0 = members.size, nonmembers.size

    rows = []
    for target in targets:
        allowed = _allowed_count(target, n0)
        ok = np.flatnonzero(fp <= allowed)
        if ok.size:
            best_tp = tp[ok].max()
            i = ok[tp[ok] == best_tp].max()  # largest threshold with the best TPR
            t, k, f = float(cand[i]), int(tp[i]), int(fp[i])
        else:
            t, k, f = float("nan"), 0, 0
        lo, hi = clopper_pearson(k, n1, level)
        rows.append({
            "target_fpr": target,
            "threshold": t,
            "tpr": k / n1,
            "fpr": f / n0,
            "true_positives": k,
            "false_positives": f,
            "n_members": n1,
            "n_nonmembers": n0,
            "allowed_false_positives": allowed,
            "resolvable": target * n0 * (1.0 + _SLACK) >= 1.0,
            "tpr_ci_low": lo,
            "tpr_ci_high": hi,
        })
    table = pd.DataFrame(rows)
    table.attrs["confidence"] = level
    return table


# ------------------------------------------------------------------ several attacks
def audit(
    attack_scores: Mapping[str, Mapping[str, Any]],
    *,
    calibration: str = "calibration",
    members: str = "members",
    fprs: Sequence[float] = (0.01, 0.05),
    confidence: float = 0.95,
) -> pd.DataFrame:
    """:func:`fpr_audit` for several attacks, as one long table with an ``attack`` column.

    ``attack_scores[attack]`` maps names to scores of that attack: the key ``calibration``
    holds the in-distribution non-member scores the threshold is set on, the optional key
    ``members`` the member scores (adds the TPR columns), and every other key is a
    non-member source to audit.
    """
    if not isinstance(attack_scores, Mapping) or not attack_scores:
        raise ValueError(
            f"parameter 'attack_scores' has value {attack_scores!r:.80}; allowed: a non-empty "
            "mapping from attack name to a mapping of score arrays"
        )
    if calibration == members:
        raise ValueError(
            f"parameters 'calibration' and 'members' are both {calibration!r}; allowed: two "
            "different key names"
        )
    tables = []
    for attack, scores in attack_scores.items():
        if not isinstance(scores, Mapping):
            raise ValueError(
                f"parameter 'attack_scores[{attack!r}]' has type {type(scores).__name__}; "
                "allowed: a mapping from source name to scores"
            )
        if calibration not in scores:
            raise ValueError(
                f"parameter 'attack_scores[{attack!r}]' has keys {list(scores)}; allowed: "
                f"keys that include the calibration key {calibration!r}"
            )
        sources = {k: v for k, v in scores.items() if k not in (calibration, members)}
        if not sources:
            raise ValueError(
                f"parameter 'attack_scores[{attack!r}]' has no non-member source besides "
                f"{calibration!r} and {members!r}; allowed: at least one more key"
            )
        table = fpr_audit(
            sources, scores[calibration], scores.get(members), fprs=fprs, confidence=confidence
        )
        table.insert(0, "attack", attack)
        tables.append(table)
    out = flag_sources(pd.concat(tables, ignore_index=True), confidence)  # Holm over attacks too
    out.attrs["confidence"] = _confidence(confidence)
    return out


def _ordered_unique(values: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


def pivot_audit(
    table: pd.DataFrame,
    target_fpr: float,
    *,
    value: str = "fpr",
    ci: bool = True,
    percent: bool = True,
    digits: int = 1,
) -> pd.DataFrame:
    """Attack-by-source view of :func:`audit` (or :func:`fpr_audit`) at one target FPR.

    ``value`` is ``"fpr"`` or ``"tpr"`` (or any numeric column when ``ci`` is False).
    With ``ci`` the cells are strings ``"rate [low, high]"`` (in percent when ``percent``);
    without it they are numbers. Attacks and sources keep their order of appearance.
    A table without an ``attack`` column becomes a single row.
    """
    if not isinstance(table, pd.DataFrame) or "target_fpr" not in table:
        raise ValueError(
            "parameter 'table' is not an audit table; allowed: the DataFrame returned by "
            "audit() or fpr_audit()"
        )
    target = _rate(target_fpr, "target_fpr")
    sel = table[np.isclose(table["target_fpr"].to_numpy(dtype=float), target, rtol=1e-9, atol=0)]
    if sel.empty:
        have = sorted(set(table["target_fpr"]))
        raise ValueError(f"parameter 'target_fpr' has value {target_fpr!r}; allowed: one of {have}")
    if value not in sel.columns:
        raise ValueError(
            f"parameter 'value' has value {value!r}; allowed: a column of the table, e.g. "
            "'fpr' or 'tpr'"
        )
    if value == "fpr":
        lo_col, hi_col = "ci_low", "ci_high"
    else:
        lo_col, hi_col = f"{value}_ci_low", f"{value}_ci_high"
    if ci and not {lo_col, hi_col} <= set(sel.columns):
        raise ValueError(
            f"parameter 'value' has value {value!r}, which has no interval columns; allowed "
            "with ci=True: 'fpr', or 'tpr' when member scores were given"
        )
    if not isinstance(digits, (int, np.integer)) or isinstance(digits, bool) or digits < 0:
        raise ValueError(f"parameter 'digits' has value {digits!r}; allowed: an integer >= 0")
    sel = sel.copy()
    if "attack" not in sel.columns:
        sel["attack"] = value
    scale = 100.0 if percent else 1.0
    if ci:
        def cell(row: pd.Series) -> str:
            v, lo, hi = (scale * row[c] for c in (value, lo_col, hi_col))
            return f"{v:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"

        sel["_cell"] = sel.apply(cell, axis=1)
    else:
        sel["_cell"] = sel[value] * (scale if value in ("fpr", "tpr") else 1.0)
    wide = sel.pivot(index="attack", columns="source", values="_cell")
    wide = wide.reindex(
        index=_ordered_unique(sel["attack"]), columns=_ordered_unique(sel["source"])
    )
    unit = " in %" if percent and (ci or value in ("fpr", "tpr")) else ""
    level = table.attrs.get("confidence")
    ci_text = f", {level:.0%} CI" if ci and level is not None else (", CI" if ci else "")
    wide.columns.name = f"{value}{unit} at target FPR {target:g}{ci_text}"
    return wide
