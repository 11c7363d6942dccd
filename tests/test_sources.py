"""Non-member sources: preprocessing, sizes, determinism, bad input, and the scaling theorem."""

import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from helpers.config import ConfigError
from helpers.data import ImageDataset, load_heldout
from helpers.evaluation import AttackEvaluation
from helpers.experiment import Experiment
from helpers.architectures import effective_activation
from helpers.sources import (
    KINDS,
    SOURCES,
    available_sources,
    nonmember_set,
    nonmember_sets,
    permute_pixels,
    select_sources,
)

CHEAP = ["test", "permuted", "scaled", "unnormalized", "natural-patches", "printed-letters", "uniform-noise"]


@pytest.fixture(scope="module")
def exp():
    return Experiment("digits", progress=False)


def test_digits_offers_at_least_six_sources_including_fake(exp):
    names = available_sources(exp)
    assert len(names) >= 6 and {"test", "fake", "scaled", "permuted"} <= set(names)
    assert "heldout-classes" not in names  # digits holds no classes out
    assert "digits-as-images" not in names  # the target *is* the digits
    for name in names:
        assert SOURCES[name].kind_for(exp) in KINDS


@pytest.mark.parametrize("name", CHEAP)
def test_every_source_has_n_members_images_in_the_targets_format(exp, name):
    s = nonmember_set(exp, name)
    assert s.x.shape == (exp.profile.n_members, exp.data.in_channels, exp.data.image_size, exp.data.image_size)
    assert s.x.dtype == torch.float32 and torch.isfinite(s.x).all()
    assert s.kind in KINDS and s.description.endswith(".") and len(s.description) > 20


def test_test_source_is_the_targets_nonmember_split(exp):
    assert torch.equal(nonmember_set(exp, "test").x, exp.input_set("target_nonmembers")[0])


def test_pixel_sources_are_normalised_like_the_target(exp):
    noise = nonmember_set(exp, "uniform-noise").x
    pixels = exp.data.denormalize(noise)
    assert pixels.min() >= -1e-5 and pixels.max() <= 1 + 1e-5
    assert abs(float(pixels.mean()) - 0.5) < 0.01  # uniform pixels, normalisation undone


def test_permutation_preserves_each_images_pixel_multiset(exp):
    test = nonmember_set(exp, "test").x
    perm = nonmember_set(exp, "permuted").x
    flat_t, flat_p = test.reshape(len(test), -1), perm.reshape(len(perm), -1)
    assert torch.equal(flat_t.sort(dim=1).values, flat_p.sort(dim=1).values)
    assert (flat_t != flat_p).any(dim=1).float().mean() > 0.95  # positions really moved


def test_permutation_is_shared_by_the_channels():
    x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).reshape(2, 3, 4, 4)
    x[:, 1] = x[:, 0] * 10
    out = permute_pixels(x, seed=3)
    assert torch.equal(out[:, 1], out[:, 0] * 10)


def test_scaled_is_the_test_set_times_the_factor(exp):
    test = nonmember_set(exp, "test").x
    assert torch.allclose(nonmember_set(exp, "scaled").x, test * exp.profile.scale_factor)
    assert torch.allclose(nonmember_set(exp, "scaled", factor=3).x, test * 3)


@pytest.mark.parametrize("factor", [0, -1.0, float("nan"), "2"])
def test_scale_factor_must_be_positive(exp, factor):
    with pytest.raises(ConfigError, match="factor"):
        nonmember_set(exp, "scaled", factor=factor)


def test_profile_scale_factor_must_be_positive():
    with pytest.raises(ConfigError, match="scale_factor"):
        Experiment("digits", scale_factor=0.0)


def test_unknown_source_lists_the_available_ones(exp):
    with pytest.raises(ConfigError) as err:
        nonmember_set(exp, "imagenet")
    assert "'imagenet'" in str(err.value) and "'fake'" in str(err.value) and "imagefolder:PATH" in str(err.value)
    with pytest.raises(ConfigError, match="no option"):
        nonmember_set(exp, "test", factor=2)


def test_unavailable_source_is_refused(exp):
    with pytest.raises(ConfigError, match="not available"):
        nonmember_set(exp, "heldout-classes")


def test_same_seed_same_images_other_seed_other_images():
    a, b = Experiment("digits", progress=False), Experiment("digits", progress=False)
    for name in ["permuted", "natural-patches", "printed-letters", "uniform-noise"]:
        assert torch.equal(nonmember_set(a, name).x, nonmember_set(b, name).x), name
        assert not torch.equal(nonmember_set(a, name).x, nonmember_set(a, name, seed=1).x), name
    other = Experiment("digits", progress=False, seed=7)
    assert not torch.equal(nonmember_set(a, "uniform-noise").x, nonmember_set(other, "uniform-noise").x)


def test_rgb_source_becomes_grey_by_luminance(exp):
    rgb = torch.zeros(2, 3, 16, 16)
    rgb[0, 0], rgb[1, 1] = 1.0, 0.5  # pure red; half green
    grey = exp.data.conform(rgb)
    assert grey.shape == (2, 1, 16, 16)
    assert torch.allclose(grey[0], torch.full((1, 16, 16), 0.299))
    assert torch.allclose(grey[1], torch.full((1, 16, 16), 0.5 * 0.587))


def test_grey_source_is_repeated_for_an_rgb_target():
    rgb_target = ImageDataset("rgb", torch.zeros(1, 3, 8, 8), torch.zeros(1, dtype=torch.int64), ["a"],
                              (0.5,) * 3, (0.25,) * 3, False, torch.zeros(1, dtype=torch.bool))
    grey = torch.rand(2, 1, 8, 8)
    out = rgb_target.conform(grey)
    assert out.shape == (2, 3, 8, 8) and torch.equal(out[:, 0], out[:, 2]) and torch.equal(out[:, 1], grey[:, 0])


@pytest.mark.parametrize("channels", [2, 4])
def test_unconvertible_channel_counts_fail_clearly(exp, channels):
    with pytest.raises(ConfigError, match=f"{channels} channel"):
        exp.data.conform(torch.rand(1, channels, 16, 16))


def test_imagefolder_source_gets_the_targets_preprocessing(tmp_path):
    folder = tmp_path / "mine" / "anything"
    folder.mkdir(parents=True)
    for i in range(12):
        Image.new("RGB", (40, 30), (255, 0, 0) if i % 2 else (0, 0, 255)).save(folder / f"{i}.png")
    exp = Experiment("digits", progress=False, cache_dir=str(tmp_path / "cache"))
    with pytest.warns(UserWarning, match="fewer than n_members"):
        s = nonmember_set(exp, f"imagefolder:{tmp_path / 'mine'}")
    assert s.x.shape == (12, 1, 16, 16) and s.kind == "synthetic"
    pixels = exp.data.denormalize(s.x).reshape(12, -1).mean(1)
    expected = {round(0.299, 3), round(0.114, 3)}  # red and blue, by luminance
    assert {round(float(v), 3) for v in pixels} == expected
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert nonmember_set(exp, f"imagefolder:{tmp_path / 'mine'}", n=5, kind="far-OOD").kind == "far-OOD"
    with pytest.raises(ConfigError, match="kind"):
        nonmember_set(exp, f"imagefolder:{tmp_path / 'mine'}", n=5, kind="alien")


def test_heldout_classes_source(tmp_path):
    exp = Experiment("digits", progress=False, heldout_classes=["8", "9"], cache_dir=str(tmp_path))
    assert "heldout-classes" in available_sources(exp)
    s = nonmember_set(exp, "heldout-classes")
    assert s.x.shape[0] == exp.profile.n_members and s.kind == "near-OOD"
    pool = {tuple(r.tolist()) for r in load_heldout(exp.profile).x.reshape(-1, 256)}
    assert all(tuple(r.tolist()) in pool for r in s.x.reshape(len(s.x), -1))  # all of held-out classes


def test_nonmember_sets_passes_options(exp):
    sets = nonmember_sets(exp, ["test", "scaled"], options={"scaled": {"factor": 2.0}})
    assert list(sets) == ["test", "scaled"]
    assert torch.allclose(sets["scaled"].x, sets["test"].x * 2)


def test_scaled_inputs_are_members_for_every_relu_model(exp):
    """Theorem 1 on the quick profile's models (the book's shared model cache; trained on
    first use): the max-score attack calls (almost) all scaled non-members members."""
    ev = AttackEvaluation(exp)
    scaled = nonmember_set(exp, "scaled")
    relu = [a for a in exp.profile.architectures
            if effective_activation(a, exp.profile.activation) in ("relu", "leaky_relu")]
    assert relu
    for arch in relu:
        rep = ev.evaluate(arch, "standard", source="scaled", nonmember_x=scaled.x).set_index("attack")
        test = ev.evaluate(arch, "standard").set_index("attack")
        assert rep.loc["max_score", "fpr"] >= 0.95, arch
        assert rep.loc["max_score", "fpr"] > test.loc["max_score", "fpr"], arch
        assert np.isclose(rep.loc["max_score", "recall"], test.loc["max_score", "recall"])  # same members


def test_plot_fpr_bars_draws_one_bar_per_source_and_attack_and_an_overlay():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from helpers.plots import plot_fpr_bars

    rows = [{"architecture": "a", "variant": v, "source": s, "attack": at, "fpr": 0.5}
            for v in ("standard", "laplace") for s in ("test", "fake") for at in ("entropy", "max_score", "top3")]
    df = pd.DataFrame(rows)
    fig, ax = plt.subplots()
    plot_fpr_bars(ax, df[df.variant == "standard"])
    assert len(ax.patches) == 6
    ax.clear()
    plot_fpr_bars(ax, df, variant="laplace")
    assert len(ax.patches) == 12
    with pytest.raises(ValueError, match="architectures"):
        plot_fpr_bars(ax, pd.concat([df, df.assign(architecture="b")]))
    with pytest.raises(ValueError, match="variant"):
        plot_fpr_bars(ax, df, overlay_variant="l2")
    plt.close(fig)


def test_select_sources_puts_test_first_and_names_bad_values(exp):
    assert select_sources(exp) == available_sources(exp)
    assert select_sources(exp, "uniform-noise") == ["test", "uniform-noise"]
    assert select_sources(exp, ["scaled", "test", "scaled"]) == ["test", "scaled"]
    assert select_sources(exp, ["imagefolder:somewhere"]) == ["test", "imagefolder:somewhere"]
    with pytest.raises(ConfigError, match="parameter 'sources' has value"):
        select_sources(exp, [])
    with pytest.raises(ConfigError, match=r"unknown source\(s\) \['mnist'\]"):
        select_sources(exp, ["mnist"])
