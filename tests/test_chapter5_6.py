"""Chapters 5 and 6: the calibration variants behave as the chapters say they do.

A small experiment (digits profile, SalemCNN only, few epochs, temporary model cache).
"""

import numpy as np
import pytest

from helpers.calibration import (
    expected_calibration_error,
    fingerprint,
    laplace_last_layer,
    overconfidence_error,
)
from helpers.evaluation import AttackEvaluation
from helpers.variants import ALL_VARIANTS
from helpers.experiment import Experiment
from helpers.scores import scores_from_logits

ARCH = "salem_cnn"


@pytest.fixture(scope="module")
def ev(tmp_path_factory):
    exp = Experiment("digits", progress=False, architectures=[ARCH], epochs=4,
                     cache_dir=str(tmp_path_factory.mktemp("cache")))
    return AttackEvaluation(exp)


# ------------------------------------------------------------------ Laplace data hygiene
def test_laplace_prior_is_fitted_on_the_calibration_split_only(ev):
    role = "target"
    exp = ev.exp
    fitted = ev.laplace(ARCH, role).fitted_on
    x_cal, _ = exp.input_set("calibration")
    x_train, _ = exp.input_set(f"{role}_train")
    assert fitted["method"] == "gridsearch"
    assert fitted["prior"] == {"key": "calibration", "n": len(x_cal), "fingerprint": fingerprint(x_cal)}
    assert fitted["hessian"]["fingerprint"] == fingerprint(x_train)
    # neither fit used any evaluation non-members, of this model or the other one
    for split in ("target_nonmembers", "shadow_nonmembers", "target_test", "shadow_test"):
        x_eval, _ = exp.input_set(split)
        assert fitted["prior"]["fingerprint"] != fingerprint(x_eval)
        assert fitted["hessian"]["fingerprint"] != fingerprint(x_eval)
    assert f"{role}_nonmembers" in fitted["forbidden_checked"]


def test_calibration_split_is_disjoint_from_every_evaluation_split(ev):
    exp = ev.exp
    cal = set(exp.splits["calibration"].tolist())
    for split in ("target_train", "shadow_train", "target_test", "shadow_test",
                  "target_members", "target_nonmembers", "shadow_members", "shadow_nonmembers"):
        assert not cal & set(exp.splits[split].tolist()), split
    # and no calibration image is a pixel-identical copy of a target non-member
    rows = lambda x: {r.tobytes() for r in x.reshape(len(x), -1).numpy()}  # noqa: E731
    assert not rows(exp.input_set("calibration")[0]) & rows(exp.input_set("target_nonmembers")[0])


def test_laplace_refuses_evaluation_nonmembers_as_prior_data(ev):
    exp = ev.exp
    model = ev.base_model(ARCH, "target", "standard")
    x_fit, y_fit = exp.input_set("target_train")
    x_non, y_non = exp.input_set("target_nonmembers")
    with pytest.raises(ValueError, match="evaluation set 'target_nonmembers'"):
        laplace_last_layer(model, x_fit, y_fit, method="gridsearch", prior_fit_x=x_non, prior_fit_y=y_non,
                           forbidden={"target_nonmembers": x_non}, grid=(-1.0, 1.0, 3))


# ------------------------------------------------------------------ calibration tables
@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_ece_and_oe_of_every_variant_are_fractions(ev, variant):
    metrics = ev.model_metrics(ARCH, variant)  # the calibration rows of the chapters' Table 2
    for name in ("ece", "oe", "train_accuracy", "test_accuracy"):
        assert 0.0 <= metrics[name] <= 1.0, (variant, name, metrics[name])
    assert metrics["oe"] <= metrics["ece"] + 1e-12  # OE weights each positive gap by a confidence <= 1


# ------------------------------------------------------------------ temperature
def test_temperature_lowers_every_max_score_and_tends_to_uniform(ev):
    s = ev.scores(ARCH, "target", "standard", "target_nonmembers")
    temps = [0.5, 1.0, 2.0, 5.0, 10.0, 20.0]
    maxima = np.stack([scores_from_logits(s.logits, temperature=t).probs.max(1) for t in temps])
    # per input, the max score never grows with T (strictly falls unless already uniform)
    assert (np.diff(maxima, axis=0) <= 1e-12).all()
    assert maxima[-1].mean() < maxima[1].mean()
    # T -> infinity: every confidence -> 1/K, so all land in one bin and ECE -> accuracy - 1/K
    hot = scores_from_logits(s.logits, temperature=1e6).probs
    k = hot.shape[1]
    acc = float((hot.argmax(1) == s.labels).mean())
    assert acc > 1 / k
    assert expected_calibration_error(hot, s.labels) == pytest.approx(acc - 1 / k, abs=1e-3)
    assert overconfidence_error(hot, s.labels) == 0.0


def test_fixed_temperature_variant_matches_profile_temperature(ev):
    plain = ev.scores(ARCH, "target", "standard", "target_nonmembers")
    hot = ev.scores(ARCH, "target", "temperature", "target_nonmembers")
    expected = scores_from_logits(plain.logits, temperature=ev.exp.profile.temperature).probs
    np.testing.assert_allclose(hot.probs, expected, rtol=1e-6, atol=1e-9)


# ------------------------------------------------------------------ label smoothing
def test_label_smoothing_lowers_the_mean_max_score_on_test_nonmembers(ev):
    plain = ev.scores(ARCH, "target", "standard", "target_nonmembers").probs.max(1)
    smooth = ev.scores(ARCH, "target", "label_smoothing", "target_nonmembers").probs.max(1)
    assert smooth.mean() < plain.mean()
    # with factor eps the training target of the true class is 1 - eps + eps/K: LS models
    # stay clearly below a max score of 1 on average, even on their own members
    members = ev.scores(ARCH, "target", "label_smoothing", "target_members").probs.max(1)
    assert members.mean() < 1 - ev.exp.profile.label_smoothing / 2
