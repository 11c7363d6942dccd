"""Scores: softmax in float64 and the non-saturating keys the attacks rank by."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import torch
from torch import nn

from helpers.scores import (
    Scores,
    compute_scores,
    entropy,
    log_entropy,
    max_log_odds,
    max_score,
    scores_from_logits,
    scores_from_probs,
    top_k,
)


@pytest.fixture()
def tiny_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 5))


def test_compute_scores_matches_softmax_and_restores_mode(tiny_model):
    x = torch.randn(37, 4)
    tiny_model.train()
    s = compute_scores(tiny_model, x, batch_size=10, temperature=2.0, labels=torch.arange(37) % 5)
    assert tiny_model.training  # mode restored
    tiny_model.eval()
    with torch.no_grad():
        logits = tiny_model(x)
    assert s.logits.dtype == np.float32 and s.probs.dtype == np.float64 and s.log_probs.dtype == np.float64
    assert s.probs.shape == (37, 5) and len(s) == 37 and s.n_classes == 5
    np.testing.assert_allclose(s.logits, logits.numpy(), rtol=1e-6)
    np.testing.assert_allclose(s.probs, torch.softmax(logits.double() / 2.0, 1).numpy(), rtol=1e-6)
    np.testing.assert_allclose(s.probs.sum(1), 1.0, atol=1e-12)
    assert s.labels.tolist() == (np.arange(37) % 5).tolist()


def test_entropy_and_keys_agree_with_direct_formulas():
    rng = np.random.default_rng(0)
    s = scores_from_logits(rng.normal(size=(50, 7)) * 3)
    np.testing.assert_allclose(entropy(s), scipy.stats.entropy(s.probs, axis=1), rtol=1e-10)
    np.testing.assert_allclose(np.exp(log_entropy(s)), entropy(s), rtol=1e-9)
    p = max_score(s)
    np.testing.assert_allclose(max_log_odds(s), np.log(p / (1 - p)), rtol=1e-8)


def test_keys_keep_ordering_saturated_scores():
    z = np.zeros((5, 10))
    z[:, 0] = [40, 50, 60, 100, 700]  # float64 max score is exactly 1.0 for all
    s = scores_from_logits(z)
    assert (max_score(s) == 1.0).all()
    assert np.all(np.diff(max_log_odds(s)) > 0)
    assert np.all(np.diff(log_entropy(s)) < 0)
    np.testing.assert_allclose(max_log_odds(s), z[:, 0] - np.log(9), rtol=1e-9)


def test_zero_probabilities_give_infinite_keys_not_nan():
    s = scores_from_probs(np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.2, 0.3, 0.5]]))
    assert entropy(s)[0] == 0.0 and np.isneginf(log_entropy(s)[0]) and np.isposinf(max_log_odds(s)[0])
    np.testing.assert_allclose(entropy(s)[1], np.log(2))
    assert np.isfinite(log_entropy(s)[1:]).all()


def test_top_k_descending_and_checked():
    p = np.array([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]])
    np.testing.assert_array_equal(top_k(p, 3), [[0.6, 0.3, 0.1], [0.5, 0.3, 0.2]])
    with pytest.raises(ValueError, match="'k'"):
        top_k(p, 4)


@pytest.mark.parametrize(
    "probs, match",
    [
        (np.array([[0.5, 0.4]]), "sums to"),
        (np.array([[np.nan, 1.0]]), "NaN"),
        (np.array([0.5, 0.5]), "shape"),
        (np.array([[1.5, -0.5]]), r"\[0, 1\]"),
    ],
)
def test_scores_from_probs_rejects_bad_input(probs, match):
    with pytest.raises(ValueError, match=match):
        scores_from_probs(probs)


def test_scores_from_logits_rejects_bad_input():
    with pytest.raises(ValueError, match="'logits'"):
        scores_from_logits(np.array([[np.inf, 0.0]]))
    with pytest.raises(ValueError, match="'temperature'"):
        scores_from_logits(np.zeros((2, 3)), temperature=0.0)
    with pytest.raises(ValueError, match="'labels'"):
        Scores(np.full((2, 2), 0.5), np.log(np.full((2, 2), 0.5)), labels=np.zeros(3, int))
