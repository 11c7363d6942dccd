"""The paper's claims as checks: validated on the paper's own numbers, unable to hold on
data where they must not, and one verdict rule for every chapter."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import verdicts as vd
from helpers.attacks import make_attacks
from helpers.claims import CLAIMS, RESULT_COLUMNS, check_claims, claim_summary, results_from_paper, verdict_of
from helpers.metrics import evaluate_attacks
from helpers.scores import scores_from_logits

CHAPTERS = Path(__file__).resolve().parents[1] / "book" / "chapters"
DIRECTIONAL = {"recall_above_precision", "fakes_flagged_like_test", "ls_lowers_ood_fpr", "ls_raises_auroc", "ls_raises_precision",
               "la_lowers_ood_fpr", "temperature_lowers_auroc", "l2_lowers_auroc", "l2_lowers_precision_and_recall"}
VARIANTS = ("standard", "label_smoothing", "laplace", "temperature", "l2")


def test_every_claim_holds_on_the_papers_own_numbers_as_scoped():
    rows = check_claims(results_from_paper())
    summary = claim_summary(rows)
    assert set(summary.index) == {c.key for c in CLAIMS}
    assert (summary.checked > 0).all()
    failing = rows[rows.verdict != vd.HOLDS]
    assert failing.empty, failing.to_string()
    assert (summary.verdict == vd.HOLDS).all()


def _synthetic_table(rng: np.random.Generator, n: int = 400, member_shift: float = 0.0,
                     same_models: bool = False) -> pd.DataFrame:
    """A results table from the library's own attack path on synthetic logits: members and
    non-members drawn from one distribution (plus ``member_shift`` on the members' top logit)."""
    def logits(size, shift=0.0):
        z = rng.normal(0, 2, size=(size, 10))
        z[:, 0] += 3 + shift
        return z

    frames = []
    shared = None
    for arch, activation in (("salem_cnn", "relu"), ("resnet18", "relu"), ("efficientnet_b0", "silu")):
        for variant in VARIANTS:
            if same_models and shared is not None:
                draw = shared
            else:
                draw = {k: logits(n, member_shift if "members" in k and "non" not in k else 0.0)
                        for k in ("shadow_members", "shadow_nonmembers", "members", "test", "scaled", "stl10", "fake")}
                shared = draw
            s = {k: scores_from_logits(v) for k, v in draw.items()}
            attacks = {name: a.fit(s["shadow_members"], s["shadow_nonmembers"])
                       for name, a in make_attacks(seed=0).items()}
            for source in ("test", "scaled", "stl10", "fake"):
                frames.append(evaluate_attacks(attacks, s["members"], s[source], architecture=arch,
                                               variant=variant, source=source).assign(activation=activation))
    wide = pd.concat(frames, ignore_index=True)
    parts = [wide[["architecture", "activation", "variant", "source", "attack", m, f"se_{m}"]]
             .rename(columns={m: "value", f"se_{m}": "se"}).assign(metric=m) for m in ("precision", "recall", "fpr", "auroc")]
    return pd.concat(parts, ignore_index=True).assign(replicate=0)[list(RESULT_COLUMNS)]


@pytest.mark.parametrize("seed", range(3))
def test_no_directional_claim_holds_when_members_and_nonmembers_share_a_distribution(seed):
    rows = check_claims(_synthetic_table(np.random.default_rng(seed)))
    for key in DIRECTIONAL:
        assert verdict_of(rows, key) != vd.HOLDS, (key, rows[rows.claim == key].to_string())
    # a random attack's threshold is arbitrary: scaled inputs are not reliably called members
    assert verdict_of(rows, "scaled_inputs_are_members") != vd.HOLDS


def test_a_variant_equal_to_the_standard_model_gives_no_direction():
    rows = check_claims(_synthetic_table(np.random.default_rng(7), member_shift=2.0, same_models=True))
    for key in DIRECTIONAL - {"recall_above_precision"}:
        assert set(rows[rows.claim == key].verdict) == {vd.INCONCLUSIVE}, key


def test_level_claims_fail_below_their_threshold():
    table = results_from_paper()
    low = table.copy()
    low.loc[low.metric == "fpr", "value"] = 0.05
    rows = check_claims(low)
    assert verdict_of(rows, "scaled_inputs_are_members") == vd.FAILS
    assert verdict_of(rows, "stl10_fpr_above_30") == vd.FAILS


def test_shuffling_the_variants_breaks_the_directional_claims():
    """Swap standard and label smoothing in the paper's table: the LS claims must fail."""
    table = results_from_paper()
    swapped = table.copy()
    swapped.loc[table.variant == "standard", "variant"] = "label_smoothing"
    swapped.loc[table.variant == "label_smoothing", "variant"] = "standard"
    rows = check_claims(swapped)
    for key in ("ls_raises_auroc", "ls_lowers_ood_fpr", "ls_raises_precision"):
        assert verdict_of(rows, key) == vd.FAILS, key


def test_verdict_rule_margins():
    assert vd.direction(0.05, 0.01, +1) == vd.HOLDS
    assert vd.direction(0.01, 0.01, +1) == vd.INCONCLUSIVE
    assert vd.direction(-0.05, 0.01, +1) == vd.FAILS
    assert vd.direction(-0.05, 0.01, -1) == vd.HOLDS
    assert vd.combine([vd.HOLDS, vd.INCONCLUSIVE]) == vd.INCONCLUSIVE
    assert vd.combine([vd.HOLDS, vd.FAILS]) == vd.FAILS
    with pytest.raises(ValueError, match="expected"):
        vd.direction(0.1, 0.01, 0)


def test_auroc_se_matches_a_bootstrap_of_the_same_size():
    from helpers.metrics import auroc, bootstrap_standard_errors

    rng = np.random.default_rng(0)
    y = np.r_[np.ones(500, bool), np.zeros(500, bool)]
    score = np.r_[rng.normal(1, 1, 500), rng.normal(0, 1, 500)]
    auc = auroc(y, score)
    boot = bootstrap_standard_errors(y, score > 0.5, score, n_boot=400)["se_auroc"]
    assert abs(vd.auroc_se(auc, 500, 500) - boot) / boot < 0.2


@pytest.mark.parametrize("chapter", ["03_three_attacks.py", "04_false_positives.py", "05_calibration.py",
                                     "06_defences.py", "07_reproduction_report.py"])
def test_chapters_take_their_verdicts_from_the_one_rule(chapter):
    """Chapters 3-7 decide a claim only through helpers.claims.claim_verdicts, over every
    training run (no private tolerance, sign test or one-run verdict), so they cannot
    disagree on a claim they share."""
    text = (CHAPTERS / chapter).read_text()
    assert "claim_verdicts(" in text
    assert "results_from_evaluation(" not in text and "verdicts.direction(" not in text
    assert not re.search(r"\bTOL\s*=|np\.sign\(", text)


def test_each_claim_names_every_variant_its_check_reads():
    """claim_verdicts computes only the variants a claim declares: on the paper's table cut
    down to those variants, every claim gives the same rows as on the whole table."""
    table = results_from_paper()
    full = check_claims(table)
    for claim in CLAIMS:
        cut = check_claims(table[table.variant.isin(claim.variants)], [claim])
        expected = full[full.claim == claim.key].reset_index(drop=True)
        pd.testing.assert_frame_equal(cut.reset_index(drop=True), expected)


def test_replicates_pool_into_one_row_with_every_replicates_value():
    table = results_from_paper()
    shifted = table.assign(replicate=1, value=table.value + np.where(table.variant == "label_smoothing", 0.01, 0.0))
    rows = check_claims(pd.concat([table, shifted], ignore_index=True))
    one = rows[(rows.claim == "ls_raises_auroc") & (rows.architecture == "salem_cnn") & (rows.attack == "entropy")]
    assert len(one) == 1
    first, second = one.replicates.iloc[0]
    assert second == pytest.approx(first + 0.01)
    assert one.measured.iloc[0] == pytest.approx(first + 0.005)
    assert one.df.iloc[0] == 1
