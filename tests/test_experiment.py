"""Experiment orchestration, plus training on real CIFAR-10 JPEGs when they are available."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from helpers.config import ConfigError, load_profile
from helpers.experiment import Experiment, role_seed

REPO = Path(__file__).resolve().parents[1]
CIFAR_JPG = Path(os.environ.get("HELPERS_CIFAR10_JPG", REPO.parent / "shared" / "data" / "cifar10-jpg"))
needs_cifar = pytest.mark.skipif(not (CIFAR_JPG / "train").is_dir(), reason=f"CIFAR-10 JPEG folder {CIFAR_JPG} not present")

SMALL = dict(
    architectures=["salem_cnn"],
    epochs=2,
    train_size=60,
    test_size=40,
    n_members=30,
    calibration_size=20,
    width=0.25,
)


@pytest.fixture
def exp(tmp_path):
    return Experiment("digits", progress=False, cache_dir=str(tmp_path), **SMALL)


def test_lazy_data_splits_and_input_sets(exp):
    assert exp.data.x.shape[1:] == (1, 16, 16)
    x, y = exp.input_set("target_members")
    assert x.shape == (30, 1, 16, 16) and y.shape == (30,)
    xc, _ = exp.input_set("calibration")
    assert len(xc) == 20
    with pytest.raises(ConfigError, match="allowed"):
        exp.input_set("members")


def test_variants_map_to_profile_values(exp):
    std = exp.train_config("salem_cnn", "target", "standard")
    ls = exp.train_config("salem_cnn", "shadow", "label_smoothing")
    l2 = exp.train_config("salem_cnn", "target", "l2")
    assert (std.label_smoothing, std.weight_decay) == (0.0, 0.0)
    assert (ls.label_smoothing, ls.weight_decay) == (exp.profile.label_smoothing, 0.0)
    assert (l2.label_smoothing, l2.weight_decay) == (0.0, exp.profile.weight_decay)
    assert std.seed != exp.train_config("salem_cnn", "shadow").seed
    assert std.seed == l2.seed == role_seed(exp.profile.seed, "target")
    assert exp.train_config("resnet18").lr == exp.profile.lr_for("resnet18")
    with pytest.raises(ConfigError, match="variant.*allowed"):
        exp.train_config("salem_cnn", variant="dropout")
    with pytest.raises(ConfigError, match="role"):
        exp.train_config("salem_cnn", role="victim")


def test_models_are_cached_and_table_is_complete(exp, tmp_path):
    target = exp.model("salem_cnn")
    assert not target.from_cache and exp.model("salem_cnn") is target
    table = exp.accuracy_table()
    assert list(table.columns) == ["target train", "target test", "shadow train", "shadow test"]
    assert list(table.index) == ["salem_cnn"]
    assert ((table >= 0) & (table <= 1)).all().all()
    fresh = Experiment("digits", progress=False, cache_dir=str(tmp_path), **SMALL)
    again = fresh.model("salem_cnn")
    assert again.from_cache and again.key == target.key


def _subset_folder(dst: Path, classes=("airplane", "cat", "ship"), n_train=60, n_test=30) -> Path:
    for part, n in (("train", n_train), ("test", n_test)):
        for c in classes:
            files = sorted((CIFAR_JPG / part / c).iterdir())[:n]
            (dst / part / c).mkdir(parents=True)
            for f in files:
                os.symlink(f, dst / part / c / f.name)
    return dst


@pytest.mark.shared_data
@needs_cifar
def test_salem_cnn_on_cifar10_jpeg_subset(tmp_path):
    folder = _subset_folder(tmp_path / "cifar-subset")
    exp = Experiment(
        "quick",
        progress=False,
        dataset=f"imagefolder:{folder}",
        image_size=32,
        architectures=["salem_cnn"],
        width=1.0,
        epochs=1,
        train_size=80,
        test_size=40,
        n_members=30,
        calibration_size=10,
        cache_dir=str(tmp_path / "cache"),
    )
    assert exp.data.classes == ["airplane", "cat", "ship"] and exp.data.has_official_test
    assert exp.data.x.shape == (270, 3, 32, 32)
    assert set(exp.splits.drawn_from.values()) == {"official train", "official test"}
    model = exp.model("salem_cnn")
    assert len(model.history) == 1
    logits = model.model(exp.input_set("target_nonmembers")[0])
    assert logits.shape == (30, 3) and torch.isfinite(logits).all()


@pytest.mark.slow
@pytest.mark.shared_data
@needs_cifar
def test_full_cifar10_jpeg_folder_with_class_subset():
    """Decodes all 60,000 JPEGs once; data and model are cached in the default cache dir."""
    profile = load_profile("digits").replace(
        dataset=f"imagefolder:{CIFAR_JPG}",
        image_size=None,
        classes=["cat", "dog"],
        architectures=["salem_cnn"],
        width=1.0,
        epochs=1,
        train_size=500,
        test_size=200,
        n_members=100,
        calibration_size=100,
    )
    exp = Experiment(profile, progress=False)
    assert len(exp.data) == 12_000 and exp.data.x.shape[1:] == (3, 32, 32)
    assert len(exp.model("salem_cnn").history) == 1
