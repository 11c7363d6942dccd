"""Score-based membership inference attacks behind one small, sklearn-style interface.

Every attack is fitted on the *shadow* model's scores of its members and non-members and
then applied, unchanged, to the *target* model's scores::

    attack = make_attack("max_score").fit(shadow_members, shadow_nonmembers)
    attack.membership_score(target_scores)   # continuous, higher = more likely a member
    attack.predict(target_scores)            # bool, member or not

Scores are :class:`helpers.scores.Scores` or raw (N, K) probability arrays.

Tie rule
--------
A softmax saturates: in float32 the maximum score is exactly 1.0 once the top logit leads by
about 17 nats, so a trained model gives many members *and* non-members the same score 1.0,
and a threshold on the raw score cannot separate them. The attacks therefore support two
rules (argument ``rule``):

``"ranked"`` (default)
    The attack ranks inputs by a strictly monotone, non-saturating transform of the paper's
    statistic, computed in log space from the float64 log-probabilities:
    the max-score attack by ``log(p_max / (1 - p_max))`` (:func:`helpers.scores.max_log_odds`),
    the entropy attack by ``-log H`` (:func:`helpers.scores.log_entropy`). Wherever the raw
    statistic has no ties, the order, the ROC curve and the AUROC are the same as the
    paper's; where it is tied (saturated) the logit gap still orders the inputs. The
    threshold is the ``sklearn.metrics.roc_curve`` threshold that maximises ``TPR - FPR`` on
    the shadow data (the highest one when several tie); an input is a member when its key is
    ``>= threshold_``. Because ``roc_curve`` counts an input as positive exactly when its
    score is ``>=`` the threshold, ``predict`` on the shadow data reproduces the shadow TPR
    and FPR the threshold was chosen for (``shadow_tpr_``, ``shadow_fpr_``), and the hard
    decisions are consistent with the ranking used for the AUROC. Remaining exact ties
    (identical keys) all fall on the same side of the threshold.

``"paper"``
    The authors' rule: the raw statistic from a float32 softmax (here: the float64
    probabilities rounded to float32, which saturates the same way). Max score: threshold
    from ``roc_curve`` maximising ``TPR - FPR``, member if ``score > threshold`` (strict,
    so inputs tied *at* the threshold are non-members and the shadow TPR/FPR realised can
    fall short of the ROC point the threshold came from; ``shadow_tpr_``/``shadow_fpr_``
    report the realised rates). Entropy: threshold with the best shadow accuracy on
    a 10,000-point grid between the smallest and largest entropy, member if
    ``entropy < threshold``. AUROC is computed from the raw, tied statistic.

The top-3 attack needs no tie rule: its threshold is the fixed 0.5 on the MLP's output.
It is scikit-learn's ``MLPClassifier`` and stops early on a seeded validation part of the
shadow data (the authors stopped on the training loss); ``to_torch()`` exports it. On a
task with fewer classes than ``k`` (a two-class dataset) it reads the ``min(k, classes)``
largest scores: :attr:`Top3Attack.k_` is the count it used, :attr:`Top3Attack.display_name`
says so ("Top-2 Scores"), and the registry name stays ``top3``.
"""

from __future__ import annotations

from typing import Any, Callable

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_curve

from .metrics import membership_labels
from .scores import Scores, as_scores, entropy, log_entropy, max_log_odds, top_k

RULES = ("ranked", "paper")
_BIG = np.finfo(np.float64).max


class NotFittedError(ValueError, RuntimeError):
    """An attack was used before :meth:`Attack.fit` was called."""


def _clip(key: np.ndarray) -> np.ndarray:
    """Map +-inf keys (exact one-hot probabilities) to the largest finite floats."""
    return np.clip(key, -_BIG, _BIG)


class Attack:
    """Base class: validation, fitting bookkeeping and the hard decision."""

    name = "attack"

    def __init__(self, *, allow_unbalanced: bool = False) -> None:
        self.allow_unbalanced = bool(allow_unbalanced)
        self.n_classes_: int | None = None
        self.threshold_: float | None = None

    # ------------------------------------------------------------ public API
    @property
    def is_fitted(self) -> bool:
        return self.n_classes_ is not None

    def fit(self, shadow_member_scores: Any, shadow_nonmember_scores: Any) -> "Attack":
        """Fit on the shadow model's scores of its members and non-members."""
        members = self._check(shadow_member_scores, "shadow_member_scores")
        nonmembers = self._check(shadow_nonmember_scores, "shadow_nonmember_scores")
        if members.n_classes != nonmembers.n_classes:
            raise ValueError(
                f"parameter 'shadow_nonmember_scores' has {nonmembers.n_classes} classes but "
                f"'shadow_member_scores' has {members.n_classes}; allowed: the same number of classes"
            )
        if len(members) != len(nonmembers) and not self.allow_unbalanced:
            raise ValueError(
                f"parameter 'shadow_nonmember_scores' has {len(nonmembers)} rows but "
                f"'shadow_member_scores' has {len(members)}; allowed: equally many (balanced "
                f"shadow sets, as in the paper), or construct the attack with allow_unbalanced=True"
            )
        self._fit(members, nonmembers)
        self.n_classes_ = members.n_classes
        # kept for the uncertainty of the decision threshold (helpers.metrics.bootstrap_standard_errors)
        self.shadow_membership_scores_ = (self._membership_score(members), self._membership_score(nonmembers))
        return self

    def membership_score(self, scores: Any) -> np.ndarray:
        """Continuous membership score (float64, higher = more likely a member)."""
        s = self._check_fitted(scores)
        return self._membership_score(s)

    def predict(self, scores: Any) -> np.ndarray:
        """Hard decision: ``True`` = member."""
        s = self._check_fitted(scores)
        return self._predict(s)

    def __repr__(self) -> str:
        state = f"threshold_={self.threshold_!r}" if self.is_fitted else "not fitted"
        return f"{type(self).__name__}({state})"

    # ------------------------------------------------------------ helpers
    def _check(self, scores: Any, name: str) -> Scores:
        s = as_scores(scores, name)
        if len(s) == 0:
            raise ValueError(f"parameter {name!r} is empty (shape {s.probs.shape}); allowed: at least one row")
        if not np.isfinite(s.probs).all():
            raise ValueError(f"parameter {name!r} contains NaN or inf probabilities; allowed: finite values")
        return s

    def _check_fitted(self, scores: Any) -> Scores:
        if not self.is_fitted:
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call "
                f"fit(shadow_member_scores, shadow_nonmember_scores) first"
            )
        s = self._check(scores, "scores")
        if s.n_classes != self.n_classes_:
            raise ValueError(
                f"parameter 'scores' has {s.n_classes} classes; allowed: {self.n_classes_}, "
                f"the number of classes the attack was fitted on"
            )
        return s

    # subclasses implement these
    def _fit(self, members: Scores, nonmembers: Scores) -> None:  # pragma: no cover
        raise NotImplementedError

    def _membership_score(self, s: Scores) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _predict(self, s: Scores) -> np.ndarray:
        return self._membership_score(s) >= self.threshold_


class ThresholdAttack(Attack):
    """Threshold on one statistic of the score vector (see the module docstring)."""

    def __init__(self, *, rule: str = "ranked", allow_unbalanced: bool = False) -> None:
        if rule not in RULES:
            raise ValueError(f"parameter 'rule' has value {rule!r}; allowed: one of {list(RULES)}")
        super().__init__(allow_unbalanced=allow_unbalanced)
        self.rule = rule
        self.shadow_tpr_: float | None = None
        self.shadow_fpr_: float | None = None

    def _key(self, s: Scores) -> np.ndarray:
        """Ranking key of the ``ranked`` rule (higher = member)."""
        raise NotImplementedError  # pragma: no cover

    def _raw(self, s: Scores) -> np.ndarray:
        """The paper's statistic, oriented so that higher = member."""
        raise NotImplementedError  # pragma: no cover

    def _membership_score(self, s: Scores) -> np.ndarray:
        return _clip(self._key(s)) if self.rule == "ranked" else self._raw(s)

    def _fit(self, members: Scores, nonmembers: Scores) -> None:
        m, n = self._membership_score(members), self._membership_score(nonmembers)
        y = membership_labels(len(m), len(n))
        fpr, tpr, thresholds = roc_curve(y, np.r_[m, n], drop_intermediate=False)
        best = int(np.argmax(tpr - fpr))  # first = highest threshold among equals
        self.threshold_ = float(thresholds[best])
        self.shadow_tpr_, self.shadow_fpr_ = float(tpr[best]), float(fpr[best])
        if self.rule == "paper":  # the strict rule may realise a different point
            self.shadow_tpr_ = float(np.mean(m > self.threshold_))
            self.shadow_fpr_ = float(np.mean(n > self.threshold_))

    def _predict(self, s: Scores) -> np.ndarray:
        score = self._membership_score(s)
        return score >= self.threshold_ if self.rule == "ranked" else score > self.threshold_


def _f32(p: np.ndarray) -> np.ndarray:
    """Probabilities as a float32 softmax would hold them (saturating), back in float64."""
    return p.astype(np.float32).astype(np.float64)


class MaxScoreAttack(ThresholdAttack):
    """Member when the maximum softmax score is high (Salem et al.'s threshold attack).

    ``threshold_`` is in key units (log-odds of the max score for ``rule="ranked"``, the
    score itself for ``rule="paper"``); :attr:`threshold_score_` is always in max-score units.
    """

    name = "max_score"

    def _key(self, s: Scores) -> np.ndarray:
        return max_log_odds(s)

    def _raw(self, s: Scores) -> np.ndarray:
        return _f32(s.probs).max(axis=1)

    @property
    def threshold_score_(self) -> float | None:
        if self.threshold_ is None:
            return None
        if self.rule == "paper":
            return self.threshold_
        return float(1.0 / (1.0 + np.exp(-np.clip(self.threshold_, -700, 700))))


class EntropyAttack(ThresholdAttack):
    """Member when the entropy of the softmax vector is low.

    ``membership_score`` is ``-log H`` (``rule="ranked"``) or ``-H`` (``rule="paper"``);
    :attr:`threshold_entropy_` gives the threshold in nats.
    """

    name = "entropy"
    grid_size = 10_000

    def _key(self, s: Scores) -> np.ndarray:
        return -log_entropy(s)

    def _raw(self, s: Scores) -> np.ndarray:
        return -entropy(Scores(_f32(s.probs), np.log(np.maximum(_f32(s.probs), 1e-300))))

    def _fit(self, members: Scores, nonmembers: Scores) -> None:
        if self.rule == "ranked":
            return super()._fit(members, nonmembers)
        # the authors' rule: best accuracy over a grid of entropy values, member if H < theta
        h_m, h_n = -self._raw(members), -self._raw(nonmembers)
        grid = np.linspace(min(h_m.min(), h_n.min()), max(h_m.max(), h_n.max()), self.grid_size)
        correct = np.searchsorted(np.sort(h_m), grid, side="left") + (
            len(h_n) - np.searchsorted(np.sort(h_n), grid, side="left")
        )
        best = int(np.argmax(correct))  # first (smallest theta) among equals
        theta = float(grid[best])
        self.threshold_ = -theta  # in membership-score units: member if -H > -theta
        self.shadow_tpr_ = float(np.mean(h_m < theta))
        self.shadow_fpr_ = float(np.mean(h_n < theta))

    @property
    def threshold_entropy_(self) -> float | None:
        if self.threshold_ is None:
            return None
        if self.rule == "paper":
            return -self.threshold_
        return float(np.exp(-np.clip(self.threshold_, -700, 700)))


class Top3Attack(Attack):
    """Salem et al.'s attack: an MLP on the three largest scores (descending).

    The network is scikit-learn's :class:`~sklearn.neural_network.MLPClassifier`: one hidden
    ReLU layer of ``hidden`` units (3 -> 64 -> 1 by default), log-loss (binary cross-entropy),
    Adam with learning rate ``lr`` on shuffled mini-batches of ``batch_size``. A seeded
    ``val_fraction`` of the shadow data is held out, and training stops when the validation
    accuracy has not improved by ``min_delta`` for ``patience`` epochs (at most
    ``max_epochs``; scikit-learn then keeps the best weights). Member if the predicted
    probability is ``>= 0.5``. Deterministic for a given ``seed``. :meth:`to_torch` returns
    the fitted network as a ``torch.nn.Sequential``.

    With fewer than ``k`` classes the attack uses all of them: ``k_ = min(k, classes)``
    (set by :meth:`fit`), so a two-class model is attacked through its two sorted scores.
    """

    name = "top3"

    def __init__(
        self,
        *,
        seed: int = 0,
        k: int = 3,
        hidden: int = 64,
        lr: float = 0.01,
        batch_size: int = 16,
        max_epochs: int = 100,
        patience: int = 15,
        val_fraction: float = 0.2,
        min_delta: float = 1e-4,
        allow_unbalanced: bool = False,
    ) -> None:
        super().__init__(allow_unbalanced=allow_unbalanced)
        for name, value, ok, allowed in (
            ("k", k, isinstance(k, int) and k >= 1, "an integer >= 1"),
            ("hidden", hidden, isinstance(hidden, int) and hidden >= 1, "an integer >= 1"),
            ("lr", lr, lr > 0, "a number > 0"),
            ("batch_size", batch_size, isinstance(batch_size, int) and batch_size >= 1, "an integer >= 1"),
            ("max_epochs", max_epochs, isinstance(max_epochs, int) and max_epochs >= 1, "an integer >= 1"),
            ("patience", patience, isinstance(patience, int) and patience >= 1, "an integer >= 1"),
            ("val_fraction", val_fraction, 0 <= val_fraction < 1, "a number in [0, 1)"),
            ("min_delta", min_delta, min_delta >= 0, "a number >= 0"),
        ):
            if not ok:
                raise ValueError(f"parameter {name!r} has value {value!r}; allowed: {allowed}")
        self.seed, self.k, self.hidden, self.lr = int(seed), k, hidden, float(lr)
        self.batch_size, self.max_epochs, self.patience = batch_size, max_epochs, patience
        self.val_fraction, self.min_delta = float(val_fraction), float(min_delta)
        self.model_: Any = None
        self.k_: int | None = None
        self.history_: list[dict[str, float]] = []

    @staticmethod
    def effective_k(k: int, n_classes: int) -> int:
        """The number of top scores read on a task of ``n_classes`` classes: ``min(k, n_classes)``."""
        return max(1, min(int(k), int(n_classes)))

    @property
    def display_name(self) -> str:
        """"Top-3 Scores", or "Top-2 Scores" once fitted on a two-class task."""
        return f"Top-{self.k_ if self.k_ is not None else self.k} Scores"

    def _features(self, s: Scores) -> np.ndarray:
        k = self.k_ if self.k_ is not None else self.effective_k(self.k, s.n_classes)
        # float32 first: the values a float32 softmax would have fed the authors' MLP
        return top_k(s, k).astype(np.float32).astype(np.float64)

    def _fit(self, members: Scores, nonmembers: Scores) -> None:
        from sklearn.neural_network import MLPClassifier

        self.k_ = self.effective_k(self.k, members.n_classes)
        x = np.vstack([self._features(members), self._features(nonmembers)])
        y = membership_labels(len(members), len(nonmembers)).astype(int)
        use_validation = self.val_fraction > 0 and int(self.val_fraction * len(x)) >= 2
        model = MLPClassifier(
            hidden_layer_sizes=(self.hidden,), activation="relu", solver="adam",
            learning_rate_init=self.lr, batch_size=min(self.batch_size, len(x)),
            max_iter=self.max_epochs, early_stopping=use_validation,
            validation_fraction=self.val_fraction if use_validation else 0.1,
            n_iter_no_change=self.patience, tol=self.min_delta, random_state=self.seed,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(x, y)
        self.model_ = model
        self.history_ = [
            {"epoch": i, "train_loss": float(loss),
             "val_accuracy": float(model.validation_scores_[i]) if use_validation else float("nan")}
            for i, loss in enumerate(model.loss_curve_)
        ]
        self.threshold_ = 0.5

    def _membership_score(self, s: Scores) -> np.ndarray:
        return self.model_.predict_proba(self._features(s))[:, 1]

    def to_torch(self) -> Any:
        """The fitted MLP as a ``torch.nn.Sequential`` (float32) taking the top-k scores."""
        import torch
        from torch import nn

        if self.model_ is None:
            raise NotFittedError("this Top3Attack is not fitted yet; call fit(shadow_member_scores, shadow_nonmember_scores) first")
        (w1, w2), (c1, c2) = self.model_.coefs_, self.model_.intercepts_
        net = nn.Sequential(nn.Linear(self.k_, self.hidden), nn.ReLU(), nn.Linear(self.hidden, 1))
        with torch.no_grad():
            net[0].weight.copy_(torch.from_numpy(w1.T))
            net[0].bias.copy_(torch.from_numpy(c1))
            net[2].weight.copy_(torch.from_numpy(w2.T))
            net[2].bias.copy_(torch.from_numpy(c2))
        return net.eval()


ATTACKS: dict[str, Callable[..., Attack]] = {
    "entropy": EntropyAttack,
    "max_score": MaxScoreAttack,
    "top3": Top3Attack,
}


def make_attack(name: str, *, seed: int = 0, **kwargs: Any) -> Attack:
    """A new, unfitted attack by registry name (``seed`` is used by trainable attacks)."""
    if name not in ATTACKS:
        raise ValueError(f"parameter 'name' has value {name!r}; allowed: one of {sorted(ATTACKS)}")
    cls = ATTACKS[name]
    if name == "top3":
        kwargs["seed"] = seed
    return cls(**kwargs)


def make_attacks(
    names: tuple[str, ...] = ("entropy", "max_score", "top3"),
    *,
    seed: int = 0,
    rule: str = "ranked",
    allow_unbalanced: bool = False,
) -> dict[str, Attack]:
    """Several unfitted attacks keyed by name; ``rule`` applies to the threshold attacks."""
    out: dict[str, Attack] = {}
    for name in names:
        extra: dict[str, Any] = {"allow_unbalanced": allow_unbalanced}
        if name != "top3":
            extra["rule"] = rule
        out[name] = make_attack(name, seed=seed, **extra)
    return out


def fit_attacks(
    names: tuple[str, ...],
    members: Any,
    nonmembers: Any,
    *,
    seed: int = 0,
    rule: str = "ranked",
) -> dict[str, Attack]:
    """The named attacks (:func:`make_attacks`), each fitted on the attacker's member and
    non-member scores, e.g. the shadow model's."""
    return {name: a.fit(members, nonmembers) for name, a in make_attacks(names, seed=seed, rule=rule).items()}
