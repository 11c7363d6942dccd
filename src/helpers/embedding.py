"""Penultimate-layer features and their two-dimensional t-SNE pictures (the paper's Figure 5)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from sklearn.manifold import TSNE
from sklearn.metrics import silhouette_score


@torch.no_grad()
def penultimate_features(model: torch.nn.Module, inputs: Sequence[torch.Tensor]) -> np.ndarray:
    """``model.forward_features`` of every input set, stacked in order (rows: inputs)."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        return torch.cat([model.forward_features(x.to(device)).cpu() for x in inputs]).numpy()
    finally:
        model.train(was_training)


def tsne_2d(features: np.ndarray, seed: int, perplexity: float = 30.0) -> np.ndarray:
    """Two t-SNE components with PCA initialisation (the paper's settings)."""
    return TSNE(n_components=2, init="pca", perplexity=perplexity, random_state=seed).fit_transform(features)


def embedding_silhouettes(embedding: np.ndarray, groups: np.ndarray, ood_group: int = 2) -> dict[str, float]:
    """How well the OOD group separates from the rest, and members (group 0) from test
    non-members (group 1), as silhouette scores in [-1, 1] (higher: better separated)."""
    in_dist = groups < ood_group
    return {
        "OOD vs the rest": float(silhouette_score(embedding, groups == ood_group)),
        "members vs test non-members": float(silhouette_score(embedding[in_dist], groups[in_dist])),
    }
