"""The paper's claims as checks on a tidy results table, from any origin.

A *results table* has one row per architecture, variant, non-member source, attack and
metric, with the measured ``value`` and its standard error ``se``, and the architecture's
``activation``. :func:`results_from_evaluation` builds it from this book's runs (standard
errors by bootstrap over the evaluation samples), :func:`results_from_paper` from the
paper's published result files (standard errors from the number of samples they rest on).
The same checks then run on both, so every claim is validated on the paper's own numbers
(a test requires each to hold there, scoped as the paper scopes it) before it judges a run.

Every verdict comes from :mod:`helpers.verdicts`: *holds* only when the measured change or
level is beyond its one-sided 95 % noise margin, *does not hold* when it is beyond the
margin the other way, *inconclusive* otherwise. Chapters 5, 6 and 7 all read their verdicts
from here.
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

RESULT_COLUMNS = ("architecture", "activation", "variant", "source", "attack", "metric", "value", "se")
METRICS = ("precision", "recall", "fpr", "auroc")
ATTACKS = ("entropy", "max_score", "top3")
# Claims on hard decisions (precision, recall, FPR) are checked on the two threshold attacks:
# their standard errors include where the attacker puts its threshold (a refit per bootstrap
# replicate). The top-3 attack decides with a small neural network whose refitting noise the
# book does not estimate, so its precision, recall and FPR get no verdict.
THRESHOLD_ATTACKS = ("entropy", "max_score")
ROW_COLUMNS = ("claim", "architecture", "attack", "detail", "measured", "se", "verdict")
_PAPER_N = {"cifar10": 2500, "stanford_dogs": 2058}  # members = non-members per model
STL10_SOURCES = ("stl10", "natural-patches")  # the paper's STL-10, else its offline stand-in


# ----------------------------------------------------------------------------- tables
def results_from_evaluation(ev: AttackEvaluation, sources: Mapping[str, object],
                            variants: Sequence[str] | None = None) -> pd.DataFrame:
    """This run's results table: every architecture x variant x source (``test`` and each
    non-member set in ``sources``) x attack x metric, with bootstrap standard errors."""
    frames = []
    for arch in ev.exp.profile.architectures:
        for variant in variants or ALL_VARIANTS:
            frames.append(ev.evaluate(arch, variant))
            for name, nm in sources.items():
                if name != "test":
                    frames.append(ev.evaluate(arch, variant, source=name, nonmember_x=nm.x))
    wide = pd.concat(frames, ignore_index=True)
    rows = []
    for metric in METRICS:
        part = wide[["architecture", "variant", "source", "attack", metric, f"se_{metric}"]]
        rows.append(part.rename(columns={metric: "value", f"se_{metric}": "se"}).assign(metric=metric))
    table = pd.concat(rows, ignore_index=True)
    table["activation"] = [effective_activation(a, ev.exp.profile.activation) for a in table.architecture]
    return table[list(RESULT_COLUMNS)]


def _analytic_se(metric: str, value: float, recall: float, fpr: float, n: int) -> float:
    if metric == "auroc":
        return vd.auroc_se(value, n, n)
    if metric == "precision":  # a proportion of the predicted members
        return vd.proportion_se(value, max(1, int(round((recall + fpr) * n))))
    return vd.proportion_se(value, n)


def results_from_paper() -> pd.DataFrame:
    """The paper's results as a results table; standard errors from its sample sizes
    (2,500 members and non-members per CIFAR-10 model, 2,058 for Stanford Dogs)."""
    raw = paper_attack_results()
    raw = raw[raw.metric.isin(list(PAPER_METRICS))].assign(metric=lambda d: d.metric.map(PAPER_METRICS))
    wide = raw.pivot_table(index=["dataset", "architecture", "variant", "source_key", "attack"],
                           columns="metric", values="value").reset_index()
    rows = []
    for r in wide.itertuples(index=False):
        n = _PAPER_N[r.dataset]
        for metric in METRICS:
            value = getattr(r, metric)
            rows.append({"architecture": r.architecture, "activation": effective_activation(r.architecture, "relu"),
                         "variant": r.variant, "source": r.source_key, "attack": r.attack, "metric": metric,
                         "value": value, "se": _analytic_se(metric, value, r.recall, r.fpr, n)})
    return pd.DataFrame(rows, columns=list(RESULT_COLUMNS))


# ----------------------------------------------------------------------------- checks
@dataclass(frozen=True)
class Claim:
    """One statement of the paper, where it is, to what it applies, and its check."""

    key: str
    statement: str
    where_in_paper: str
    scope: str
    check: Callable[[pd.DataFrame], list[dict]]


def _select(table: pd.DataFrame, **equal) -> pd.DataFrame:
    mask = np.ones(len(table), bool)
    for column, value in equal.items():
        values = value if isinstance(value, (list, tuple, set)) else [value]
        mask &= table[column].isin(list(values)).to_numpy()
    return table[mask]


def _one(table: pd.DataFrame, **equal) -> tuple[float, float] | None:
    part = _select(table, **equal)
    if part.empty:
        return None
    return float(part.value.iloc[0]), float(part.se.iloc[0])


def _row(claim: str, arch: str, attack: str, detail: str, measured: float, se: float, verdict: str) -> dict:
    return dict(claim=claim, architecture=arch, attack=attack, detail=detail, measured=measured, se=se, verdict=verdict)


def _attack_works(table: pd.DataFrame, arch: str, variant: str, attack: str) -> bool:
    """Whether the attack separates members from test non-members beyond its noise margin.

    Precision, recall and FPR depend on a threshold the attacker fits on shadow data; when
    the attack cannot tell members from non-members (AUROC about 0.5), that threshold is
    arbitrary and so is every comparison of hard decisions. Such rows are inconclusive.
    """
    got = _one(table, architecture=arch, variant=variant, source="test", attack=attack, metric="auroc")
    return got is not None and vd.at_least(got[0], got[1], 0.5) == vd.HOLDS


def _architectures(table: pd.DataFrame, activations: Sequence[str] | None, names: Sequence[str] | None) -> list[str]:
    part = table if activations is None else table[table.activation.isin(list(activations))]
    archs = sorted(part.architecture.unique())
    return [a for a in archs if names is None or a in names]


def recall_above_precision(table: pd.DataFrame) -> list[dict]:
    out = []
    for arch in _architectures(table, None, None):
        for attack in THRESHOLD_ATTACKS:
            p = _one(table, architecture=arch, variant="standard", source="test", attack=attack, metric="precision")
            r = _one(table, architecture=arch, variant="standard", source="test", attack=attack, metric="recall")
            if p is None or r is None:
                continue
            delta, se = r[0] - p[0], vd.difference_se(r[1], p[1])
            verdict = vd.direction(delta, se, +1) if _attack_works(table, arch, "standard", attack) else vd.INCONCLUSIVE
            out.append(_row("recall_above_precision", arch, attack, f"precision {p[0]:.3f}, recall {r[0]:.3f}",
                            delta, se, verdict))
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
                got = _one(table, architecture=arch, variant="standard", source=source, attack=attack, metric=metric)
                if got is not None:
                    verdict = vd.at_least(got[0], got[1], threshold)
                    if verdict == vd.HOLDS and not _attack_works(table, arch, "standard", attack):
                        verdict = vd.INCONCLUSIVE
                    out.append(_row(key, arch, attack, f"{metric} on {source} {got[0]:.3f} (claim: at least {threshold:g})",
                                    got[0], got[1], verdict))
        return out

    return check


def _change_check(key: str, variant: str, metric: str, expected: int, attacks: Sequence[str] = ATTACKS,
                  ood: bool = False, activations: Sequence[str] | None = None,
                  names: Sequence[str] | None = None) -> Callable[[pd.DataFrame], list[dict]]:
    """A variant against the standard model: on the test split, or averaged over every
    other source that both have (``ood``)."""

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
                if not shared:
                    continue
                b = base.set_index("source").loc[shared]
                v = new.set_index("source").loc[shared]
                delta = float(v.value.mean() - b.value.mean())
                se = vd.difference_se(vd.mean_se(b.se), vd.mean_se(v.se))
                where = f"mean over {len(shared)} non-test sources" if ood else "test non-members"
                verdict = vd.direction(delta, se, expected)
                if metric != "auroc" and not _attack_works(table, arch, "standard", attack):
                    verdict = vd.INCONCLUSIVE  # hard decisions of an attack that does not work
                out.append(_row(key, arch, attack,
                                f"{metric} ({where}): standard {b.value.mean():.3f} -> {variant} {v.value.mean():.3f}",
                                delta, se, verdict))
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
    Claim("ls_lowers_ood_fpr", "Label smoothing lowers the FPR on non-member sources other than the test set.",
          "Figure 3, Q3", "ReLU networks (on the paper's EfficientNet-B0 it rises); entropy and max-score attacks",
          _change_check("ls_lowers_ood_fpr", "label_smoothing", "fpr", -1, THRESHOLD_ATTACKS, ood=True,
                        activations=RELU)),
    Claim("ls_raises_auroc", "Label smoothing raises the attacks' AUROC.", "Table 2, Q3",
          "every architecture and attack", _change_check("ls_raises_auroc", "label_smoothing", "auroc", +1)),
    Claim("ls_raises_precision", "Label smoothing raises the attacks' precision.", "Table 2, Q3",
          "ReLU networks (on the paper's EfficientNet-B0 it falls); entropy and max-score attacks",
          _change_check("ls_raises_precision", "label_smoothing", "precision", +1, THRESHOLD_ATTACKS,
                        activations=RELU)),
    Claim("la_lowers_ood_fpr", "The Laplace approximation lowers the FPR on non-member sources other than the "
          "test set.", "Figure 3, Q3", "the ResNets; entropy and max-score attacks",
          _change_check("la_lowers_ood_fpr", "laplace", "fpr", -1, THRESHOLD_ATTACKS, ood=True,
                        names=("resnet18", "resnet50"))),
    Claim("temperature_lowers_auroc", "Temperature scaling (T = 10) lowers the AUROC of the entropy and "
          "max-score attacks (the paper: no effect on top-3).", "Table 2, Q4",
          "ReLU networks (on the paper's EfficientNet-B0 the max-score change is within its noise), entropy "
          "and max-score attacks",
          _change_check("temperature_lowers_auroc", "temperature", "auroc", -1, ("entropy", "max_score"),
                        activations=RELU)),
    Claim("l2_lowers_auroc", "L2 regularisation lowers the attacks' AUROC.", "Table 2, Q4",
          "every architecture and attack", _change_check("l2_lowers_auroc", "l2", "auroc", -1)),
    Claim("l2_lowers_precision_and_recall", "L2 regularisation lowers the precision and the recall of the "
          "entropy and max-score attacks.", "Table 2, Q4", "every architecture; entropy and max-score attacks",
          _both(_change_check("l2_lowers_precision_and_recall", "l2", "precision", -1, ("entropy", "max_score")),
                _change_check("l2_lowers_precision_and_recall", "l2", "recall", -1, ("entropy", "max_score")))),
)
CLAIM_KEYS = tuple(c.key for c in CLAIMS)


def check_claims(table: pd.DataFrame, claims: Sequence[Claim] = CLAIMS) -> pd.DataFrame:
    """Every claim's rows on a results table: claim, architecture, attack, detail, the
    measured change or level, its standard error and the verdict."""
    missing = set(RESULT_COLUMNS) - set(table.columns)
    if missing:
        raise ValueError(f"the results table lacks columns {sorted(missing)}; allowed: a table with {list(RESULT_COLUMNS)}")
    rows = [row for c in claims for row in c.check(table)]
    return pd.DataFrame(rows, columns=list(ROW_COLUMNS))


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


def verdict_of(rows: pd.DataFrame, key: str, architecture: str | None = None) -> str:
    """The combined verdict of one claim (optionally for one architecture) from check rows."""
    r = rows[rows.claim == key]
    if architecture is not None:
        r = r[r.architecture == architecture]
    return "not checked" if r.empty else vd.combine(r.verdict)
