"""Seeded, disjoint index sets for target, shadow and calibration data.

Five disjoint *base* splits are drawn from the data (sizes from the profile)::

    target_train  (train_size)    shadow_train  (train_size)
    target_test   (test_size)     shadow_test   (test_size)
    calibration   (calibration_size)

and four member / non-member sets, each of ``n_members`` indices, are drawn inside them::

    target_members    subset of target_train     target_nonmembers  subset of target_test
    shadow_members    subset of shadow_train     shadow_nonmembers  subset of shadow_test

When the dataset has an official test part (CIFAR-10, ...), the train splits come from the
official train part and the test splits from the official test part, as in the paper. The
calibration split comes from the test part too when it has room left, else from the
train images that neither model trains on (recorded in ``Splits.drawn_from``). Without an
official test part everything is drawn from one pool. Attack evaluation never sees the
calibration split; it exists for fitting a temperature or a Laplace prior.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .config import ConfigError, Profile

if TYPE_CHECKING:
    from .data import ImageDataset

BASE_SPLITS = ("target_train", "shadow_train", "target_test", "shadow_test", "calibration")
MEMBER_SPLITS = {
    "target_members": "target_train",
    "target_nonmembers": "target_test",
    "shadow_members": "shadow_train",
    "shadow_nonmembers": "shadow_test",
}
SPLIT_NAMES = BASE_SPLITS + tuple(MEMBER_SPLITS)


@dataclass(frozen=True, eq=False)
class Splits:
    """Index arrays (int64, into the dataset) of every split; see the module docstring."""

    target_train: np.ndarray
    shadow_train: np.ndarray
    target_test: np.ndarray
    shadow_test: np.ndarray
    calibration: np.ndarray
    target_members: np.ndarray
    target_nonmembers: np.ndarray
    shadow_members: np.ndarray
    shadow_nonmembers: np.ndarray
    n_total: int
    seed: int
    drawn_from: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in SPLIT_NAMES:
            raise KeyError(f"unknown split {name!r}; allowed: {list(SPLIT_NAMES)}")
        return getattr(self, name)

    def as_dict(self) -> dict[str, np.ndarray]:
        """Every split by name."""
        return {name: getattr(self, name) for name in SPLIT_NAMES}

    def key(self) -> str:
        """Stable short hash of every index array (and the dataset size)."""
        digest = hashlib.sha256(f"n={self.n_total}".encode())
        for name in SPLIT_NAMES:
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(getattr(self, name), dtype=np.int64).tobytes())
        return digest.hexdigest()[:16]

    def describe(self) -> pd.DataFrame:
        """One row per split: name, size, where it is drawn from."""
        rows = []
        for name in SPLIT_NAMES:
            rows.append(
                {
                    "split": name,
                    "size": int(len(getattr(self, name))),
                    "drawn from": MEMBER_SPLITS.get(name, self.drawn_from.get(name, "pool")),
                }
            )
        return pd.DataFrame(rows).set_index("split")

    def check(self) -> None:
        """Assert the invariants: base splits pairwise disjoint, member sets inside theirs."""
        seen: set[int] = set()
        for name in BASE_SPLITS:
            part = getattr(self, name)
            values = set(part.tolist())
            if len(values) != len(part) or seen & values:
                raise AssertionError(f"split {name} repeats or overlaps indices")
            seen |= values
        for name, parent in MEMBER_SPLITS.items():
            if not set(getattr(self, name).tolist()) <= set(getattr(self, parent).tolist()):
                raise AssertionError(f"split {name} is not inside {parent}")
        if seen and (min(seen) < 0 or max(seen) >= self.n_total):
            raise AssertionError("split index out of range")


def _take(pool: np.ndarray, start: int, size: int) -> np.ndarray:
    return np.sort(pool[start : start + size]).astype(np.int64)


def make_splits(data: "int | ImageDataset", profile: Profile, is_test: np.ndarray | None = None) -> Splits:
    """Draw the splits of ``profile`` from ``data`` (a dataset or a number of samples).

    ``is_test`` (bool per sample) marks an official test part when ``data`` is a number; a
    dataset brings its own. Raises :class:`ConfigError` naming the sizes when they do not fit.
    The result depends only on the sizes, the seed and the official train/test partition.
    """
    if isinstance(data, (int, np.integer)):
        n_total = int(data)
    else:
        n_total = len(data)
        if is_test is None and getattr(data, "has_official_test", False):
            is_test = data.is_test.cpu().numpy()
    if n_total <= 0:
        raise ConfigError(f"the dataset has {n_total} samples; allowed: at least one")
    tr, te, cal, nm = profile.train_size, profile.test_size, profile.calibration_size, profile.n_members
    if nm > min(tr, te):
        raise ConfigError(f"parameter 'n_members' has value {nm}; allowed: at most min(train_size, test_size) = {min(tr, te)}")
    rng = np.random.default_rng([profile.seed, 0x5B117])
    drawn: dict[str, str] = {}

    if is_test is not None and np.asarray(is_test).any():
        flags = np.asarray(is_test, dtype=bool)
        if flags.shape != (n_total,):
            raise ConfigError(f"is_test has shape {flags.shape}; allowed: ({n_total},)")
        train_pool = rng.permutation(np.flatnonzero(~flags))
        test_pool = rng.permutation(np.flatnonzero(flags))
        if 2 * tr > len(train_pool) or 2 * te > len(test_pool):
            raise ConfigError(
                f"splits do not fit the data: 2 x train_size = {2 * tr} from {len(train_pool)} official "
                f"train images and 2 x test_size = {2 * te} from {len(test_pool)} official test images; "
                "lower train_size / test_size"
            )
        parts = {"target_train": _take(train_pool, 0, tr), "shadow_train": _take(train_pool, tr, tr)}
        parts["target_test"] = _take(test_pool, 0, te)
        parts["shadow_test"] = _take(test_pool, te, te)
        drawn.update(target_train="official train", shadow_train="official train", target_test="official test", shadow_test="official test")
        if 2 * te + cal <= len(test_pool):
            parts["calibration"] = _take(test_pool, 2 * te, cal)
            drawn["calibration"] = "official test"
        elif 2 * tr + cal <= len(train_pool):
            parts["calibration"] = _take(train_pool, 2 * tr, cal)
            drawn["calibration"] = "official train (unused by both models)"
        else:
            raise ConfigError(
                f"calibration_size = {cal} does not fit: {len(test_pool) - 2 * te} official test and "
                f"{len(train_pool) - 2 * tr} official train images are left after the train/test splits; "
                "lower calibration_size"
            )
    else:
        need = 2 * tr + 2 * te + cal
        if need > n_total:
            raise ConfigError(
                f"splits do not fit the data: 2 x train_size ({tr}) + 2 x test_size ({te}) + "
                f"calibration_size ({cal}) = {need} > {n_total} samples; lower the sizes"
            )
        pool = rng.permutation(n_total)
        sizes = {"target_train": tr, "shadow_train": tr, "target_test": te, "shadow_test": te, "calibration": cal}
        start = 0
        parts = {}
        for name in BASE_SPLITS:
            parts[name] = _take(pool, start, sizes[name])
            drawn[name] = "pool"
            start += sizes[name]

    for name, parent in MEMBER_SPLITS.items():
        parts[name] = np.sort(rng.choice(parts[parent], size=nm, replace=False)).astype(np.int64)
    splits = Splits(**parts, n_total=n_total, seed=profile.seed, drawn_from=drawn)
    splits.check()
    return splits
