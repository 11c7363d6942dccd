"""The bundled CIFAR-10 subset: contents, checksum, clear errors, byte-exact rebuild."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers.data import BUNDLED_DIR, DatasetNotFoundError, bundled_manifest, load_named_dataset, read_bundled_archive

REPO = Path(__file__).resolve().parents[1]
CIFAR_JPG = Path(os.environ.get("HELPERS_CIFAR10_JPG", REPO.parent / "shared" / "data" / "cifar10-jpg"))


def test_archive_is_small_and_matches_its_manifest():
    meta = bundled_manifest()
    archive = BUNDLED_DIR / meta["archive"]
    assert archive.stat().st_size <= 8 * 1024 * 1024
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == meta["sha256"]
    assert meta["images"] == {"train": 15000, "test": 5000}


def test_loads_offline_with_official_parts_and_balanced_classes(tmp_path):
    ds = load_named_dataset("cifar10-mini", cache_dir=tmp_path)
    assert tuple(ds.x.shape) == (20000, 3, 32, 32)
    assert ds.classes == bundled_manifest()["classes"]
    assert ds.has_official_test and int(ds.is_test.sum()) == 5000
    train_counts = np.bincount(ds.y[~ds.is_test].numpy(), minlength=10)
    test_counts = np.bincount(ds.y[ds.is_test].numpy(), minlength=10)
    assert train_counts.tolist() == [1500] * 10 and test_counts.tolist() == [500] * 10
    # the decoded cache is reused: a second load reads the same tensors from disk
    assert list((tmp_path / "data").glob("cifar10-mini-*.pt"))
    again = load_named_dataset("cifar10-mini", cache_dir=tmp_path)
    assert bool((again.x == ds.x).all())


def test_pixels_equal_an_independent_decode_of_the_jpeg_bytes(tmp_path):
    ds = load_named_dataset("cifar10-mini", cache_dir=tmp_path)
    blob, meta = read_bundled_archive()
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        names = sorted(m.name for m in tar if m.isfile())
        # archive order is sorted by name: test/ first, then train/
        pick = {0: names[0], 7777: names[7777], 19999: names[19999]}
        for index, name in pick.items():
            img = np.asarray(Image.open(io.BytesIO(tar.extractfile(name).read())).convert("RGB"), dtype=np.float32) / 255
            mean = np.array(ds.mean, dtype=np.float32)[:, None, None]
            std = np.array(ds.std, dtype=np.float32)[:, None, None]
            expected = (img.transpose(2, 0, 1) - mean) / std
            np.testing.assert_allclose(ds.x[index].numpy(), expected, atol=1e-5)
            assert ds.classes[int(ds.y[index])] == name.split("/")[1]
            assert bool(ds.is_test[index]) == name.startswith("test/")


def test_damaged_archive_gives_one_clear_error(tmp_path):
    folder = tmp_path / "bundled"
    shutil.copytree(BUNDLED_DIR, folder)
    archive = folder / bundled_manifest()["archive"]
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    archive.write_bytes(bytes(data))
    with pytest.raises(DatasetNotFoundError, match=r"cifar10-mini\.tar\.gz.*damaged.*build_cifar10_mini\.py"):
        read_bundled_archive(folder)
    archive.unlink()
    with pytest.raises(DatasetNotFoundError, match=r"cifar10-mini\.tar\.gz.*missing.*build_cifar10_mini\.py"):
        read_bundled_archive(folder)


@pytest.mark.shared_data
@pytest.mark.skipif(not CIFAR_JPG.is_dir(), reason="the CIFAR-10 class-folder copy is not on this machine")
def test_rebuild_script_reproduces_the_committed_archive_byte_for_byte(tmp_path):
    subprocess.run([sys.executable, str(REPO / "scripts" / "build_cifar10_mini.py"), str(CIFAR_JPG), "--out", str(tmp_path)],
                   check=True, capture_output=True)
    meta = bundled_manifest()
    assert (tmp_path / meta["archive"]).read_bytes() == (BUNDLED_DIR / meta["archive"]).read_bytes()
    assert (tmp_path / "cifar10-mini.json").read_text() == (BUNDLED_DIR / "cifar10-mini.json").read_text()
