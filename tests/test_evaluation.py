"""Attack evaluation on a tiny experiment: shadow-fitted thresholds, variants, Laplace data."""

import numpy as np
import pytest

from helpers.config import ConfigError
from helpers.evaluation import AttackEvaluation
from helpers.variants import ALL_VARIANTS
from helpers.experiment import Experiment
from helpers.scores import scores_from_logits


@pytest.fixture(scope="module")
def ev(tmp_path_factory):
    exp = Experiment("digits", progress=False, architectures=["salem_cnn"], epochs=3,
                     cache_dir=str(tmp_path_factory.mktemp("cache")))
    return AttackEvaluation(exp)


def test_target_decisions_use_the_shadow_threshold(ev):
    attack = ev.fitted_attacks("salem_cnn", "standard")["max_score"]
    members = ev.scores("salem_cnn", "target", "standard", "target_members")
    manual = attack.membership_score(members) >= attack.threshold_
    assert np.array_equal(attack.predict(members), manual)
    shadow = ev.scores("salem_cnn", "shadow", "standard", "shadow_members")
    assert attack.shadow_tpr_ == pytest.approx(attack.predict(shadow).mean())


def test_scores_are_computed_once(ev):
    a = ev.scores("salem_cnn", "target", "standard", "target_members")
    b = ev.scores("salem_cnn", "target", "standard", "target_members")
    assert a is b


def test_every_variant_gives_a_full_table(ev):
    for variant in ALL_VARIANTS:
        table = ev.table(["salem_cnn"], variant=variant, with_calibration=True)
        assert table.notna().all().all(), variant
        assert {"ece", "oe", "max_score_auroc"} <= set(table.index)


def test_temperature_lowers_confidence(ev):
    plain = ev.scores("salem_cnn", "target", "standard", "target_nonmembers").probs.max(1)
    cooled = ev.scores("salem_cnn", "target", "temperature", "target_nonmembers").probs.max(1)
    assert cooled.mean() < plain.mean()


def test_an_evaluation_can_carry_its_own_temperature_on_the_same_models(ev):
    own = AttackEvaluation(ev.exp, temperature=2.5)
    logits = ev.scores("salem_cnn", "target", "standard", "target_nonmembers").logits
    expected = scores_from_logits(logits, temperature=2.5).probs
    got = own.scores("salem_cnn", "target", "temperature", "target_nonmembers").probs
    assert np.allclose(got, expected)
    assert own.exp.model("salem_cnn", "target", "standard") is ev.exp.model("salem_cnn", "target", "standard")
    default = ev.evaluate("salem_cnn", "temperature")
    assert not default.equals(own.evaluate("salem_cnn", "temperature"))  # not served from T=10's report
    for bad in (0, -1.0, float("nan"), "10"):
        with pytest.raises(ConfigError, match="parameter 'temperature'"):
            AttackEvaluation(ev.exp, temperature=bad)


def test_laplace_never_sees_evaluation_nonmembers(ev):
    fitted = ev.laplace("salem_cnn", "target").fitted_on
    assert fitted["hessian"]["key"] == "target_train"
    assert fitted["prior"]["key"] == "calibration"
    assert "target_nonmembers" in fitted["forbidden_checked"]
    splits = ev.exp.splits
    assert not set(splits["calibration"]) & set(splits["target_nonmembers"])


def test_laplace_prior_is_cached_and_gives_the_same_posterior(ev):
    first = ev.laplace("salem_cnn", "shadow")
    again = AttackEvaluation(ev.exp).laplace("salem_cnn", "shadow")  # a new evaluation: no memo
    assert not first.fitted_on["prior_reused"] and again.fitted_on["prior_reused"]
    np.testing.assert_array_equal(again.prior_precision, first.prior_precision)
    x, _ = ev.exp.input_set("shadow_nonmembers")
    np.testing.assert_allclose(again.predict_proba(x[:64]), first.predict_proba(x[:64]), rtol=0, atol=1e-12)
    for entry in (ev.exp.cache_dir / "derived").glob("laplace-prior-*.json"):
        entry.write_text("{not json")  # a damaged entry: the search runs again
    assert not AttackEvaluation(ev.exp).laplace("salem_cnn", "shadow").fitted_on["prior_reused"]


def test_bad_variant_and_missing_source_are_named(ev):
    with pytest.raises(ConfigError, match="'variant' has value 'dropout'"):
        ev.scores("salem_cnn", "target", "dropout", "target_members")
    with pytest.raises(ConfigError, match="'nonmember_x' is missing"):
        ev.evaluate("salem_cnn", "standard", source="svhn")


def test_reports_are_stored_and_served_to_a_later_evaluation(tmp_path):
    """A second evaluation of the same models and inputs (another chapter, a re-run) reads
    the stored table: the same numbers, and no attack is fitted again."""
    import pandas as pd

    exp = Experiment("digits", progress=False, architectures=["salem_cnn"], epochs=3, cache_dir=str(tmp_path))
    first = AttackEvaluation(exp).evaluate("salem_cnn", "temperature")
    again = AttackEvaluation(exp)
    second = again.evaluate("salem_cnn", "temperature")
    pd.testing.assert_frame_equal(first, second, check_dtype=False)
    assert not again._attacks  # nothing was refitted
    other_rule = AttackEvaluation(exp, rule="paper").evaluate("salem_cnn", "temperature")
    assert list((tmp_path / "derived").glob("report-*.json")) and len(list((tmp_path / "derived").glob("report-*.json"))) == 2
    assert other_rule.shape == first.shape
