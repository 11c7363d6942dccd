"""Prediction scores of a model on a set of inputs, and the statistics attacks read from them.

:class:`Scores` holds the logits (float32, as the model produced them) and the softmax
probabilities and log-probabilities computed from them **in float64**. Score-based attacks
and the metrics only need these arrays, so everything downstream is model-agnostic.

Saturation. A float32 softmax returns exactly 1.0 once the gap between the largest and the
second-largest logit exceeds about 17 nats (about 37 in float64), so many members and
non-members share the maximum score 1.0. Two helpers give keys that keep ordering the
inputs in that regime, computed in log space from the log-probabilities:

* :func:`max_log_odds` ``= log p_max - log(sum of the other p_j)``, a strictly increasing
  function of the maximum score, finite until the logit gap exceeds ~1e300;
* :func:`log_entropy` ``= log H``, a strictly increasing function of the entropy.

The attacks (:mod:`helpers.attacks`) rank by these keys unless asked for the paper's raw
rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import logsumexp

from .training import predict_logits

PROB_SUM_ATOL = 1e-4  # rows of a probability matrix must sum to 1 within this


@dataclass(frozen=True, eq=False)
class Scores:
    """Scores of one model on one input set (N inputs, K classes).

    ``logits`` may be ``None`` when the scores come from a predictive that returns
    probabilities directly (see :func:`scores_from_probs`).
    """

    probs: np.ndarray  # (N, K) float64
    log_probs: np.ndarray  # (N, K) float64; -inf where a probability is exactly 0
    logits: np.ndarray | None = None  # (N, K) float32
    labels: np.ndarray | None = None  # (N,) int64 true classes, optional

    def __post_init__(self) -> None:
        if self.probs.ndim != 2 or self.probs.shape != self.log_probs.shape:
            raise ValueError(
                f"parameter 'probs' has shape {self.probs.shape} and 'log_probs' shape "
                f"{self.log_probs.shape}; allowed: two equal (N, K) shapes"
            )
        if self.logits is not None and self.logits.shape != self.probs.shape:
            raise ValueError(
                f"parameter 'logits' has shape {self.logits.shape}; allowed: the shape of "
                f"'probs' {self.probs.shape}"
            )
        if self.labels is not None and self.labels.shape != (self.probs.shape[0],):
            raise ValueError(
                f"parameter 'labels' has shape {self.labels.shape}; allowed: "
                f"({self.probs.shape[0]},), one label per row of 'probs'"
            )

    def __len__(self) -> int:
        return int(self.probs.shape[0])

    @property
    def n_classes(self) -> int:
        return int(self.probs.shape[1])

    def subset(self, index: Any) -> "Scores":
        """The scores of a subset of the inputs (any numpy index)."""
        pick = lambda a: None if a is None else a[index]  # noqa: E731
        return Scores(self.probs[index], self.log_probs[index], pick(self.logits), pick(self.labels))

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays (for ``np.savez``); ``None`` fields are left out."""
        out = {"probs": self.probs, "log_probs": self.log_probs}
        if self.logits is not None:
            out["logits"] = self.logits
        if self.labels is not None:
            out["labels"] = self.labels
        return out

    @classmethod
    def from_arrays(cls, arrays: Any) -> "Scores":
        get = lambda k: np.asarray(arrays[k]) if k in arrays else None  # noqa: E731
        return cls(get("probs"), get("log_probs"), get("logits"), get("labels"))


def _labels(labels: Any, n: int) -> np.ndarray | None:
    if labels is None:
        return None
    if hasattr(labels, "detach"):
        labels = labels.detach().cpu().numpy()
    return np.asarray(labels).astype(np.int64).reshape(n)


def scores_from_logits(
    logits: Any, *, temperature: float = 1.0, labels: Any = None
) -> Scores:
    """Scores from a (N, K) logit array: softmax of ``logits / temperature`` in float64."""
    if hasattr(logits, "detach"):
        logits = logits.detach().cpu().numpy()
    z = np.asarray(logits, dtype=np.float32)
    if z.ndim != 2 or z.shape[1] < 2:
        raise ValueError(f"parameter 'logits' has shape {z.shape}; allowed: (N, K) with K >= 2")
    if not np.isfinite(z).all():
        raise ValueError("parameter 'logits' contains NaN or inf values; allowed: finite numbers")
    if not (np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"parameter 'temperature' has value {temperature!r}; allowed: a number > 0")
    z64 = z.astype(np.float64) / float(temperature)
    log_probs = z64 - logsumexp(z64, axis=1, keepdims=True)
    return Scores(np.exp(log_probs), log_probs, z, _labels(labels, len(z)))


def check_probs(probs: Any, name: str = "probs") -> np.ndarray:
    """A validated (N, K) float64 probability matrix (finite, >= 0, rows sum to 1)."""
    if hasattr(probs, "detach"):
        probs = probs.detach().cpu().numpy()
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(f"parameter {name!r} has shape {p.shape}; allowed: (N, K) with K >= 2")
    if not np.isfinite(p).all():
        raise ValueError(f"parameter {name!r} contains NaN or inf values; allowed: finite probabilities")
    if (p < 0).any() or (p > 1 + PROB_SUM_ATOL).any():
        raise ValueError(
            f"parameter {name!r} has values in [{p.min():.3g}, {p.max():.3g}]; allowed: [0, 1]"
        )
    sums = p.sum(axis=1)
    worst = int(np.argmax(np.abs(sums - 1))) if len(p) else 0
    if len(p) and abs(sums[worst] - 1) > PROB_SUM_ATOL:
        raise ValueError(
            f"parameter {name!r}: row {worst} sums to {sums[worst]:.6g}; allowed: rows that "
            f"sum to 1 within {PROB_SUM_ATOL} (pass logits to scores_from_logits instead?)"
        )
    return p


def scores_from_probs(probs: Any, *, labels: Any = None) -> Scores:
    """Scores from probabilities produced directly (e.g. a Laplace predictive)."""
    p = check_probs(probs)
    with np.errstate(divide="ignore"):
        log_probs = np.log(p)
    return Scores(p, log_probs, None, _labels(labels, len(p)))


def as_scores(scores: Any, name: str = "scores") -> Scores:
    """Accept a :class:`Scores` or a raw (N, K) probability array."""
    if isinstance(scores, Scores):
        return scores
    try:
        return scores_from_probs(scores)
    except ValueError as err:
        raise ValueError(str(err).replace("'probs'", repr(name))) from None


def compute_scores(
    model: Any,
    x: Any,
    *,
    batch_size: int | None = None,
    temperature: float = 1.0,
    device: Any = None,
    labels: Any = None,
) -> Scores:
    """Scores of ``model`` on inputs ``x`` (tensor or array): batched (``batch_size``, None:
    the device's default of :func:`helpers.training.predict_logits`), eval mode, no grad.

    The model's train/eval mode is restored afterwards.
    """
    logits = predict_logits(model, x, batch_size=batch_size, device=device)
    if logits.shape[0] == 0:
        raise ValueError("parameter 'x' is empty; allowed: at least one input")
    return scores_from_logits(logits, temperature=temperature, labels=labels)


# ---------------------------------------------------------------- derived quantities
def _lp(scores: Any) -> np.ndarray:
    return as_scores(scores).log_probs


def max_score(scores: Any) -> np.ndarray:
    """Maximum softmax probability of each row."""
    return as_scores(scores).probs.max(axis=1)




def _top_and_rest(lp: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(index of the max, its log-prob, logsumexp of the other log-probs) per row."""
    top = lp.argmax(axis=1)
    rows = np.arange(len(lp))
    lp_max = lp[rows, top]
    rest = lp.copy()
    rest[rows, top] = -np.inf
    with np.errstate(divide="ignore"):
        return top, lp_max, logsumexp(rest, axis=1)


def max_log_odds(scores: Any) -> np.ndarray:
    """``log(p_max / (1 - p_max))`` computed without saturating.

    ``1 - p_max`` is taken as the sum of the other probabilities in log space, so two
    inputs whose maximum score both round to 1.0 still get different keys. ``+inf`` only
    when every other probability is exactly 0.
    """
    _, lp_max, lse_rest = _top_and_rest(_lp(scores))
    return lp_max - lse_rest


def entropy(scores: Any) -> np.ndarray:
    """Shannon entropy in nats, ``-sum p log p`` with ``0 log 0 = 0``."""
    s = as_scores(scores)
    terms = np.where(s.probs > 0, -s.probs * np.where(np.isfinite(s.log_probs), s.log_probs, 0.0), 0.0)
    return terms.sum(axis=1)


def log_entropy(scores: Any) -> np.ndarray:
    """``log`` of the entropy, computed in log space so that it does not underflow.

    Each term ``p_j * (-log p_j)`` becomes ``log p_j + log(-log p_j)``; for the largest
    class ``-log p_max = softplus(logsumexp_{j != max}(log p_j - log p_max))``, which stays
    accurate when ``p_max`` rounds to 1. ``-inf`` only when the entropy is exactly 0
    (one probability is 1 and the others are exactly 0).
    """
    lp = _lp(scores)
    top, lp_max, lse_rest = _top_and_rest(lp)
    s = lse_rest - lp_max  # log of (sum of the others / p_max)
    # log(softplus(s)): softplus(s) = log1p(exp(s)); for s << 0 it equals exp(s), so log = s
    with np.errstate(divide="ignore", over="ignore"):
        log_sp = np.where(s < -30, s, np.log(np.logaddexp(0.0, np.minimum(s, 700.0))))
    log_sp = np.where(s > 700, np.log(np.maximum(s, 1.0)), log_sp)
    terms = np.full(lp.shape, -np.inf)
    finite = np.isfinite(lp) & (lp < 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms[finite] = lp[finite] + np.log(-lp[finite])
    rows = np.arange(len(lp))
    terms[rows, top] = lp_max + log_sp
    with np.errstate(divide="ignore"):
        return logsumexp(terms, axis=1)


def top_k(scores: Any, k: int = 3) -> np.ndarray:
    """The ``k`` largest probabilities of each row, in descending order, shape (N, k)."""
    p = as_scores(scores).probs
    if not 1 <= k <= p.shape[1]:
        raise ValueError(f"parameter 'k' has value {k!r}; allowed: an integer from 1 to {p.shape[1]} (the number of classes)")
    return -np.sort(-p, axis=1)[:, :k]
