"""Penultimate features and t-SNE helpers."""

import numpy as np
import torch

from helpers.embedding import embedding_silhouettes, penultimate_features, tsne_2d
from helpers.models import build_model


def test_features_stack_sets_in_order_and_keep_the_mode():
    model = build_model("salem_cnn", 3, 1, 8, width=0.25).train()
    a, b = torch.randn(5, 1, 8, 8), torch.randn(7, 1, 8, 8)
    feats = penultimate_features(model, [a, b])
    assert feats.shape[0] == 12
    assert model.training
    np.testing.assert_allclose(feats[5:], penultimate_features(model, [b]), rtol=1e-6)


def test_silhouettes_see_separated_groups():
    rng = np.random.default_rng(0)
    far = np.r_[rng.normal(0, 1, (40, 5)), rng.normal(0, 1, (40, 5)), rng.normal(20, 1, (40, 5))]
    groups = np.repeat([0, 1, 2], 40)
    emb = tsne_2d(far, seed=0, perplexity=10)
    s = embedding_silhouettes(emb, groups)
    assert s["OOD vs the rest"] > 0.5
    assert abs(s["members vs test non-members"]) < 0.3
