"""The paper's claims as checks: consistent verdicts, and Theorem 1 on the embedded default."""

import pytest

from helpers.claims import CLAIMS, check_claims, claim_summary
from helpers.evaluation import AttackEvaluation
from helpers.experiment import Experiment
from helpers.sources import nonmember_set


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    exp = Experiment("quick", progress=False, architectures=["salem_cnn"], epochs=5,
                     cache_dir=str(tmp_path_factory.mktemp("cache")))
    ev = AttackEvaluation(exp)
    return check_claims(ev, {"test": None, "scaled": nonmember_set(exp, "scaled")})


def test_every_claim_is_checked_with_boolean_verdicts(results):
    assert set(results.claim) == {c.key for c in CLAIMS}
    assert results.holds.map(type).eq(bool).all()


def test_summary_verdict_matches_the_rows(results):
    summary = claim_summary(results)
    for claim, row in zip(CLAIMS, summary.itertuples()):
        rows = results[results.claim == claim.key]
        expected = "holds" if rows.holds.all() else "partly" if rows.holds.any() else "does not hold"
        assert row.verdict == expected
        assert row.checked == len(rows)


def test_scaled_inputs_are_members_on_the_default(results):
    scaled = results[results.claim == "scaled_inputs_are_members"]
    assert len(scaled) == 1 and scaled.holds.all()
    assert scaled.measured.iloc[0] >= 0.95
