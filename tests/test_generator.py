"""The attacker's generator: trained on the attacker's own data only, cached, deterministic;
its quality figures (class accuracy, MMD) against independent computations."""

import dataclasses
import json

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score

from helpers import generator as gen_mod
from helpers.cache import CacheWarning
from helpers.config import ConfigError
from helpers.experiment import Experiment
from helpers.generator import GanSettings, fake_generator, generator_key
from helpers.reference_models import TARGET_SPLITS
from helpers.sources import nonmember_set

TINY = GanSettings(steps=16, batch_size=64)


@pytest.fixture()
def exp(tmp_path):
    return Experiment("digits", progress=False, cache_dir=str(tmp_path))


def _rows(images: torch.Tensor) -> set:
    return {tuple(r.tolist()) for r in images.reshape(len(images), -1)}


def test_generator_sees_the_attackers_pool_only(exp, monkeypatch):
    seen = {}
    real_train = gen_mod.train_gan

    def spy(images, labels=None, **kw):
        seen["images"], seen["labels"] = images.clone(), labels.clone()
        return real_train(images, labels, **kw)

    monkeypatch.setattr(gen_mod, "train_gan", spy)
    _, meta = fake_generator(exp, TINY)
    splits = exp.splits
    forbidden = np.concatenate([splits[name] for name in TARGET_SPLITS])
    pool = np.setdiff1d(np.arange(splits.n_total), forbidden)
    x_pool, y_pool = exp.data.subset(pool)
    assert torch.equal(seen["images"], exp.data.denormalize(x_pool).clamp(0, 1))
    assert torch.equal(seen["labels"], y_pool)
    assert len(seen["images"]) == splits.n_total - len(np.unique(forbidden))
    for name in TARGET_SPLITS:  # not one image of the target's splits or the calibration split
        target = exp.data.denormalize(exp.input_set(name)[0]).clamp(0, 1)
        assert not _rows(target) & _rows(seen["images"]), name
    assert meta["split"] == "pool" and meta["n_images"] == len(pool)
    assert meta["config"]["num_classes"] == exp.data.num_classes
    sidecars = list((exp.cache_dir / "generators").glob("*.json"))
    assert len(sidecars) == 1 and json.loads(sidecars[0].read_text())["split"] == "pool"


def test_shadow_train_data_is_still_available(exp, monkeypatch):
    seen = {}
    real_train = gen_mod.train_gan

    def spy(images, labels=None, **kw):
        seen["images"] = images.clone()
        return real_train(images, labels, **kw)

    monkeypatch.setattr(gen_mod, "train_gan", spy)
    _, meta = fake_generator(exp, dataclasses.replace(TINY, data="shadow_train"))
    assert torch.equal(seen["images"], exp.data.denormalize(exp.input_set("shadow_train")[0]).clamp(0, 1))
    assert meta["split"] == "shadow_train"


def test_generator_is_cached_and_reloaded(exp, monkeypatch):
    first, _ = fake_generator(exp, TINY)

    def refuse(*args, **kw):
        raise AssertionError("trained again although the generator is cached")

    monkeypatch.setattr(gen_mod, "train_gan", refuse)
    again, meta = fake_generator(exp, TINY)
    for (k, a), (_, b) in zip(first.state_dict().items(), again.state_dict().items()):
        assert torch.equal(a, b), k
    with pytest.raises(AssertionError, match="trained again"):  # other settings -> another entry
        fake_generator(exp, dataclasses.replace(TINY, steps=32))


@pytest.mark.parametrize("change", [
    {"kind": "dcgan"}, {"kind": "mlp"}, {"steps": 17}, {"batch_size": 32}, {"width": 8}, {"latent_dim": 32},
    {"lr": 1e-3}, {"ema": 0.0}, {"ema": 0.999}, {"data": "shadow_train"}, {"native_size": 8}, {"beta1": 0.5},
    {"spectral_norm": False}, {"loss": "bce"}, {"loss": "hinge"},
])
def test_a_changed_recipe_changes_the_key(exp, change):
    assert generator_key(exp, dataclasses.replace(TINY, **change)) != generator_key(exp, TINY)


def test_key_follows_the_data_but_not_the_replicate(exp):
    key = generator_key(exp)
    assert generator_key(Experiment(exp.profile, replicate=1)) == key
    assert generator_key(Experiment(exp.profile.replace(seed=7))) != key  # other splits, other pool
    assert generator_key(Experiment(exp.profile.replace(gan_steps=exp.profile.gan_steps + 1))) != key


def test_a_damaged_entry_is_reported_and_retrained(exp, monkeypatch):
    first, _ = fake_generator(exp, TINY)
    files = list((exp.cache_dir / "generators").glob("*.pt"))
    assert len(files) == 1
    data = files[0].read_bytes()
    files[0].write_bytes(data[: len(data) // 2])
    calls = []
    real_train = gen_mod.train_gan
    monkeypatch.setattr(gen_mod, "train_gan", lambda *a, **kw: calls.append(1) or real_train(*a, **kw))
    with pytest.warns(CacheWarning, match=files[0].name):
        again, _ = fake_generator(exp, TINY)
    assert calls == [1]
    for (k, a), (_, b) in zip(first.state_dict().items(), again.state_dict().items()):
        assert torch.equal(a, b), k  # deterministic retraining gives the same weights
    fake_generator(exp, TINY)
    assert calls == [1]  # the repaired entry is read again


def test_fake_source_is_deterministic_sized_and_in_range(exp):
    a = nonmember_set(exp, "fake", gan=TINY)
    fresh = Experiment(exp.profile)
    b = nonmember_set(fresh, "fake", gan=TINY)
    assert a.kind == "synthetic" and a.x.shape == (exp.profile.n_members, 1, 16, 16)
    assert torch.equal(a.x, b.x)
    assert not torch.equal(a.x, nonmember_set(exp, "fake", gan=TINY, seed=5).x)
    pixels = exp.data.denormalize(a.x)
    assert pixels.min() >= -1e-5 and pixels.max() <= 1 + 1e-5  # sigmoid output, normalised like the target


def test_conditional_samples_are_balanced_and_follow_the_class():
    images = torch.rand(40, 3, 8, 8)
    labels = torch.arange(40) % 4
    g, history = gen_mod.train_gan(images, labels, kind="sngan", width=4, steps=3, batch_size=8, ema=0.9)
    assert g.num_classes == 4 and len(history.d_loss) == 3
    x, y = gen_mod.sample_labelled(g, 10, seed=3)
    assert x.shape == (10, 3, 8, 8) and 0 <= float(x.min()) and float(x.max()) <= 1
    assert sorted(np.bincount(y.numpy(), minlength=4).tolist()) == [2, 2, 3, 3]
    same_noise = [gen_mod.sample_labelled(g, 4, seed=1, labels=torch.full((4,), k))[0] for k in (0, 1)]
    assert not torch.equal(*same_noise)  # the class changes the image
    with pytest.raises(ConfigError, match="'labels'"):
        gen_mod.sample_labelled(g, 4, labels=torch.full((4,), 4))


def test_train_gan_is_deterministic_and_leaves_the_global_rng_alone():
    images = torch.rand(40, 1, 8, 8)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    g1, h1 = gen_mod.train_gan(images, kind="mlp", width=16, steps=6, batch_size=16, seed=4)
    assert torch.equal(torch.rand(3), expected)
    g2, h2 = gen_mod.train_gan(images, kind="mlp", width=16, steps=6, batch_size=16, seed=4)
    assert h1.d_loss == h2.d_loss and len(h1.d_loss) == 6
    assert torch.equal(gen_mod.sample(g1, 5, seed=1), gen_mod.sample(g2, 5, seed=1))
    assert not torch.equal(gen_mod.sample(g1, 5, seed=1), gen_mod.sample(g1, 5, seed=2))


def test_ema_returns_an_average_not_the_last_weights():
    images, labels = torch.rand(32, 1, 8, 8), torch.arange(32) % 2
    plain, _ = gen_mod.train_gan(images, labels, width=4, steps=4, batch_size=8, ema=0.0, seed=1)
    averaged, _ = gen_mod.train_gan(images, labels, width=4, steps=4, batch_size=8, ema=0.5, seed=1)
    assert not torch.equal(plain.body[0].weight, averaged.body[0].weight)


def test_a_generator_drawing_fewer_pixels_is_judged_at_its_size_and_returns_full_size():
    seen = []
    images, labels = torch.rand(16, 3, 16, 16), torch.arange(16) % 2
    g, _ = gen_mod.train_gan(images, labels, width=4, steps=2, batch_size=8, native_size=8)
    assert g.native(torch.zeros(2, g.latent_dim), torch.tensor([0, 1])).shape == (2, 3, 8, 8)
    assert gen_mod.sample(g, 3).shape == (3, 3, 16, 16)
    _, d = gen_mod.build_networks("sngan", 3, 16, 8, 4, 2, native_size=8)
    d.register_forward_pre_hook(lambda module, args: seen.append(tuple(args[0].shape)))
    d(torch.rand(2, 3, 8, 8), torch.tensor([0, 1]))
    assert seen == [(2, 3, 8, 8)]
    with pytest.raises(ConfigError, match="native_size"):
        gen_mod.build_networks("sngan", 3, 16, 8, 4, 2, native_size=32)


def test_dcgan_shapes_for_odd_sizes():
    g, _ = gen_mod.train_gan(torch.rand(8, 3, 12, 12), kind="dcgan", width=4, steps=2, batch_size=4)
    out = gen_mod.sample(g, 3)
    assert out.shape == (3, 3, 12, 12) and out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"kind": "vae"}, "kind"),
        ({"steps": 0}, "steps"),
        ({"ema": 1.0}, "ema"),
        ({"loss": "wasserstein"}, "loss"),
        ({"batch_size": 1}, "batch_size"),
        ({"images": torch.rand(4, 1, 8, 8) * 3}, r"\[0, 1\]"),
        ({"images": torch.rand(4, 1, 8, 6)}, "shape"),
        ({"labels": torch.zeros(3, dtype=torch.int64)}, "labels"),
    ],
)
def test_train_gan_rejects_bad_input(kwargs, match):
    images = kwargs.pop("images", torch.rand(4, 1, 8, 8))
    with pytest.raises(ConfigError, match=match):
        gen_mod.train_gan(images, **kwargs)


def test_sample_rejects_bad_n():
    g, _ = gen_mod.train_gan(torch.rand(4, 1, 8, 8), kind="mlp", width=8, steps=1, batch_size=4)
    with pytest.raises(ConfigError, match="'n'"):
        gen_mod.sample(g, 0)


@pytest.mark.parametrize("change, match", [({"steps": 0}, "gan_steps"), ({"data": "target_train"}, "'data'"),
                                           ({"kind": "stylegan"}, "'kind'")])
def test_bad_settings_are_rejected(exp, change, match):
    with pytest.raises(ConfigError, match=match):
        nonmember_set(exp, "fake", gan=dataclasses.replace(TINY, **change))


# --------------------------------------------------------------------------- quality figures
def _naive_mmd2(x: np.ndarray, y: np.ndarray, bandwidth: float) -> float:
    def k(a, b):
        return np.exp(-np.sum((a - b) ** 2) / (2 * bandwidth**2))

    n, m = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(n) for j in range(m)) / (n * m)
    return xx + yy - 2 * xy


def test_mmd_matches_a_direct_computation_and_separates_distributions():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 4)), rng.normal(size=(25, 4)) + 0.3
    assert gen_mod.mmd2(x, y, 1.7) == pytest.approx(_naive_mmd2(x, y, 1.7), rel=1e-9, abs=1e-12)
    same = gen_mod.mmd2(rng.normal(size=(400, 4)), rng.normal(size=(400, 4)), 2.0)
    shifted = gen_mod.mmd2(rng.normal(size=(400, 4)), rng.normal(size=(400, 4)) + 1.0, 2.0)
    assert abs(same) < 0.01 < shifted
    assert abs(gen_mod.mmd2(x, x, 1.7)) < 0.05  # identical sets: about zero (the unbiased form is O(1/n))
    with pytest.raises(ConfigError, match="bandwidth"):
        gen_mod.mmd2(x, y, 0.0)
    with pytest.raises(ConfigError, match="shapes"):
        gen_mod.mmd2(x, y[:, :3], 1.0)


def test_median_bandwidth_and_class_accuracy_match_references():
    from scipy.spatial.distance import pdist

    f = np.random.default_rng(1).normal(size=(41, 5))
    assert gen_mod.median_bandwidth(f) == pytest.approx(np.median(pdist(f)), rel=1e-6)
    rng = np.random.default_rng(2)
    p, t = rng.integers(0, 5, 200), rng.integers(0, 5, 200)
    assert gen_mod.class_accuracy(p, t) == pytest.approx(accuracy_score(t, p))
    assert gen_mod.class_accuracy(torch.tensor(t), torch.tensor(t)) == 1.0
    with pytest.raises(ConfigError, match="'predicted'"):
        gen_mod.class_accuracy(p[:3], t)


def test_generator_quality_on_the_digits(exp):
    generator, _ = fake_generator(exp, TINY)
    q = gen_mod.generator_quality(exp, "salem_cnn", generator)
    x_test, y_test = exp.input_set("target_test")
    assert q.n == len(x_test) // 2
    logits = exp.model("salem_cnn", "shadow").model(x_test).argmax(1)
    assert q.real_accuracy == pytest.approx(accuracy_score(y_test.numpy(), logits.numpy()), abs=1e-6)
    assert 0.0 <= q.fake_accuracy <= 1.0
    assert abs(q.mmd_real) < q.mmd_fake  # 16 steps cannot fool the shadow model's features
    assert q == gen_mod.generator_quality(exp, "salem_cnn", generator)  # seeded


def test_class_rows_gallery_puts_each_class_on_its_own_row():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from helpers import plots

    images = torch.stack([torch.full((3, 4, 4), v) for v in (0.1, 0.2, 0.3, 0.4, 0.5)])
    labels = torch.tensor([2, 0, 2, 0, 2])
    fig, ax = plt.subplots()
    plots.plot_class_rows(ax, images, labels, ["a", "b", "c"], per_class=2)
    shown = ax.images[0].get_array()
    assert shown.shape[:2] == (3 * 5 + 1, 2 * 5 + 1)  # three rows of two 4-px tiles, 1-px padding
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    assert np.allclose(shown[1, 1], 0.2) and np.allclose(shown[1, 6], 0.4)  # class a: images 1 and 3
    assert np.allclose(shown[6:10, 1:5], 1.0)  # class b has none: a blank tile
    assert np.allclose(shown[11, 1], 0.1) and np.allclose(shown[11, 6], 0.3)  # class c: the first two
    with pytest.raises(ValueError, match="labels"):
        plots.plot_class_rows(ax, images, labels[:3], ["a", "b", "c"])
    plt.close(fig)
