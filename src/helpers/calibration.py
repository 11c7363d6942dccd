"""Calibration: error metrics, temperature scaling and a last-layer Laplace predictive.

Binning (:func:`expected_calibration_error`, :func:`overconfidence_error`,
:func:`reliability_table`): ``n_bins`` equal-width bins on the confidence (the maximum
probability); bin ``b`` holds confidences in ``[b/n_bins, (b+1)/n_bins)`` and a confidence
of exactly 1.0 goes into the last bin. (torchmetrics' ``MulticlassCalibrationError`` gives
1.0 a bin of its own; the two agree unless the last bin also holds confidences below 1.0.)

* ECE = sum_b n_b/n |conf_b - acc_b|
* OE  = sum_b n_b/n conf_b max(conf_b - acc_b, 0)

The Laplace predictor records in ``fitted_on`` which data fitted the Hessian and which
chose the prior precision, and refuses data flagged as evaluation data for either.
"""

from __future__ import annotations

import copy
import hashlib
import warnings
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax

from .cache import fingerprint  # noqa: F401  (part of this module's API)
from .scores import check_probs
from .progress import report


# ------------------------------------------------------------------ metrics
def _probs_labels(probs: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    p = check_probs(probs)
    if hasattr(labels, "detach"):
        labels = labels.detach().cpu().numpy()
    y = np.asarray(labels)
    if y.shape != (len(p),):
        raise ValueError(f"parameter 'labels' has shape {y.shape}; allowed: ({len(p)},), one label per row of 'probs'")
    if len(p) == 0:
        raise ValueError("parameter 'probs' is empty; allowed: at least one row")
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= p.shape[1]:
        raise ValueError(
            f"parameter 'labels' has values in [{y.min()}, {y.max()}] (dtype {y.dtype}); "
            f"allowed: integers from 0 to {p.shape[1] - 1}"
        )
    return p, y.astype(np.int64)


def _bins(n_bins: int) -> np.ndarray:
    if not isinstance(n_bins, (int, np.integer)) or isinstance(n_bins, bool) or n_bins < 1:
        raise ValueError(f"parameter 'n_bins' has value {n_bins!r}; allowed: an integer >= 1")
    return np.linspace(0.0, 1.0, int(n_bins) + 1)


def reliability_table(probs: Any, labels: Any, n_bins: int = 15) -> pd.DataFrame:
    """Per-bin count, mean confidence, accuracy and gap (for reliability diagrams)."""
    p, y = _probs_labels(probs, labels)
    edges = _bins(n_bins)
    conf = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    idx = np.clip(np.searchsorted(edges, conf, side="right") - 1, 0, n_bins - 1)
    count = np.bincount(idx, minlength=n_bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(idx, weights=conf, minlength=n_bins) / count
        acc = np.bincount(idx, weights=correct, minlength=n_bins) / count
    return pd.DataFrame(
        {
            "bin_lower": edges[:-1],
            "bin_upper": edges[1:],
            "count": count.astype(np.int64),
            "fraction": count / len(p),
            "confidence": mean_conf,
            "accuracy": acc,
            "gap": mean_conf - acc,
        }
    )


def expected_calibration_error(probs: Any, labels: Any, n_bins: int = 15) -> float:
    """ECE = sum_b n_b/n |conf_b - acc_b| over equal-width confidence bins."""
    t = reliability_table(probs, labels, n_bins)
    t = t[t["count"] > 0]
    return float(np.sum(t["fraction"] * np.abs(t["gap"])))


def overconfidence_error(probs: Any, labels: Any, n_bins: int = 15) -> float:
    """OE = sum_b n_b/n conf_b max(conf_b - acc_b, 0) over equal-width confidence bins."""
    t = reliability_table(probs, labels, n_bins)
    t = t[t["count"] > 0]
    return float(np.sum(t["fraction"] * t["confidence"] * np.maximum(t["gap"], 0.0)))


# ------------------------------------------------------------------ temperature scaling
def _logits(logits: Any, name: str = "logits") -> np.ndarray:
    if hasattr(logits, "detach"):
        logits = logits.detach().cpu().numpy()
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim != 2 or z.shape[1] < 2:
        raise ValueError(f"parameter {name!r} has shape {z.shape}; allowed: (N, K) with K >= 2")
    if not np.isfinite(z).all():
        raise ValueError(f"parameter {name!r} contains NaN or inf; allowed: finite numbers")
    return z


class TemperatureScaler:
    """Softmax with temperature ``T``: fixed (``TemperatureScaler(10.0)``) or fitted.

    :meth:`fit` chooses ``T`` minimising the negative log-likelihood of ``labels`` on a
    calibration split (bounded search on ``log T`` within ``bounds``). Fit it on held-out
    data, never on the non-members an attack is evaluated on.
    """

    def __init__(self, temperature: float | None = None, *, bounds: tuple[float, float] = (1e-2, 1e2)) -> None:
        if temperature is not None and not (np.isfinite(temperature) and temperature > 0):
            raise ValueError(f"parameter 'temperature' has value {temperature!r}; allowed: a number > 0 or None (fit it)")
        lo, hi = bounds
        if not 0 < lo < hi:
            raise ValueError(f"parameter 'bounds' has value {bounds!r}; allowed: (lo, hi) with 0 < lo < hi")
        self.temperature = None if temperature is None else float(temperature)
        self.bounds = (float(lo), float(hi))
        self.nll_: float | None = None

    @staticmethod
    def nll(logits: Any, labels: Any, temperature: float) -> float:
        """Mean negative log-likelihood of ``labels`` under softmax(logits / T)."""
        z = _logits(logits)
        y = np.asarray(labels, dtype=np.int64)
        lp = log_softmax(z / temperature, axis=1)
        return float(-lp[np.arange(len(z)), y].mean())

    def fit(self, logits: Any, labels: Any) -> "TemperatureScaler":
        """Choose ``T`` with the lowest NLL of ``labels`` (bounded search over log T)."""
        z = _logits(logits)
        _probs_labels(np.full(z.shape, 1.0 / z.shape[1]), labels)  # validates the labels
        if hasattr(labels, "detach"):
            labels = labels.detach().cpu().numpy()
        y = np.asarray(labels, dtype=np.int64)
        res = minimize_scalar(
            lambda log_t: self.nll(z, y, float(np.exp(log_t))),
            bounds=tuple(np.log(self.bounds)),
            method="bounded",
            options={"xatol": 1e-6},
        )
        self.temperature = float(np.exp(res.x))
        self.nll_ = float(res.fun)
        return self

    def transform(self, logits: Any) -> np.ndarray:
        """Probabilities softmax(logits / T), float64."""
        if self.temperature is None:
            raise ValueError("TemperatureScaler has no temperature; call fit(logits, labels) first or pass temperature=")
        return np.exp(log_softmax(_logits(logits) / self.temperature, axis=1))

    def __repr__(self) -> str:
        return f"TemperatureScaler(temperature={self.temperature!r})"


# ------------------------------------------------------------------ last-layer Laplace
def _row_hashes(x: Any) -> set[bytes]:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    a = np.ascontiguousarray(np.asarray(x, dtype=np.float32)).reshape(len(x), -1)
    return {hashlib.blake2b(row.tobytes(), digest_size=12).digest() for row in a}


def _describe(key: str | None, x: Any) -> dict[str, Any]:
    return {"key": key, "n": int(len(x)), "fingerprint": fingerprint(x)}


@dataclass
class LaplacePredictor:
    """Posterior predictive of a last-layer Laplace approximation (laplace-torch).

    ``predict_proba(x)`` returns float64 class probabilities (rows sum to 1). The default
    ``link_approx="probit"`` is deterministic; ``"mc"`` averages ``n_samples`` softmax
    samples drawn under ``seed`` (same inputs, same seed -> same output).
    """

    la: Any
    link_approx: str = "probit"
    n_samples: int = 100
    seed: int = 0
    batch_size: int = 256
    fitted_on: dict[str, Any] = field(default_factory=dict)
    features: Any = None  # the backbone (``model.forward_features``) when ``la`` covers only the head

    @property
    def prior_precision(self) -> np.ndarray:
        return np.atleast_1d(self.la.prior_precision.detach().cpu().numpy())

    def predict_proba(self, x: Any) -> np.ndarray:
        import torch

        x = torch.as_tensor(x)
        device = next(self.la.model.parameters()).device
        if self.features is not None:
            x = _features(self.features, x, self.batch_size, device)
        out = []
        with torch.random.fork_rng(devices=[] if device.type == "cpu" else [device]):
            torch.manual_seed(self.seed)
            for start in range(0, len(x), self.batch_size):
                xb = x[start : start + self.batch_size].to(device)
                p = self.la(xb, pred_type="glm", link_approx=self.link_approx,
                            n_samples=self.n_samples)
                out.append(p.detach().double().cpu())
        probs = torch.cat(out).numpy() if out else np.zeros((0, 0))
        return probs / probs.sum(axis=1, keepdims=True)


def _features(forward_features: Any, x: Any, batch_size: int, device: Any) -> Any:
    """Penultimate features of ``x`` in batches, without autograd, on the CPU."""
    import torch

    with torch.no_grad():
        return torch.cat([forward_features(x[i:i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)])


def laplace_last_layer(
    model: Any,
    x_fit: Any,
    y_fit: Any,
    *,
    prior_fit_x: Any = None,
    prior_fit_y: Any = None,
    method: str = "marglik",
    seed: int = 0,
    link_approx: str = "probit",
    n_samples: int = 100,
    batch_size: int = 256,
    fit_key: str | None = None,
    prior_key: str | None = None,
    forbidden: Mapping[str, Any] | None = None,
    grid: tuple[float, float, int] = (-4.0, 4.0, 50),
    prior_precision: Sequence[float] | float | None = None,
) -> LaplacePredictor:
    """Fit a last-layer, Kronecker-factored Laplace approximation around a trained ``model``.

    ``model``'s last module must be an ``nn.Linear``; the model is copied, not changed.
    The Hessian is fitted on ``(x_fit, y_fit)``, the model's training data. The prior
    precision is chosen

    * ``method="marglik"`` (default): by maximising the marginal likelihood, which needs
      only the training data;
    * ``method="gridsearch"``: by the NLL of the predictive on ``(prior_fit_x,
      prior_fit_y)``, a held-out calibration split that must be passed explicitly.

    ``prior_precision`` (from an earlier fit's :attr:`LaplacePredictor.prior_precision`
    with the same model, data and ``method``) skips the search and reuses that prior: the
    posterior is the same, computed in a fraction of the time.

    ``forbidden`` maps names to input sets used for evaluation (e.g. the non-members):
    a ``ValueError`` is raised if any of their rows is in the data that chooses the prior.
    ``fitted_on`` records key, size and content fingerprint of each data set used.
    """
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    try:
        with warnings.catch_warnings():  # laplace-torch's imports trigger torch.jit deprecation notes
            warnings.simplefilter("ignore", FutureWarning)
            from laplace import Laplace
    except ImportError as err:  # pragma: no cover
        raise ImportError("laplace_last_layer needs laplace-torch (pip install laplace-torch==0.3)") from err

    if method not in ("marglik", "gridsearch"):
        raise ValueError(f"parameter 'method' has value {method!r}; allowed: 'marglik' or 'gridsearch'")
    if link_approx not in ("probit", "mc", "bridge", "bridge_norm"):
        raise ValueError(f"parameter 'link_approx' has value {link_approx!r}; allowed: 'probit', 'mc', 'bridge', 'bridge_norm'")
    last = list(model.modules())[-1]
    if not isinstance(last, nn.Linear):
        raise ValueError(f"parameter 'model' ends in {type(last).__name__}; allowed: a model whose last module is nn.Linear")
    x_fit, y_fit = torch.as_tensor(x_fit), torch.as_tensor(y_fit).long()
    if len(x_fit) != len(y_fit) or len(x_fit) == 0:
        raise ValueError(f"parameters 'x_fit' ({len(x_fit)} rows) and 'y_fit' ({len(y_fit)}); allowed: equally many, at least one")
    if method == "gridsearch":
        if prior_fit_x is None or prior_fit_y is None:
            raise ValueError(
                "parameters 'prior_fit_x'/'prior_fit_y' are None; allowed with method='gridsearch': a held-out "
                "calibration split (never the evaluation non-members), or use method='marglik'"
            )
        prior_fit_x, prior_fit_y = torch.as_tensor(prior_fit_x), torch.as_tensor(prior_fit_y).long()
        if len(prior_fit_x) != len(prior_fit_y) or len(prior_fit_x) == 0:
            raise ValueError(f"parameters 'prior_fit_x' ({len(prior_fit_x)} rows) and 'prior_fit_y' ({len(prior_fit_y)}); allowed: equally many, at least one")
    elif prior_fit_x is not None:
        raise ValueError("parameter 'prior_fit_x' is given but method='marglik' ignores it; allowed: None, or method='gridsearch'")

    prior_x = prior_fit_x if method == "gridsearch" else x_fit
    for name, data in (forbidden or {}).items():
        clash = _row_hashes(prior_x) & _row_hashes(data)
        if clash:
            raise ValueError(
                f"parameter {'prior_fit_x' if method == 'gridsearch' else 'x_fit'} shares {len(clash)} input(s) with "
                f"the evaluation set {name!r}; allowed: data the attack evaluation never sees (a held-out calibration split)"
            )

    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    backbone, fit_inputs = None, x_fit
    if hasattr(model, "forward_features") and getattr(model, "classifier", None) is last:
        # Same approximation, computed on the head alone: the backbone's features of every
        # input are computed once, instead of once per forward pass of the prior search.
        backbone = model.forward_features
        x_fit = _features(backbone, x_fit, batch_size, device)
        if prior_fit_x is not None:
            prior_fit_x = _features(backbone, prior_fit_x, batch_size, device)
        model = nn.Sequential(nn.Flatten(), copy.deepcopy(last)).to(device).eval()  # laplace-torch wants >1 module
    loader = DataLoader(TensorDataset(x_fit, y_fit), batch_size=batch_size, shuffle=False)
    with torch.random.fork_rng(devices=[] if device.type == "cpu" else [device]):
        torch.manual_seed(seed)
        how = "prior reused from an earlier fit" if prior_precision is not None else f"prior by {method}"
        report(f"last-layer Laplace approximation: Hessian on {len(x_fit):,} images, {how} ...")
        la = Laplace(model, "classification", subset_of_weights="last_layer", hessian_structure="kron")
        la.fit(loader)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="By default `link_approx` is `probit`")
            if prior_precision is not None:
                la.prior_precision = torch.as_tensor(
                    np.atleast_1d(np.asarray(prior_precision, dtype=np.float64)),
                    dtype=la.prior_precision.dtype, device=la.prior_precision.device)
            elif method == "marglik":
                la.optimize_prior_precision(pred_type="glm", method="marglik", link_approx=link_approx, n_samples=n_samples)
            else:
                lo, hi, size = grid
                val = DataLoader(TensorDataset(prior_fit_x, prior_fit_y), batch_size=batch_size, shuffle=False)
                la.optimize_prior_precision(
                    pred_type="glm", method="gridsearch", val_loader=val, link_approx=link_approx,
                    n_samples=n_samples, log_prior_prec_min=lo, log_prior_prec_max=hi, grid_size=int(size),
                )
    if backbone is None:
        model.train(was_training)
    else:
        backbone.__self__.train(was_training)
    fitted_on = {
        "hessian": _describe(fit_key, fit_inputs),
        "prior": _describe(fit_key if method == "marglik" else prior_key, prior_x),
        "method": method,
        "prior_reused": prior_precision is not None,
        "forbidden_checked": sorted(forbidden or {}),
    }
    return LaplacePredictor(la, link_approx=link_approx, n_samples=n_samples, seed=seed, batch_size=batch_size,
                            fitted_on=fitted_on, features=backbone)
