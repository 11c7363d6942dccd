"""Model cache: atomic writes, verification, corrupt entries, locations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from helpers.cache import CacheWarning, ModelCache, default_cache_dir
from helpers.paths import atomic_path, find_repo_root
from helpers.training import TrainConfig, get_or_train


def _cfg(**changes) -> TrainConfig:
    base = dict(dataset="synthetic", data_key="d", architecture="mlp", num_classes=2, in_channels=1, image_size=4, width=0.1, epochs=1, batch_size=8, seed=1)
    return TrainConfig(**{**base, **changes})


def _xy():
    g = torch.Generator().manual_seed(0)
    return torch.randn(32, 1, 4, 4, generator=g), torch.arange(32) % 2


def test_save_and_verified_load(tmp_path):
    cache = ModelCache(tmp_path)
    state = {"w": torch.arange(6.0).view(2, 3)}
    cache.save("k1", {"a": 1, "b": [1, 2]}, state, {"history": [{"epoch": 1}]})
    assert "k1" in cache and cache.keys() == ["k1"]
    entry = cache.load("k1", {"a": 1, "b": (1, 2)})
    assert entry is not None and torch.equal(entry.state_dict["w"], state["w"])
    assert entry.meta["history"] == [{"epoch": 1}]
    assert not [p for p in (tmp_path / "models").iterdir() if p.name.endswith(".tmp")]
    assert cache.load("missing", {}) is None


def test_config_mismatch_is_rejected(tmp_path):
    cache = ModelCache(tmp_path)
    cache.save("k", {"a": 1}, {"w": torch.zeros(1)})
    with pytest.warns(CacheWarning, match="config differs"):
        assert cache.load("k", {"a": 2}) is None
    assert "k" not in cache


def test_truncated_weights_warn_and_retrain(tmp_path):
    x, y = _xy()
    cfg = _cfg()
    first = get_or_train(cfg, x, y, cache_dir=str(tmp_path), device="cpu", progress=False)
    weights, _ = ModelCache(tmp_path).paths(cfg.key())
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.warns(CacheWarning, match=weights.name):
        again = get_or_train(cfg, x, y, cache_dir=str(tmp_path), device="cpu", progress=False)
    assert not again.from_cache
    third = get_or_train(cfg, x, y, cache_dir=str(tmp_path), device="cpu", progress=False)
    assert third.from_cache
    assert torch.equal(third.model.classifier.weight, first.model.classifier.weight)


def test_flipped_byte_and_bad_sidecar_are_caught(tmp_path):
    x, y = _xy()
    cfg = _cfg(seed=2)
    get_or_train(cfg, x, y, cache_dir=str(tmp_path), device="cpu", progress=False)
    weights, sidecar = ModelCache(tmp_path).paths(cfg.key())
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.warns(CacheWarning, match="sha256"):
        assert not get_or_train(cfg, x, y, cache_dir=str(tmp_path), device="cpu", progress=False).from_cache
    sidecar.write_text("{not json")
    with pytest.warns(CacheWarning, match=sidecar.name):
        assert not get_or_train(cfg, x, y, cache_dir=str(tmp_path), device="cpu", progress=False).from_cache
    meta = json.loads(sidecar.read_text())
    assert meta["config"] == json.loads(json.dumps(cfg.to_dict())) and len(meta["sha256"]) == 64


def test_atomic_path_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "out.bin"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"whole")
    assert target.read_bytes() == b"whole" and list(tmp_path.iterdir()) == [target]


def test_cache_location_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv("HELPERS_CACHE_DIR", raising=False)
    repo = find_repo_root()
    assert repo is not None and (repo / "pyproject.toml").is_file()
    assert default_cache_dir() == repo / ".cache" / "helpers"
    monkeypatch.setenv("HELPERS_CACHE_DIR", str(tmp_path / "env"))
    assert default_cache_dir() == tmp_path / "env"
    assert default_cache_dir(str(tmp_path / "explicit")) == tmp_path / "explicit"
    assert default_cache_dir("rel/dir") == repo / "rel" / "dir"
    assert isinstance(default_cache_dir(), Path)
