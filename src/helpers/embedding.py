"""Penultimate-layer features and their two-dimensional t-SNE pictures (the paper's Figure 5)."""

from __future__ import annotations

import hashlib
from typing import Sequence

import numpy as np
import torch
from sklearn.manifold import TSNE
from sklearn.metrics import silhouette_score

from .cache import cached_tensors, default_cache_dir, fingerprint
from .progress import report


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


TSNE_VERSION = "1"  # bump when the embedding's settings change (invalidates cached embeddings)


def tsne_2d(features: np.ndarray, seed: int, perplexity: float = 30.0, cache_dir: str | None = None) -> np.ndarray:
    """Two t-SNE components with PCA initialisation (the paper's settings).

    The embedding is cached on disk (``derived/tsne-*.pt`` in the cache folder, see
    :func:`helpers.cache.default_cache_dir`) under a hash of the features, the seed and the
    settings, so a chapter re-run, or another chapter embedding the same features, reuses it.
    """
    features = np.ascontiguousarray(features, dtype=np.float32)
    key = hashlib.sha256(f"{TSNE_VERSION}|{seed}|{perplexity}|{fingerprint(features)}".encode()).hexdigest()
    path = default_cache_dir(cache_dir) / "derived" / f"tsne-{key[:24]}.pt"

    def build() -> dict:
        report(f"t-SNE of {len(features):,} feature vectors ...")
        tsne = TSNE(n_components=2, init="pca", perplexity=perplexity, random_state=seed)
        return {"embedding": torch.from_numpy(tsne.fit_transform(features))}

    return cached_tensors(path, build)["embedding"].numpy()


def embedding_silhouettes(embedding: np.ndarray, groups: np.ndarray, ood_group: int = 2) -> dict[str, float]:
    """How well the OOD group separates from the rest, and members (group 0) from test
    non-members (group 1), as silhouette scores in [-1, 1] (higher: better separated)."""
    in_dist = groups < ood_group
    return {
        "OOD vs the rest": float(silhouette_score(embedding, groups == ood_group)),
        "members vs test non-members": float(silhouette_score(embedding[in_dist], groups[in_dist])),
    }
