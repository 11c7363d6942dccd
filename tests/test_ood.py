"""OOD detectors: scores against independent computations, thresholds, blobs, filter-then-attack."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.special import logsumexp, softmax
from sklearn.covariance import LedoitWolf

from helpers.attacks import NotFittedError
from helpers.models import MLP
from helpers.ood import (
    DETECTORS,
    EnergyDetector,
    KNNDetector,
    MahalanobisDetector,
    MaxSoftmaxDetector,
    filter_then_attack,
    make_detector,
    shadow_features,
    threshold_for_keep,
)
from helpers.training import predict_logits


def labelled_features(rng: np.random.Generator, n: int = 60, d: int = 5, k: int = 3):
    y = np.arange(n) % k
    f = rng.normal(size=(n, d)) + 2.0 * np.eye(k, d)[y]
    return f, y


def naive_mahalanobis(f: np.ndarray, means: np.ndarray, cov: np.ndarray) -> np.ndarray:
    precision = np.linalg.inv(cov)
    return np.array([min(float((x - mu) @ precision @ (x - mu)) for mu in means) for x in f])


# ------------------------------------------------------------------ scores vs independent formulas
def test_energy_is_minus_logsumexp():
    z = np.random.default_rng(0).normal(size=(20, 7)) * 50  # large logits: needs a stable form
    det = EnergyDetector().fit(logits=z)
    np.testing.assert_allclose(det.ood_score(None, z), -logsumexp(z, axis=1), rtol=1e-12)
    t2 = EnergyDetector(temperature=2.0).fit(logits=z)
    expected = -2.0 * logsumexp(z / 2.0, axis=1)
    np.testing.assert_allclose(t2.ood_score(logits=z), expected, rtol=1e-12)


def test_max_softmax_is_minus_the_largest_probability():
    z = np.random.default_rng(1).normal(size=(20, 4)) * 3
    det = MaxSoftmaxDetector().fit(logits=z)
    np.testing.assert_allclose(det.ood_score(logits=z), -softmax(z, axis=1).max(axis=1), rtol=1e-12)
    assert det.ood_score(logits=z).dtype == np.float64


@pytest.mark.parametrize("covariance", ["ledoit_wolf", "empirical"])
def test_mahalanobis_matches_a_naive_computation(covariance):
    rng = np.random.default_rng(2)
    f, y = labelled_features(rng)
    means = np.stack([f[y == c].mean(0) for c in range(3)])
    centred = f - means[y]
    if covariance == "ledoit_wolf":
        cov = LedoitWolf(assume_centered=True).fit(centred).covariance_
    else:
        cov = centred.T @ centred / len(f)  # maximum-likelihood, pooled over classes
    det = MahalanobisDetector(covariance).fit(f, None, y)
    np.testing.assert_allclose(det.means_, means, rtol=1e-12)
    queries = rng.normal(size=(15, 5)) * 3
    expected = naive_mahalanobis(queries, means, cov)
    np.testing.assert_allclose(det.ood_score(queries), expected, rtol=1e-9)


def test_mahalanobis_handles_rank_deficient_features():
    rng = np.random.default_rng(3)
    f, y = labelled_features(rng, n=40, d=6)
    f[:, 4] = 0.0  # a dead unit
    f[:, 5] = f[:, 0]  # a duplicated unit
    off = f[:3].copy()
    off[:, 4] = 3.0  # leaves the subspace the in-distribution data spans
    shrunk = MahalanobisDetector("ledoit_wolf").fit(f, None, y)
    assert np.isfinite(shrunk.precision_).all()
    assert (shrunk.ood_score(off) > shrunk.ood_score(f[:3]) + 20).all()
    # the empirical estimate's pseudo-inverse ignores the direction without variance
    empirical = MahalanobisDetector("empirical").fit(f, None, y)
    np.testing.assert_allclose(empirical.ood_score(off), empirical.ood_score(f[:3]), rtol=1e-6)


def test_scaling_features_raises_the_mahalanobis_score():
    rng = np.random.default_rng(4)
    f, y = labelled_features(rng, n=90)
    det = MahalanobisDetector().fit(f, None, y)
    test, _ = labelled_features(rng, n=30)
    assert (det.ood_score(10 * test) > det.ood_score(test)).all()


def test_knn_distance_matches_brute_force():
    rng = np.random.default_rng(5)
    train, queries, k = rng.normal(size=(40, 6)), rng.normal(size=(9, 6)), 7
    det = KNNDetector(k=k).fit(train)
    a = train / np.linalg.norm(train, axis=1, keepdims=True)
    b = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    dist = np.sqrt(((b[:, None, :] - a[None, :, :]) ** 2).sum(-1))
    np.testing.assert_allclose(det.ood_score(queries), np.sort(dist, axis=1)[:, k - 1], rtol=1e-9)
    # normalisation: the norm of a feature does not matter, only its direction
    np.testing.assert_allclose(det.ood_score(5 * queries), det.ood_score(queries), rtol=1e-9)


# ------------------------------------------------------------------ thresholds
def test_threshold_for_keep_accepts_exactly_that_share():
    s = np.random.default_rng(6).permutation(100).astype(float)
    t = threshold_for_keep(s, 0.95)
    assert t == 94.0 and np.mean(s <= t) == 0.95
    t = threshold_for_keep(s, 0.56)  # 0.56 * 100 is 56.00000000000001 in floating point
    assert t == 55.0 and np.mean(s <= t) == 0.56
    assert threshold_for_keep(s, 1.0) == 99.0
    assert threshold_for_keep(s, 0.001) == 0.0


def blobs(rng: np.random.Generator, n: int):
    """Three in-distribution blobs around 6 e_c (c = 0, 1, 2) in 8 dimensions."""
    y = np.arange(n) % 3
    return rng.normal(size=(n, 8)) + 6.0 * np.eye(3, 8)[y], y


@pytest.mark.parametrize("name", ["mahalanobis", "knn"])
def test_blobs_far_points_flagged_and_in_distribution_kept(name):
    rng = np.random.default_rng(7)
    train, y = blobs(rng, 600)
    held_out, _ = blobs(rng, 1000)
    fresh, _ = blobs(rng, 1000)
    far = rng.normal(size=(300, 8)) + 6.0 * np.eye(8)[5] + 6.0 * np.eye(8)[6]  # another direction
    det = make_detector(name, **({"k": 10} if name == "knn" else {})).fit(train, None, y)
    det.set_threshold(held_out, None, keep=0.95)
    assert det.keep_ == 0.95
    assert 1 - det.is_ood(held_out).mean() == pytest.approx(0.95, abs=1e-12)
    assert 0.92 <= 1 - det.is_ood(fresh).mean() <= 0.98
    assert det.is_ood(far).mean() > 0.95


def test_energy_and_max_softmax_flag_low_confidence_logits():
    rng = np.random.default_rng(8)
    confident = rng.normal(size=(500, 5)) + 10.0 * np.eye(5)[rng.integers(0, 5, 500)]
    flat = rng.normal(size=(200, 5)) * 0.3
    for det in (EnergyDetector(), MaxSoftmaxDetector()):
        det.fit(logits=confident[:250]).set_threshold(in_dist_logits=confident[250:])
        assert det.is_ood(logits=flat).mean() > 0.95


# ------------------------------------------------------------------ filter, then attack
def test_filter_then_attack_sets_minus_inf_exactly_where_flagged():
    score = np.array([0.3, 2.0, -1.0, 0.9, 5.0])
    flags = np.array([False, True, False, True, False])
    out = filter_then_attack(score, flags)
    assert np.isneginf(out[flags]).all()
    np.testing.assert_array_equal(out[~flags], score[~flags])
    assert np.isfinite(score).all()  # the input is not modified
    finite = filter_then_attack(score, flags, fill=-10.0)
    np.testing.assert_array_equal(finite, [0.3, -10.0, -1.0, -10.0, 5.0])
    with pytest.raises(ValueError, match="'is_ood'"):
        filter_then_attack(score, flags[:4])
    with pytest.raises(ValueError, match="'is_ood'"):
        filter_then_attack(score, flags.astype(int))


# ------------------------------------------------------------------ shadow_features
def test_shadow_features_match_the_model_and_restore_its_mode():
    torch.manual_seed(0)
    model = MLP(num_classes=3, in_channels=1, image_size=4, width=0.05).train()
    x = torch.randn(7, 1, 4, 4)
    f, z = shadow_features(model, x, batch_size=3)
    assert f.dtype == z.dtype == np.float64 and f.shape == (7, 13) and z.shape == (7, 3)
    assert model.training
    with torch.no_grad():
        np.testing.assert_allclose(f, model.eval().forward_features(x).double().numpy(), atol=1e-6)
    np.testing.assert_allclose(z, predict_logits(model, x).double().numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="'model'"):
        shadow_features(torch.nn.Linear(2, 2), torch.zeros(1, 2))
    with pytest.raises(ValueError, match="'batch_size'"):
        shadow_features(model, x, batch_size=0)


# ------------------------------------------------------------------ registry and errors
def test_registry():
    assert set(DETECTORS) == {"max_softmax", "energy", "mahalanobis", "knn"}
    assert isinstance(make_detector("knn", k=3), KNNDetector)
    with pytest.raises(ValueError, match="'name'"):
        make_detector("odin")


def test_errors():
    rng = np.random.default_rng(9)
    f, y = labelled_features(rng)
    with pytest.raises(NotFittedError):
        KNNDetector(k=3).ood_score(f)
    with pytest.raises(NotFittedError, match="set_threshold"):
        KNNDetector(k=3).fit(f).is_ood(f)
    with pytest.raises(ValueError, match="'labels'"):
        MahalanobisDetector().fit(f)
    with pytest.raises(ValueError, match="'labels'"):
        MahalanobisDetector().fit(f, None, y[:-1])
    with pytest.raises(ValueError, match="'logits'"):
        EnergyDetector().fit(f)  # energy needs logits, not features
    with pytest.raises(ValueError, match="'features'.*columns"):
        KNNDetector(k=3).fit(f).ood_score(f[:, :3])
    with pytest.raises(ValueError, match="'features'.*k=100"):
        KNNDetector(k=100).fit(f)
    with pytest.raises(ValueError, match="'features'.*NaN"):
        KNNDetector(k=3).fit(np.full((5, 2), np.nan))
    with pytest.raises(ValueError, match="'keep'"):
        KNNDetector(k=3).fit(f).set_threshold(f, keep=0.0)
    for bad in (lambda: KNNDetector(k=0), lambda: EnergyDetector(temperature=-1.0),
                lambda: MahalanobisDetector(covariance="mcd")):
        with pytest.raises(ValueError, match="allowed"):
            bad()
