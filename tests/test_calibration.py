"""Calibration metrics, temperature scaling and the last-layer Laplace predictive."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from helpers.calibration import (
    TemperatureScaler,
    expected_calibration_error,
    fingerprint,
    laplace_last_layer,
    overconfidence_error,
    reliability_table,
)
from helpers.scores import compute_scores


def brute_force(probs, labels, n_bins=15):
    """ECE and OE with an explicit per-sample loop (1.0 joins the last bin)."""
    sums = [[0, 0.0, 0.0] for _ in range(n_bins)]
    for row, label in zip(probs, labels):
        conf = max(row)
        b = min(int(conf * n_bins), n_bins - 1)
        while b > 0 and conf < b / n_bins:  # guard against rounding in conf * n_bins
            b -= 1
        sums[b][0] += 1
        sums[b][1] += conf
        sums[b][2] += float(int(np.argmax(row)) == label)
    n = len(probs)
    ece = oe = 0.0
    for count, conf, acc in sums:
        if count:
            conf, acc = conf / count, acc / count
            ece += count / n * abs(conf - acc)
            oe += count / n * conf * max(conf - acc, 0.0)
    return ece, oe


def random_probs(rng, n, k, sharp):
    z = rng.normal(size=(n, k)) * sharp
    p = np.exp(z - z.max(1, keepdims=True))
    return p / p.sum(1, keepdims=True)


def torchmetrics_ece(probs, labels, n_bins=15):
    from torchmetrics.classification import MulticlassCalibrationError

    metric = MulticlassCalibrationError(num_classes=probs.shape[1], n_bins=n_bins, norm="l1")
    return float(metric(torch.from_numpy(probs), torch.from_numpy(labels)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ece_matches_torchmetrics_and_brute_force(seed):
    rng = np.random.default_rng(seed)
    probs = random_probs(rng, 500, 10, sharp=[0.5, 2.0, 5.0][seed])
    labels = rng.integers(0, 10, 500)
    labels[:250] = probs[:250].argmax(1)  # half correct, so the bins differ
    ece = expected_calibration_error(probs, labels)
    assert ece == pytest.approx(torchmetrics_ece(probs, labels), abs=1e-6)
    ece_bf, oe_bf = brute_force(probs, labels)
    assert ece == pytest.approx(ece_bf, abs=1e-12)
    assert overconfidence_error(probs, labels) == pytest.approx(oe_bf, abs=1e-12)


def test_ties_at_confidence_one():
    rng = np.random.default_rng(3)
    probs = random_probs(rng, 400, 10, sharp=1.0)
    probs[:150] = np.eye(10)[rng.integers(0, 10, 150)]  # confidence exactly 1.0
    labels = np.where(rng.uniform(size=400) < 0.6, probs.argmax(1), rng.integers(0, 10, 400))
    assert (probs.max(1) < 14 / 15).sum() == 250  # the last bin holds only the 1.0s
    table = reliability_table(probs, labels)
    assert table["count"].iloc[-1] == 150 and table["count"].sum() == 400
    ece_bf, oe_bf = brute_force(probs, labels)
    assert expected_calibration_error(probs, labels) == pytest.approx(ece_bf, abs=1e-12)
    assert overconfidence_error(probs, labels) == pytest.approx(oe_bf, abs=1e-12)
    # torchmetrics gives 1.0 its own bin: the same here, since nothing else is in the last bin
    assert expected_calibration_error(probs, labels) == pytest.approx(torchmetrics_ece(probs, labels), abs=1e-6)
    # with other confidences in the last bin, 1.0 still joins it (brute force is the reference)
    probs[150:160] = 0.0
    probs[150:160, 0], probs[150:160, 1] = 0.95, 0.05
    ece_bf, oe_bf = brute_force(probs, labels)
    assert expected_calibration_error(probs, labels) == pytest.approx(ece_bf, abs=1e-12)
    assert overconfidence_error(probs, labels) == pytest.approx(oe_bf, abs=1e-12)
    assert reliability_table(probs, labels)["count"].iloc[-1] == 160


def test_overconfidence_error_zero_when_underconfident():
    probs = np.tile([0.4, 0.3, 0.3], (10, 1))
    labels = np.zeros(10, int)  # 100 % accurate at 40 % confidence
    assert overconfidence_error(probs, labels) == 0.0
    assert expected_calibration_error(probs, labels) == pytest.approx(0.6)


def test_calibration_input_errors():
    probs = np.full((3, 4), 0.25)
    with pytest.raises(ValueError, match="'labels' has values"):
        expected_calibration_error(probs, [0, 1, 4])
    with pytest.raises(ValueError, match="'labels' has shape"):
        expected_calibration_error(probs, [0, 1])
    with pytest.raises(ValueError, match="'n_bins'"):
        overconfidence_error(probs, [0, 1, 2], n_bins=0)
    with pytest.raises(ValueError, match="'probs'"):
        expected_calibration_error(probs * 2, [0, 1, 2])


def test_temperature_fit_recovers_known_temperature():
    rng = np.random.default_rng(0)
    t0 = 2.5
    z = rng.normal(size=(20_000, 10)) * 4
    p = np.exp(z / t0 - (z / t0).max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    labels = (p.cumsum(1) > rng.uniform(size=(len(p), 1))).argmax(1)
    scaler = TemperatureScaler().fit(z, labels)
    assert scaler.temperature == pytest.approx(t0, rel=0.05)
    assert scaler.nll_ <= TemperatureScaler.nll(z, labels, 1.0)
    probs = scaler.transform(z[:5])
    np.testing.assert_allclose(probs.sum(1), 1.0)
    fixed = TemperatureScaler(10.0)
    np.testing.assert_allclose(fixed.transform(z[:5]), compute_like(z[:5], 10.0))
    with pytest.raises(ValueError, match="'temperature'"):
        TemperatureScaler(-1.0)
    with pytest.raises(ValueError, match="call fit"):
        TemperatureScaler().transform(z)


def compute_like(z, t):
    return torch.softmax(torch.from_numpy(z) / t, 1).numpy()


# ------------------------------------------------------------------ Laplace
@pytest.fixture(scope="module")
def trained():
    torch.manual_seed(0)
    x = torch.randn(300, 5)
    y = (x @ torch.randn(5, 3)).argmax(1)
    model = nn.Sequential(nn.Linear(5, 32), nn.ReLU(), nn.Linear(32, 3))
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    for _ in range(150):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model, x, y


@pytest.fixture(scope="module")
def laplace(trained):
    model, x, y = trained
    return laplace_last_layer(model, x[:200], y[:200], fit_key="train")


def test_laplace_predictive_is_valid_reproducible_and_humbler_far_away(trained, laplace):
    model, x, _ = trained
    far = x[200:] * 50  # scaled inputs, far from the data
    p = laplace.predict_proba(far)
    assert p.shape == (100, 3) and p.dtype == np.float64
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-9)
    np.testing.assert_array_equal(p, laplace.predict_proba(far))
    plain = compute_scores(model, far).probs.max(1)
    assert p.max(1).mean() < plain.mean()
    assert laplace.prior_precision.shape == (1,) and laplace.prior_precision[0] > 0
    assert laplace.fitted_on["method"] == "marglik"
    assert laplace.fitted_on["hessian"] == {"key": "train", "n": 200, "fingerprint": fingerprint(x[:200])}
    assert laplace.fitted_on["prior"]["fingerprint"] == fingerprint(x[:200])


def test_laplace_mc_mode_is_seeded(laplace, trained):
    from dataclasses import replace

    _, x, _ = trained
    mc = replace(laplace, link_approx="mc", n_samples=20, seed=5)
    a, b = mc.predict_proba(x[:20]), mc.predict_proba(x[:20])
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a.sum(1), 1.0, atol=1e-9)
    assert not np.array_equal(a, replace(mc, seed=6).predict_proba(x[:20]))


def test_laplace_gridsearch_on_calibration_split_and_refuses_evaluation_data(trained):
    model, x, y = trained
    calib_x, calib_y, nonmembers = x[200:240], y[200:240], x[240:]
    la = laplace_last_layer(
        model, x[:200], y[:200], method="gridsearch", prior_fit_x=calib_x, prior_fit_y=calib_y,
        fit_key="train", prior_key="calibration", forbidden={"nonmembers": nonmembers}, grid=(-2, 2, 5),
    )
    assert la.fitted_on["prior"] == {"key": "calibration", "n": 40, "fingerprint": fingerprint(calib_x)}
    assert la.fitted_on["forbidden_checked"] == ["nonmembers"]
    assert la.prior_precision[0] in np.logspace(-2, 2, 5).astype(np.float32)
    with pytest.raises(ValueError, match="shares 5 input.*'nonmembers'"):
        laplace_last_layer(
            model, x[:200], y[:200], method="gridsearch", prior_fit_x=x[235:240].clone().repeat(2, 1),
            prior_fit_y=y[235:240].repeat(2), forbidden={"nonmembers": x[230:]}, grid=(-2, 2, 3),
        )
    with pytest.raises(ValueError, match="'prior_fit_x'/'prior_fit_y' are None"):
        laplace_last_layer(model, x[:200], y[:200], method="gridsearch")
    with pytest.raises(ValueError, match="'method'"):
        laplace_last_layer(model, x[:200], y[:200], method="magic")
    with pytest.raises(ValueError, match="nn.Linear"):
        laplace_last_layer(nn.Sequential(nn.Linear(5, 3), nn.ReLU()), x[:200], y[:200])


def test_laplace_on_precomputed_features_equals_the_whole_model_path():
    """For models with ``forward_features`` the Laplace fit runs on the head alone, with the
    backbone's features computed once; it must give the same prior and predictive as
    laplace-torch's last-layer fit on the whole network."""
    from helpers.models import build_model

    torch.manual_seed(1)
    x = torch.randn(240, 3, 8, 8)
    y = torch.randint(0, 4, (240,))
    net = build_model("salem_cnn", 4, 3, 8, width=0.25)
    opt = torch.optim.Adam(net.parameters(), 1e-2)
    for _ in range(60):
        loss = nn.functional.cross_entropy(net(x[:160]), y[:160])
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    whole = nn.Sequential(net)  # no forward_features: laplace-torch's own last-layer path
    kwargs = dict(method="gridsearch", prior_fit_x=x[160:200], prior_fit_y=y[160:200], grid=(-2.0, 2.0, 9))
    fast = laplace_last_layer(net, x[:160], y[:160], **kwargs)
    slow = laplace_last_layer(whole, x[:160], y[:160], **kwargs)
    assert fast.features is not None and slow.features is None
    np.testing.assert_allclose(fast.prior_precision, slow.prior_precision)
    np.testing.assert_allclose(fast.predict_proba(x[200:]), slow.predict_proba(x[200:]), atol=1e-5)
