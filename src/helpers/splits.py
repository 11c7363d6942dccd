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

Sizes that do not fit the data are a :class:`ConfigError` that proposes sizes that do
(:func:`choose_sizes`); with ``sizes: auto`` the profile's sizes are scaled down to fit by
:func:`fit_sizes` when an experiment loads its data, before any model trains. Every class
must appear in both training splits, or the error names the class and its image count.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

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


SIZE_NAMES = ("train_size", "test_size", "n_members", "calibration_size")
MIN_SIZE = 10  # the smallest train_size / test_size / n_members a profile allows


@dataclass(frozen=True)
class SizeChoice:
    """Split sizes chosen to fit a dataset (:func:`choose_sizes`)."""

    train_size: int
    test_size: int
    n_members: int
    calibration_size: int
    n_images: int
    official_test: bool

    def as_overrides(self) -> dict[str, int]:
        """The four sizes as profile parameters."""
        return {name: int(getattr(self, name)) for name in SIZE_NAMES}

    def describe(self) -> str:
        """One sentence: the sizes and what they use of the data."""
        used = 2 * self.train_size + 2 * self.test_size + self.calibration_size
        where = "official train / test parts" if self.official_test else "one pool"
        return (f"train_size={self.train_size}, test_size={self.test_size}, n_members={self.n_members}, "
                f"calibration_size={self.calibration_size} ({used} of {self.n_images} images, {where})")


def _pools(n_total: int, is_test: np.ndarray | None) -> tuple[int, int] | None:
    """(official train, official test) image counts, or ``None`` for a single pool."""
    if is_test is None or not np.asarray(is_test).any():
        return None
    flags = np.asarray(is_test, dtype=bool)
    return int((~flags).sum()), int(flags.sum())


def choose_sizes(n_total: int, profile: Profile, is_test: np.ndarray | None = None) -> SizeChoice:
    """The profile's four sizes scaled down (by one factor, keeping their ratios) until the
    splits fit ``n_total`` images (or the official train / test parts that ``is_test``
    marks); sizes that fit already are kept. :class:`ConfigError` when even the smallest
    sizes allowed (``MIN_SIZE`` for train, test and members) do not fit."""
    tr0, te0, nm0, cal0 = profile.train_size, profile.test_size, profile.n_members, profile.calibration_size
    pools = _pools(n_total, is_test)
    if pools is None:
        f = min(1.0, n_total / (2 * tr0 + 2 * te0 + cal0))
        tr, te, cal = int(tr0 * f), int(te0 * f), int(cal0 * f)
        if min(tr, te) < MIN_SIZE:  # too small to spare a calibration split
            tr, te, cal = min(tr0, n_total // 4), min(te0, n_total // 4), 0
        room = f"{n_total} images (2 x train_size + 2 x test_size + calibration_size must fit)"
    else:
        n_train, n_test = pools
        tr, te = min(tr0, n_train // 2), min(te0, n_test // 2)
        cal = cal0
        if 2 * te + cal0 > n_test and 2 * tr + cal0 > n_train:  # no room left for calibration:
            f = n_test / (2 * te0 + cal0)  # scale test and calibration sizes in the test part
            te, cal = min(te, int(te0 * f)), int(cal0 * f)
        room = (f"{n_train} official train images (2 x train_size must fit) and {n_test} official test "
                "images (2 x test_size must fit)")
    if nm0 >= min(tr0, te0):  # the profile uses every train / test image as member / non-member
        nm = min(tr, te)
    else:
        nm = max(min(int(nm0 * min(tr / tr0, te / te0)), tr, te), min(MIN_SIZE, tr, te))
    if min(tr, te, nm) < MIN_SIZE:
        raise ConfigError(
            f"parameter 'dataset' has value {profile.dataset!r} with {room}; allowed: a dataset with room "
            f"for train_size, test_size and n_members of at least {MIN_SIZE} each (at least "
            f"{4 * MIN_SIZE} images besides calibration): add images"
        )
    return SizeChoice(tr, te, nm, cal, int(n_total), pools is not None)


def fit_sizes(profile: Profile, data: "ImageDataset", echo: Callable[[str], None] | None = print) -> Profile:
    """A ``sizes: auto`` profile made concrete: :func:`choose_sizes` for ``data``, returned
    as a ``sizes: manual`` profile; ``echo`` (default ``print``) says what was chosen.
    A ``manual`` profile is returned unchanged."""
    if profile.sizes != "auto":
        return profile
    is_test = data.is_test.cpu().numpy() if getattr(data, "has_official_test", False) else None
    choice = choose_sizes(len(data), profile, is_test)
    if echo is not None:
        echo(f"sizes: auto chose {choice.describe()}")
    return profile.replace(sizes="manual", **choice.as_overrides())


def _proposal(n_total: int, profile: Profile, is_test: np.ndarray | None) -> str:
    """Text proposing sizes that fit (or saying why none do)."""
    try:
        choice = choose_sizes(n_total, profile, is_test)
    except ConfigError as err:
        return str(err)
    sizes = ", ".join(f'"{k}": {v}' for k, v in choice.as_overrides().items())
    return f"sizes that fit: {{{sizes}}} (pass them as overrides), or set sizes: auto to choose them so"


def _check_classes(data: "ImageDataset", parts: dict[str, np.ndarray]) -> None:
    """Every class must be in both training splits (a model cannot learn a class it never sees)."""
    y = data.y.cpu().numpy()
    counts = np.bincount(y, minlength=len(data.classes))
    for split in ("target_train", "shadow_train"):
        seen = np.bincount(y[parts[split]], minlength=len(data.classes))
        missing = [data.classes[c] for c in np.flatnonzero(seen == 0)]
        if missing:
            detail = ", ".join(f"{c!r}: {int(counts[data.classes.index(c)])} image(s)" for c in missing)
            raise ConfigError(
                f"parameter 'dataset' has value {data.name!r} whose class(es) {detail} do not appear in "
                f"split {split}; allowed: every class in both training splits: add images of these classes, "
                f"raise train_size, or keep the other classes (parameter 'classes': {data.classes})"
            )


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
    if profile.sizes == "auto":
        profile = profile.replace(sizes="manual", **choose_sizes(n_total, profile, is_test).as_overrides())
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
                f"{_proposal(n_total, profile, flags)}"
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
                f"{_proposal(n_total, profile, flags)}"
            )
    else:
        need = 2 * tr + 2 * te + cal
        if need > n_total:
            raise ConfigError(
                f"splits do not fit the data: 2 x train_size ({tr}) + 2 x test_size ({te}) + "
                f"calibration_size ({cal}) = {need} > {n_total} samples; {_proposal(n_total, profile, None)}"
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
    if not isinstance(data, (int, np.integer)):
        _check_classes(data, parts)
    splits = Splits(**parts, n_total=n_total, seed=profile.seed, drawn_from=drawn)
    splits.check()
    return splits
