"""Theorem 1 on the 2-D toy network: scaled inputs drive a ReLU network's max score to 1."""

import numpy as np
import pytest
import torch

from helpers import toy
from helpers.config import ConfigError


@pytest.fixture(scope="module")
def data():
    return toy.make_blobs_2d(n=300, seed=0)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_scaling_drives_relu_max_score_to_one(data, activation):
    model = toy.train_toy(activation, *data, epochs=200, seed=0)
    directions = toy.random_directions(200, seed=1)
    scores = toy.max_score_along_rays(model, directions, np.array([1.0, 1e4]))
    assert (scores[1] >= 0.99).mean() >= 0.95
    assert scores[1].mean() > scores[0].mean()


def test_relu_logits_become_affine_along_a_ray(data):
    model = toy.train_toy("relu", *data, epochs=200, seed=0)
    u = toy.random_directions(1, seed=3)
    alphas = torch.linspace(1e3, 2e3, 11)[:, None]
    with torch.no_grad():
        logits = model(alphas * u).double().numpy()
    second = np.abs(np.diff(logits, n=2, axis=0)).max()
    assert second < 1e-3 * np.abs(logits).max()


def test_tanh_network_logits_are_bounded(data):
    model = toy.train_toy("tanh", *data, epochs=200, seed=0)
    u = toy.random_directions(50, seed=2)
    with torch.no_grad():
        far = model(u * 1e6).abs().max()
        farther = model(u * 1e8).abs().max()
    assert torch.isclose(far, farther, rtol=1e-3)


def test_training_is_deterministic(data):
    a = toy.train_toy("relu", *data, epochs=20, seed=5)
    b = toy.train_toy("relu", *data, epochs=20, seed=5)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)


def test_bad_inputs_are_named():
    with pytest.raises(ConfigError, match="'activation' has value 'gelu'"):
        toy.ToyNet("gelu")
    with pytest.raises(ConfigError, match="'scales'"):
        toy.max_score_along_rays(toy.ToyNet(), toy.random_directions(2), np.array([0.0, 1.0]))
