"""Attack metrics: from hard decisions, from continuous scores, and per-group score means.

Conventions (members are the positive class):

* precision = TP / (TP + FP); when the attack calls **nobody** a member it is defined as
  0.0 (scikit-learn's ``zero_division=0``), and :func:`hard_metrics` reports
  ``n_predicted_members = 0`` so a reader can tell this case apart.
* recall = TPR = TP / (TP + FN); FPR = FP / (FP + TN).
* AUROC and AUPR (average precision) are scikit-learn's; tied scores get the usual
  half credit in AUROC and are grouped into one step in AUPR.
* Low-FPR / high-TPR operating points are read off the ROC curve (all thresholds kept)
  **without interpolation**: :func:`tpr_at_fpr` is the largest TPR of a threshold whose FPR
  is ``<= max_fpr``; :func:`fpr_at_tpr` the smallest FPR of a threshold whose TPR is
  ``>= min_tpr``. Both are operating points an attacker can actually realise with one
  threshold (pessimistic compared with linear interpolation between ROC points).
* MMPS = mean maximum prediction score of the TP / FP / FN / TN groups; NaN for an empty group.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd
from scipy.stats import wasserstein_distance
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from .scores import as_scores, max_score


def membership_labels(n_members: int, n_nonmembers: int) -> np.ndarray:
    """The ground truth of an evaluation: ``n_members`` True, then ``n_nonmembers`` False."""
    return np.r_[np.ones(int(n_members), bool), np.zeros(int(n_nonmembers), bool)]


def _binary(a: Any, name: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim != 1:
        raise ValueError(f"parameter {name!r} has shape {arr.shape}; allowed: a 1-D array")
    if arr.dtype != bool:
        if not np.isin(arr, (0, 1)).all():
            raise ValueError(f"parameter {name!r} has values {np.unique(arr)[:5]}; allowed: 0/1 or bool")
    return arr.astype(bool)


def _finite(a: Any, name: str) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"parameter {name!r} has shape {arr.shape}; allowed: a 1-D array")
    if not np.isfinite(arr).all():
        raise ValueError(f"parameter {name!r} contains NaN or inf; allowed: finite numbers")
    return arr


def _pair(y_true: Any, other: Any, other_name: str, finite: bool) -> tuple[np.ndarray, np.ndarray]:
    y = _binary(y_true, "y_true")
    o = _finite(other, other_name) if finite else _binary(other, other_name)
    if len(y) != len(o):
        raise ValueError(
            f"parameter {other_name!r} has {len(o)} entries but 'y_true' has {len(y)}; allowed: equal lengths"
        )
    if len(y) == 0:
        raise ValueError("parameter 'y_true' is empty; allowed: at least one entry")
    return y, o


# ------------------------------------------------------------------ hard decisions
def hard_metrics(y_true: Any, y_pred: Any) -> dict[str, float]:
    """Precision, recall (TPR), FPR, accuracy and the confusion counts."""
    y, p = _pair(y_true, y_pred, "y_pred", finite=False)
    tp, fp = int(np.sum(y & p)), int(np.sum(~y & p))
    fn, tn = int(np.sum(y & ~p)), int(np.sum(~y & ~p))
    return {
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else float("nan"),
        "fpr": fp / (fp + tn) if fp + tn else float("nan"),
        "accuracy": (tp + tn) / len(y),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "n_predicted_members": tp + fp,
    }


def precision(y_true: Any, y_pred: Any) -> float:
    """TP / (TP + FP); 0.0 when nothing is predicted a member."""
    return hard_metrics(y_true, y_pred)["precision"]


def recall(y_true: Any, y_pred: Any) -> float:
    """TP / (TP + FN), the true-positive rate."""
    return hard_metrics(y_true, y_pred)["recall"]


def false_positive_rate(y_true: Any, y_pred: Any) -> float:
    """FP / (FP + TN); NaN when there are no negatives."""
    return hard_metrics(y_true, y_pred)["fpr"]


# ------------------------------------------------------------------ continuous scores
def _both_classes(y: np.ndarray) -> None:
    if y.all() or not y.any():
        raise ValueError("parameter 'y_true' holds only one class; allowed: both members (1) and non-members (0)")


def auroc(y_true: Any, score: Any) -> float:
    """Area under the ROC curve."""
    y, s = _pair(y_true, score, "score", finite=True)
    _both_classes(y)
    return float(roc_auc_score(y, s))


def aupr(y_true: Any, score: Any) -> float:
    """Area under the precision-recall curve as average precision (members positive)."""
    y, s = _pair(y_true, score, "score", finite=True)
    _both_classes(y)
    return float(average_precision_score(y, s))


def roc(y_true: Any, score: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, thresholds) with every threshold kept; a member when ``score >= threshold``."""
    y, s = _pair(y_true, score, "score", finite=True)
    _both_classes(y)
    return roc_curve(y, s, drop_intermediate=False)


def tpr_at_fpr(y_true: Any, score: Any, max_fpr: float = 0.01) -> float:
    """Largest TPR of a threshold whose FPR is at most ``max_fpr`` (no interpolation)."""
    if not 0 <= max_fpr <= 1:
        raise ValueError(f"parameter 'max_fpr' has value {max_fpr!r}; allowed: a number in [0, 1]")
    fpr, tpr, _ = roc(y_true, score)
    return float(tpr[fpr <= max_fpr + 1e-12].max())


def fpr_at_tpr(y_true: Any, score: Any, min_tpr: float = 0.95) -> float:
    """Smallest FPR of a threshold whose TPR is at least ``min_tpr`` (no interpolation)."""
    if not 0 <= min_tpr <= 1:
        raise ValueError(f"parameter 'min_tpr' has value {min_tpr!r}; allowed: a number in [0, 1]")
    fpr, tpr, _ = roc(y_true, score)
    return float(fpr[tpr >= min_tpr - 1e-12].min())


def mmps(y_true: Any, y_pred: Any, max_scores: Any) -> dict[str, float]:
    """Mean maximum prediction score of the TP, FP, FN and TN groups (NaN if empty)."""
    y, p = _pair(y_true, y_pred, "y_pred", finite=False)
    _, m = _pair(y_true, max_scores, "max_scores", finite=True)
    groups = {"tp": y & p, "fp": ~y & p, "fn": y & ~p, "tn": ~y & ~p}
    return {f"mmps_{g}": float(m[mask].mean()) if mask.any() else float("nan") for g, mask in groups.items()}


def earth_movers_distance(a: Any, b: Any) -> float:
    """Wasserstein-1 distance between two 1-D samples (e.g. max scores of two sets)."""
    x, y = _finite(np.ravel(a), "a"), _finite(np.ravel(b), "b")
    if len(x) == 0 or len(y) == 0:
        raise ValueError(f"parameters 'a' and 'b' have {len(x)} and {len(y)} values; allowed: at least one each")
    return float(wasserstein_distance(x, y))


# ------------------------------------------------------------------ attack reports
METRIC_COLUMNS = (
    "precision", "recall", "fpr", "accuracy", "auroc", "aupr", "fpr_at_95tpr",
    "tpr_at_1fpr", "tpr_at_0.1fpr", "mmps_tp", "mmps_fp", "mmps_fn", "mmps_tn",
    "tp", "fp", "fn", "tn", "n_predicted_members", "n_members", "n_nonmembers", "threshold",
    "se_precision", "se_recall", "se_fpr", "se_auroc",
)


def best_threshold(member_score: np.ndarray, nonmember_score: np.ndarray) -> float:
    """The threshold maximising TPR - FPR (member if score >= threshold), as the attacks
    choose it on shadow data; the highest such threshold among ties."""
    m, n = np.asarray(member_score, float), np.asarray(nonmember_score, float)
    ones = np.ones((1, len(m)), np.int32), np.ones((1, len(n)), np.int32)
    return float(_best_thresholds(m, n, *ones)[0])


def _row_counts(index: np.ndarray, size: int) -> np.ndarray:
    """How often each of ``size`` items is drawn in every row of a (replicates x draws) index."""
    offsets = index + size * np.arange(len(index))[:, None]
    counts = np.bincount(offsets.ravel(), minlength=size * len(index)).reshape(len(index), size)
    return counts.astype(np.int32)  # half the memory traffic of int64 for the cumulative sums


def _best_thresholds(members: np.ndarray, nonmembers: np.ndarray,
                     member_counts: np.ndarray, nonmember_counts: np.ndarray) -> np.ndarray:
    """:func:`best_threshold` of every bootstrap replicate, a replicate given as how often it
    drew each member and non-member (rows of the count arrays). One sort of the values
    serves every replicate, so a replicate costs O(samples) instead of a sort."""
    values = np.r_[members, nonmembers]
    order = np.argsort(-values, kind="stable")  # descending: a threshold admits the values before it
    v = values[order]
    drawn = np.concatenate([member_counts, nonmember_counts], axis=1)[:, order]
    is_member = order < len(members)
    admitted_members = np.cumsum(np.where(is_member, drawn, 0), axis=1, dtype=np.int32)
    admitted_nonmembers = np.cumsum(np.where(is_member, 0, drawn), axis=1, dtype=np.int32)
    new_value = np.r_[True, v[1:] != v[:-1]]
    ends = np.flatnonzero(np.r_[new_value[1:], True])  # a threshold admits every tie at once
    starts = np.flatnonzero(new_value)
    admitted = admitted_members + admitted_nonmembers
    before = np.where(starts > 0, admitted[:, np.maximum(starts - 1, 0)], 0)
    gain = (admitted_members[:, ends] / member_counts.sum(axis=1, keepdims=True)
            - admitted_nonmembers[:, ends] / nonmember_counts.sum(axis=1, keepdims=True))
    gain = np.where(admitted[:, ends] > before, gain, -np.inf)  # only values the replicate drew
    return v[ends][np.argmax(gain, axis=1)]


def _aurocs(members: np.ndarray, nonmembers: np.ndarray,
            member_counts: np.ndarray, nonmember_counts: np.ndarray) -> np.ndarray:
    """AUROC (ties count one half) of every bootstrap replicate, given as draw counts.

    The Mann-Whitney count: each drawn member scores the drawn non-members below it plus
    half of those equal to it. The non-members are sorted once, so a replicate costs
    O(samples) instead of a sort."""
    order = np.argsort(nonmembers, kind="stable")
    sorted_nonmembers = nonmembers[order]
    below = np.searchsorted(sorted_nonmembers, members, side="left")
    up_to = np.searchsorted(sorted_nonmembers, members, side="right")
    cumulative = np.zeros((len(nonmember_counts), len(nonmembers) + 1))
    np.cumsum(nonmember_counts[:, order], axis=1, out=cumulative[:, 1:])
    wins = cumulative[:, below] + 0.5 * (cumulative[:, up_to] - cumulative[:, below])
    n1, n0 = member_counts.sum(axis=1), nonmember_counts.sum(axis=1)
    return (member_counts * wins).sum(axis=1) / (n1 * n0)


def bootstrap_standard_errors(y_true: Any, y_pred: Any, score: Any, n_boot: int = 200, seed: int = 0,
                              shadow_scores: tuple[Any, Any] | None = None) -> dict[str, float]:
    """Bootstrap standard errors of precision, recall, FPR and AUROC over the evaluation samples.

    Members and non-members are resampled separately (each with replacement, keeping their
    counts). With ``shadow_scores`` (the attack's membership scores of the shadow members
    and non-members it was fitted on) each replicate also resamples those and refits the
    decision threshold (:func:`best_threshold`), so the errors of precision, recall and FPR
    include the uncertainty of where the attacker puts its threshold; the attack's
    continuous score itself stays fixed. ``se_recall_minus_precision`` is the paired error
    of the difference, from the same replicates (both move with the threshold). Seeded, so the same inputs give the same errors.
    A replicate is kept as how often it drew each sample, so no replicate is sorted.
    """
    if n_boot < 2:
        raise ValueError(f"parameter 'n_boot' has value {n_boot!r}; allowed: an integer >= 2")
    y, pred = _pair(y_true, y_pred, "y_pred", finite=False)
    _, s = _pair(y, score, "score", finite=True)
    _both_classes(y)
    pred = pred.astype(bool)
    n1, n0 = int(y.sum()), int((~y).sum())
    rng = np.random.default_rng(seed)
    pos = _row_counts(rng.integers(0, n1, (n_boot, n1)), n1)
    neg = _row_counts(rng.integers(0, n0, (n_boot, n0)), n0)
    pos_score, neg_score = s[y], s[~y]
    if shadow_scores is None:
        hit_pos, hit_neg = pred[y][None, :], pred[~y][None, :]
    else:
        sh_pos, sh_neg = (np.asarray(a, dtype=np.float64) for a in shadow_scores)
        t = _best_thresholds(sh_pos, sh_neg, _row_counts(rng.integers(0, len(sh_pos), (n_boot, len(sh_pos))), len(sh_pos)),
                             _row_counts(rng.integers(0, len(sh_neg), (n_boot, len(sh_neg))), len(sh_neg)))
        hit_pos, hit_neg = pos_score >= t[:, None], neg_score >= t[:, None]
    tp, fp = (pos * hit_pos).sum(axis=1), (neg * hit_neg).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):  # nothing flagged: precision 0, as the point estimate
        precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 0.0)
    recall = tp / n1
    stats = np.stack([precision, recall, fp / n0, _aurocs(pos_score, neg_score, pos, neg), recall - precision], axis=1)
    se = np.nanstd(stats, axis=0, ddof=1)
    return {"se_precision": float(se[0]), "se_recall": float(se[1]), "se_fpr": float(se[2]), "se_auroc": float(se[3]),
            "se_recall_minus_precision": float(se[4])}


def _delong_components(pos: np.ndarray, neg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong's structural components of one score: for each positive the share of negatives
    it beats (ties count one half), and for each negative the share of positives that beat it."""
    from scipy.stats import rankdata

    m, n = len(pos), len(neg)
    both = rankdata(np.r_[pos, neg])
    v10 = (both[:m] - rankdata(pos)) / n
    v01 = 1.0 - (both[m:] - rankdata(neg)) / m
    return v10, v01


def paired_auroc_difference(y_true: Any, score_a: Any, score_b: Any) -> tuple[float, float]:
    """``AUROC(a) - AUROC(b)`` of two scores of the *same* samples, and its standard error by
    DeLong, DeLong and Clarke-Pearson (1988), which keeps the pairing: two attacks (or two
    model variants) judged on the same members and non-members share most of their noise,
    so the unpaired ``sqrt(se_a**2 + se_b**2)`` overstates it."""
    y = _binary(y_true, "y_true")
    _both_classes(y)
    _, a = _pair(y, score_a, "score_a", finite=True)
    _, b = _pair(y, score_b, "score_b", finite=True)
    (a10, a01), (b10, b01) = _delong_components(a[y], a[~y]), _delong_components(b[y], b[~y])
    s10 = np.cov(np.vstack([a10, b10]))
    s01 = np.cov(np.vstack([a01, b01]))
    var = (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / len(a10) + (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / len(a01)
    return float(a10.mean() - b10.mean()), float(np.sqrt(max(var, 0.0)))


def score_report(y_true: Any, y_pred: Any, score: Any, max_scores: Any,
                 shadow_scores: tuple[Any, Any] | None = None) -> dict[str, float]:
    """Every metric of :data:`METRIC_COLUMNS` (except the threshold) from arrays."""
    y = _binary(y_true, "y_true")
    out: dict[str, float] = {}
    out.update(hard_metrics(y, y_pred))
    out["auroc"] = auroc(y, score)
    out["aupr"] = aupr(y, score)
    out["fpr_at_95tpr"] = fpr_at_tpr(y, score, 0.95)
    out["tpr_at_1fpr"] = tpr_at_fpr(y, score, 0.01)
    out["tpr_at_0.1fpr"] = tpr_at_fpr(y, score, 0.001)
    out.update(mmps(y, y_pred, max_scores))
    out["n_members"], out["n_nonmembers"] = int(y.sum()), int((~y).sum())
    out.update(bootstrap_standard_errors(y, y_pred, score, shadow_scores=shadow_scores))
    return out


def attack_report(attack: Any, member_scores: Any, nonmember_scores: Any, /, **labels: Any) -> dict[str, Any]:
    """Metrics of a fitted attack on (target) members vs non-members, plus label columns.

    ``labels`` (e.g. ``model="resnet18", variant="standard", source="svhn"``) are copied
    into the result so that tables from several runs can be concatenated.
    """
    members = as_scores(member_scores, "member_scores")
    nonmembers = as_scores(nonmember_scores, "nonmember_scores")
    for name, s in (("member_scores", members), ("nonmember_scores", nonmembers)):
        if len(s) == 0:
            raise ValueError(f"parameter {name!r} is empty; allowed: at least one row")
    score = np.r_[attack.membership_score(members), attack.membership_score(nonmembers)]
    pred = np.r_[attack.predict(members), attack.predict(nonmembers)]
    y = membership_labels(len(members), len(nonmembers))
    maxs = np.r_[max_score(members), max_score(nonmembers)]
    out: dict[str, Any] = dict(labels)
    out.setdefault("attack", getattr(attack, "name", type(attack).__name__))
    out.update(score_report(y, pred, score, maxs, getattr(attack, "shadow_membership_scores_", None)))
    out["threshold"] = getattr(attack, "threshold_", float("nan"))
    return out


def evaluate_attacks(
    attacks: Mapping[str, Any], member_scores: Any, nonmember_scores: Any, /, **labels: Any
) -> pd.DataFrame:
    """One row per attack (column ``attack`` = its key), metric columns, label columns first."""
    if not attacks:
        raise ValueError("parameter 'attacks' is empty; allowed: a mapping name -> fitted attack")
    rows = [attack_report(a, member_scores, nonmember_scores, **{**labels, "attack": name}) for name, a in attacks.items()]
    front = [*labels, "attack"]
    df = pd.DataFrame(rows)
    return df[front + [c for c in df.columns if c not in front]]
