"""Data sources: digits, image folders, torchvision errors, class selection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from helpers.config import ConfigError, load_profile
from helpers.data import (
    DatasetNotFoundError,
    available_datasets,
    convert_channels,
    drop_classes,
    load_dataset,
    load_heldout,
    load_named_dataset,
    select_classes,
)


def _save(path: Path, mode: str = "RGB", size: tuple[int, int] = (12, 12), seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    channels = {"RGB": 3, "RGBA": 4, "L": 1, "CMYK": 4}[mode]
    arr = rng.integers(0, 256, size=(size[1], size[0], channels), dtype=np.uint8)
    img = Image.fromarray(arr.squeeze(-1) if channels == 1 else arr, mode=mode)
    img.save(path)


def _folder(root: Path, classes=("cat", "dog"), per_class: int = 4, split: bool = False) -> Path:
    parts = ["train", "test"] if split else [""]
    for part in parts:
        for c_i, c in enumerate(classes):
            for i in range(per_class):
                _save(root / part / c / f"{i}.png", seed=100 * c_i + i + (7 if part == "test" else 0))
    return root


def test_digits_is_embedded_and_normalised():
    ds = load_named_dataset("digits")
    assert ds.x.shape == (1797, 1, 8, 8) and ds.x.dtype == torch.float32
    assert ds.y.dtype == torch.int64 and ds.classes == [str(i) for i in range(10)]
    assert not ds.has_official_test and not ds.is_test.any()
    assert abs(float(ds.x.mean())) < 1e-3 and abs(float(ds.x.std()) - 1) < 1e-2
    raw = ds.denormalize(ds.x)
    assert float(raw.min()) > -1e-5 and float(raw.max()) < 1 + 1e-5


def test_digits_resized_and_converted():
    ds = load_named_dataset("digits", image_size=16, channels=3, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    assert ds.x.shape == (1797, 3, 16, 16)
    assert torch.equal(ds.x[:, 0], ds.x[:, 2])


def test_convert_channels_luminance():
    x = torch.zeros(1, 3, 2, 2)
    x[:, 1] = 1.0
    assert torch.allclose(convert_channels(x, 1), torch.full((1, 1, 2, 2), 0.587))
    with pytest.raises(ConfigError, match="channels"):
        convert_channels(x, 2)


def test_unknown_dataset_names_allowed_ones():
    with pytest.raises(ConfigError, match="allowed.*digits"):
        load_named_dataset("mnist-ish")
    assert "cifar10" in available_datasets()


def test_missing_torchvision_files_say_what_to_do(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        load_named_dataset("cifar10", data_root=str(tmp_path), download=False)
    text = str(info.value)
    assert str(tmp_path) in text and "download: true" in text and "imagefolder:" in text


def test_imagefolder_decodes_and_caches(tmp_path):
    root = _folder(tmp_path / "imgs")
    cache = tmp_path / "cache"
    ds = load_named_dataset(f"imagefolder:{root}", cache_dir=str(cache))
    assert ds.x.shape == (8, 3, 12, 12) and ds.classes == ["cat", "dog"]
    assert ds.y.tolist() == [0] * 4 + [1] * 4
    assert not ds.has_official_test
    cached = list((cache / "data").glob("imagefolder-*.pt"))
    assert len(cached) == 1
    again = load_named_dataset(f"imagefolder:{root}", cache_dir=str(cache))
    assert torch.equal(again.x, ds.x) and again.key() == ds.key()


def test_imagefolder_train_test_subtrees(tmp_path):
    root = _folder(tmp_path / "imgs", split=True, per_class=3)
    ds = load_named_dataset(f"imagefolder:{root}", image_size=8, cache_dir=str(tmp_path / "c"))
    assert ds.has_official_test and int(ds.is_test.sum()) == 6
    assert ds.x.shape == (12, 3, 8, 8)


def test_imagefolder_grayscale_and_rgba_become_rgb(tmp_path):
    root = tmp_path / "imgs"
    _save(root / "a" / "gray.png", mode="L")
    _save(root / "a" / "rgba.png", mode="RGBA")
    _save(root / "b" / "rgb.png", mode="RGB")
    ds = load_named_dataset(f"imagefolder:{root}", cache_dir=str(tmp_path / "c"))
    assert ds.x.shape[1] == 3
    gray = ds.denormalize(ds.x)[0]
    assert torch.allclose(gray[0], gray[1], atol=1e-5) and torch.allclose(gray[1], gray[2], atol=1e-5)


def test_imagefolder_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no class sub-folders"):
        load_named_dataset(f"imagefolder:{tmp_path / 'empty'}", cache_dir=str(tmp_path / "c"))
    (tmp_path / "empty" / "cat").mkdir()
    with pytest.raises(ConfigError, match="cat.*empty"):
        load_named_dataset(f"imagefolder:{tmp_path / 'empty'}", cache_dir=str(tmp_path / "c"))


def test_imagefolder_missing_folder(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        load_named_dataset(f"imagefolder:{tmp_path / 'nowhere'}")


def test_imagefolder_non_image_file_is_named(tmp_path):
    root = _folder(tmp_path / "imgs", per_class=2)
    (root / "cat" / "notes.txt").write_text("not an image")
    with pytest.raises(ConfigError, match="notes.txt"):
        load_named_dataset(f"imagefolder:{root}", cache_dir=str(tmp_path / "c"))


def test_imagefolder_unexpected_mode_is_named(tmp_path):
    root = _folder(tmp_path / "imgs", per_class=2)
    _save(root / "dog" / "print.jpg", mode="CMYK")
    with pytest.raises(ConfigError, match="print.jpg.*CMYK"):
        load_named_dataset(f"imagefolder:{root}", cache_dir=str(tmp_path / "c"))


def test_imagefolder_mixed_sizes_need_image_size(tmp_path):
    root = _folder(tmp_path / "imgs", per_class=2)
    _save(root / "dog" / "big.png", size=(20, 14))
    with pytest.raises(ConfigError, match="image_size"):
        load_named_dataset(f"imagefolder:{root}", cache_dir=str(tmp_path / "c"))
    ds = load_named_dataset(f"imagefolder:{root}", image_size=10, cache_dir=str(tmp_path / "c"))
    assert ds.x.shape == (5, 3, 10, 10)


def test_class_selection_and_dropping():
    ds = load_named_dataset("digits")
    sub = select_classes(ds, ["3", "1"])
    assert sub.classes == ["3", "1"] and set(sub.y.tolist()) == {0, 1}
    assert int((sub.y == 0).sum()) == int((ds.y == 3).sum())
    dropped = drop_classes(ds, ["9"])
    assert dropped.num_classes == 9 and len(dropped) == len(ds) - int((ds.y == 9).sum())
    with pytest.raises(ConfigError, match="unknown class.*monkey"):
        drop_classes(ds, ["monkey"])


def test_load_dataset_follows_profile(tmp_path):
    profile = load_profile("digits", classes=["0", "1", "2"], heldout_classes=["7"], cache_dir=str(tmp_path))
    ds = load_dataset(profile)
    assert ds.classes == ["0", "1", "2"] and ds.x.shape[-1] == profile.image_size
    held = load_heldout(profile)
    assert held is not None and held.classes == ["7"]
    profile = load_profile("digits", heldout_classes=["7", "8"], cache_dir=str(tmp_path))
    assert load_dataset(profile).num_classes == 8
    with pytest.raises(ConfigError, match="share"):
        load_dataset(load_profile("digits", classes=["0", "7"], heldout_classes=["7"]))
