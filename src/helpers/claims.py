"""The paper's claims as checks that run on any profile.

Each check returns tidy rows (one per architecture, attack, source where relevant) with
what the paper reported, what this run measured, and whether the claim holds here. The
reproduction report (chapter 7) prints them; tests use them on the embedded default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from .evaluation import ATTACK_NAMES, AttackEvaluation


@dataclass(frozen=True)
class Claim:
    """One statement of the paper and the function that checks it on a run."""

    key: str
    statement: str
    where_in_paper: str
    check: Callable[["ClaimContext"], pd.DataFrame]


@dataclass
class ClaimContext:
    """What the checks need: the evaluation and the non-member sets to use."""

    ev: AttackEvaluation
    sources: dict  # name -> NonMemberSet (OOD and transformed sources, not 'test')

    @property
    def architectures(self) -> Sequence[str]:
        return self.ev.exp.profile.architectures

    def tidy(self, variant: str) -> pd.DataFrame:
        """Every attack x architecture x source (incl. 'test') for one variant."""
        frames = [self.ev.evaluate(a, variant) for a in self.architectures]
        for name, nm in self.sources.items():
            frames += [self.ev.evaluate(a, variant, source=name, nonmember_x=nm.x) for a in self.architectures]
        return pd.concat(frames, ignore_index=True)


def _rows(records: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(records, columns=["claim", "architecture", "attack", "detail", "measured", "holds"])


def _recall_above_precision(ctx: ClaimContext) -> pd.DataFrame:
    out = []
    for arch in ctx.architectures:
        rep = ctx.ev.evaluate(arch, "standard").set_index("attack")
        for attack in ATTACK_NAMES:
            p, r = rep.loc[attack, "precision"], rep.loc[attack, "recall"]
            out.append(dict(claim="recall_above_precision", architecture=arch, attack=attack,
                            detail=f"precision {p:.3f}, recall {r:.3f}", measured=r - p, holds=bool(r > p)))
    return _rows(out)


def _scaled_fpr(ctx: ClaimContext) -> pd.DataFrame:
    out = []
    if "scaled" not in ctx.sources:
        return _rows(out)
    for arch in ctx.architectures:
        rep = ctx.ev.evaluate(arch, "standard", source="scaled", nonmember_x=ctx.sources["scaled"].x)
        fpr = float(rep.set_index("attack").loc["max_score", "fpr"])
        out.append(dict(claim="scaled_inputs_are_members", architecture=arch, attack="max_score",
                        detail=f"FPR on scaled inputs {fpr:.3f}", measured=fpr, holds=bool(fpr >= 0.95)))
    return _rows(out)


def _fp_mmps_above_tn(ctx: ClaimContext) -> pd.DataFrame:
    tidy = ctx.tidy("standard")
    out = []
    for (arch, attack), g in tidy.groupby(["architecture", "attack"]):
        g = g.dropna(subset=["mmps_fp", "mmps_tn"])
        if g.empty:
            continue
        share = float((g["mmps_fp"] > g["mmps_tn"]).mean())
        out.append(dict(claim="false_positives_have_high_scores", architecture=arch, attack=attack,
                        detail=f"MMPS(FP) > MMPS(TN) on {int(round(share * len(g)))} of {len(g)} sources",
                        measured=share, holds=bool(share == 1.0)))
    return _rows(out)


def _variant_vs_standard(variant: str, metric: str, direction: int, claim: str,
                         ood_only: bool = False) -> Callable[[ClaimContext], pd.DataFrame]:
    def check(ctx: ClaimContext) -> pd.DataFrame:
        out = []
        base, other = ctx.tidy("standard"), ctx.tidy(variant)
        if ood_only:
            base, other = base[base.source != "test"], other[other.source != "test"]
        else:
            base, other = base[base.source == "test"], other[other.source == "test"]
        for arch in ctx.architectures:
            for attack in ATTACK_NAMES:
                b = base[(base.architecture == arch) & (base.attack == attack)][metric].mean()
                v = other[(other.architecture == arch) & (other.attack == attack)][metric].mean()
                if not (np.isfinite(b) and np.isfinite(v)):
                    continue
                what = "mean over non-test sources" if ood_only else "test non-members"
                out.append(dict(claim=claim, architecture=arch, attack=attack,
                                detail=f"{metric} ({what}): standard {b:.3f} -> {variant} {v:.3f}",
                                measured=v - b, holds=bool(np.sign(v - b) == direction)))
        return _rows(out)

    return check


CLAIMS: tuple[Claim, ...] = (
    Claim("recall_above_precision", "On the target's own test data, recall is clearly above precision: "
          "the attacks flag many non-members.", "Table 1, Q1", _recall_above_precision),
    Claim("scaled_inputs_are_members", "Inputs scaled by a large factor are called members "
          "(FPR close to 1) by the max-score attack on ReLU networks.", "Theorem 1, Figure 3",
          _scaled_fpr),
    Claim("false_positives_have_high_scores", "False positives have a much higher mean maximum "
          "score than true negatives: the attacks key on the maximum score.", "Table 3, Q2",
          _fp_mmps_above_tn),
    Claim("ls_lowers_ood_fpr", "Label smoothing lowers the FPR on non-member sources.",
          "Figure 3, Q3", _variant_vs_standard("label_smoothing", "fpr", -1, "ls_lowers_ood_fpr", True)),
    Claim("ls_raises_auroc", "Label smoothing raises the attacks' AUROC.", "Table 2, Q3",
          _variant_vs_standard("label_smoothing", "auroc", +1, "ls_raises_auroc")),
    Claim("la_lowers_ood_fpr", "The Laplace approximation lowers the FPR on non-member sources.",
          "Figure 3, Q3", _variant_vs_standard("laplace", "fpr", -1, "la_lowers_ood_fpr", True)),
    Claim("temperature_lowers_auroc", "Temperature scaling (T = 10) lowers the attacks' AUROC.",
          "Table 2, Q4", _variant_vs_standard("temperature", "auroc", -1, "temperature_lowers_auroc")),
    Claim("l2_lowers_auroc", "L2 regularisation lowers the attacks' AUROC.", "Table 2, Q4",
          _variant_vs_standard("l2", "auroc", -1, "l2_lowers_auroc")),
)


def check_claims(ev: AttackEvaluation, sources: dict, claims: Sequence[Claim] = CLAIMS) -> pd.DataFrame:
    """Run every claim's check; one tidy row per architecture x attack (x detail)."""
    ctx = ClaimContext(ev, {k: v for k, v in sources.items() if k != "test"})
    frames = [c.check(ctx) for c in claims]
    return pd.concat([f for f in frames if not f.empty], ignore_index=True)


def claim_summary(results: pd.DataFrame, claims: Sequence[Claim] = CLAIMS) -> pd.DataFrame:
    """One row per claim: the statement, where it is in the paper, and how often it holds."""
    rows = []
    for c in claims:
        r = results[results.claim == c.key]
        rows.append({"claim": c.statement, "paper": c.where_in_paper,
                     "holds": int(r.holds.sum()), "checked": len(r),
                     "verdict": "not checked" if r.empty else "holds" if r.holds.all()
                     else "partly" if r.holds.any() else "does not hold"})
    return pd.DataFrame(rows)
