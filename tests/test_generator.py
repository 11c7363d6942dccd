"""The attacker's generator: trained on shadow-train data only, cached, deterministic."""

import json

import pytest
import torch

from helpers import generator as gen_mod
from helpers.config import ConfigError
from helpers.experiment import Experiment
from helpers.generator import GanSettings, fake_generator
from helpers.sources import nonmember_set

TINY = GanSettings(steps=16, batch_size=64)


@pytest.fixture()
def exp(tmp_path):
    return Experiment("digits", progress=False, cache_dir=str(tmp_path))


def test_generator_sees_shadow_train_only(exp, monkeypatch):
    seen = {}
    real_train = gen_mod.train_gan

    def spy(images, **kw):
        seen["images"] = images.clone()
        return real_train(images, **kw)

    monkeypatch.setattr(gen_mod, "train_gan", spy)
    _, meta = fake_generator(exp, TINY)
    shadow = exp.data.denormalize(exp.input_set("shadow_train")[0]).clamp(0, 1)
    assert torch.equal(seen["images"], shadow)
    target = exp.data.denormalize(exp.input_set("target_train")[0]).clamp(0, 1)
    shadow_rows = {tuple(r.tolist()) for r in seen["images"].reshape(len(shadow), -1)}
    assert not any(tuple(r.tolist()) in shadow_rows for r in target.reshape(len(target), -1))
    # the split recorded in the cache sidecar is the shadow split, not the target's
    assert meta["split"] == "shadow_train"
    assert meta["split_key"] == exp.split_key("shadow_train")
    assert meta["split_key"] != exp.split_key("target_train")
    assert meta["config"]["split_key"] == meta["split_key"] and meta["config"]["data_key"] == exp.data.key()
    sidecars = list((exp.cache_dir / "generators").glob("*.json"))
    assert len(sidecars) == 1 and json.loads(sidecars[0].read_text())["split"] == "shadow_train"


def test_generator_is_cached_and_reloaded(exp, monkeypatch):
    first, _ = fake_generator(exp, TINY)

    def refuse(*args, **kw):
        raise AssertionError("trained again although the generator is cached")

    monkeypatch.setattr(gen_mod, "train_gan", refuse)
    again, meta = fake_generator(exp, TINY)
    for (k, a), (_, b) in zip(first.state_dict().items(), again.state_dict().items()):
        assert torch.equal(a, b), k
    with pytest.raises(AssertionError, match="trained again"):  # other settings -> another entry
        fake_generator(exp, GanSettings(steps=32, batch_size=64))


def test_fake_source_is_deterministic_and_sized(exp):
    a = nonmember_set(exp, "fake", gan=TINY)
    fresh = Experiment(exp.profile)
    b = nonmember_set(fresh, "fake", gan=TINY)
    assert a.kind == "synthetic" and a.x.shape == (exp.profile.n_members, 1, 16, 16)
    assert torch.equal(a.x, b.x)
    assert not torch.equal(a.x, nonmember_set(exp, "fake", gan=TINY, seed=5).x)
    pixels = exp.data.denormalize(a.x)
    assert pixels.min() >= -1e-5 and pixels.max() <= 1 + 1e-5  # sigmoid output, normalised like the target


def test_train_gan_is_deterministic_and_leaves_the_global_rng_alone():
    images = torch.rand(40, 1, 8, 8)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    g1, h1 = gen_mod.train_gan(images, kind="mlp", width=16, epochs=2, batch_size=16, seed=4)
    assert torch.equal(torch.rand(3), expected)
    g2, h2 = gen_mod.train_gan(images, kind="mlp", width=16, epochs=2, batch_size=16, seed=4)
    assert h1.d_loss == h2.d_loss and len(h1.d_loss) == 2
    assert torch.equal(gen_mod.sample(g1, 5, seed=1), gen_mod.sample(g2, 5, seed=1))
    assert not torch.equal(gen_mod.sample(g1, 5, seed=1), gen_mod.sample(g1, 5, seed=2))


def test_dcgan_shapes_for_odd_sizes():
    g, _ = gen_mod.train_gan(torch.rand(8, 3, 12, 12), kind="dcgan", width=4, epochs=1, batch_size=4)
    out = gen_mod.sample(g, 3)
    assert out.shape == (3, 3, 12, 12) and out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"kind": "vae"}, "kind"),
        ({"epochs": 0}, "epochs"),
        ({"images": torch.rand(4, 1, 8, 8) * 3}, r"\[0, 1\]"),
        ({"images": torch.rand(4, 1, 8, 6)}, "shape"),
    ],
)
def test_train_gan_rejects_bad_input(kwargs, match):
    images = kwargs.pop("images", torch.rand(4, 1, 8, 8))
    with pytest.raises(ConfigError, match=match):
        gen_mod.train_gan(images, **kwargs)


def test_sample_rejects_bad_n():
    g, _ = gen_mod.train_gan(torch.rand(4, 1, 8, 8), kind="mlp", width=8, epochs=1, batch_size=4)
    with pytest.raises(ConfigError, match="'n'"):
        gen_mod.sample(g, 0)


def test_gan_steps_must_be_positive(exp):
    with pytest.raises(ConfigError, match="gan_steps"):
        nonmember_set(exp, "fake", gan=GanSettings(steps=0))
