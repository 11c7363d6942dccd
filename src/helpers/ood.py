"""Out-of-distribution (OOD) detectors fitted on the attacker's shadow model; filter-then-attack.

The paper shows that membership attacks call many *out-of-distribution* inputs members,
because a model is often over-confident on them. A natural defence of the attacker is to
first discard inputs that look OOD to their own shadow model and attack the rest. The
detectors here work on arrays the caller computed from the shadow model (penultimate
features and logits, see :func:`shadow_features`), so they do not depend on the model class::

    f_in, z_in = shadow_features(shadow_model, attacker_x)          # attacker's own data
    f_val, z_val = shadow_features(shadow_model, attacker_holdout)  # held-out, same distribution
    det = make_detector("mahalanobis").fit(f_in, z_in, attacker_y)
    det.set_threshold(f_val, z_val, keep=0.95)                      # accept 95 % of in-dist inputs
    flagged = det.is_ood(*shadow_features(shadow_model, target_x))
    scores = filter_then_attack(attack.membership_score(target_scores), flagged)

Every detector gives an ``ood_score`` (higher = more OOD). :meth:`OODDetector.set_threshold`
puts the threshold at the ``keep`` quantile of *held-out* in-distribution scores (the usual
"95 % TPR" convention: a share ``keep`` of in-distribution inputs is accepted); ``is_ood``
is ``ood_score > threshold_``. Hold-out data matters for :class:`KNNDetector`: a training
feature is its own nearest neighbour, so training scores are biased low.

Detectors (all without input pre-processing, temperature scaling or feature ensembles):

* :class:`MaxSoftmaxDetector` -- Hendrycks & Gimpel, arXiv:1610.02136: ``-max softmax``.
* :class:`EnergyDetector` -- Liu et al., arXiv:2010.03759: ``-T * logsumexp(logits / T)``.
* :class:`MahalanobisDetector` -- Lee et al., arXiv:1807.03888: squared Mahalanobis
  distance to the closest class mean under one shared (tied) covariance.
* :class:`KNNDetector` -- Sun et al., arXiv:2204.06507: distance of the L2-normalised
  feature to its k-th nearest normalised training feature.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import torch
from scipy.special import log_softmax, logsumexp
from torch import nn

from .attacks import NotFittedError

COVARIANCES = ("ledoit_wolf", "empirical")
_EPS = 1e-12


# ------------------------------------------------------------------ validation
def _matrix(a: Any, name: str) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(
            f"parameter {name!r} has shape {arr.shape}; allowed: a non-empty 2-D array N x D"
        )
    if not np.isfinite(arr).all():
        raise ValueError(f"parameter {name!r} contains NaN or inf; allowed: finite numbers")
    return arr


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _keep(keep: Any) -> float:
    if not _is_number(keep) or not 0 < keep <= 1:
        raise ValueError(f"parameter 'keep' has value {keep!r}; allowed: a number in (0, 1]")
    return float(keep)


def threshold_for_keep(in_dist_score: Any, keep: float = 0.95) -> float:
    """The smallest threshold with ``mean(in_dist_score <= threshold) >= keep``.

    That is the ``ceil(keep * n)``-th smallest score: without ties exactly
    ``ceil(keep * n)`` of the ``n`` in-distribution inputs are accepted.
    """
    keep = _keep(keep)
    s = np.sort(np.asarray(in_dist_score, dtype=np.float64).ravel())
    if s.size == 0 or not np.isfinite(s).all():
        raise ValueError(
            f"parameter 'in_dist_score' has {s.size} entries, all finite: "
            f"{bool(np.isfinite(s).all())}; allowed: at least one score, all finite"
        )
    rank = max(1, math.ceil(keep * s.size - 1e-9))  # 1e-9: 0.56 * 100 is 56.00000000000001
    return float(s[rank - 1])


# ------------------------------------------------------------------ base class
class OODDetector:
    """Base class: ``fit`` on in-distribution data, ``ood_score``, threshold, ``is_ood``.

    ``features`` (N x D) and ``logits`` (N x K) come from the same shadow model; a detector
    that does not use one of them accepts ``None`` in its place.
    """

    name = "ood"
    uses_features = False
    uses_logits = False
    needs_labels = False

    def __init__(self) -> None:
        self.dims_: dict[str, int] | None = None
        self.threshold_: float | None = None
        self.keep_: float | None = None

    @property
    def is_fitted(self) -> bool:
        return self.dims_ is not None

    def fit(self, features: Any = None, logits: Any = None, labels: Any = None) -> "OODDetector":
        """Fit on the attacker's in-distribution data (``labels`` only matter for Mahalanobis)."""
        f, z = self._inputs(features, logits, check_dims=False)
        self.dims_ = {
            "features": 0 if f is None else f.shape[1],
            "logits": 0 if z is None else z.shape[1],
        }
        y = self._fit_labels(labels, len(f if f is not None else z))
        self._fit(f, z, y)
        self.threshold_ = self.keep_ = None  # a refit invalidates an old threshold
        return self

    def ood_score(self, features: Any = None, logits: Any = None) -> np.ndarray:
        """OOD score of every input (float64, higher = more out-of-distribution)."""
        self._check_fitted("fit(features, logits, labels)")
        f, z = self._inputs(features, logits, check_dims=True)
        return self._score(f, z)

    def set_threshold(self, in_dist_features: Any = None, in_dist_logits: Any = None,
                      keep: float = 0.95) -> "OODDetector":
        """Threshold accepting a share ``keep`` of these held-out in-distribution inputs."""
        keep = _keep(keep)
        self.threshold_ = threshold_for_keep(self.ood_score(in_dist_features, in_dist_logits), keep)
        self.keep_ = keep
        return self

    def is_ood(self, features: Any = None, logits: Any = None) -> np.ndarray:
        """``True`` where the input is flagged out-of-distribution (``ood_score > threshold_``)."""
        if self.threshold_ is None:
            raise NotFittedError(
                f"this {type(self).__name__} has no threshold yet; call "
                f"set_threshold(in_dist_features, in_dist_logits, keep=0.95) first"
            )
        return self.ood_score(features, logits) > self.threshold_

    def __repr__(self) -> str:
        state = f"threshold_={self.threshold_!r}" if self.is_fitted else "not fitted"
        return f"{type(self).__name__}({state})"

    # ------------------------------------------------------------ helpers
    def _inputs(self, features: Any, logits: Any, check_dims: bool) -> tuple[Any, Any]:
        f = z = None
        for name, value, used in (("features", features, self.uses_features),
                                  ("logits", logits, self.uses_logits)):
            if not used:
                continue
            if value is None:
                raise ValueError(
                    f"parameter {name!r} has value None; allowed: a 2-D array "
                    f"(the {self.name} detector uses it)"
                )
            arr = _matrix(value, name)
            if check_dims and arr.shape[1] != self.dims_[name]:
                raise ValueError(
                    f"parameter {name!r} has {arr.shape[1]} columns; allowed: {self.dims_[name]}, "
                    f"as in the data the detector was fitted on"
                )
            if name == "features":
                f = arr
            else:
                z = arr
        if f is not None and logits is not None and np.shape(logits)[0] != f.shape[0]:
            raise ValueError(
                f"parameter 'logits' has {np.shape(logits)[0]} rows but 'features' has "
                f"{f.shape[0]}; allowed: one row per input in both"
            )
        return f, z

    def _fit_labels(self, labels: Any, n: int) -> np.ndarray | None:
        if not self.needs_labels:
            return None
        if labels is None:
            raise ValueError(
                f"parameter 'labels' has value None; allowed: {n} integer class labels"
            )
        y = np.asarray(labels)
        if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(
                f"parameter 'labels' has shape {y.shape} and dtype {y.dtype}; allowed: a 1-D "
                f"integer array of {n} labels (one per row of 'features')"
            )
        return y

    def _check_fitted(self, call: str) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call {call} first")

    # subclasses implement these
    def _fit(self, f: np.ndarray | None, z: np.ndarray | None, y: np.ndarray | None) -> None:
        pass

    def _score(self, f: np.ndarray | None, z: np.ndarray | None) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError


# ------------------------------------------------------------------ detectors
class MaxSoftmaxDetector(OODDetector):
    """OOD score ``-max softmax(logits)``, from a float64 log-softmax.

    Nothing is learnt; ``fit`` only records the number of classes. In float64 the score
    saturates at ``-1.0`` once the top logit leads by about 37 nats.
    """

    name = "max_softmax"
    uses_logits = True

    def _score(self, f: np.ndarray | None, z: np.ndarray) -> np.ndarray:
        return -np.exp(log_softmax(z, axis=1).max(axis=1))


class EnergyDetector(OODDetector):
    """OOD score = energy ``-T * logsumexp(logits / T)`` (default ``T = 1``); nothing is learnt."""

    name = "energy"
    uses_logits = True

    def __init__(self, temperature: float = 1.0) -> None:
        super().__init__()
        if not _is_number(temperature) or not np.isfinite(temperature) or temperature <= 0:
            raise ValueError(
                f"parameter 'temperature' has value {temperature!r}; allowed: a finite number > 0"
            )
        self.temperature = float(temperature)

    def _score(self, f: np.ndarray | None, z: np.ndarray) -> np.ndarray:
        t = self.temperature
        return -t * logsumexp(z / t, axis=1)


class MahalanobisDetector(OODDetector):
    """OOD score = ``min_c (f - mu_c)^T P (f - mu_c)``, the squared Mahalanobis distance
    to the closest class mean.

    ``mu_c`` are the class means of the labelled in-distribution features and ``P`` the
    precision of one covariance shared by all classes (tied), estimated from the
    class-centred features. ``covariance="ledoit_wolf"`` (default) uses scikit-learn's
    :class:`~sklearn.covariance.LedoitWolf` shrinkage: penultimate features of small CNNs
    (after ReLU, often with dead units, or with fewer samples than dimensions) are often
    rank deficient, so the empirical covariance is singular; shrinkage makes it invertible
    and ``P`` well conditioned. ``covariance="empirical"`` uses
    :class:`~sklearn.covariance.EmpiricalCovariance` (its precision is a pseudo-inverse, so
    directions without in-distribution variance are ignored -- the directions in which an
    OOD input may differ most).
    """

    name = "mahalanobis"
    uses_features = True
    needs_labels = True

    def __init__(self, covariance: str = "ledoit_wolf") -> None:
        super().__init__()
        if covariance not in COVARIANCES:
            raise ValueError(
                f"parameter 'covariance' has value {covariance!r}; "
                f"allowed: one of {list(COVARIANCES)}"
            )
        self.covariance = covariance
        self.classes_: np.ndarray | None = None
        self.means_: np.ndarray | None = None
        self.covariance_: np.ndarray | None = None
        self.precision_: np.ndarray | None = None

    def _fit(self, f: np.ndarray, z: np.ndarray | None, y: np.ndarray) -> None:
        from sklearn.covariance import EmpiricalCovariance, LedoitWolf

        classes, index = np.unique(y, return_inverse=True)
        means = np.stack([f[index == c].mean(axis=0) for c in range(len(classes))])
        centred = f - means[index]
        estimator = LedoitWolf if self.covariance == "ledoit_wolf" else EmpiricalCovariance
        fitted = estimator(assume_centered=True).fit(centred)
        self.classes_, self.means_ = classes, means
        self.covariance_, self.precision_ = fitted.covariance_, fitted.precision_

    def class_distances(self, features: Any) -> np.ndarray:
        """Squared Mahalanobis distance of every input to every class mean: N x n_classes."""
        self._check_fitted("fit(features, logits, labels)")
        f, _ = self._inputs(features, None, check_dims=True)
        out = np.empty((f.shape[0], len(self.means_)))
        for c, mu in enumerate(self.means_):
            d = f - mu
            out[:, c] = np.einsum("nd,de,ne->n", d, self.precision_, d)
        return np.maximum(out, 0.0)  # rounding can give tiny negatives

    def _score(self, f: np.ndarray, z: np.ndarray | None) -> np.ndarray:
        return self.class_distances(f).min(axis=1)


def l2_normalise(features: Any) -> np.ndarray:
    """Rows scaled to unit L2 norm (float64); an all-zero row stays zero."""
    f = np.asarray(features, dtype=np.float64)
    return f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), _EPS)


class KNNDetector(OODDetector):
    """OOD score = distance of the L2-normalised feature to its ``k``-th nearest
    normalised in-distribution training feature (Euclidean, scikit-learn's
    :class:`~sklearn.neighbors.NearestNeighbors`).

    Normalisation discards the feature norm: an input is OOD here only when its feature
    *direction* is far from those of the training data.
    """

    name = "knn"
    uses_features = True

    def __init__(self, k: int = 50) -> None:
        super().__init__()
        if not _is_int(k) or k < 1:
            raise ValueError(f"parameter 'k' has value {k!r}; allowed: an integer >= 1")
        self.k = int(k)
        self.index_: Any = None

    def _fit(self, f: np.ndarray, z: np.ndarray | None, y: np.ndarray | None) -> None:
        from sklearn.neighbors import NearestNeighbors

        if f.shape[0] < self.k:
            raise ValueError(
                f"parameter 'features' has {f.shape[0]} rows; allowed: at least k={self.k} "
                f"(the k-th nearest training feature must exist)"
            )
        self.index_ = NearestNeighbors(n_neighbors=self.k).fit(l2_normalise(f))

    def _score(self, f: np.ndarray, z: np.ndarray | None) -> np.ndarray:
        distances, _ = self.index_.kneighbors(l2_normalise(f), n_neighbors=self.k)
        return distances[:, -1]


DETECTORS: dict[str, Callable[..., OODDetector]] = {
    "max_softmax": MaxSoftmaxDetector,
    "energy": EnergyDetector,
    "mahalanobis": MahalanobisDetector,
    "knn": KNNDetector,
}


def make_detector(name: str, **kwargs: Any) -> OODDetector:
    """A new, unfitted detector by registry name."""
    if name not in DETECTORS:
        raise ValueError(
            f"parameter 'name' has value {name!r}; allowed: one of {sorted(DETECTORS)}"
        )
    return DETECTORS[name](**kwargs)


# ------------------------------------------------------------------ filter, then attack
def filter_then_attack(membership_score: Any, is_ood: Any, *, fill: float = -np.inf) -> np.ndarray:
    """Membership scores with every input flagged OOD set to ``fill`` (declared a non-member).

    The other scores are unchanged (float64 copy). The filter costs in-distribution TPR:
    the TPR lost is the share of *members* flagged OOD (at ``keep=0.95`` about 5 % when
    members are distributed like the attacker's held-out data). ``helpers.metrics`` rejects
    infinite scores; for AUROC pass a finite ``fill`` below every score instead, e.g.
    ``membership_score.min() - 1``.
    """
    s = np.array(membership_score, dtype=np.float64)
    flags = np.asarray(is_ood)
    if s.ndim != 1:
        raise ValueError(f"parameter 'membership_score' has shape {s.shape}; allowed: a 1-D array")
    if flags.shape != s.shape or flags.dtype != bool:
        raise ValueError(
            f"parameter 'is_ood' has shape {flags.shape} and dtype {flags.dtype}; allowed: a bool "
            f"array of shape {s.shape} (one flag per membership score)"
        )
    s[flags] = fill
    return s


def shadow_features(
    model: nn.Module, x: Any, batch_size: int = 512
) -> tuple[np.ndarray, np.ndarray]:
    """Penultimate features (N x D) and logits (N x K) of ``model`` on ``x``, as float64 NumPy.

    Batched, in eval mode and without autograd, image batches in the channels-last memory
    format (as :func:`helpers.training.predict_logits`); the model's train / eval mode is restored.
    ``model`` needs ``forward_features`` and a ``classifier`` module
    (a :class:`helpers.models.FeatureClassifier`).
    """
    has_head = isinstance(getattr(model, "classifier", None), nn.Module)
    if not (hasattr(model, "forward_features") and has_head):
        raise ValueError(
            f"parameter 'model' is a {type(model).__name__}; allowed: a model with "
            f"forward_features() and a classifier module (helpers.models.FeatureClassifier)"
        )
    if not _is_int(batch_size) or batch_size < 1:
        raise ValueError(
            f"parameter 'batch_size' has value {batch_size!r}; allowed: an integer >= 1"
        )
    x = torch.as_tensor(x)
    param = next(iter(model.parameters()), None)
    if param is not None and x.is_floating_point():
        x = x.to(device=param.device, dtype=param.dtype)
    layout = torch.channels_last if x.ndim == 4 else torch.contiguous_format
    was_training = model.training
    model.eval()
    feats, logits = [], []
    try:
        with torch.no_grad():
            for start in range(0, x.shape[0], batch_size):
                xb = x[start : start + batch_size].contiguous(memory_format=layout)
                f = model.forward_features(xb)
                feats.append(f.double().cpu())
                logits.append(model.classifier(f).double().cpu())
    finally:
        model.train(was_training)
    if not feats:
        raise ValueError(f"parameter 'x' has {x.shape[0]} inputs; allowed: at least one")
    return torch.cat(feats).numpy(), torch.cat(logits).numpy()
