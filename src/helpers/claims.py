"""The paper's claims as checks on a tidy results table, from any origin.

A *results table* has one row per training run (``replicate``), architecture, variant,
non-member source, attack and metric, with the measured ``value`` and its standard error
``se``, and the architecture's ``activation``. :func:`results_from_replicates` builds it
from every training run of this book's experiment (standard errors by bootstrap over the
evaluation samples), :func:`results_from_paper` from the paper's published result files
(one run; standard errors from the number of samples they rest on). The same checks then
run on both, so every claim is validated on the paper's own numbers (a test requires each
to hold there, scoped as the paper scopes it) before it judges a run.

Every check computes its effect per training run and pools the runs with
:func:`helpers.verdicts.pool`: *holds* only when the pooled change or level is beyond its
one-sided 95 % margin (which includes the spread between runs), *does not hold* when it is
beyond the margin the other way after Holm's correction over the claim's rows,
*inconclusive* otherwise. Chapters 3-7 all read their verdicts from
:func:`claim_verdicts`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from . import verdicts as vd
from .evaluation import AttackEvaluation
from .variants import ALL_VARIANTS
from .architectures import effective_activation
from .reference import PAPER_METRICS, paper_attack_results

RESULT_COLUMNS = ("replicate", "architecture", "activation", "variant", "source", "attack", "metric", "value", "se")
METRICS = ("precision", "recall", "fpr", "auroc")
# recall minus precision, with its paired bootstrap error (both move with the threshold)
GAP_METRIC = "recall_minus_precision"
ATTACKS = ("entropy", "max_score", "top3")
# Claims on hard decisions (precision, recall, FPR) are checked on the two threshold attacks:
# their standard errors include where the attacker puts its threshold (a refit per bootstrap
# replicate). The top-3 attack decides with a small neural network whose refitting noise the
# book does not estimate, so its precision, recall and FPR get no verdict.
THRESHOLD_ATTACKS = ("entropy", "max_score")
ROW_COLUMNS = ("claim", "architecture", "attack", "metric", "detail", "measured", "se", "df", "replicates",
               "expected", "threshold", "p_wrong_way", "verdict")
_PAPER_N = {"cifar10": 2500, "stanford_dogs": 2058}  # members = non-members per model
STL10_SOURCES = ("stl10", "natural-patches")  # the paper's STL-10, else its offline stand-in


# ----------------------------------------------------------------------------- tables
def results_from_evaluation(ev: AttackEvaluation, sources: Mapping[str, object],
                            variants: Sequence[str] | None = None) -> pd.DataFrame:
    """One run's results table: every architecture x variant x source (``test`` and each
    non-member set in ``sources``) x attack x metric, with bootstrap standard errors; the
    ``replicate`` column is the experiment's training-run index."""
    frames = []
    for arch in ev.exp.profile.architectures:
        for variant in variants or ALL_VARIANTS:
            frames.append(ev.evaluate(arch, variant))
            for name, nm in sources.items():
                if name != "test":
                    frames.append(ev.evaluate(arch, variant, source=name, nonmember_x=nm.x))
    wide = pd.concat(frames, ignore_index=True)
    wide[GAP_METRIC] = wide["recall"] - wide["precision"]
    rows = []
    for metric in (*METRICS, GAP_METRIC):
        part = wide[["architecture", "variant", "source", "attack", metric, f"se_{metric}"]]
        rows.append(part.rename(columns={metric: "value", f"se_{metric}": "se"}).assign(metric=metric))
    table = pd.concat(rows, ignore_index=True)
    table["activation"] = [effective_activation(a, ev.exp.profile.activation) for a in table.architecture]
    table["replicate"] = ev.exp.replicate
    return table[list(RESULT_COLUMNS)]


def replicate_evaluations(ev: AttackEvaluation) -> list[AttackEvaluation]:
    """``ev`` and one evaluation (same attacks, tie rule and temperature) per further training
    replicate of its experiment (:meth:`helpers.experiment.Experiment.replicates`)."""
    out = [ev]
    for run in ev.exp.replicates():
        if run is not ev.exp:
            out.append(AttackEvaluation(run, attacks=ev.attack_names, rule=ev.rule, temperature=ev.temperature))
    return out


def results_from_replicates(ev: AttackEvaluation, sources: Mapping[str, object],
                            variants: Sequence[str] | None = None) -> pd.DataFrame:
    """:func:`results_from_evaluation` for every training replicate of ``ev``'s experiment,
    stacked (column ``replicate``): the table every verdict of the book is read from. The
    non-member sources are the same inputs for every replicate (they share data and splits)."""
    return pd.concat([results_from_evaluation(e, sources, variants) for e in replicate_evaluations(ev)],
                     ignore_index=True)


def _analytic_se(metric: str, value: float, recall: float, fpr: float, n: int) -> float:
    if metric == "auroc":
        return vd.auroc_se(value, n, n)
    if metric == "precision":  # a proportion of the predicted members
        return vd.proportion_se(value, max(1, int(round((recall + fpr) * n))))
    return vd.proportion_se(value, n)


def results_from_paper() -> pd.DataFrame:
    """The paper's results as a results table (one run, ``replicate`` 0); standard errors from
    its sample sizes (2,500 members and non-members per CIFAR-10 model, 2,058 for Stanford
    Dogs). Recall minus precision gets the unpaired error: the paper gives no samples."""
    raw = paper_attack_results()
    raw = raw[raw.metric.isin(list(PAPER_METRICS))].assign(metric=lambda d: d.metric.map(PAPER_METRICS))
    wide = raw.pivot_table(index=["dataset", "architecture", "variant", "source_key", "attack"],
                           columns="metric", values="value").reset_index()
    rows = []
    for r in wide.itertuples(index=False):
        n = _PAPER_N[r.dataset]
        base = {"replicate": 0, "architecture": r.architecture, "variant": r.variant, "source": r.source_key,
                "attack": r.attack, "activation": effective_activation(r.architecture, "relu")}
        ses = {}
        for metric in METRICS:
            value = getattr(r, metric)
            ses[metric] = _analytic_se(metric, value, r.recall, r.fpr, n)
            rows.append({**base, "metric": metric, "value": value, "se": ses[metric]})
        rows.append({**base, "metric": GAP_METRIC, "value": r.recall - r.precision,
                     "se": vd.difference_se(ses["recall"], ses["precision"])})
    return pd.DataFrame(rows, columns=list(RESULT_COLUMNS))


def _unpaired_gap(table: pd.DataFrame) -> pd.DataFrame:
    """Recall minus precision rows for a table that lacks them, with the unpaired error."""
    keys = ["replicate", "architecture", "activation", "variant", "source", "attack"]
    p = table[table.metric == "precision"].set_index(keys)
    r = table[table.metric == "recall"].set_index(keys)
    both = p.index.intersection(r.index)
    se = [vd.difference_se(a, b) for a, b in zip(r.se[both], p.se[both])]
    out = pd.DataFrame({"value": (r.value[both] - p.value[both]).to_numpy(), "se": se}, index=both).reset_index()
    return out.assign(metric=GAP_METRIC)[list(RESULT_COLUMNS)]


# ----------------------------------------------------------------------------- checks
@dataclass(frozen=True)
class Claim:
    """One statement of the paper, where it is, to what it applies, and its check."""

    key: str
    statement: str
    where_in_paper: str
    scope: str
    check: Callable[[pd.DataFrame], list[dict]]
    variants: tuple[str, ...] = ("standard",)  # the variants whose results the check reads


def _select(table: pd.DataFrame, **equal) -> pd.DataFrame:
    mask = np.ones(len(table), bool)
    for column, value in equal.items():
        values = value if isinstance(value, (list, tuple, set)) else [value]
        mask &= table[column].isin(list(values)).to_numpy()
    return table[mask]


def _per_replicate(table: pd.DataFrame, **equal) -> pd.DataFrame | None:
    """``value`` and ``se`` per replicate (index) of the rows matching ``equal``, or None."""
    part = _select(table, **equal)
    if part.empty:
        return None
    return part.groupby("replicate")[["value", "se"]].first().sort_index()


def _pool(part: pd.DataFrame) -> vd.Pooled:
    return vd.pool(part.value.to_numpy(), part.se.to_numpy())


def _row(claim: str, arch: str, attack: str, metric: str, detail: str, pooled: vd.Pooled, verdict: str,
         expected: int, threshold: float = 0.0) -> dict:
    p_wrong = pooled.p_wrong_way(expected, threshold)
    return dict(claim=claim, architecture=arch, attack=attack, metric=metric, detail=detail,
                measured=pooled.estimate, se=pooled.se, df=pooled.df, replicates=pooled.values,
                expected=expected, threshold=threshold, p_wrong_way=p_wrong, verdict=verdict)


def _attack_works(table: pd.DataFrame, arch: str, variant: str, attack: str) -> bool:
    """Whether the attack separates members from test non-members beyond its noise margin
    (pooled over replicates).

    Precision, recall and FPR depend on a threshold the attacker fits on shadow data; when
    the attack cannot tell members from non-members (AUROC about 0.5), that threshold is
    arbitrary and so is every comparison of hard decisions. Such rows are inconclusive.
    """
    got = _per_replicate(table, architecture=arch, variant=variant, source="test", attack=attack, metric="auroc")
    return got is not None and _pool(got).at_least(0.5) == vd.HOLDS


def _architectures(table: pd.DataFrame, activations: Sequence[str] | None, names: Sequence[str] | None) -> list[str]:
    part = table if activations is None else table[table.activation.isin(list(activations))]
    archs = sorted(part.architecture.unique())
    return [a for a in archs if names is None or a in names]


def _gated(verdict: str, works: bool) -> str:
    """Hard-decision rows of an attack that does not work get no verdict either way."""
    return verdict if works else vd.INCONCLUSIVE


def recall_above_precision(table: pd.DataFrame) -> list[dict]:
    out = []
    for arch in _architectures(table, None, None):
        for attack in THRESHOLD_ATTACKS:
            eq = dict(architecture=arch, variant="standard", source="test", attack=attack)
            gap = _per_replicate(table, **eq, metric=GAP_METRIC)
            p, r = _per_replicate(table, **eq, metric="precision"), _per_replicate(table, **eq, metric="recall")
            if gap is None or p is None or r is None:
                continue
            pooled = _pool(gap)
            verdict = _gated(pooled.direction(+1), _attack_works(table, arch, "standard", attack))
            out.append(_row("recall_above_precision", arch, attack, GAP_METRIC,
                            f"precision {p.value.mean():.3f}, recall {r.value.mean():.3f}", pooled, verdict, +1))
    return out


def _level_check(key: str, sources: Sequence[str], metric: str, threshold: float, attacks: Sequence[str],
                 activations: Sequence[str] | None) -> Callable[[pd.DataFrame], list[dict]]:
    def check(table: pd.DataFrame) -> list[dict]:
        present = [s for s in sources if s in set(table.source)]
        if not present:
            return []
        source = present[0]
        out = []
        for arch in _architectures(table, activations, None):
            for attack in attacks:
                got = _per_replicate(table, architecture=arch, variant="standard", source=source, attack=attack,
                                     metric=metric)
                if got is None:
                    continue
                pooled = _pool(got)
                verdict = pooled.at_least(threshold)
                if verdict == vd.HOLDS and not _attack_works(table, arch, "standard", attack):
                    verdict = vd.INCONCLUSIVE
                out.append(_row(key, arch, attack, metric,
                                f"{metric} on {source} {pooled.estimate:.3f} (claim: at least {threshold:g})",
                                pooled, verdict, +1, threshold))
        return out

    return check


def _change_check(key: str, variant: str, metric: str, expected: int, attacks: Sequence[str] = ATTACKS,
                  ood: bool = False, activations: Sequence[str] | None = None,
                  names: Sequence[str] | None = None) -> Callable[[pd.DataFrame], list[dict]]:
    """A variant against the standard model: on the test split, or averaged over every
    other source that both have (``ood``); one change per replicate, then pooled."""

    def check(table: pd.DataFrame) -> list[dict]:
        out = []
        for arch in _architectures(table, activations, names):
            for attack in attacks:
                base = _select(table, architecture=arch, variant="standard", attack=attack, metric=metric)
                new = _select(table, architecture=arch, variant=variant, attack=attack, metric=metric)
                if ood:
                    shared = sorted((set(base.source) & set(new.source)) - {"test"})
                else:
                    shared = ["test"] if "test" in set(base.source) & set(new.source) else []
                replicates = sorted(set(base.replicate) & set(new.replicate))
                if not shared or not replicates:
                    continue
                deltas, ses, b_means, v_means = [], [], [], []
                for rep in replicates:
                    b = base[base.replicate == rep].set_index("source").loc[shared]
                    v = new[new.replicate == rep].set_index("source").loc[shared]
                    b_means.append(b.value.mean())
                    v_means.append(v.value.mean())
                    deltas.append(v_means[-1] - b_means[-1])
                    ses.append(vd.difference_se(vd.mean_se(b.se), vd.mean_se(v.se)))
                pooled = vd.pool(deltas, ses)
                where = f"mean over {len(shared)} non-test sources" if ood else "test non-members"
                verdict = pooled.direction(expected)
                if metric != "auroc":
                    verdict = _gated(verdict, _attack_works(table, arch, "standard", attack))
                out.append(_row(key, arch, attack, metric,
                                f"{metric} ({where}): standard {np.mean(b_means):.3f} -> {variant} "
                                f"{np.mean(v_means):.3f}", pooled, verdict, expected))
        return out

    return check


def _source_check(key: str, source: str, metric: str, expected: int, attacks: Sequence[str],
                  names: Sequence[str] | None = None) -> Callable[[pd.DataFrame], list[dict]]:
    """One non-member source against the test non-members on the standard model (e.g. the
    FPR on generated images against the FPR on real test images); per replicate, pooled.
    Both rest on the same members and threshold, so the unpaired error is the cautious one."""

    def check(table: pd.DataFrame) -> list[dict]:
        out = []
        for arch in _architectures(table, None, names):
            for attack in attacks:
                eq = dict(architecture=arch, variant="standard", attack=attack, metric=metric)
                test, other = _per_replicate(table, **eq, source="test"), _per_replicate(table, **eq, source=source)
                if test is None or other is None:
                    continue
                reps = test.index.intersection(other.index)
                deltas = (other.value[reps] - test.value[reps]).to_numpy()
                ses = [vd.difference_se(a, b) for a, b in zip(other.se[reps], test.se[reps])]
                pooled = vd.pool(deltas, ses)
                verdict = _gated(pooled.direction(expected), _attack_works(table, arch, "standard", attack))
                out.append(_row(key, arch, attack, metric,
                                f"{metric}: test {test.value[reps].mean():.3f}, {source} {other.value[reps].mean():.3f}",
                                pooled, verdict, expected))
        return out

    return check


def _both(*checks: Callable[[pd.DataFrame], list[dict]]) -> Callable[[pd.DataFrame], list[dict]]:
    return lambda table: [row for c in checks for row in c(table)]


RELU = ("relu", "leaky_relu")
CLAIMS: tuple[Claim, ...] = (
    Claim("recall_above_precision", "On the target's own test data, recall is above precision: the attacks "
          "flag many non-members.", "Table 1, Q1", "every architecture; entropy and max-score attacks",
          recall_above_precision),
    Claim("scaled_inputs_are_members", "Inputs scaled by a large factor are called members by the max-score "
          "attack: FPR of at least 0.9.", "Theorem 1, Figure 3", "ReLU networks, max-score attack",
          _level_check("scaled_inputs_are_members", ("scaled",), "fpr", 0.9, ("max_score",), RELU)),
    Claim("stl10_fpr_above_30", "At least 30 percent of STL-10 images (or the offline stand-in, natural-photo "
          "crops) are called members.", "Figure 3", "every architecture; entropy and max-score attacks",
          _level_check("stl10_fpr_above_30", STL10_SOURCES, "fpr", 0.3, THRESHOLD_ATTACKS, None)),
    Claim("fakes_flagged_like_test", "Generated images are called members more often than the target's own "
          "test images (the paper: 55.0 against 46.4 percent for its CIFAR-10 SalemCNN).", "Figure 3, Q2",
          "the paper's CIFAR-10 architectures (its Stanford Dogs ResNet-50 flags fakes less often); entropy and "
          "max-score attacks. The paper's StyleGAN2 saw the target's training images; the book's generator "
          "sees only the attacker's own data.",
          _source_check("fakes_flagged_like_test", "fake", "fpr", +1, THRESHOLD_ATTACKS,
                        names=("salem_cnn", "resnet18", "efficientnet_b0"))),
    Claim("ls_lowers_ood_fpr", "Label smoothing lowers the FPR on non-member sources other than the test set.",
          "Figure 3, Q3", "ReLU networks (on the paper's EfficientNet-B0 it rises); entropy and max-score attacks",
          _change_check("ls_lowers_ood_fpr", "label_smoothing", "fpr", -1, THRESHOLD_ATTACKS, ood=True,
                        activations=RELU),
          variants=("standard", "label_smoothing")),
    Claim("ls_raises_auroc", "Label smoothing raises the attacks' AUROC.", "Table 2, Q3",
          "every architecture and attack", _change_check("ls_raises_auroc", "label_smoothing", "auroc", +1),
          variants=("standard", "label_smoothing")),
    Claim("ls_raises_precision", "Label smoothing raises the attacks' precision.", "Table 2, Q3",
          "ReLU networks (on the paper's EfficientNet-B0 it falls); entropy and max-score attacks",
          _change_check("ls_raises_precision", "label_smoothing", "precision", +1, THRESHOLD_ATTACKS,
                        activations=RELU),
          variants=("standard", "label_smoothing")),
    Claim("la_lowers_ood_fpr", "The Laplace approximation lowers the FPR on non-member sources other than the "
          "test set.", "Figure 3, Q3", "the ResNets; entropy and max-score attacks",
          _change_check("la_lowers_ood_fpr", "laplace", "fpr", -1, THRESHOLD_ATTACKS, ood=True,
                        names=("resnet18", "resnet50")),
          variants=("standard", "laplace")),
    Claim("temperature_lowers_auroc", "Temperature scaling (T = 10) lowers the AUROC of the entropy and "
          "max-score attacks (the paper: no effect on top-3).", "Table 2, Q4",
          "ReLU networks (on the paper's EfficientNet-B0 the max-score change is within its noise), entropy "
          "and max-score attacks",
          _change_check("temperature_lowers_auroc", "temperature", "auroc", -1, ("entropy", "max_score"),
                        activations=RELU),
          variants=("standard", "temperature")),
    Claim("l2_lowers_auroc", "L2 regularisation lowers the attacks' AUROC.", "Table 2, Q4",
          "every architecture and attack", _change_check("l2_lowers_auroc", "l2", "auroc", -1),
          variants=("standard", "l2")),
    Claim("l2_lowers_precision_and_recall", "L2 regularisation lowers the precision and the recall of the "
          "entropy and max-score attacks.", "Table 2, Q4", "every architecture; entropy and max-score attacks",
          _both(_change_check("l2_lowers_precision_and_recall", "l2", "precision", -1, ("entropy", "max_score")),
                _change_check("l2_lowers_precision_and_recall", "l2", "recall", -1, ("entropy", "max_score"))),
          variants=("standard", "l2")),
)
CLAIM_KEYS = tuple(c.key for c in CLAIMS)


def check_claims(table: pd.DataFrame, claims: Sequence[Claim] = CLAIMS) -> pd.DataFrame:
    """Every claim's rows on a results table: claim, architecture, attack, metric, detail,
    the pooled change or level (``measured``), its standard error and degrees of freedom,
    the replicates' own values, the p-value of a change the wrong way, and the verdict.

    A table without a ``replicate`` column is one run. Within each claim, a row *does not
    hold* only when Holm's correction over the claim's rows keeps it
    (:func:`helpers.verdicts.holm_fails`); an uncorrected wrong-way row is inconclusive.
    """
    if "replicate" not in table.columns:
        table = table.assign(replicate=0)
    missing = set(RESULT_COLUMNS) - set(table.columns)
    if missing:
        raise ValueError(f"the results table lacks columns {sorted(missing)}; allowed: a table with {list(RESULT_COLUMNS)}")
    if not (table.metric == GAP_METRIC).any():
        table = pd.concat([table, _unpaired_gap(table)], ignore_index=True)
    rows = []
    for c in claims:
        found = c.check(table)
        corrected = vd.holm_corrected([r["verdict"] for r in found], [r["p_wrong_way"] for r in found])
        rows += [{**r, "verdict": v} for r, v in zip(found, corrected)]
    return pd.DataFrame(rows, columns=list(ROW_COLUMNS))


def claim_verdicts(ev: AttackEvaluation, sources: Mapping[str, object],
                   keys: Sequence[str] | None = None) -> pd.DataFrame:
    """The rows of the claims ``keys`` (default: all) on every training replicate of ``ev``'s
    experiment, with the non-member ``sources`` given: the one place chapters get a verdict
    from, so two chapters cannot judge one claim differently."""
    unknown = sorted(set(keys or ()) - set(CLAIM_KEYS))
    if unknown:
        raise ValueError(f"parameter 'keys' has unknown claims {unknown}; allowed: {list(CLAIM_KEYS)}")
    chosen = [c for c in CLAIMS if keys is None or c.key in keys]
    variants = list(dict.fromkeys(v for c in chosen for v in c.variants))
    return check_claims(results_from_replicates(ev, sources, variants), chosen)


def claim_summary(rows: pd.DataFrame, claims: Sequence[Claim] = CLAIMS) -> pd.DataFrame:
    """One row per claim: statement, place in the paper, scope, rows checked, and the
    combined verdict (:func:`helpers.verdicts.combine`; ``not checked`` without rows)."""
    out = []
    for c in claims:
        r = rows[rows.claim == c.key]
        out.append({"key": c.key, "claim": c.statement, "paper": c.where_in_paper, "scope": c.scope,
                    "checked": len(r), "holds": int((r.verdict == vd.HOLDS).sum()),
                    "verdict": "not checked" if r.empty else vd.combine(r.verdict)})
    return pd.DataFrame(out).set_index("key")


def support(rows: pd.DataFrame) -> pd.DataFrame:
    """Each row on one scale for plots: how far the pooled value and each replicate's value
    lie on the claim's side of its boundary (``(value - threshold) * expected``; positive
    supports the claim), with the one-sided 95 % margin of the pooled value."""
    out = rows[["claim", "architecture", "attack", "metric", "verdict"]].copy()
    sign, threshold = rows.expected.to_numpy(), rows.threshold.to_numpy()
    out["pooled"] = (rows.measured.to_numpy() - threshold) * sign
    out["margin"] = [vd.quantile(df) * se for df, se in zip(rows.df, rows.se)]
    out["replicates"] = [tuple((np.asarray(v) - t) * e) for v, t, e in zip(rows.replicates, threshold, sign)]
    return out


def verdict_of(rows: pd.DataFrame, key: str, architecture: str | None = None) -> str:
    """The combined verdict of one claim (optionally for one architecture) from check rows."""
    r = rows[rows.claim == key]
    if architecture is not None:
        r = r[r.architecture == architecture]
    return "not checked" if r.empty else vd.combine(r.verdict)
