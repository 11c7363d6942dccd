"""The orchestration every chapter uses: profile -> data -> splits -> (cached) models.

>>> from helpers.experiment import Experiment
>>> exp = Experiment("quick")                       # or Experiment(profile_object)
>>> exp.splits.describe()                            # sizes of every split
>>> target = exp.model("salem_cnn")                  # trained once, then from the cache
>>> x, y = exp.input_set("target_members")           # CPU tensors
>>> exp.accuracy_table()                             # train / test accuracy per model

Everything is computed lazily and kept on the object, so touching ``exp.data`` twice loads
the data once, and ``exp.model(...)`` twice trains (or loads) once.

Roles and variants
------------------
``role="target"`` trains on ``splits.target_train``, ``role="shadow"`` on
``splits.shadow_train``; the two get different seeds (derived from ``profile.seed`` and the
role), so they are independent models of the same recipe. A *variant* changes the training
recipe identically for target and shadow:

* ``standard``: no label smoothing, no weight decay;
* ``label_smoothing``: ``profile.label_smoothing``, no weight decay;
* ``l2``: ``profile.weight_decay`` (coupled L2, Adam's ``weight_decay``), no label smoothing.

Post-hoc variants (temperature scaling, Laplace) reuse the ``standard`` models.

Replicates
----------
``Experiment(profile, replicate=r)`` is the same experiment (data, splits) with every model
trained again from other seeds (:func:`replicate_seed`); replicate 0 is the profile's own
run and keeps its cache keys. :meth:`Experiment.replicates` gives all
``profile.replicates`` of them, the runs every verdict of the book pools.
"""

from __future__ import annotations

import hashlib
import zlib
from functools import cached_property

import numpy as np
import pandas as pd
import torch

from .cache import default_cache_dir
from .config import ConfigError, Profile, load_profile
from .data import ImageDataset, load_dataset
from .architectures import check_architecture, effective_activation
from .splits import SPLIT_NAMES, Splits, fit_sizes, make_splits
from .variants import TRAINING_VARIANTS
from .training import ROLES, TrainConfig, TrainedModel, cached_logits, get_or_train, resolve_device

VARIANTS = TRAINING_VARIANTS  # the variants that train their own models
INPUT_SETS = SPLIT_NAMES


def derived_seed(seed: int, name: str) -> int:
    """A stable seed per (profile seed, name), e.g. one per non-member source."""
    return (int(seed) * 1_000_003 + zlib.crc32(name.encode())) % (2**32)


def role_seed(seed: int, role: str) -> int:
    """A stable seed per (profile seed, role), so target and shadow start differently."""
    return int(hashlib.sha256(f"{seed}:{role}".encode()).hexdigest()[:8], 16) % (2**31 - 1)


def replicate_seed(seed: int, role: str, replicate: int = 0) -> int:
    """The training seed of one model: :func:`role_seed` for replicate 0 (the profile's own
    run), a seed derived from the replicate's index for every other replicate."""
    if not isinstance(replicate, int) or isinstance(replicate, bool) or replicate < 0:
        raise ConfigError(f"parameter 'replicate' has value {replicate!r}; allowed: an integer >= 0")
    return role_seed(seed, role if replicate == 0 else f"{role}:replicate-{replicate}")


class Experiment:
    """Data, splits and models of one profile.

    Parameters
    ----------
    profile: a :class:`~helpers.config.Profile` or the name of one (``quick``, ...).
    progress: show progress bars while training.
    replicate: which training run (0: the profile's own seeds; see :func:`replicate_seed`).
    **overrides: profile values to change (validated), e.g. ``epochs=5``; ``None`` values
        are ignored so papermill parameters can be passed straight through.
    """

    def __init__(self, profile: Profile | str = "quick", *, progress: bool = True, replicate: int = 0,
                 **overrides) -> None:
        if isinstance(profile, str):
            profile = load_profile(profile, **overrides)
        elif isinstance(profile, Profile):
            extra = {k: v for k, v in overrides.items() if v is not None}
            profile = profile.replace(**extra) if extra else profile
        else:
            raise ConfigError(f"parameter 'profile' has value {profile!r}; allowed: a Profile or a profile name")
        replicate_seed(0, "target", replicate)  # validates ``replicate``
        self.profile = profile
        self.progress = progress
        self.replicate = replicate
        self._models: dict[tuple[str, str, str], TrainedModel] = {}
        self._replicates: list[Experiment] | None = None
        if profile.sizes == "auto":  # sizes chosen from the data's counts, said once (helpers.splits)
            self.profile = fit_sizes(profile, self.data)

    def __repr__(self) -> str:
        extra = f", replicate={self.replicate}" if self.replicate else ""
        return f"Experiment(profile={self.profile.name!r}, dataset={self.profile.dataset!r}{extra})"

    def replicates(self) -> list["Experiment"]:
        """This experiment's ``profile.replicates`` training runs: itself as replicate 0, then
        experiments that share its data and splits (loaded once) and train every model from
        other seeds. Computed once per experiment."""
        if self._replicates is not None:
            return list(self._replicates)
        shared = {k: self.__dict__[k] for k in ("data", "splits", "data_key") if k in self.__dict__}
        runs: list[Experiment] = []
        for r in range(self.profile.replicates):
            run = self if r == self.replicate else Experiment(self.profile, progress=self.progress, replicate=r)
            run.__dict__.update(shared)
            runs.append(run)
        self._replicates = runs
        return list(runs)

    @cached_property
    def data(self) -> ImageDataset:
        """The target dataset (all images, CPU tensors); see :func:`helpers.data.load_dataset`."""
        return load_dataset(self.profile)

    @cached_property
    def splits(self) -> Splits:
        """Disjoint index sets; see :func:`helpers.splits.make_splits`."""
        return make_splits(self.data, self.profile)

    @cached_property
    def device(self) -> torch.device:
        """The training device (``profile.device``, ``auto`` -> cuda when available)."""
        return resolve_device(self.profile.device)

    @property
    def cache_dir(self):
        """Root of the model cache (profile, env ``HELPERS_CACHE_DIR``, repo or home)."""
        return default_cache_dir(self.profile.cache_dir)

    def input_set(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x, y)`` CPU tensors of a split: target_members, target_nonmembers,
        shadow_members, shadow_nonmembers, calibration, or a base split (target_train, ...)."""
        if name not in INPUT_SETS:
            raise ConfigError(f"parameter 'name' has value {name!r}; allowed: one of {list(INPUT_SETS)}")
        return self.data.subset(self.splits[name])

    def split_key(self, split: str) -> str:
        """Short hash that identifies one split's indices (and the dataset they index)."""
        idx = np.ascontiguousarray(self.splits[split], dtype=np.int64)
        digest = hashlib.sha256(f"{split}|n={self.splits.n_total}|data={self.data_key}".encode())
        digest.update(idx.tobytes())
        return digest.hexdigest()[:16]

    def train_config(self, architecture: str, role: str = "target", variant: str = "standard") -> TrainConfig:
        """The :class:`TrainConfig` of one model of this experiment."""
        p = self.profile
        check_architecture(architecture)
        if role not in ROLES:
            raise ConfigError(f"parameter 'role' has value {role!r}; allowed: one of {list(ROLES)}")
        if variant not in VARIANTS:
            raise ConfigError(f"parameter 'variant' has value {variant!r}; allowed: one of {list(VARIANTS)}")
        ls = p.label_smoothing if variant == "label_smoothing" else 0.0
        wd = p.weight_decay if variant == "l2" else 0.0
        return TrainConfig(
            dataset=p.dataset,
            data_key=self.data_key,
            architecture=architecture,
            num_classes=self.data.num_classes,
            in_channels=self.data.in_channels,
            image_size=self.data.image_size,
            width=p.width_for(architecture),
            activation=effective_activation(architecture, p.activation),
            optimizer=p.optimizer,
            lr=p.lr_for(architecture),
            epochs=p.epochs_for(architecture),
            batch_size=p.batch_size,
            label_smoothing=ls,
            weight_decay=wd,
            seed=replicate_seed(p.seed, role, self.replicate),
            role=role,
            variant=variant,
            split_key=self.splits.key(),
            pretrained=architecture == "resnet50",
            cpu_threads=p.training_threads,
        )

    @cached_property
    def data_key(self) -> str:
        """:meth:`ImageDataset.key` of :attr:`data`, computed once (it hashes every image)."""
        return self.data.key()

    def model(self, architecture: str, role: str = "target", variant: str = "standard") -> TrainedModel:
        """The trained model (eval mode, on :attr:`device`), from the cache when possible."""
        slot = (architecture, role, variant)
        if slot not in self._models:
            cfg = self.train_config(architecture, role, variant)
            x, y = self.input_set(f"{role}_train")
            self._models[slot] = get_or_train(
                cfg, x, y, cache_dir=self.profile.cache_dir, device=self.device, progress=self.progress
            )
        return self._models[slot]

    def models(self, variant: str = "standard") -> dict[tuple[str, str], TrainedModel]:
        """Every ``(architecture, role)`` model of the profile for one variant."""
        return {(a, r): self.model(a, r, variant) for a in self.profile.architectures for r in ROLES}

    def accuracy_table(self, variant: str = "standard") -> pd.DataFrame:
        """Train and test accuracy of target and shadow, one row per architecture."""
        rows = []
        for arch in self.profile.architectures:
            row: dict[str, object] = {"architecture": arch}
            for role in ROLES:
                trained = self.model(arch, role, variant)
                for part in ("train", "test"):
                    x, y = self.input_set(f"{role}_{part}")
                    logits = cached_logits(trained, x, cache_dir=self.profile.cache_dir, device=self.device)
                    row[f"{role} {part}"] = float((logits.argmax(1) == y).float().mean())
            rows.append(row)
        table = pd.DataFrame(rows).set_index("architecture")
        table.attrs["variant"] = variant
        return table
