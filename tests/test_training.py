"""Training loop: determinism, caching, interruption, bad inputs."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from helpers.cache import ModelCache
from helpers.config import ConfigError
from helpers.training import TrainConfig, _batches, accuracy, get_or_train, resolve_device, train_model


def _data(n: int = 96, channels: int = 1, size: int = 8, classes: int = 3, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % classes
    x = torch.randn(n, channels, size, size, generator=g) * 0.5
    x[:, :, : size // 2, : size // 2] += y.view(-1, 1, 1, 1).float()  # learnable signal
    return x, y


def _cfg(**changes) -> TrainConfig:
    base = dict(
        dataset="synthetic",
        data_key="d",
        architecture="salem_cnn",
        num_classes=3,
        in_channels=1,
        image_size=8,
        width=0.25,
        epochs=2,
        batch_size=16,
        lr=1e-3,
        seed=3,
        split_key="s",
    )
    return TrainConfig(**{**base, **changes})


def test_same_seed_same_weights_on_cpu():
    x, y = _data()
    for arch in ("salem_cnn", "resnet18"):
        cfg = _cfg(architecture=arch, width=0.125, epochs=1)
        a, hist_a = train_model(cfg, x, y, device="cpu", progress=False)
        b, hist_b = train_model(cfg, x, y, device="cpu", progress=False)
        sa, sb = a.state_dict(), b.state_dict()
        assert sa.keys() == sb.keys()
        assert all(torch.equal(sa[k], sb[k]) for k in sa), arch
        assert [h["loss"] for h in hist_a] == [h["loss"] for h in hist_b]
    c, _ = train_model(_cfg(seed=4), x, y, device="cpu", progress=False)
    a, _ = train_model(_cfg(), x, y, device="cpu", progress=False)
    assert not torch.equal(a.classifier.weight, c.classifier.weight)


def test_training_learns_and_reports_history():
    x, y = _data(n=120)
    model, history = train_model(_cfg(epochs=15, lr=3e-3, width=0.5), x, y, device="cpu", progress=False)
    assert [h["epoch"] for h in history] == list(range(1, 16))
    assert history[-1]["loss"] < history[0]["loss"]
    assert accuracy(model, x, y) > 0.9 and not model.training


def test_config_key_is_stable_and_complete():
    cfg = _cfg()
    assert cfg.key() == _cfg().key() and len(cfg.key()) == 64
    for field in dataclasses.fields(TrainConfig):
        value = getattr(cfg, field.name)
        if isinstance(value, bool):
            continue
        if field.name in ("architecture", "optimizer", "role"):
            continue
        if isinstance(value, float):
            changed = value + 0.1
        elif isinstance(value, int):
            changed = value + 1
        else:
            changed = f"{value}x"
        assert _cfg(**{field.name: changed}).key() != cfg.key(), field.name
    assert _cfg(role="shadow").key() != cfg.key()
    assert _cfg(optimizer="sgd").key() != cfg.key()


def test_bad_config_values_are_named():
    with pytest.raises(ConfigError, match="role.*victim"):
        _cfg(role="victim")
    with pytest.raises(ConfigError, match="architecture.*vgg"):
        _cfg(architecture="vgg")
    with pytest.raises(ConfigError, match="optimizer"):
        _cfg(optimizer="rmsprop")
    with pytest.raises(ConfigError, match="label_smoothing"):
        _cfg(label_smoothing=1.5)
    with pytest.raises(ConfigError, match="device"):
        resolve_device("tpu")


def test_inputs_must_match_config():
    x, y = _data()
    with pytest.raises(ConfigError, match="shape"):
        train_model(_cfg(image_size=16), x, y, device="cpu", progress=False)
    with pytest.raises(ConfigError, match="labels range"):
        train_model(_cfg(num_classes=2), x, y, device="cpu", progress=False)


def test_get_or_train_caches(tmp_path):
    x, y = _data()
    cfg = _cfg()
    first = get_or_train(cfg, x, y, cache_dir=str(tmp_path), device="cpu", progress=False)
    assert not first.from_cache and first.key == cfg.key() and len(first.history) == 2
    second = get_or_train(cfg, x, y, cache_dir=str(tmp_path), device="cpu", progress=False)
    assert second.from_cache and not second.model.training
    assert second.history == first.history
    s1, s2 = first.model.state_dict(), second.model.state_dict()
    assert all(torch.equal(s1[k], s2[k]) for k in s1)
    assert list(second.history_frame().columns) == ["loss", "train_accuracy", "seconds"]


def test_interrupted_training_leaves_no_entry(tmp_path):
    x, y = _data()
    cfg = _cfg(epochs=3)

    def stop(epoch, stats):
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        get_or_train(cfg, x, y, cache_dir=str(tmp_path), device="cpu", progress=False, callback=stop)
    cache = ModelCache(str(tmp_path))
    assert cfg.key() not in cache and cache.keys() == []
    leftovers = list((tmp_path / "models").glob("*")) if (tmp_path / "models").exists() else []
    assert leftovers == []
    assert not get_or_train(cfg, x, y, cache_dir=str(tmp_path), device="cpu", progress=False).from_cache


def test_batches_never_leave_a_single_sample():
    assert _batches(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert _batches(9, 4) == [(0, 4), (4, 9)]
    assert _batches(1, 4) == [(0, 1)]


def test_weights_do_not_depend_on_the_callers_thread_count():
    """Training fixes the config's CPU thread count, so the process setting cannot leak in."""
    x, y = _data()
    cfg = _cfg(architecture="resnet18", width=0.125, epochs=1, cpu_threads=2)
    before = torch.get_num_threads()
    weights = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            model, _ = train_model(cfg, x, y, device="cpu", progress=False)
            weights.append(model.state_dict())
            assert torch.get_num_threads() == threads  # restored after training
    finally:
        torch.set_num_threads(before)
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert _cfg(cpu_threads=1).key() != _cfg(cpu_threads=2).key()


@pytest.mark.parametrize("arch, width", [("salem_cnn", 1.0), ("resnet18", 0.25)])
def test_logits_do_not_depend_on_the_inference_batch(arch, width):
    """Every image is computed on its own in eval mode: the CPU default batch gives the logits
    of one big batch or of tiny batches up to float rounding (oneDNN picks other kernels for
    some batch sizes)."""
    from helpers.models import build_model
    from helpers.training import INFERENCE_BATCH, predict_logits

    torch.manual_seed(0)
    model = build_model(arch, 10, 3, 32, width=width).eval()
    x = torch.randn(300, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    default = predict_logits(model, x)
    assert INFERENCE_BATCH["cpu"] < 300  # several batches, one of them partial
    for batch in (300, 7):
        torch.testing.assert_close(predict_logits(model, x, batch_size=batch), default, rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match="'batch_size' has value 0"):
        predict_logits(model, x, batch_size=0)
