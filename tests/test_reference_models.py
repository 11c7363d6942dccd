"""Reference models: drawn from the attacker's pool, never from a target split."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.config import ConfigError
from helpers.experiment import Experiment
from helpers.reference_attacks import LiRA, ReferenceSignals
from helpers.reference_models import TARGET_SPLITS, ReferenceModels, reference_pool, reference_training_indices

SMALL = dict(epochs=2, architectures=["salem_cnn"])


@pytest.fixture(scope="module")
def exp(tmp_path_factory):
    return Experiment("digits", progress=False, cache_dir=str(tmp_path_factory.mktemp("refcache")), **SMALL)


@pytest.fixture(scope="module")
def refs(exp):
    return ReferenceModels(exp, "salem_cnn", n_references=3)


def test_no_reference_trains_on_a_target_split(exp, refs):
    splits = exp.splits
    for name in TARGET_SPLITS + ("target_members", "target_nonmembers"):
        for k, idx in enumerate(refs.training_indices):
            assert np.intersect1d(idx, splits[name]).size == 0, (k, name)
    refs.check()  # the library's own guard agrees


def test_pool_is_everything_outside_the_target_and_calibration_splits(exp, refs):
    pool = reference_pool(exp.splits)
    forbidden = np.concatenate([exp.splits[n] for n in TARGET_SPLITS])
    assert np.array_equal(np.sort(np.r_[pool, forbidden]), np.arange(exp.splits.n_total))
    for name in ("shadow_train", "shadow_test"):
        assert np.isin(exp.splits[name], pool).all()
    sizes = {len(i) for i in refs.training_indices}
    assert sizes == {exp.profile.train_size}
    assert len({i.tobytes() for i in refs.training_indices}) == 3  # three different subsets


def test_check_fails_when_a_reference_touches_a_target_split(exp):
    bad = ReferenceModels(exp, "salem_cnn", n_references=2)
    leaked = bad.training_indices[1].copy()
    leaked[0] = exp.splits["target_train"][0]
    bad.__dict__["training_indices"] = [bad.training_indices[0], np.sort(leaked)]
    with pytest.raises(AssertionError, match="target split"):
        bad.check()
    with pytest.raises(AssertionError):
        bad.model(1)  # never trains on leaked indices


def test_training_indices_are_seeded_and_validated():
    pool = np.arange(100, 200)
    a = reference_training_indices(pool, 3, 20, seed=1)
    assert all(np.array_equal(x, y) for x, y in zip(a, reference_training_indices(pool, 3, 20, seed=1)))
    assert not np.array_equal(a[0], reference_training_indices(pool, 3, 20, seed=2)[0])
    assert all(np.isin(x, pool).all() and len(np.unique(x)) == 20 for x in a)
    with pytest.raises(ConfigError, match="size"):
        reference_training_indices(pool, 3, 101, seed=1)
    with pytest.raises(ConfigError, match="n_references"):
        reference_training_indices(pool, 0, 10, seed=1)


def test_bad_parameters_name_the_value(exp):
    with pytest.raises(ConfigError, match="n_references"):
        ReferenceModels(exp, "salem_cnn", n_references=1)
    with pytest.raises(ConfigError, match="architecture"):
        ReferenceModels(exp, "no_such_net", n_references=2)
    with pytest.raises(ConfigError, match="variant"):
        ReferenceModels(exp, "salem_cnn", "dropout", n_references=2)


def test_references_train_cache_and_give_signals(exp, refs):
    cfgs = [refs.config(k) for k in range(3)]
    assert {c.role for c in cfgs} == {"reference"} and len({c.seed for c in cfgs}) == 3
    assert len({c.key() for c in cfgs}) == 3
    models = refs.train_all(progress=False)
    assert [m.config.role for m in models] == ["reference"] * 3
    again = ReferenceModels(exp, "salem_cnn", n_references=3).train_all(progress=False)
    assert all(m.from_cache for m in again)
    idx = np.r_[exp.splits["target_members"][:5], refs.training_indices[0][:5]]
    x, y = exp.data.subset(idx)
    target = exp.model("salem_cnn").model
    from helpers.training import predict_logits

    sig = refs.signals(predict_logits(target, x), x, y, idx)
    assert isinstance(sig, ReferenceSignals)
    assert sig.reference_logits.shape == (3, 10, exp.data.num_classes)
    assert not sig.reference_in[:, :5].any()  # target members: every reference is OUT
    assert sig.reference_in[0, 5:].all()  # reference 0 trained on these
    score = LiRA("per_example").fit(sig.subset(np.arange(5)), sig.subset(np.arange(5))).membership_score(
        sig.subset(np.arange(5)))
    assert score.shape == (5,) and np.isfinite(score).all()
