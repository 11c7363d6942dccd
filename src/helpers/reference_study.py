"""Chapter 8's experiment: every attack, old and new, on every non-member source.

:class:`ReferenceStudy` ties one target architecture of an
:class:`~helpers.evaluation.AttackEvaluation` to its reference models
(:mod:`helpers.reference_models`), the reference-model attacks
(:mod:`helpers.reference_attacks`), the label-only attacks (:mod:`helpers.label_only`) and
the OOD filters (:mod:`helpers.ood`), and turns any batch of inputs into one membership
score per attack. Everything an attack is fitted on belongs to the attacker: the shadow
model, its members and non-members, and the reference pool.

>>> study = ReferenceStudy(ev, "salem_cnn", n_references=6, n_queries=500)
>>> study.scores("members")                 # {attack name: membership scores}
>>> study.score_inputs(x)                   # the same for any inputs (no labels)

Query sets (each at most ``n_queries`` inputs): ``members`` (the target's members),
``calibration`` (in-distribution non-members no model trained on: the audit sets its
thresholds there), and one set per non-member source (``test``, ``scaled``, ...).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from .attacks import Attack
from .config import ConfigError
from .evaluation import AttackEvaluation
from .metrics import auroc, membership_labels, tpr_at_fpr
from .label_only import AugmentationAttack, LabelOnlyAttack, NoiseAttack
from .ood import DETECTORS, KNNDetector, OODDetector, filter_then_attack, make_detector, shadow_features
from .progress import report
from .reference_attacks import RMIA, DifficultyCalibration, LiRA, RankTest, ReferenceSignals
from .reference_models import ReferenceModels
from .scores import scores_from_logits
from .sources import nonmember_set
from .training import cached_logits

PAPER_ATTACKS = {"max score": "max_score", "entropy": "entropy", "top-3": "top3"}


def reference_attack_factories(label_mode: str) -> dict[str, Callable[[], object]]:
    """The reference-model attacks of chapter 8, in one label mode, by display name."""
    return {
        "LiRA": lambda: LiRA(variance="per_example", label_mode=label_mode),
        "LiRA, fixed variance": lambda: LiRA(variance="fixed", label_mode=label_mode),
        "RMIA": lambda: RMIA(label_mode=label_mode),
        "difficulty calibration": lambda: DifficultyCalibration(statistic="logit_confidence", label_mode=label_mode),
        "rank test": lambda: RankTest(label_mode=label_mode),
    }


def _with_out(signals: ReferenceSignals, minimum: int) -> ReferenceSignals:
    """The inputs with at least ``minimum`` references that did not train on them."""
    return signals.subset(np.flatnonzero(signals.out_mask.sum(0) >= minimum))


@dataclass(frozen=True, eq=False)
class QuerySet:
    """Inputs in the target's preprocessing, their labels (``None``: unknown) and, for
    images of the dataset, their dataset indices."""

    x: torch.Tensor
    labels: np.ndarray | None = None
    indices: np.ndarray | None = None


class ReferenceStudy:
    """Every attack of chapter 8 for one architecture's standard target model.

    Parameters
    ----------
    ev: the evaluation of the paper's three attacks (its experiment and fitted attacks).
    architecture: the target architecture.
    n_references: K reference models (``None``: ``profile.n_references``).
    n_queries: inputs per query set (members, calibration, each source).
    population_size: RMIA's population samples, taken from the attacker's held-out data.
    label_mode: ``top_class`` (the label-free forms, for inputs without labels) or
        ``labelled`` for the reference attacks; label-only attacks use the model's own
        prediction as the label in the first case and the true label in the second.
    extra_reference_attacks: more reference attacks, ``{display name: factory}``.
    label_only: include the two label-only attacks (they cost many forward passes).
    """

    def __init__(self, ev: AttackEvaluation, architecture: str, *, n_references: int | None = None,
                 n_queries: int = 500, population_size: int = 250, label_mode: str = "top_class",
                 extra_reference_attacks: Mapping[str, Callable[[], object]] | None = None,
                 label_only: bool = True) -> None:
        if architecture not in ev.exp.profile.architectures:
            raise ConfigError(f"parameter 'architecture' has value {architecture!r}; allowed: one of "
                              f"{list(ev.exp.profile.architectures)}")
        if not isinstance(n_queries, int) or n_queries < 10:
            raise ConfigError(f"parameter 'n_queries' has value {n_queries!r}; allowed: an integer >= 10")
        self.ev, self.exp, self.architecture = ev, ev.exp, architecture
        self.refs = ReferenceModels(self.exp, architecture, "standard", n_references)
        self.n_queries = n_queries
        self.label_mode = label_mode
        self.label_only = bool(label_only)
        self.reference_factories = {**reference_attack_factories(label_mode), **(extra_reference_attacks or {})}
        nonmembers = self.exp.splits["shadow_nonmembers"]
        self.population_size = int(min(population_size, len(nonmembers) // 2))
        self._fit_nonmember_index = nonmembers[: len(nonmembers) - self.population_size][:n_queries]
        self._population_index = nonmembers[len(nonmembers) - self.population_size:]
        self._sets: dict[str, QuerySet] = {}
        self._scores: dict[str, dict[str, np.ndarray]] = {}
        self._shadow_views: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._fitted: dict[str, object] | None = None

    # ------------------------------------------------------------------ inputs
    def _split(self, name: str, limit: int | None = None, indices: np.ndarray | None = None) -> QuerySet:
        idx = self.exp.splits[name] if indices is None else indices
        idx = idx[: limit or len(idx)]
        x, y = self.exp.data.subset(idx)
        return QuerySet(x, y.numpy(), idx)

    def query_set(self, name: str) -> QuerySet:
        """``members``, ``calibration`` or a non-member source name."""
        if name not in self._sets:
            if name == "members":
                self._sets[name] = self._split("target_members", self.n_queries)
            elif name == "calibration":
                self._sets[name] = self._split("calibration", self.n_queries)
            elif name == "test":
                self._sets[name] = self._split("target_nonmembers", self.n_queries)
            else:
                self._sets[name] = QuerySet(nonmember_set(self.exp, name).x[: self.n_queries])
        return self._sets[name]

    def model(self, role: str = "target"):
        return self.exp.model(self.architecture, role, "standard")

    def logits(self, x: torch.Tensor, role: str = "target") -> np.ndarray:
        """Logits (float64) of the standard target or shadow model, cached on disk."""
        out = cached_logits(self.model(role), x, cache_dir=self.exp.profile.cache_dir, device=self.exp.device)
        return out.numpy().astype(np.float64)

    def signals(self, q: QuerySet, role: str = "target", labels: bool | None = None) -> ReferenceSignals:
        """Reference signals of a query set for the target (or shadow) model."""
        use_labels = (self.label_mode == "labelled") if labels is None else labels
        return self.refs.signals(self.logits(q.x, role), q.x, q.labels if use_labels else None, q.indices)

    def population(self, role: str = "target") -> ReferenceSignals:
        """RMIA's population samples: attacker-held images, scored by the attacked model."""
        q = self._split("shadow_nonmembers", indices=self._population_index)
        return _with_out(self.signals(q, role, labels=True), 1)  # an image every reference trained on cannot serve

    # ------------------------------------------------------------------ attacks
    def fitted_attacks(self) -> dict[str, object]:
        """Every attack, fitted on the shadow model (reference attacks on the shadow inputs
        with at least two references that did not train on them)."""
        if self._fitted is None:
            self.refs.train_all()
            members = self._split("shadow_members", self.n_queries)
            nonmembers = self._split("shadow_nonmembers", indices=self._fit_nonmember_index)
            sig_m, sig_n = self.signals(members, "shadow"), self.signals(nonmembers, "shadow")
            sig_m, sig_n = _with_out(sig_m, 2), _with_out(sig_n, 2)
            fitted: dict[str, object] = dict(self._paper_attacks())
            population = self.population("shadow")
            for name, factory in self.reference_factories.items():
                fitted[name] = factory().fit(sig_m, sig_n, population=population)
            shadow = self.model("shadow").model
            labelled = self.label_mode == "labelled"
            label_only = (AugmentationAttack(max_shift=1, flips=False), NoiseAttack(sigma=0.5, n_queries=8))
            for attack in label_only if self.label_only else ():
                attack.fit(shadow, members.x, members.labels if labelled else None,
                           nonmembers.x, nonmembers.labels if labelled else None)
                fitted[attack.name] = attack
            self._fitted = fitted
        return self._fitted

    def _paper_attacks(self) -> dict[str, Attack]:
        fitted = self.ev.fitted_attacks(self.architecture, "standard")
        return {label: fitted[name] for label, name in PAPER_ATTACKS.items() if name in fitted}

    @property
    def attack_names(self) -> list[str]:
        return list(self.fitted_attacks())

    def score_inputs(self, x: torch.Tensor, labels: np.ndarray | None = None, indices: np.ndarray | None = None,
                     attacks: Sequence[str] | None = None, temperature: float = 1.0) -> dict[str, np.ndarray]:
        """Membership scores of every (or the named) attack on inputs ``x`` of the target."""
        fitted = self.fitted_attacks()
        names = list(fitted) if attacks is None else list(attacks)
        unknown = [n for n in names if n not in fitted]
        if unknown:
            raise ConfigError(f"parameter 'attacks' has unknown names {unknown}; allowed: {list(fitted)}")
        q = QuerySet(x, labels, indices)
        out: dict[str, np.ndarray] = {}
        target_logits = self.logits(x) / temperature
        sig = population = None
        for name in names:
            attack = fitted[name]
            if isinstance(attack, Attack):
                out[name] = attack.membership_score(scores_from_logits(target_logits))
            elif isinstance(attack, LabelOnlyAttack):
                y = labels if self.label_mode == "labelled" else None
                out[name] = attack.membership_score(self.model("target").model, x, y)
            else:
                if sig is None:
                    sig, population = self.signals(q), self.population("target")
                out[name] = attack.membership_score(sig, population=population)
        return out

    def scores(self, name: str) -> dict[str, np.ndarray]:
        """Membership scores of every attack on a named query set (computed once)."""
        if name not in self._scores:
            start = time.perf_counter()
            q = self.query_set(name)
            self._scores[name] = self.score_inputs(q.x, q.labels, q.indices)
            report(f"chapter 8 attacks: {len(q.x)} inputs of {name!r} scored by {len(self._scores[name])} "
                   f"attacks in {time.perf_counter() - start:.0f} s")
        return self._scores[name]

    def audit_scores(self, sources: Sequence[str]) -> dict[str, dict[str, np.ndarray]]:
        """``{attack: {set name: scores}}`` for :func:`helpers.audit.audit`: the members,
        the calibration split and every source."""
        names = ["members", "calibration", *sources]
        per_set = {n: self.scores(n) for n in names}
        return {a: {n: per_set[n][a] for n in names} for a in self.attack_names}

    # ------------------------------------------------------------------ OOD filters
    def detectors(self, names: Sequence[str] = tuple(DETECTORS), keep: float = 0.95) -> dict[str, OODDetector]:
        """OOD detectors on the shadow model's features: fitted on its training split, their
        thresholds set so that a share ``keep`` of its held-out images pass."""
        shadow = self.model("shadow").model
        x_fit, y_fit = self.exp.input_set("shadow_train")
        f_fit, z_fit = shadow_features(shadow, x_fit)
        held = self._split("shadow_nonmembers", indices=self._fit_nonmember_index)
        f_held, z_held = shadow_features(shadow, held.x)
        out = {}
        for name in names:
            det = make_detector(name)
            if isinstance(det, KNNDetector) and det.k > len(f_fit):  # a training split smaller than k
                det = make_detector(name, k=len(f_fit))
            det.fit(f_fit, z_fit, y_fit.numpy())
            det.set_threshold(f_held, z_held, keep=keep)
            out[name] = det
        return out

    def shadow_view(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The shadow model's penultimate features and logits of a query set (computed once)."""
        if name not in self._shadow_views:
            self._shadow_views[name] = shadow_features(self.model("shadow").model, self.query_set(name).x)
        return self._shadow_views[name]

    def flagged(self, detector: OODDetector, name: str) -> np.ndarray:
        """Which inputs of a query set the detector (on the shadow model) calls OOD."""
        return detector.is_ood(*self.shadow_view(name))

    @staticmethod
    def filtered(scores: np.ndarray, is_ood: np.ndarray) -> np.ndarray:
        """Filter, then attack: flagged inputs become non-members."""
        return filter_then_attack(scores, is_ood)

    # ------------------------------------------------------------------ how many references
    def k_curve(self, ks: Sequence[int], low_fprs: Sequence[float] = (0.001, 0.01)) -> pd.DataFrame:
        """AUROC and TPR at low FPR (members against test non-members) of every reference
        attack when only the first ``k`` references are used, for each ``k`` in ``ks``;
        each attack is refitted on the shadow model with the same ``k`` references."""
        bad = [k for k in ks if not isinstance(k, (int, np.integer)) or not 2 <= k <= self.refs.n_references]
        if bad or not ks:
            raise ConfigError(f"parameter 'ks' has value {list(ks)!r}; allowed: integers from 2 to "
                              f"{self.refs.n_references} (the number of reference models)")
        self.refs.train_all()
        shadow_m = self.signals(self._split("shadow_members", self.n_queries), "shadow")
        shadow_n = self.signals(self._split("shadow_nonmembers", indices=self._fit_nonmember_index), "shadow")
        members, test = self.signals(self.query_set("members")), self.signals(self.query_set("test"))
        pops = {role: self.population(role) for role in ("target", "shadow")}
        y = membership_labels(len(members), len(test))
        rows = []
        for k in ks:
            use = np.arange(k)
            sm, sn = shadow_m.take_references(use), shadow_n.take_references(use)
            sm, sn = _with_out(sm, 2), _with_out(sn, 2)
            pop_shadow, pop_target = (_with_out(pops[r].take_references(use), 1) for r in ("shadow", "target"))
            for name, factory in self.reference_factories.items():
                attack = factory().fit(sm, sn, population=pop_shadow)
                score = np.r_[attack.membership_score(members.take_references(use), population=pop_target),
                              attack.membership_score(test.take_references(use), population=pop_target)]
                row = {"attack": name, "K": int(k), "AUROC": auroc(y, score)}
                for f in low_fprs:
                    row[f"TPR at {100 * f:g} % FPR"] = tpr_at_fpr(y, score, f)
                rows.append(row)
        return pd.DataFrame(rows)
