"""Reference models: K copies of the target's recipe, trained on the attacker's own data.

Reference-model attacks (LiRA, RMIA, difficulty calibration, a rank test; see
:mod:`helpers.reference_attacks`) compare the target's output on an input with the outputs
of models that were trained *without* it. The attacker trains those models itself, on data
it owns. Here that data is the *reference pool*: the shadow model's training and held-out
splits (``shadow_train`` and ``shadow_test``), never a split of the target and never the
calibration split. Reference ``k`` trains on a seeded random subset of the pool of
``train_size`` images, with the target's architecture, optimiser, epochs and variant
(label smoothing, L2), so it is a draw from the same training distribution as the target.

Because no reference ever sees a target split, every reference is OUT for every input the
target is queried on (its members, its non-members, every non-member source): the attacks
are *offline* by construction. On the attacker's own data a reference is IN for about half
of the inputs; :meth:`ReferenceModels.membership` says which.

>>> refs = ReferenceModels(exp, "salem_cnn", n_references=8)
>>> refs.check()                               # raises if a reference touches a target split
>>> refs.logits(x)                             # (K, N, C), cached on disk per model
>>> refs.signals(target_logits, x, labels)     # helpers.reference_attacks.ReferenceSignals
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import torch

from .config import ConfigError
from .progress import report
from .training import TrainedModel, cached_logits, get_or_train

if TYPE_CHECKING:
    from .experiment import Experiment
    from .reference_attacks import ReferenceSignals

TARGET_SPLITS = ("target_train", "target_test", "calibration")


def reference_pool(splits) -> np.ndarray:
    """Dataset indices the attacker owns: every index outside :data:`TARGET_SPLITS`, sorted."""
    forbidden = np.concatenate([splits[name] for name in TARGET_SPLITS])
    return np.setdiff1d(np.arange(splits.n_total, dtype=np.int64), forbidden)


def reference_training_indices(pool: np.ndarray, n_references: int, size: int, seed: int) -> list[np.ndarray]:
    """``n_references`` seeded random subsets of ``pool``, each of ``size`` indices (sorted)."""
    if n_references < 1:
        raise ConfigError(f"parameter 'n_references' has value {n_references!r}; allowed: an integer >= 1")
    if not 1 <= size <= len(pool):
        raise ConfigError(f"parameter 'size' has value {size!r}; allowed: 1 to {len(pool)} (the pool size)")
    out = []
    for k in range(n_references):
        rng = np.random.default_rng([seed, 0xEEF, k])
        out.append(np.sort(rng.choice(pool, size=size, replace=False)).astype(np.int64))
    return out


def _indices_key(indices: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(indices, dtype=np.int64).tobytes()).hexdigest()[:16]


class ReferenceModels:
    """``n_references`` reference models of one architecture and training variant.

    Parameters
    ----------
    experiment: the :class:`~helpers.experiment.Experiment` whose target they imitate.
    architecture: one of the profile's architectures.
    variant: ``standard``, ``label_smoothing`` or ``l2`` (the recipe of the target attacked).
    n_references: K; ``None`` takes ``profile.n_references``.
    """

    def __init__(self, experiment: "Experiment", architecture: str, variant: str = "standard",
                 n_references: int | None = None) -> None:
        k = experiment.profile.n_references if n_references is None else n_references
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 2:
            raise ConfigError(f"parameter 'n_references' has value {k!r}; allowed: an integer >= 2")
        experiment.train_config(architecture, "target", variant)  # validates both names
        self.exp = experiment
        self.architecture = architecture
        self.variant = variant
        self.n_references = int(k)
        self._models: dict[int, TrainedModel] = {}

    def __repr__(self) -> str:
        return (f"ReferenceModels({self.architecture!r}, variant={self.variant!r}, "
                f"n_references={self.n_references})")

    @cached_property
    def pool(self) -> np.ndarray:
        """The attacker's data: dataset indices every reference draws its training set from."""
        return reference_pool(self.exp.splits)

    @cached_property
    def training_indices(self) -> list[np.ndarray]:
        """Dataset indices each reference trains on (``train_size`` of the pool each)."""
        p = self.exp.profile
        return reference_training_indices(self.pool, self.n_references, p.train_size, p.seed)

    def check(self) -> None:
        """Raise ``AssertionError`` if a reference trains on a target or calibration index."""
        splits = self.exp.splits
        forbidden = np.concatenate([splits[name] for name in TARGET_SPLITS])
        for k, idx in enumerate(self.training_indices):
            clash = np.intersect1d(idx, forbidden)
            if clash.size:
                raise AssertionError(f"reference {k} trains on {clash.size} indices of a target split "
                                     f"({TARGET_SPLITS}), e.g. {clash[:5].tolist()}")

    def membership(self, indices: np.ndarray) -> np.ndarray:
        """``(K, N)`` bool: whether reference ``k`` trained on dataset index ``indices[n]``."""
        indices = np.asarray(indices, dtype=np.int64)
        return np.stack([np.isin(indices, idx) for idx in self.training_indices])

    def config(self, k: int):
        """The :class:`~helpers.training.TrainConfig` of reference ``k``."""
        from .experiment import role_seed

        base = self.exp.train_config(self.architecture, "target", self.variant)
        return dataclasses.replace(base, role="reference", seed=role_seed(self.exp.profile.seed, f"reference-{k}"),
                                   split_key=_indices_key(self.training_indices[k]))

    def model(self, k: int) -> TrainedModel:
        """Reference ``k``, trained once and then read from the model cache."""
        if not 0 <= k < self.n_references:
            raise ConfigError(f"parameter 'k' has value {k!r}; allowed: 0 to {self.n_references - 1}")
        if k not in self._models:
            self.check()
            x, y = self.exp.data.subset(self.training_indices[k])
            self._models[k] = get_or_train(self.config(k), x, y, cache_dir=self.exp.profile.cache_dir,
                                           device=self.exp.device, progress=False)
        return self._models[k]

    def train_all(self, progress: bool = True) -> list[TrainedModel]:
        """Every reference (training the missing ones), with one progress line per model
        trained (printed when ``progress``, and sent to :func:`helpers.progress.report`)."""
        began, trained = time.perf_counter(), 0
        for k in range(self.n_references):
            if k in self._models:
                continue
            model = self.model(k)
            if not model.from_cache:
                trained += 1
                message = (f"reference models ({self.architecture}, {self.variant}): {k + 1}/{self.n_references} "
                           f"ready, {trained} trained in {time.perf_counter() - began:.0f} s")
                report(message)
                if progress:
                    print(message, flush=True)
        return [self._models[k] for k in range(self.n_references)]

    def logits(self, x: torch.Tensor) -> np.ndarray:
        """``(K, N, C)`` float64 logits of every reference on ``x`` (cached per model)."""
        cache_dir, device = self.exp.profile.cache_dir, self.exp.device
        return np.stack([cached_logits(m, x, cache_dir=cache_dir, device=device).numpy().astype(np.float64)
                         for m in self.train_all(progress=False)])

    def signals(self, target_logits: np.ndarray | torch.Tensor, x: torch.Tensor, labels=None,
                indices: np.ndarray | None = None) -> "ReferenceSignals":
        """The attacks' input for the queries ``x``: the attacked model's logits on ``x``,
        every reference's logits, the labels (``None``: label-free), and (when ``indices``,
        the queries' dataset indices, are given) which references trained on each query."""
        from .reference_attacks import ReferenceSignals

        target = target_logits.numpy() if isinstance(target_logits, torch.Tensor) else np.asarray(target_logits)
        if labels is not None:
            labels = labels.numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
        member = None if indices is None else self.membership(indices)
        return ReferenceSignals(target_logits=target.astype(np.float64), reference_logits=self.logits(x),
                                labels=labels, reference_in=member)
