"""Splits: disjointness, sizes, reproducibility (property-based with hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.config import ConfigError, Profile, validate
from helpers.splits import BASE_SPLITS, MEMBER_SPLITS, SPLIT_NAMES, make_splits


def _profile(**values) -> Profile:
    base = {"train_size": 50, "test_size": 30, "n_members": 20, "calibration_size": 10, "seed": 1}
    return validate({**base, **values})


def _assert_valid(splits, profile: Profile, n_total: int) -> None:
    sizes = {
        "target_train": profile.train_size,
        "shadow_train": profile.train_size,
        "target_test": profile.test_size,
        "shadow_test": profile.test_size,
        "calibration": profile.calibration_size,
    }
    seen: set[int] = set()
    for name in BASE_SPLITS:
        part = set(splits[name].tolist())
        assert len(part) == sizes[name] == len(splits[name])
        assert not part & seen
        seen |= part
    for name, parent in MEMBER_SPLITS.items():
        assert len(splits[name]) == profile.n_members
        assert set(splits[name].tolist()) <= set(splits[parent].tolist())
    assert all(0 <= i < n_total for i in seen)


sizes = st.tuples(
    st.integers(10, 60), st.integers(10, 40), st.integers(0, 20), st.integers(0, 2**32 - 1), st.integers(0, 50)
)


@settings(max_examples=60, deadline=None)
@given(sizes)
def test_pool_splits_are_disjoint_and_sized(values):
    train, test, cal, seed, spare = values
    profile = _profile(train_size=train, test_size=test, n_members=min(train, test), calibration_size=cal, seed=seed)
    n_total = 2 * train + 2 * test + cal + spare
    splits = make_splits(n_total, profile)
    _assert_valid(splits, profile, n_total)
    again = make_splits(n_total, profile)
    assert splits.key() == again.key()
    assert all(np.array_equal(splits[n], again[n]) for n in SPLIT_NAMES)


@settings(max_examples=40, deadline=None)
@given(sizes, st.integers(0, 30))
def test_official_test_part_is_respected(values, extra_test):
    train, test, cal, seed, spare = values
    profile = _profile(train_size=train, test_size=test, n_members=min(train, test), calibration_size=cal, seed=seed)
    n_train, n_test = 2 * train + spare, 2 * test + extra_test
    is_test = np.zeros(n_train + n_test, dtype=bool)
    is_test[np.random.default_rng(seed).permutation(len(is_test))[:n_test]] = True
    fits_nowhere = cal > extra_test and cal > spare
    if fits_nowhere:
        with pytest.raises(ConfigError, match="calibration_size"):
            make_splits(len(is_test), profile, is_test=is_test)
        return
    splits = make_splits(len(is_test), profile, is_test=is_test)
    _assert_valid(splits, profile, len(is_test))
    for name in ("target_train", "shadow_train"):
        assert not is_test[splits[name]].any()
    for name in ("target_test", "shadow_test"):
        assert is_test[splits[name]].all()
    where = splits.drawn_from["calibration"]
    if cal <= extra_test:
        assert where == "official test" and is_test[splits.calibration].all()
    else:
        assert where.startswith("official train") and not is_test[splits.calibration].any()


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31), st.integers(1, 2**31))
def test_another_seed_gives_other_splits(seed, delta):
    a = make_splits(500, _profile(seed=seed))
    b = make_splits(500, _profile(seed=(seed + delta) % 2**32))
    assert a.key() != b.key()
    assert not np.array_equal(a.target_train, b.target_train)


def test_too_large_sizes_name_the_numbers():
    with pytest.raises(ConfigError, match=r"50.*30.*10.*= 170 > 100"):
        make_splits(100, _profile())
    is_test = np.zeros(300, dtype=bool)
    is_test[:40] = True
    with pytest.raises(ConfigError, match="2 x test_size = 60 from 40"):
        make_splits(300, _profile(), is_test=is_test)


def test_describe_and_key():
    splits = make_splits(500, _profile())
    table = splits.describe()
    assert list(table.index) == list(SPLIT_NAMES)
    assert table.loc["target_members", "size"] == 20
    assert table.loc["target_members", "drawn from"] == "target_train"
    assert len(splits.key()) == 16
    with pytest.raises(KeyError, match="allowed"):
        splits["members"]
