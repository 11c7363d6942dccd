"""A two-dimensional toy classifier for seeing Theorem 1 with your own eyes.

Everything here trains in seconds on a CPU: three Gaussian blobs in the plane, a small
fully connected network whose activation is a parameter, and the functions that measure
how the maximum softmax score behaves when an input is pushed far from the origin.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .architectures import check_activation
from .errors import ConfigError
from .models import make_activation



def make_blobs_2d(n: int = 600, n_classes: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` points from ``n_classes`` Gaussian blobs placed on a circle of radius 2."""
    if n < n_classes:
        raise ConfigError(f"parameter 'n' has value {n}; allowed: at least n_classes = {n_classes}")
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % n_classes
    angles = 2 * np.pi * labels / n_classes
    centres = 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    points = centres + 0.7 * rng.standard_normal((n, 2))
    return torch.tensor(points, dtype=torch.float32), torch.tensor(labels, dtype=torch.int64)


class ToyNet(nn.Module):
    """A 2 -> hidden -> hidden -> classes multilayer perceptron."""

    def __init__(self, activation: str = "relu", hidden: int = 64, n_classes: int = 3):
        super().__init__()
        self.activation = check_activation(activation)
        self.net = nn.Sequential(
            nn.Linear(2, hidden), make_activation(activation),
            nn.Linear(hidden, hidden), make_activation(activation),
            nn.Linear(hidden, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def train_toy(
    activation: str,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int = 400,
    lr: float = 1e-2,
    seed: int = 0,
) -> ToyNet:
    """Full-batch Adam on the toy data; deterministic under ``seed``."""
    torch.manual_seed(seed)
    model = ToyNet(activation, n_classes=int(y.max()) + 1)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        optimiser.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimiser.step()
    return model.eval()


@torch.no_grad()
def max_score(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    """Largest softmax score per row, computed in float64 so it saturates late."""
    logits = model(x).double()
    return torch.softmax(logits, dim=1).max(dim=1).values.numpy()


@torch.no_grad()
def score_map(
    model: nn.Module, extent: float = 5.0, resolution: int = 200, scale: float = 1.0
) -> dict[str, np.ndarray]:
    """Predicted class and max score on a grid over ``[-extent, extent]^2``, inputs times ``scale``."""
    axis = np.linspace(-extent, extent, resolution)
    xx, yy = np.meshgrid(axis, axis)
    grid = torch.tensor(np.stack([xx.ravel(), yy.ravel()], axis=1), dtype=torch.float32) * scale
    logits = model(grid).double()
    probs = torch.softmax(logits, dim=1)
    return {
        "xx": xx,
        "yy": yy,
        "max_score": probs.max(dim=1).values.numpy().reshape(xx.shape),
        "label": probs.argmax(dim=1).numpy().reshape(xx.shape),
    }


def random_directions(n: int, seed: int = 0) -> torch.Tensor:
    """``n`` unit vectors in the plane, uniformly distributed in angle."""
    rng = np.random.default_rng(seed)
    angles = rng.uniform(0, 2 * np.pi, n)
    return torch.tensor(np.stack([np.cos(angles), np.sin(angles)], axis=1), dtype=torch.float32)


def max_score_along_rays(model: nn.Module, directions: torch.Tensor, scales: np.ndarray) -> np.ndarray:
    """Max score of ``scale * direction`` for every scale (rows) and direction (columns)."""
    scales = np.asarray(scales, dtype=np.float64)
    if np.any(scales <= 0):
        raise ConfigError(f"parameter 'scales' has value {scales.tolist()}; allowed: numbers > 0")
    return np.stack([max_score(model, directions * float(s)) for s in scales])
