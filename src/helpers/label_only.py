"""Label-only membership inference (Choquette-Choo et al., ICML 2021, arXiv:2007.14321).

The attacker sees only the *predicted label* of each query. A training point tends to keep
its label under small perturbations more often than an unseen point, so the membership
score of an input is the **share of perturbed queries whose predicted label equals the
label** (float64 in ``[0, 1]``, higher = more likely a member). Two perturbation families,
both cheap on a CPU:

:class:`AugmentationAttack`
    every translation by ``dx, dy`` in ``{-max_shift, ..., max_shift}`` (width and height),
    each with and without a horizontal flip: ``(2 * max_shift + 1) ** 2 * (2 if flips else
    1)`` queries, the clean image among them. ``max_shift=0, flips=False`` leaves only the
    clean query: the "gap attack" (member iff correctly classified).
:class:`NoiseAttack`
    ``n_queries`` copies with i.i.d. Gaussian noise of standard deviation ``sigma`` added
    in *normalised* units (the images are already normalised per channel), drawn from a
    :class:`torch.Generator` seeded with ``seed`` at every call.

Padding of translations
-----------------------
A shift moves the image content and fills the uncovered border; it never wraps around
(``torch.roll`` would move the right edge into the left one). ``padding="zeros"`` (default)
fills with 0 *in normalised space*, i.e. with the dataset's per-channel mean colour, a
neutral value; ``padding="replicate"`` repeats the edge pixels instead.

Labels
------
``y`` is the label whose survival is counted, normally the true label of the input. With
``y=None`` (the label-free form) the label is the model's own prediction on the clean
input; that is the only choice for inputs whose label the attacker does not know. It makes
the clean query always "correct" (so every augmentation score is at least ``1 / n_queries``)
and measures the *stability* of the prediction rather than its correctness.

The threshold is fitted on the shadow model's scores of its members and non-members with
:func:`helpers.metrics.best_threshold` (maximising ``TPR - FPR``); an input is a member when
its score is ``>= threshold_``. Scores take few distinct values, so ties are common; all
inputs with the same score fall on the same side of the threshold.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .attacks import NotFittedError
from .metrics import best_threshold
from .training import predict_logits

PADDINGS = ("zeros", "replicate")


# ------------------------------------------------------------------ validation
def _images(x: Any, name: str = "x") -> torch.Tensor:
    t = torch.as_tensor(x)
    if t.ndim != 4:
        raise ValueError(
            f"parameter {name!r} has shape {tuple(t.shape)}; allowed: a 4-D batch N x C x H x W"
        )
    if not t.is_floating_point():
        raise ValueError(
            f"parameter {name!r} has dtype {t.dtype}; allowed: a floating-point tensor"
        )
    return t


def _labels(y: Any, n: int, name: str = "y") -> torch.Tensor:
    t = torch.as_tensor(y)
    if t.ndim != 1 or t.shape[0] != n:
        raise ValueError(
            f"parameter {name!r} has shape {tuple(t.shape)}; allowed: a 1-D array of {n} labels "
            f"(one per image)"
        )
    if t.is_floating_point() or t.dtype == torch.bool or t.is_complex():
        raise ValueError(f"parameter {name!r} has dtype {t.dtype}; allowed: integer class labels")
    return t.long()


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _int_param(name: str, value: Any, minimum: int) -> int:
    if not _is_int(value) or value < minimum:
        raise ValueError(
            f"parameter {name!r} has value {value!r}; allowed: an integer >= {minimum}"
        )
    return int(value)


def _padding(value: Any) -> str:
    if value not in PADDINGS:
        raise ValueError(
            f"parameter 'padding' has value {value!r}; allowed: one of {list(PADDINGS)}"
        )
    return value


def _sigma(value: Any) -> float:
    ok = isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool)
    if not ok or not np.isfinite(value) or value <= 0:
        raise ValueError(f"parameter 'sigma' has value {value!r}; allowed: a finite number > 0")
    return float(value)


# ------------------------------------------------------------------ query construction
def shift_images(x: torch.Tensor, dx: int, dy: int, padding: str = "zeros") -> torch.Tensor:
    """``x`` translated by ``dx`` pixels right and ``dy`` pixels down, without wrap-around.

    ``out[..., i + dy, j + dx] = x[..., i, j]``; the uncovered border is filled according to
    ``padding`` (``"zeros"``: 0 in normalised units; ``"replicate"``: the edge pixels).
    """
    x = _images(x)
    _padding(padding)
    h, w = x.shape[-2:]
    for name, value, size in (("dx", dx, w), ("dy", dy, h)):
        if not _is_int(value) or abs(value) >= size:
            raise ValueError(
                f"parameter {name!r} has value {value!r}; "
                f"allowed: an integer with |{name}| < {size} (the image side)"
            )
    if dx == 0 and dy == 0:
        return x.clone()
    px, py = abs(int(dx)), abs(int(dy))
    mode = "constant" if padding == "zeros" else "replicate"
    padded = F.pad(x, (px, px, py, py), mode=mode)
    top, left = py - int(dy), px - int(dx)
    return padded[..., top : top + h, left : left + w].contiguous()


def flip_images(x: torch.Tensor) -> torch.Tensor:
    """Horizontal flip (mirror the width axis) of a batch ``N x C x H x W``."""
    return torch.flip(_images(x), dims=(-1,))


def augmentation_grid(max_shift: int = 1, flips: bool = True) -> list[tuple[int, int, bool]]:
    """The ``(dx, dy, flipped)`` of every augmentation query, in the order of :func:`augmentations`.

    Un-flipped queries come first; within each, ``dy`` is the outer and ``dx`` the inner loop.
    """
    s = _int_param("max_shift", max_shift, 0)
    if not isinstance(flips, (bool, np.bool_)):
        raise ValueError(f"parameter 'flips' has value {flips!r}; allowed: True or False")
    steps = range(-s, s + 1)
    flipped = (False, True) if flips else (False,)
    return [(dx, dy, f) for f in flipped for dy in steps for dx in steps]


def augmentations(
    x: Any, max_shift: int = 1, flips: bool = True, padding: str = "zeros"
) -> torch.Tensor:
    """Every augmented copy of ``x``, stacked: shape ``Q x N x C x H x W``.

    Query ``q`` is ``shift(flip?(x))`` with the parameters ``augmentation_grid(...)[q]``
    (a flip then a shift; the set of queries is the same either way round).
    """
    x = _images(x)
    grid = augmentation_grid(max_shift, flips)
    h, w = x.shape[-2:]
    if max_shift >= min(h, w):
        raise ValueError(
            f"parameter 'max_shift' has value {max_shift!r}; allowed: an integer < {min(h, w)} "
            f"(the smaller image side)"
        )
    flipped = flip_images(x) if flips else None
    return torch.stack([shift_images(flipped if f else x, dx, dy, padding) for dx, dy, f in grid])


def noisy_copies(
    x: Any, sigma: float, n_queries: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``n_queries`` copies of ``x`` plus N(0, sigma^2) noise each: ``Q x N x C x H x W``.

    The noise is drawn on the CPU from ``generator`` (torch's global one when ``None``).
    """
    x = _images(x)
    sigma = _sigma(sigma)
    n_queries = _int_param("n_queries", n_queries, 1)
    noise = torch.randn((n_queries, *x.shape), generator=generator, dtype=x.dtype)
    return x.unsqueeze(0) + sigma * noise.to(x.device)


# ------------------------------------------------------------------ attacks
class LabelOnlyAttack:
    """Base class: share of perturbed queries that keep the label, thresholded on shadow data."""

    name = "label_only"

    def __init__(self, *, batch_size: int | None = None, chunk_size: int = 256) -> None:
        """``batch_size``: images per forward pass (None: the device's default of
        :func:`helpers.training.predict_logits`); ``chunk_size``: inputs whose queries are
        built (and held in memory) at once, ``chunk_size * n_queries`` images."""
        self.batch_size = None if batch_size is None else _int_param("batch_size", batch_size, 1)
        self.chunk_size = _int_param("chunk_size", chunk_size, 1)
        self.threshold_: float | None = None
        self.shadow_tpr_: float | None = None
        self.shadow_fpr_: float | None = None
        self.shadow_membership_scores_: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def n_queries(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def is_fitted(self) -> bool:
        return self.threshold_ is not None

    def fit(
        self,
        shadow_model: nn.Module,
        member_x: Any,
        member_y: Any,
        nonmember_x: Any,
        nonmember_y: Any,
    ) -> "LabelOnlyAttack":
        """Choose ``threshold_`` on the shadow model's scores of its members and non-members.

        Pass ``member_y = nonmember_y = None`` to fit the label-free form.
        """
        if (member_y is None) != (nonmember_y is None):
            raise ValueError(
                f"parameters 'member_y' and 'nonmember_y' are "
                f"{'None' if member_y is None else 'labels'} and "
                f"{'None' if nonmember_y is None else 'labels'}; allowed: labels for both, "
                f"or None for both (the label-free form)"
            )
        m = self._score(shadow_model, member_x, member_y, ("member_x", "member_y"))
        n = self._score(shadow_model, nonmember_x, nonmember_y, ("nonmember_x", "nonmember_y"))
        if len(m) == 0 or len(n) == 0:
            raise ValueError(
                f"parameters 'member_x' and 'nonmember_x' have {len(m)} and {len(n)} images; "
                f"allowed: at least one each"
            )
        self.threshold_ = best_threshold(m, n)
        self.shadow_tpr_ = float(np.mean(m >= self.threshold_))
        self.shadow_fpr_ = float(np.mean(n >= self.threshold_))
        self.shadow_membership_scores_ = (m, n)
        return self

    def membership_score(self, model: nn.Module, x: Any, y: Any = None) -> np.ndarray:
        """Share of queries predicted as the label (float64 in [0, 1], higher = member).

        ``y=None``: the label is ``model``'s prediction on the clean input (label-free form).
        """
        return self._score(model, x, y, ("x", "y"))

    def _score(self, model: nn.Module, x: Any, y: Any, names: tuple[str, str]) -> np.ndarray:
        x = _images(x, names[0])
        if y is None:
            labels = _clean_predictions(model, x, self.batch_size)
        else:
            labels = _labels(y, x.shape[0], names[1]).cpu()
        generator = self._generator()
        hits = []
        for start in range(0, x.shape[0], self.chunk_size):
            xb, yb = x[start : start + self.chunk_size], labels[start : start + self.chunk_size]
            queries = self._queries(xb, generator)  # Q x n x C x H x W
            q, n = queries.shape[:2]
            flat = queries.reshape(q * n, *xb.shape[1:])
            pred = predict_logits(model, flat, batch_size=self.batch_size).argmax(dim=1)
            hits.append((pred.reshape(q, n) == yb.unsqueeze(0)).double().mean(dim=0))
        if not hits:
            return np.zeros(0, dtype=np.float64)
        return torch.cat(hits).numpy().astype(np.float64)

    def predict(self, model: nn.Module, x: Any, y: Any = None) -> np.ndarray:
        """Hard decision, ``True`` = member (score ``>= threshold_``)."""
        if not self.is_fitted:
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call "
                f"fit(shadow_model, member_x, member_y, nonmember_x, nonmember_y) first"
            )
        return self.membership_score(model, x, y) >= self.threshold_

    def __repr__(self) -> str:
        state = f"threshold_={self.threshold_!r}" if self.is_fitted else "not fitted"
        return f"{type(self).__name__}({self._params()}, {state})"

    # subclasses implement these
    def _queries(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        raise NotImplementedError  # pragma: no cover

    def _generator(self) -> torch.Generator | None:
        return None

    def _params(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


def _clean_predictions(model: nn.Module, x: torch.Tensor, batch_size: int | None) -> torch.Tensor:
    """The model's predicted label of every clean input (the label-free form's label)."""
    if x.shape[0] == 0:
        return torch.zeros(0, dtype=torch.long)
    return predict_logits(model, x, batch_size=batch_size).argmax(dim=1)


class AugmentationAttack(LabelOnlyAttack):
    """Share of translated (and flipped) copies still predicted as the label."""

    name = "augmentation"

    def __init__(
        self,
        max_shift: int = 1,
        flips: bool = True,
        *,
        padding: str = "zeros",
        batch_size: int | None = None,
        chunk_size: int = 256,
    ) -> None:
        super().__init__(batch_size=batch_size, chunk_size=chunk_size)
        augmentation_grid(max_shift, flips)  # validates both
        self.max_shift, self.flips = int(max_shift), bool(flips)
        self.padding = _padding(padding)

    @property
    def n_queries(self) -> int:
        return (2 * self.max_shift + 1) ** 2 * (2 if self.flips else 1)

    def _queries(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        return augmentations(x, self.max_shift, self.flips, self.padding)

    def _params(self) -> str:
        return f"max_shift={self.max_shift}, flips={self.flips}, padding={self.padding!r}"


class NoiseAttack(LabelOnlyAttack):
    """Share of Gaussian-noisy copies still predicted as the label.

    The noise has standard deviation ``sigma`` in normalised units (per-channel z-scores).

    The generator is re-seeded with ``seed`` at every :meth:`membership_score` call, so a
    call is deterministic for a given ``seed`` and ``chunk_size`` (the noise is drawn chunk
    by chunk in input order).
    """

    name = "noise"

    def __init__(
        self,
        sigma: float = 0.5,
        n_queries: int = 20,
        *,
        seed: int = 0,
        batch_size: int | None = None,
        chunk_size: int = 256,
    ) -> None:
        super().__init__(batch_size=batch_size, chunk_size=chunk_size)
        self.sigma = _sigma(sigma)
        self._n_queries = _int_param("n_queries", n_queries, 1)
        self.seed = _int_param("seed", seed, 0)

    @property
    def n_queries(self) -> int:
        return self._n_queries

    def _generator(self) -> torch.Generator:
        return torch.Generator().manual_seed(self.seed)

    def _queries(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        return noisy_copies(x, self.sigma, self._n_queries, generator)

    def _params(self) -> str:
        return f"sigma={self.sigma}, n_queries={self._n_queries}, seed={self.seed}"


LABEL_ONLY_ATTACKS = {"augmentation": AugmentationAttack, "noise": NoiseAttack}
