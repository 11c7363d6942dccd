"""Reference-model membership inference attacks (offline), in NumPy and SciPy.

A reference-model attack compares the attacked model's output on an input ``x`` with the
outputs of ``K`` *reference* models, trained by the attacker on its own data, that did not
train on ``x`` (the *OUT* references of ``x``). Every attack here reads one
:class:`ReferenceSignals` (the logits of the attacked model and of the references on the
same ``N`` inputs) and shares the interface of :mod:`helpers.attacks`::

    attack = LiRA().fit(shadow_members, shadow_nonmembers)   # shadow model's signals
    attack.membership_score(target_signals)                  # float64, higher = member
    attack.predict(target_signals)                           # score >= threshold_

``fit`` takes the signals of the attacker's *shadow* model (``target_logits`` are the
shadow model's logits on its own members and non-members); it sets ``threshold_`` with
:func:`helpers.metrics.best_threshold` (maximum ``TPR - FPR`` on the shadow data) and keeps
``shadow_membership_scores_``. Per-input statistics use only the OUT references of each
input (``reference_in`` False); IN references are ignored.

Attacks
-------
:class:`LiRA`
    Carlini et al., arXiv:2112.03570, offline and one-sided: a Gaussian (or Student-t) fit
    to the OUT references' logit confidence, per input or with one fixed scale.
:class:`RMIA`
    Zarifzadeh, Liu & Shokri, arXiv:2312.03262, offline: the share of population inputs
    ``z`` the likelihood ratio of ``x`` dominates (formula as ML Privacy Meter computes it).
:class:`DifficultyCalibration`
    Watson et al., arXiv:2111.08440: the target's statistic minus its OUT mean.
:class:`RankTest`
    A conformal rank test: the rank of the target's statistic among its OUT references.

``label_mode="labelled"`` reads every statistic at the true label; ``"top_class"`` reads it
at the attacked model's own top class (argmax of ``target_logits``), for inputs without
labels; the references are read at that same class. ``"own_top_class"`` reads *every* model
at its own top class (the same rule for target and references, so under non-membership
their statistics stay exchangeable on any input; the target-class rule biases the target's
value upwards, since the class was chosen for being the target's largest).

RMIA needs *population* signals for the model being scored (the attacked model's logits on
the population inputs ``z`` and the references' logits on them). They differ between the
shadow model and the target model, so they are an argument of :meth:`RMIA.fit` (the shadow
model's) and of :meth:`RMIA.membership_score` / :meth:`RMIA.predict` (the target model's).
Every attack accepts that ``population`` argument, so that one loop can pass it to all of
them; only RMIA reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Real
from typing import Any, Callable

import numpy as np
from scipy import stats
from scipy.special import logsumexp

from .attacks import NotFittedError
from .metrics import auroc, best_threshold, membership_labels

__all__ = [
    "LABEL_MODES", "REFERENCE_ATTACKS", "DifficultyCalibration", "LiRA", "RMIA", "RankTest",
    "ReferenceAttack", "ReferenceSignals", "cross_entropy", "logit_confidence",
    "make_reference_attack", "model_statistics", "rank_p_value", "signal_classes", "true_class_log_probability",
    "true_class_probability",
]

LABEL_MODES = ("labelled", "top_class", "own_top_class")
VARIANCES = ("per_example", "fixed")
FIXED_SIGMAS = ("median", "pooled")
DEFAULT_MIN_STD = 1e-6


def _is_number(x: Any) -> bool:
    return isinstance(x, Real) and not isinstance(x, (bool, np.bool_)) and bool(np.isfinite(x))


def _check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"parameter {name!r} has value {value!r}; allowed: one of {list(allowed)}")


# ------------------------------------------------------------------ data container
@dataclass(frozen=True, eq=False)
class ReferenceSignals:
    """Logits of the attacked model and of ``K`` reference models on the same ``N`` inputs.

    ``target_logits`` (N, C); ``reference_logits`` (K, N, C); ``labels`` (N,) integer true
    labels or ``None`` (inputs without labels); ``reference_in`` (K, N) bool, True where
    reference ``k`` trained on input ``n`` (``None``: every reference is OUT everywhere).
    Arrays are converted to float64 / int64 / bool on construction.
    """

    target_logits: np.ndarray
    reference_logits: np.ndarray
    labels: np.ndarray | None = None
    reference_in: np.ndarray | None = None

    def __post_init__(self) -> None:
        t = np.asarray(self.target_logits, dtype=np.float64)
        r = np.asarray(self.reference_logits, dtype=np.float64)
        if t.ndim != 2 or t.shape[1] < 2:
            raise ValueError(
                f"parameter 'target_logits' has shape {t.shape}; allowed: (N, C) with C >= 2"
            )
        n, c = t.shape
        if r.ndim != 3 or r.shape[1:] != (n, c) or r.shape[0] < 1:
            raise ValueError(
                f"parameter 'reference_logits' has shape {r.shape}; allowed: (K, {n}, {c}) "
                f"with K >= 1 (K references on the N={n} inputs of 'target_logits')"
            )
        for name, a in (("target_logits", t), ("reference_logits", r)):
            if not np.isfinite(a).all():
                raise ValueError(f"parameter {name!r} contains NaN or inf; allowed: finite values")
        labels = self.labels
        if labels is not None:
            raw = np.asarray(labels)
            if raw.shape != (n,):
                raise ValueError(
                    f"parameter 'labels' has shape {raw.shape}; allowed: ({n},) or None"
                )
            if raw.dtype == bool or not np.issubdtype(raw.dtype, np.number):
                raise ValueError(
                    f"parameter 'labels' has dtype {raw.dtype}; allowed: integer class labels"
                )
            if raw.size and not (np.isfinite(raw).all() and (raw == np.round(raw)).all()):
                raise ValueError("parameter 'labels' has non-integer values; allowed: integers")
            labels = raw.astype(np.int64)
            if labels.size and (labels.min() < 0 or labels.max() >= c):
                bad = labels[(labels < 0) | (labels >= c)][0]
                raise ValueError(
                    f"parameter 'labels' has value {int(bad)}; allowed: class labels 0..{c - 1}"
                )
        member = self.reference_in
        if member is not None:
            raw = np.asarray(member)
            if raw.shape != r.shape[:2]:
                raise ValueError(
                    f"parameter 'reference_in' has shape {raw.shape}; allowed: {r.shape[:2]} "
                    f"(K references x N inputs) or None"
                )
            if raw.dtype != bool:
                if not np.issubdtype(raw.dtype, np.number) or not np.isin(raw, (0, 1)).all():
                    raise ValueError(
                        "parameter 'reference_in' has values other than True/False; "
                        "allowed: a bool array (or 0/1)"
                    )
            member = raw.astype(bool)
        object.__setattr__(self, "target_logits", t)
        object.__setattr__(self, "reference_logits", r)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "reference_in", member)

    def __len__(self) -> int:
        return self.target_logits.shape[0]

    def __repr__(self) -> str:
        k, n, c = self.reference_logits.shape
        lab = "labelled" if self.labels is not None else "no labels"
        least = int(self.n_out.min(initial=k))
        return f"ReferenceSignals(N={n}, K={k}, C={c}, {lab}, at least {least} OUT per input)"

    @property
    def n_references(self) -> int:
        """``K``, the number of reference models."""
        return self.reference_logits.shape[0]

    @property
    def n_classes(self) -> int:
        return self.target_logits.shape[1]

    @property
    def out_mask(self) -> np.ndarray:
        """(K, N) bool: True where reference ``k`` did *not* train on input ``n``."""
        if self.reference_in is None:
            return np.ones(self.reference_logits.shape[:2], dtype=bool)
        return ~self.reference_in

    @property
    def n_out(self) -> np.ndarray:
        """(N,) number of OUT references of every input."""
        return self.out_mask.sum(axis=0)

    def subset(self, index: Any) -> "ReferenceSignals":
        """The signals of some inputs (an index array, a bool mask of length N or a slice)."""
        idx = index if isinstance(index, slice) else np.atleast_1d(np.asarray(index))
        return ReferenceSignals(
            target_logits=self.target_logits[idx],
            reference_logits=self.reference_logits[:, idx],
            labels=None if self.labels is None else self.labels[idx],
            reference_in=None if self.reference_in is None else self.reference_in[:, idx],
        )

    def take_references(self, k_index: Any) -> "ReferenceSignals":
        """The same inputs with a subset of the references (e.g. the first ``k`` of them)."""
        idx = k_index if isinstance(k_index, slice) else np.atleast_1d(np.asarray(k_index))
        return ReferenceSignals(
            target_logits=self.target_logits,
            reference_logits=self.reference_logits[idx],
            labels=self.labels,
            reference_in=None if self.reference_in is None else self.reference_in[idx],
        )


# ------------------------------------------------------------------ statistics
def _logits_and_classes(logits: Any, classes: Any) -> tuple[np.ndarray, np.ndarray]:
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim < 2 or z.shape[-1] < 2:
        raise ValueError(
            f"parameter 'logits' has shape {z.shape}; allowed: (N, C) or (K, N, C) with C >= 2"
        )
    c = np.asarray(classes)
    if c.shape != z.shape[-2:-1]:
        raise ValueError(
            f"parameter 'classes' has shape {c.shape}; allowed: ({z.shape[-2]},), "
            f"one class per input"
        )
    if c.size and (not np.issubdtype(c.dtype, np.integer) or c.min() < 0 or c.max() >= z.shape[-1]):
        raise ValueError(
            f"parameter 'classes' has values outside 0..{z.shape[-1] - 1} or is not integer "
            f"(dtype {c.dtype}); allowed: integer classes 0..{z.shape[-1] - 1}"
        )
    idx = np.broadcast_to(c.astype(np.intp)[:, None], z.shape[:-1] + (1,))
    return z, idx


def logit_confidence(logits: Any, classes: Any) -> np.ndarray:
    """LiRA's statistic ``log p_y - log(sum_{y' != y} p_y')`` at class ``y = classes``.

    Computed from the logits as ``z_y - logsumexp(z_{y'}, y' != y)`` (the softmax
    normaliser cancels), so it is finite for any finite logits. ``logits`` (N, C) or
    (K, N, C), ``classes`` (N,); returns float64 of shape ``logits.shape[:-1]``.
    """
    z, idx = _logits_and_classes(logits, classes)
    z_y = np.take_along_axis(z, idx, axis=-1)[..., 0]
    others = z.copy()
    np.put_along_axis(others, idx, -np.inf, axis=-1)
    return z_y - logsumexp(others, axis=-1)


def true_class_log_probability(logits: Any, classes: Any) -> np.ndarray:
    """``log softmax(z)_y`` (float64, finite for finite logits)."""
    z, idx = _logits_and_classes(logits, classes)
    return np.take_along_axis(z, idx, axis=-1)[..., 0] - logsumexp(z, axis=-1)


def true_class_probability(logits: Any, classes: Any) -> np.ndarray:
    """``softmax(z)_y``, the signal of RMIA (float64)."""
    return np.exp(true_class_log_probability(logits, classes))


def cross_entropy(logits: Any, classes: Any) -> np.ndarray:
    """Cross-entropy loss ``-log softmax(z)_y`` (float64)."""
    return -true_class_log_probability(logits, classes)


def signal_classes(signals: ReferenceSignals, label_mode: str = "labelled") -> np.ndarray:
    """The class each input's statistics are read at: the true label (``"labelled"``) or the
    attacked model's top class, ``argmax(target_logits)`` (``"top_class"``, label-free).
    ``"own_top_class"`` has no single class per input: see :func:`model_statistics`."""
    _check_choice("label_mode", label_mode, LABEL_MODES)
    if label_mode == "own_top_class":
        raise ValueError("parameter 'label_mode' has value 'own_top_class', which reads each model at "
                         "its own class; allowed here: 'labelled' or 'top_class' (use model_statistics)")
    if label_mode == "top_class":
        return np.argmax(signals.target_logits, axis=1)
    if signals.labels is None:
        raise ValueError(
            "parameter 'label_mode' has value 'labelled' but the signals have labels=None; "
            "allowed: pass labels to ReferenceSignals, or use label_mode='top_class'"
        )
    return signals.labels


_STATISTICS: dict[str, Callable[[Any, Any], np.ndarray]] = {
    "logit_confidence": logit_confidence,
    "loss": cross_entropy,
}


def _own_top(f: Callable[[Any, Any], np.ndarray], logits: np.ndarray) -> np.ndarray:
    """``f`` of every model's logits at that model's own top class."""
    if logits.ndim == 2:
        return f(logits, np.argmax(logits, axis=1))
    return np.stack([f(z, np.argmax(z, axis=1)) for z in logits])


def model_statistics(signals: ReferenceSignals, f: Callable[[Any, Any], np.ndarray],
                     label_mode: str) -> tuple[np.ndarray, np.ndarray]:
    """(target (N,), references (K, N)) of a per-class statistic ``f(logits, classes)``,
    read at the classes of ``label_mode`` (each model's own top class for ``own_top_class``)."""
    _check_choice("label_mode", label_mode, LABEL_MODES)
    if label_mode == "own_top_class":
        return _own_top(f, signals.target_logits), _own_top(f, signals.reference_logits)
    classes = signal_classes(signals, label_mode)
    return f(signals.target_logits, classes), f(signals.reference_logits, classes)


def _statistic(signals: ReferenceSignals, statistic: str,
               label_mode: str) -> tuple[np.ndarray, np.ndarray]:
    """(target (N,), references (K, N)) of a statistic at the classes of ``label_mode``."""
    return model_statistics(signals, _STATISTICS[statistic], label_mode)


def _checked_out_mask(signals: ReferenceSignals, name: str, min_out: int, why: str) -> np.ndarray:
    out = signals.out_mask
    n_out = out.sum(axis=0)
    bad = np.flatnonzero(n_out < min_out)
    if bad.size:
        raise ValueError(
            f"parameter {name!r}: input {int(bad[0])} has {int(n_out[bad[0]])} OUT references "
            f"({bad.size} of {len(signals)} inputs have fewer than {min_out}); allowed: at least "
            f"{min_out} OUT reference(s) per input ({why})"
        )
    return out


def _out_moments(values: np.ndarray, out: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per input: (count, mean, sample std with ddof=1) of ``values`` (K, N) where ``out``.
    The std is NaN where there is a single OUT value."""
    n = out.sum(axis=0)
    mean = np.where(out, values, 0.0).sum(axis=0) / n
    sq = np.where(out, (values - mean) ** 2, 0.0).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        std = np.sqrt(sq / (n - 1))
    return n, mean, std


def rank_p_value(target: Any, references: Any, out: Any = None) -> np.ndarray:
    """Conformal p-value ``(1 + #{OUT k: s_k >= s_t}) / (K_out + 1)`` per input.

    ``target`` (N,), ``references`` (K, N), ``out`` (K, N) bool (``None``: all OUT).
    If the target's statistic and its OUT references' are exchangeable (a non-member),
    the p-value is super-uniform: ``P(p <= alpha) <= alpha`` for every ``alpha``,
    whatever the distribution of the statistic on that input; ties only make it more
    conservative.
    """
    t = np.asarray(target, dtype=np.float64)
    r = np.asarray(references, dtype=np.float64)
    if t.ndim != 1 or r.ndim != 2 or r.shape[1] != t.shape[0]:
        raise ValueError(
            f"parameters 'target' and 'references' have shapes {t.shape} and "
            f"{r.shape}; allowed: (N,) and (K, N)"
        )
    o = np.ones(r.shape, dtype=bool) if out is None else np.asarray(out, dtype=bool)
    if o.shape != r.shape:
        raise ValueError(
            f"parameter 'out' has shape {o.shape}; allowed: {r.shape} or None"
        )
    n_out = o.sum(axis=0)
    return (1.0 + (o & (r >= t)).sum(axis=0)) / (n_out + 1.0)


# ------------------------------------------------------------------ attacks
def _check_signals(signals: Any, name: str) -> ReferenceSignals:
    if not isinstance(signals, ReferenceSignals):
        raise TypeError(
            f"parameter {name!r} has type {type(signals).__name__}; allowed: ReferenceSignals"
        )
    if len(signals) == 0:
        raise ValueError(f"parameter {name!r} has no inputs (N=0); allowed: at least one input")
    return signals


class ReferenceAttack:
    """Base class: validation, fitting bookkeeping and the hard decision."""

    name = "reference_attack"

    def __init__(self, label_mode: str = "labelled") -> None:
        _check_choice("label_mode", label_mode, LABEL_MODES)
        self.label_mode = label_mode
        self.n_classes_: int | None = None
        self.threshold_: float | None = None
        self.shadow_membership_scores_: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def is_fitted(self) -> bool:
        return self.threshold_ is not None

    def fit(self, shadow_member_signals: ReferenceSignals,
            shadow_nonmember_signals: ReferenceSignals,
            population: ReferenceSignals | None = None) -> "ReferenceAttack":
        """Fit on the shadow model's signals of its members and non-members.

        ``population``: population signals of the shadow model (read by RMIA only).
        """
        m = _check_signals(shadow_member_signals, "shadow_member_signals")
        n = _check_signals(shadow_nonmember_signals, "shadow_nonmember_signals")
        if m.n_classes != n.n_classes:
            raise ValueError(
                f"parameter 'shadow_nonmember_signals' has {n.n_classes} classes but "
                f"'shadow_member_signals' has {m.n_classes}; allowed: the same number of classes"
            )
        self._fit(m, n, population)
        ms = self._score(m, population, "shadow_member_signals")
        ns = self._score(n, population, "shadow_nonmember_signals")
        self.shadow_membership_scores_ = (ms, ns)
        self.threshold_ = best_threshold(ms, ns)
        self.n_classes_ = m.n_classes
        return self

    def membership_score(self, signals: ReferenceSignals,
                         population: ReferenceSignals | None = None) -> np.ndarray:
        """Continuous membership score (float64, higher = more likely a member).

        ``population``: population signals of the model being scored (RMIA only).
        """
        s = self._check_fitted(signals)
        return self._score(s, population, "signals")

    def predict(self, signals: ReferenceSignals,
                population: ReferenceSignals | None = None) -> np.ndarray:
        """Hard decision, ``membership_score >= threshold_`` (True = member)."""
        return self.membership_score(signals, population) >= self.threshold_

    def __repr__(self) -> str:
        state = f"threshold_={self.threshold_!r}" if self.is_fitted else "not fitted"
        return f"{type(self).__name__}(name={self.name!r}, {state})"

    def _check_fitted(self, signals: Any) -> ReferenceSignals:
        if not self.is_fitted:
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call "
                f"fit(shadow_member_signals, shadow_nonmember_signals) first"
            )
        s = _check_signals(signals, "signals")
        if s.n_classes != self.n_classes_:
            raise ValueError(
                f"parameter 'signals' has {s.n_classes} classes; allowed: {self.n_classes_}, "
                f"the number of classes the attack was fitted on"
            )
        return s

    # subclasses implement these
    def _fit(self, members: ReferenceSignals, nonmembers: ReferenceSignals,
             population: ReferenceSignals | None) -> None:
        pass

    def _score(self, signals: ReferenceSignals, population: ReferenceSignals | None,
               name: str) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError


def _suffix(label_mode: str) -> str:
    return "" if label_mode == "labelled" else "_" + label_mode


class LiRA(ReferenceAttack):
    """Offline, one-sided LiRA (Carlini et al. 2022, arXiv:2112.03570).

    Statistic: :func:`logit_confidence` ``phi``. Per input, ``mu`` is the mean of the OUT
    references' ``phi``; the membership score is ``-log P(Phi >= phi_target)`` under
    ``N(mu, sigma^2)``, i.e. ``-scipy.stats.norm.logsf((phi_t - mu) / sigma)`` (log space,
    so it does not saturate for inputs far above their OUT distribution).

    ``variance="per_example"``: ``sigma`` is the sample std (ddof=1) of the input's OUT
    ``phi``, floored at ``min_std`` (default 1e-6, in logit units, so that identical OUT
    values do not divide by zero); needs at least 2 OUT references per input.
    ``student_t=True`` replaces the Gaussian by the exact predictive distribution of a new
    exchangeable Gaussian draw given ``K_out`` OUT values: Student-t with ``K_out - 1``
    degrees of freedom and scale ``sigma * sqrt(1 + 1/K_out)``.

    ``variance="fixed"``: one ``sigma_`` for every input, estimated in :meth:`fit` from the
    shadow signals (members and non-members together) and used unchanged afterwards.
    ``fixed_sigma="median"`` (default) takes the median over those inputs of the
    per-input OUT std (ddof=1); ``"pooled"`` takes the std (ddof=0) of all their OUT
    ``phi`` values pooled, which is what the LiRA authors' offline code computes with
    ``fix_variance=True`` (``np.std(dat_out)``; it includes the spread of ``mu`` across inputs).
    """

    name = "lira"

    def __init__(self, variance: str = "per_example", label_mode: str = "labelled", *,
                 student_t: bool = False, fixed_sigma: str = "median",
                 min_std: float = DEFAULT_MIN_STD) -> None:
        super().__init__(label_mode)
        _check_choice("variance", variance, VARIANCES)
        _check_choice("fixed_sigma", fixed_sigma, FIXED_SIGMAS)
        if not isinstance(student_t, (bool, np.bool_)):
            raise ValueError(
                f"parameter 'student_t' has value {student_t!r}; allowed: True or False"
            )
        if student_t and variance == "fixed":
            raise ValueError(
                "parameter 'student_t' has value True with variance='fixed'; allowed: "
                "student_t=True only with variance='per_example' (a fixed sigma is treated "
                "as known)"
            )
        if not (_is_number(min_std) and min_std > 0):
            raise ValueError(
                f"parameter 'min_std' has value {min_std!r}; allowed: a finite number > 0"
            )
        self.variance = variance
        self.student_t = bool(student_t)
        self.fixed_sigma = fixed_sigma
        self.min_std = float(min_std)
        self.sigma_: float | None = None
        self.name = ("lira" + ("_fixed" if variance == "fixed" else "") + _suffix(label_mode)
                     + ("_student_t" if student_t else ""))

    def _fit(self, members: ReferenceSignals, nonmembers: ReferenceSignals,
             population: ReferenceSignals | None) -> None:
        if self.variance != "fixed":
            return
        spreads = []
        min_out = 2 if self.fixed_sigma == "median" else 1
        for s, name in ((members, "shadow_member_signals"),
                        (nonmembers, "shadow_nonmember_signals")):
            out = _checked_out_mask(s, name, min_out, "the fixed sigma is estimated from them")
            _, phi_r = _statistic(s, "logit_confidence", self.label_mode)
            if self.fixed_sigma == "median":
                spreads.append(_out_moments(phi_r, out)[2])
            else:
                spreads.append(phi_r[out])
        allv = np.concatenate(spreads)
        sigma = float(np.median(allv)) if self.fixed_sigma == "median" else float(np.std(allv))
        self.sigma_ = max(sigma, self.min_std)

    def _score(self, signals: ReferenceSignals, population: ReferenceSignals | None,
               name: str) -> np.ndarray:
        per_example = self.variance == "per_example"
        why = "LiRA fits its OUT distribution on them; a per-example variance needs 2"
        out = _checked_out_mask(signals, name, 2 if per_example else 1, why)
        phi_t, phi_r = _statistic(signals, "logit_confidence", self.label_mode)
        n, mu, std = _out_moments(phi_r, out)
        if not per_example:
            return -stats.norm.logsf((phi_t - mu) / self.sigma_)
        sigma = np.maximum(std, self.min_std)
        if self.student_t:
            return -stats.t.logsf((phi_t - mu) / (sigma * np.sqrt(1.0 + 1.0 / n)), df=n - 1)
        return -stats.norm.logsf((phi_t - mu) / sigma)


class RMIA(ReferenceAttack):
    """Offline RMIA (Zarifzadeh, Liu & Shokri, ICML 2024, arXiv:2312.03262).

    Signal: :func:`true_class_probability` ``p`` (at the true label, or at the attacked
    model's top class with ``label_mode="top_class"``). For an input ``x``,
    ``p(x) = ((1 + a) * mean_OUT p_ref(x) + (1 - a)) / 2`` (the offline approximation of
    the mean over IN and OUT models) and ``ratio_x = p_target(x) / p(x)``; likewise
    ``ratio_z`` for every population input ``z`` (its OUT references, same formula). The
    score is the share of ``z`` with ``ratio_x / ratio_z >= gamma``. This is the formula of
    ML Privacy Meter (``modules/mia/attacks/rmia.py``, ``run_rmia``), computed in log space.

    ``a=None``: :meth:`fit` picks ``a_`` on ``a_grid`` by the shadow AUROC (the first best),
    as ML Privacy Meter tunes ``offline_a`` on a paired model; ``a_aurocs_`` keeps the curve.
    ``population`` (required): the population signals of the model being scored, i.e. the
    shadow model's in :meth:`fit` and the target model's in :meth:`membership_score`.
    """

    name = "rmia"

    def __init__(self, a: float | None = None, gamma: float = 1.0,
                 a_grid: Any = np.linspace(0.0, 1.0, 11), label_mode: str = "labelled") -> None:
        super().__init__(label_mode)
        if a is not None and not (_is_number(a) and 0.0 <= a <= 1.0):
            raise ValueError(f"parameter 'a' has value {a!r}; allowed: a number in [0, 1] or None")
        if not (_is_number(gamma) and gamma > 0):
            raise ValueError(f"parameter 'gamma' has value {gamma!r}; allowed: a finite number > 0")
        grid = np.asarray(a_grid, dtype=np.float64)
        if grid.ndim != 1 or grid.size == 0 or not ((grid >= 0) & (grid <= 1)).all():
            raise ValueError(
                f"parameter 'a_grid' has value {a_grid!r}; allowed: a non-empty 1-D sequence of "
                f"numbers in [0, 1]"
            )
        self.a = None if a is None else float(a)
        self.gamma = float(gamma)
        self.a_grid = grid
        self.a_: float | None = self.a
        self.a_aurocs_: np.ndarray | None = None
        self.name = "rmia" + _suffix(label_mode)

    def _log_ratio(self, signals: ReferenceSignals, a: float, name: str) -> np.ndarray:
        """``log(p_target / p(x))`` per input, with the offline ``p(x)``."""
        out = _checked_out_mask(signals, name, 1, "RMIA averages their probabilities")
        log_t, log_r = model_statistics(signals, true_class_log_probability, self.label_mode)
        log_mean_out = logsumexp(log_r, b=out / out.sum(axis=0), axis=0)
        with np.errstate(divide="ignore"):
            log_px = np.logaddexp(np.log((1 + a) / 2) + log_mean_out, np.log((1 - a) / 2))
        return log_t - log_px

    def _check_population(self, population: Any, signals: ReferenceSignals) -> ReferenceSignals:
        if population is None:
            raise ValueError(
                "parameter 'population' has value None; allowed: ReferenceSignals of population "
                "inputs for the model being scored (RMIA compares every input with them)"
            )
        pop = _check_signals(population, "population")
        if (pop.n_classes, pop.n_references) != (signals.n_classes, signals.n_references):
            raise ValueError(
                f"parameter 'population' has C={pop.n_classes}, K={pop.n_references}; allowed: "
                f"C={signals.n_classes}, K={signals.n_references}, the classes and references "
                f"of the signals scored"
            )
        return pop

    def _score_at(self, signals: ReferenceSignals, pop: ReferenceSignals, a: float,
                  name: str) -> np.ndarray:
        lr_x = self._log_ratio(signals, a, name)
        lr_z = np.sort(self._log_ratio(pop, a, "population"))
        # ratio_x / ratio_z >= gamma  <=>  log ratio_z <= log ratio_x - log gamma
        count = np.searchsorted(lr_z, lr_x - np.log(self.gamma), side="right")
        return count / lr_z.size

    def _fit(self, members: ReferenceSignals, nonmembers: ReferenceSignals,
             population: ReferenceSignals | None) -> None:
        pop = self._check_population(population, members)
        self._check_population(population, nonmembers)
        if self.a is not None:
            self.a_ = self.a
            return
        y = membership_labels(len(members), len(nonmembers))
        aucs = []
        for a in self.a_grid:
            s = np.r_[self._score_at(members, pop, a, "shadow_member_signals"),
                      self._score_at(nonmembers, pop, a, "shadow_nonmember_signals")]
            aucs.append(auroc(y, s))
        self.a_aurocs_ = np.asarray(aucs)
        self.a_ = float(self.a_grid[int(np.argmax(self.a_aurocs_))])

    def _score(self, signals: ReferenceSignals, population: ReferenceSignals | None,
               name: str) -> np.ndarray:
        pop = self._check_population(population, signals)
        return self._score_at(signals, pop, self.a_, name)


class DifficultyCalibration(ReferenceAttack):
    """Difficulty calibration (Watson et al., ICLR 2022, arXiv:2111.08440).

    Score: the target's statistic minus the mean over the input's OUT references, oriented
    so that higher = member: ``mean_OUT loss_ref - loss_target`` for ``statistic="loss"``
    (cross-entropy), ``phi_target - mean_OUT phi_ref`` for ``"logit_confidence"``.
    """

    name = "difficulty"

    def __init__(self, statistic: str = "loss", label_mode: str = "labelled") -> None:
        super().__init__(label_mode)
        _check_choice("statistic", statistic, tuple(_STATISTICS))
        self.statistic = statistic
        self.name = ("difficulty" + ("" if statistic == "loss" else "_logit_confidence")
                     + _suffix(label_mode))

    def _score(self, signals: ReferenceSignals, population: ReferenceSignals | None,
               name: str) -> np.ndarray:
        out = _checked_out_mask(signals, name, 1, "the calibration averages over them")
        s_t, s_r = _statistic(signals, self.statistic, self.label_mode)
        mean = _out_moments(s_r, out)[1]
        return mean - s_t if self.statistic == "loss" else s_t - mean


class RankTest(ReferenceAttack):
    """Conformal rank test of the target's statistic among its OUT references.

    ``p = (1 + #{OUT k: s_k >= s_t}) / (K_out + 1)`` (:func:`rank_p_value`, with ``s`` the
    logit confidence, or minus the loss); the membership score is ``1 - p``. For a
    non-member, target and OUT references are exchangeable, so ``p`` is uniform on
    ``{1/(K_out+1), ..., 1}`` (super-uniform with ties) on *any* input distribution:
    ``P(p <= alpha) <= alpha``. :meth:`p_value` returns ``p`` itself.
    """

    name = "rank"

    def __init__(self, statistic: str = "logit_confidence", label_mode: str = "labelled") -> None:
        super().__init__(label_mode)
        _check_choice("statistic", statistic, tuple(_STATISTICS))
        self.statistic = statistic
        loss = "" if statistic == "logit_confidence" else "_loss"
        self.name = "rank" + loss + _suffix(label_mode)

    def _p_value(self, signals: ReferenceSignals, name: str) -> np.ndarray:
        out = _checked_out_mask(signals, name, 1, "the rank test compares with them")
        s_t, s_r = _statistic(signals, self.statistic, self.label_mode)
        if self.statistic == "loss":  # a member has a *low* loss
            s_t, s_r = -s_t, -s_r
        return rank_p_value(s_t, s_r, out)

    def p_value(self, signals: ReferenceSignals) -> np.ndarray:
        """The conformal p-value of every input (needs no fitting)."""
        return self._p_value(_check_signals(signals, "signals"), "signals")

    def _score(self, signals: ReferenceSignals, population: ReferenceSignals | None,
               name: str) -> np.ndarray:
        return 1.0 - self._p_value(signals, name)


# ------------------------------------------------------------------ registry
REFERENCE_ATTACKS: dict[str, Callable[[], ReferenceAttack]] = {
    "lira": lambda: LiRA(),
    "lira_fixed": lambda: LiRA(variance="fixed"),
    "lira_top_class": lambda: LiRA(label_mode="top_class"),
    "lira_fixed_top_class": lambda: LiRA(variance="fixed", label_mode="top_class"),
    "lira_student_t": lambda: LiRA(student_t=True),
    "rmia": lambda: RMIA(),
    "rmia_top_class": lambda: RMIA(label_mode="top_class"),
    "difficulty": lambda: DifficultyCalibration(),
    "rank": lambda: RankTest(),
}
"""Name -> factory of an unfitted attack with default settings (``attack.name`` == name).
The RMIA entries need ``population`` in ``fit`` and ``membership_score``."""


def make_reference_attack(name: str) -> ReferenceAttack:
    """A new, unfitted attack from :data:`REFERENCE_ATTACKS`."""
    if name not in REFERENCE_ATTACKS:
        raise ValueError(
            f"parameter 'name' has value {name!r}; allowed: one of {sorted(REFERENCE_ATTACKS)}"
        )
    return REFERENCE_ATTACKS[name]()
