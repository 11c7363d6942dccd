"""Non-member input sets: everything an attacker (or an auditor) can feed the target.

The paper's point is that a membership attack is judged on the non-members one happens to
test it with. This module builds named non-member sets for an
:class:`~helpers.experiment.Experiment`, each passed through *exactly* the target's
preprocessing (its channel count, image size and per-channel normalisation, ``exp.data``)
and subsampled with a seed to ``profile.n_members`` images, so that precision and FPR stay
comparable with the standard member / non-member evaluation.

>>> exp = Experiment("quick")
>>> available_sources(exp)                      # what works for this experiment here
>>> s = nonmember_set(exp, "fake")              # NonMemberSet(name, x, description, kind)
>>> ev.evaluate("salem_cnn", "standard", source=s.name, nonmember_x=s.x)

Sources (see :data:`SOURCES`; ``kind`` in brackets):

* ``test`` [in-distribution]: the target's own held-out non-members.
* ``permuted`` [transformed]: each test non-member with its pixel positions shuffled (one
  permutation per image, shared by its channels).
* ``scaled`` [transformed]: the normalised test non-members times ``profile.scale_factor``.
* ``unnormalized`` [transformed]: the test non-members' raw pixels in [0, 1], with the
  normalisation step forgotten (the paper's "No Normalization").
* ``fake`` [synthetic]: samples of a GAN trained only on the shadow model's training split
  (:mod:`helpers.generator`), cached on disk.
* ``heldout-classes`` [near-OOD]: images of the classes the profile holds out
  (``heldout_classes``); only when there are some.
* ``cifar100``, ``svhn``, ``stl10`` (without ``monkey``): torchvision sets found in
  ``data_root`` (listed when their files are there; built on request with ``download``).
* ``imagefolder:PATH``: any folder of images (class sub-folders), e.g. a reader's own
  StyleGAN2 samples, AFHQ or Stanford Dogs.
* Offline stand-ins that need no network: ``natural-patches`` (random crops of
  scikit-learn's two bundled photos), ``printed-letters`` (letters rendered with PIL's
  built-in font), ``uniform-noise``, and for targets that are not the digits themselves
  ``digits-as-images`` (scikit-learn's digits, a stand-in for house numbers / SVHN).

Channel rule (never silent): a source with another channel count is converted with
:func:`helpers.data.convert_channels` (RGB -> grey by BT.601 luminance, grey -> RGB by
repeating the channel); any other mismatch raises :class:`~helpers.config.ConfigError`.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
import weakref
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import torch

from .cache import ModelCache
from .config import ConfigError
from .data import (
    IMAGEFOLDER_PREFIX,
    convert_channels,
    default_data_root,
    drop_classes,
    load_heldout,
    load_source,
    resize_images,
    resolve_path,
)

if TYPE_CHECKING:
    from .experiment import Experiment

KINDS = ("in-distribution", "near-OOD", "far-OOD", "synthetic", "transformed")
GENERATOR_VERSION = "2"  # bump when the generator or its training changes (invalidates the cache)


@dataclass(frozen=True, eq=False)
class NonMemberSet:
    """A named set of non-member inputs in the target's preprocessing.

    Attributes
    ----------
    name: the source name (``test``, ``fake``, ``imagefolder:PATH``, ...).
    x: float32 tensor ``N x C x H x W``, normalised like the target's data (``N`` is
        ``profile.n_members`` unless the source holds fewer images).
    description: one sentence saying what the images are.
    kind: one of :data:`KINDS`.
    meta: extra facts (seed, where the images came from, the generator's cache entry, ...).
    """

    name: str
    x: torch.Tensor
    description: str
    kind: str
    meta: dict[str, Any] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return int(self.x.shape[0])


@dataclass(frozen=True)
class SourceSpec:
    """How to build one source: ``build(exp, rng, n, **kw) -> (tensor, is_normalised, meta)``."""

    name: str
    kind: str | Callable[["Experiment"], str]
    description: str | Callable[["Experiment"], str]
    build: Callable[..., tuple[torch.Tensor, bool, dict[str, Any]]]
    available: Callable[["Experiment"], bool] = lambda exp: True
    options: tuple[str, ...] = ()  # keyword options ``build`` accepts

    def kind_for(self, exp: "Experiment") -> str:
        return self.kind(exp) if callable(self.kind) else self.kind

    def description_for(self, exp: "Experiment") -> str:
        return self.description(exp) if callable(self.description) else self.description


SOURCES: dict[str, SourceSpec] = {}


def register(spec: SourceSpec) -> SourceSpec:
    """Add a source to :data:`SOURCES` (name must be new)."""
    if spec.name in SOURCES:
        raise ValueError(f"source {spec.name!r} is registered twice")
    SOURCES[spec.name] = spec
    return spec


# --------------------------------------------------------------------------- helpers
def source_seed(seed: int, name: str) -> int:
    """A stable seed per (profile seed, source name)."""
    return (int(seed) * 1_000_003 + zlib.crc32(name.encode())) % (2**32)


def split_key(exp: "Experiment", split: str) -> str:
    """Short hash that identifies one split's indices (and the dataset they index)."""
    idx = np.ascontiguousarray(exp.splits[split], dtype=np.int64)
    digest = hashlib.sha256(f"{split}|n={exp.splits.n_total}|data={exp.data.key()}".encode())
    digest.update(idx.tobytes())
    return digest.hexdigest()[:16]


def normalise(exp: "Experiment", pixels: torch.Tensor) -> torch.Tensor:
    """Apply the target's normalisation (mean / std of ``exp.data``) to pixels in [0, 1]."""
    mean = torch.tensor(exp.data.mean, dtype=torch.float32).view(1, -1, 1, 1)
    std = torch.tensor(exp.data.std, dtype=torch.float32).view(1, -1, 1, 1)
    return (pixels.float() - mean) / std


def to_target_pixels(exp: "Experiment", pixels: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] (``N x C x H x W``, any size) -> the target's channels and size.

    Channels follow the documented rule of :func:`helpers.data.convert_channels`; a channel
    count that rule does not cover is a :class:`ConfigError`.
    """
    if pixels.ndim != 4:
        raise ConfigError(f"source images have shape {tuple(pixels.shape)}; allowed: N x C x H x W")
    channels = exp.data.in_channels
    if pixels.shape[1] != channels and {int(pixels.shape[1]), channels} != {1, 3}:
        raise ConfigError(
            f"source images have {pixels.shape[1]} channel(s) and the target {channels}; allowed: "
            "the same count, or 1 <-> 3 (RGB -> grey by luminance, grey -> RGB by repetition)"
        )
    x = convert_channels(pixels.float(), channels)
    return resize_images(x, exp.data.image_size)


def _subsample(n_have: int, n: int, rng: np.random.Generator, name: str) -> np.ndarray:
    if n_have < n:
        warnings.warn(f"source {name!r} holds {n_have} images, fewer than n_members = {n}; all are used",
                      stacklevel=3)
        return np.arange(n_have)
    return np.sort(rng.choice(n_have, size=n, replace=False))


def _target_nonmembers(exp: "Experiment") -> torch.Tensor:
    return exp.input_set("target_nonmembers")[0]


def _is_digits(exp: "Experiment") -> bool:
    return exp.profile.dataset == "digits"


# --------------------------------------------------------------------------- transformed
def _build_test(exp, rng, n, **kw):
    x = _target_nonmembers(exp)
    idx = _subsample(len(x), n, rng, "test") if len(x) != n else np.arange(n)
    return x[idx], True, {"split": "target_nonmembers"}


def permute_pixels(x: torch.Tensor, seed: int) -> torch.Tensor:
    """Shuffle each image's pixel positions (one permutation per image, shared by channels)."""
    n, c, h, w = x.shape
    gen = torch.Generator().manual_seed(int(seed))
    perms = torch.stack([torch.randperm(h * w, generator=gen) for _ in range(n)])  # n x hw
    flat = x.reshape(n, c, h * w)
    return torch.gather(flat, 2, perms[:, None, :].expand(n, c, h * w)).reshape(n, c, h, w)


def _build_permuted(exp, rng, n, **kw):
    x, _, meta = _build_test(exp, rng, n)
    seed = int(rng.integers(2**31))
    return permute_pixels(x, seed), True, {**meta, "permutation_seed": seed}


def _build_scaled(exp, rng, n, factor: float | None = None, **kw):
    factor = exp.profile.scale_factor if factor is None else factor
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not np.isfinite(factor) or factor <= 0:
        raise ConfigError(f"parameter 'factor' (scale_factor) has value {factor!r}; allowed: a finite number > 0")
    x, _, meta = _build_test(exp, rng, n)
    return x * float(factor), True, {**meta, "factor": float(factor)}


def _build_unnormalized(exp, rng, n, **kw):
    x, _, meta = _build_test(exp, rng, n)
    return exp.data.denormalize(x).clamp(0, 1), True, meta  # pixels fed as if normalised


# --------------------------------------------------------------------------- synthetic
@dataclass(frozen=True)
class GanSettings:
    """Settings of the attacker's generator (see :func:`helpers.generator.train_gan`).

    ``steps`` is the number of optimiser steps; epochs are derived from it and the
    shadow split's size. ``width=None`` picks 16 for images up to 16 px, else 32.
    """

    kind: str = "dcgan"
    steps: int = 1600
    batch_size: int = 32
    width: int | None = None
    latent_dim: int = 64
    lr: float = 1e-3

    def resolved(self, image_size: int, n_images: int) -> dict[str, Any]:
        if self.steps < 1:
            raise ConfigError(f"parameter 'gan_steps' has value {self.steps}; allowed: an integer >= 1")
        per_epoch = max(1, -(-n_images // self.batch_size))
        return {
            "kind": self.kind,
            "epochs": max(1, round(self.steps / per_epoch)),
            "batch_size": self.batch_size,
            "width": self.width if self.width is not None else (16 if image_size <= 16 else 32),
            "latent_dim": self.latent_dim,
            "lr": self.lr,
        }


def _generator_cache(exp: "Experiment") -> ModelCache:
    cache = ModelCache(exp.profile.cache_dir)
    cache.folder = cache.root / "generators"
    return cache


def fake_generator(exp: "Experiment", settings: GanSettings | None = None, *, progress: bool = False):
    """The attacker's generator for ``exp``: trained on ``shadow_train`` only, cached on disk.

    Returns ``(generator, meta)``; ``meta`` is the cache sidecar (it records ``split`` =
    ``'shadow_train'`` and that split's :func:`split_key`).
    """
    from . import generator as gen_mod

    settings = settings or GanSettings(steps=exp.profile.gan_steps, width=exp.profile.gan_width)
    x_shadow, _ = exp.input_set("shadow_train")
    pixels = exp.data.denormalize(x_shadow).clamp(0, 1)
    gan = settings.resolved(exp.data.image_size, len(pixels))
    seed = source_seed(exp.profile.seed, "fake-generator")
    config = {
        "version": GENERATOR_VERSION,
        "split": "shadow_train",
        "split_key": split_key(exp, "shadow_train"),
        "data_key": exp.data.key(),
        "channels": exp.data.in_channels,
        "image_size": exp.data.image_size,
        "seed": seed,
        "cpu_threads": exp.profile.cpu_threads,
        **gan,
    }
    key = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:24]
    cache = _generator_cache(exp)
    builder = gen_mod.Generator if gan["kind"] == "dcgan" else gen_mod.MLPGenerator
    model = builder(exp.data.in_channels, exp.data.image_size, gan["latent_dim"], gan["width"])
    entry = cache.load(key, config)
    if entry is not None:
        model.load_state_dict(entry.state_dict)
        return model.eval(), entry.meta
    if progress:
        print(f"training the attacker's generator ({gan['kind']}, {gan['epochs']} epochs on "
              f"{len(pixels)} shadow-train images) ...", flush=True)
    start = time.perf_counter()
    trained, history = gen_mod.train_gan(pixels, seed=seed, device=exp.device, cpu_threads=exp.profile.cpu_threads, **gan)
    seconds = time.perf_counter() - start
    trained = trained.to("cpu").eval()
    meta = {
        "split": "shadow_train",
        "split_key": config["split_key"],
        "n_images": len(pixels),
        "seconds": round(seconds, 2),
        "d_loss": history.d_loss,
        "g_loss": history.g_loss,
    }
    cache.save(key, config, trained.state_dict(), meta)
    entry = cache.load(key, config)
    return trained, (entry.meta if entry is not None else {**meta, "config": config})


def _build_fake(exp, rng, n, gan: GanSettings | None = None, progress: bool = False, **kw):
    from .generator import sample

    model, meta = fake_generator(exp, gan, progress=progress)
    pixels = sample(model, n, seed=int(rng.integers(2**31)))
    return to_target_pixels(exp, pixels), False, {"generator": meta}


# --------------------------------------------------------------------------- other datasets
TORCHVISION_FILES = {"cifar100": "cifar-100-python", "svhn": "test_32x32.mat", "stl10": "stl10_binary"}


def _data_root(exp: "Experiment") -> Path:
    p = exp.profile
    return resolve_path(p.data_root) if p.data_root is not None else default_data_root()


def _torchvision_present(name: str) -> Callable[["Experiment"], bool]:
    def check(exp: "Experiment") -> bool:
        return exp.profile.dataset != name and (_data_root(exp) / TORCHVISION_FILES[name]).exists()

    return check


def _load_other(exp: "Experiment", name: str):
    """Another dataset in the target's preprocessing (channels, size, mean / std)."""
    p = exp.profile
    return load_source(
        name, data_root=p.data_root, download=p.download, image_size=exp.data.image_size,
        channels=exp.data.in_channels, mean=exp.data.mean, std=exp.data.std, cache_dir=p.cache_dir,
    )


def _build_torchvision(name: str):
    def build(exp, rng, n, **kw):
        ds = _load_other(exp, name)
        if name == "stl10" and "monkey" in ds.classes:
            ds = drop_classes(ds, ["monkey"])
        pool = np.flatnonzero(ds.is_test.numpy()) if ds.has_official_test else np.arange(len(ds))
        idx = pool[_subsample(len(pool), n, rng, name)]
        return ds.x[idx], True, {"origin": ds.origin, "part": "official test" if ds.has_official_test else "all"}

    return build


def _ood_kind(exp: "Experiment") -> str:
    return "far-OOD" if exp.data.in_channels == 1 or _is_digits(exp) else "near-OOD"


def _build_heldout(exp, rng, n, **kw):
    ds = load_heldout(exp.profile)
    if ds is None:
        raise ConfigError("source 'heldout-classes' needs a profile with heldout_classes; this one holds none out")
    idx = _subsample(len(ds), n, rng, "heldout-classes")
    return ds.x[idx], True, {"classes": list(ds.classes)}


def _build_imagefolder(exp, rng, n, name: str, **kw):
    ds = _load_other(exp, name)
    idx = _subsample(len(ds), n, rng, name)
    return ds.x[idx], True, {"origin": ds.origin}


# --------------------------------------------------------------------------- offline stand-ins
def natural_patches(n: int, seed: int, min_size: int = 24, max_size: int = 160) -> torch.Tensor:
    """``n`` random square crops (side ``min_size..max_size`` px) of scikit-learn's two sample
    photos (``china.jpg``, ``flower.jpg``), RGB in [0, 1] at 64 x 64 px."""
    from sklearn.datasets import load_sample_images

    photos = [torch.from_numpy(np.array(im)).permute(2, 0, 1).float() / 255.0
              for im in load_sample_images().images]
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        img = photos[int(rng.integers(len(photos)))]
        _, h, w = img.shape
        side = int(rng.integers(min_size, min(max_size, h, w) + 1))
        top, left = int(rng.integers(h - side + 1)), int(rng.integers(w - side + 1))
        out.append(resize_images(img[None, :, top:top + side, left:left + side], 64))
    return torch.cat(out)


LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def printed_letters(n: int, seed: int, size: int = 32) -> tuple[torch.Tensor, list[str]]:
    """``n`` printed letters (white on black, grey ``N x 1 x size x size`` in [0, 1]) rendered
    with PIL's built-in font at random font sizes, stroke widths, small rotations and
    offsets; returns the images and the characters."""
    from PIL import Image, ImageDraw, ImageFont

    rng = np.random.default_rng(seed)
    images, chars = [], []
    for _ in range(n):
        ch = LETTERS[int(rng.integers(len(LETTERS)))]
        font = ImageFont.load_default(size=int(rng.integers(36, 56)))
        canvas = Image.new("L", (96, 96), 0)
        ImageDraw.Draw(canvas).text((48, 48), ch, fill=255, font=font, anchor="mm",
                                    stroke_width=int(rng.integers(0, 3)), stroke_fill=255)
        canvas = canvas.rotate(float(rng.uniform(-12, 12)), resample=Image.BILINEAR)
        box = canvas.getbbox() or (0, 0, 96, 96)
        side = int(max(box[2] - box[0], box[3] - box[1]) * rng.uniform(1.15, 1.35))
        cx = (box[0] + box[2]) / 2 + rng.uniform(-0.05, 0.05) * side
        cy = (box[1] + box[3]) / 2 + rng.uniform(-0.05, 0.05) * side
        crop = canvas.crop((round(cx - side / 2), round(cy - side / 2), round(cx + side / 2), round(cy + side / 2)))
        crop = crop.resize((size, size), Image.BILINEAR, reducing_gap=None)
        images.append(torch.from_numpy(np.asarray(crop, dtype=np.float32) / 255.0)[None])
        chars.append(ch)
    return torch.stack(images), chars


def _build_patches(exp, rng, n, **kw):
    return to_target_pixels(exp, natural_patches(n, int(rng.integers(2**31)))), False, {}


def _build_letters(exp, rng, n, **kw):
    # rendered at the digits' native 8 x 8 px when the target is the digits, so the glyphs
    # pass through the same upscaling (and look as soft) as the target's own images
    images, chars = printed_letters(n, int(rng.integers(2**31)), size=8 if _is_digits(exp) else 32)
    return to_target_pixels(exp, images), False, {"characters": "".join(chars)}


def _build_noise(exp, rng, n, **kw):
    c, s = exp.data.in_channels, exp.data.image_size
    gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
    return torch.rand(n, c, s, s, generator=gen), False, {}


def _build_digits(exp, rng, n, **kw):
    from sklearn.datasets import load_digits

    images = torch.from_numpy(load_digits().images.astype(np.float32) / 16.0).unsqueeze(1)
    idx = _subsample(len(images), n, rng, "digits-as-images")
    return to_target_pixels(exp, images[idx]), False, {}


# --------------------------------------------------------------------------- registry
register(SourceSpec("test", "in-distribution",
                    "The target's own held-out non-members: images from the training distribution the model never saw.",
                    _build_test))
register(SourceSpec("permuted", "transformed",
                    "Test non-members with each image's pixel positions shuffled: same pixel values, no structure.",
                    _build_permuted))
register(SourceSpec("scaled", "transformed",
                    lambda exp: f"Test non-members after normalisation multiplied by {exp.profile.scale_factor:g}, "
                                "the input scaling of the theorem.",
                    _build_scaled, options=("factor",)))
register(SourceSpec("unnormalized", "transformed",
                    "Test non-members fed as raw pixels in [0, 1], as if the normalisation step had been forgotten.",
                    _build_unnormalized))
register(SourceSpec("fake", "synthetic",
                    "Samples of a GAN the attacker trained only on the shadow model's training images.",
                    _build_fake, options=("gan", "progress")))
register(SourceSpec("heldout-classes", "near-OOD",
                    lambda exp: f"Images of the classes {list(exp.profile.heldout_classes)} that the target never saw.",
                    _build_heldout, available=lambda exp: bool(exp.profile.heldout_classes)))
register(SourceSpec("cifar100", _ood_kind, "CIFAR-100 test images (100 other object classes), in the target's preprocessing.",
                    _build_torchvision("cifar100"), available=_torchvision_present("cifar100")))
register(SourceSpec("svhn", "far-OOD", "SVHN test images (photographed house numbers), in the target's preprocessing.",
                    _build_torchvision("svhn"), available=_torchvision_present("svhn")))
register(SourceSpec("stl10", _ood_kind,
                    "STL-10 test images without the class 'monkey', in the target's preprocessing.",
                    _build_torchvision("stl10"), available=_torchvision_present("stl10")))
register(SourceSpec("natural-patches", _ood_kind,
                    "Random crops of scikit-learn's two bundled photos (a temple in China, a flower): "
                    "an offline stand-in for other natural-image datasets such as STL-10 or AFHQ.",
                    _build_patches))
register(SourceSpec("printed-letters", lambda exp: "near-OOD" if _is_digits(exp) else "far-OOD",
                    "Printed letters rendered with PIL's built-in font (white on black): an offline far-OOD "
                    "stand-in for photographs, a near-OOD one for handwritten digits.",
                    _build_letters))
register(SourceSpec("uniform-noise", "far-OOD", "Pixels drawn uniformly from [0, 1], then normalised like the target.",
                    _build_noise))
register(SourceSpec("digits-as-images", "far-OOD",
                    "scikit-learn's handwritten digits upscaled to the target's size (grey copied to every "
                    "channel), an offline stand-in for house numbers (SVHN).",
                    _build_digits, available=lambda exp: not _is_digits(exp)))


# --------------------------------------------------------------------------- public API
_MEMO: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()


def available_sources(exp: "Experiment", include_downloadable: bool = False) -> list[str]:
    """Names of the sources that can be built for ``exp`` on this machine, in registry order.

    Torchvision sets are listed when their files are in ``data_root``; with
    ``include_downloadable`` also when the profile allows downloading them (which then
    needs a network). ``imagefolder:PATH`` is always possible but not listed.
    """
    names = []
    for name, spec in SOURCES.items():
        if spec.available(exp):
            names.append(name)
        elif include_downloadable and name in TORCHVISION_FILES and exp.profile.download and exp.profile.dataset != name:
            names.append(name)
    return names


def nonmember_set(exp: "Experiment", name: str, *, seed: int | None = None, n: int | None = None,
                  kind: str | None = None, **kw: Any) -> NonMemberSet:
    """Build (or return the memoised) non-member set ``name`` for ``exp``.

    Parameters
    ----------
    exp: the experiment whose target the set is meant for.
    name: a key of :data:`SOURCES` or ``imagefolder:PATH``.
    seed: subsampling / randomness seed (default: derived from ``profile.seed`` and ``name``).
    n: number of images (default ``profile.n_members``).
    kind: only for ``imagefolder:PATH``, what the images are (default ``'synthetic'``).
    **kw: source options: ``factor`` for ``scaled`` (> 0, default ``profile.scale_factor``);
        ``gan`` (a :class:`GanSettings`) and ``progress`` for ``fake``.
    """
    if not isinstance(name, str) or not name:
        raise ConfigError(f"parameter 'source' has value {name!r}; allowed: one of {available_sources(exp)} "
                          f"or {IMAGEFOLDER_PREFIX}PATH")
    n = exp.profile.n_members if n is None else int(n)
    if n < 1:
        raise ConfigError(f"parameter 'n' has value {n}; allowed: an integer >= 1")
    seed = source_seed(exp.profile.seed, name) if seed is None else int(seed)
    memo_key = (name, seed, n, kind, tuple(sorted((k, repr(v)) for k, v in kw.items() if k != "progress")))
    memo = _MEMO.setdefault(exp, {})
    if memo_key in memo:
        return memo[memo_key]
    rng = np.random.default_rng(seed)
    if name.startswith(IMAGEFOLDER_PREFIX):
        if kw:
            raise ConfigError(f"source {name!r} takes no options; got {sorted(kw)}")
        kind = kind or "synthetic"
        if kind not in KINDS:
            raise ConfigError(f"parameter 'kind' has value {kind!r}; allowed: one of {list(KINDS)}")
        x, normalised, meta = _build_imagefolder(exp, rng, n, name=name)
        description = f"Images read from the folder {name[len(IMAGEFOLDER_PREFIX):]!r}, in the target's preprocessing."
    else:
        if name not in SOURCES:
            raise ConfigError(f"parameter 'source' has value {name!r}; allowed: one of {available_sources(exp)} "
                              f"or {IMAGEFOLDER_PREFIX}PATH")
        spec = SOURCES[name]
        if kind is not None:
            raise ConfigError(f"parameter 'kind' is only for {IMAGEFOLDER_PREFIX}PATH sources; source {name!r} is "
                              f"{spec.kind_for(exp)!r}")
        unknown = sorted(set(kw) - set(spec.options))
        if unknown:
            raise ConfigError(f"source {name!r} has no option(s) {unknown}; allowed: {list(spec.options)}")
        if not spec.available(exp) and name not in TORCHVISION_FILES:
            raise ConfigError(f"source {name!r} is not available for profile {exp.profile.name!r}; "
                              f"allowed: one of {available_sources(exp)}")
        x, normalised, meta = spec.build(exp, rng, n, **kw)
        kind, description = spec.kind_for(exp), spec.description_for(exp)
    if not normalised:
        x = normalise(exp, x)
    expected = (exp.data.in_channels, exp.data.image_size, exp.data.image_size)
    if tuple(x.shape[1:]) != expected:  # pragma: no cover - a builder bug
        raise RuntimeError(f"source {name!r} built images of shape {tuple(x.shape[1:])}, expected {expected}")
    result = NonMemberSet(name=name, x=x.float().contiguous(), description=description, kind=kind,
                          meta={"seed": seed, **meta})
    memo[memo_key] = result
    return result


def nonmember_sets(exp: "Experiment", names: list[str] | None = None,
                   options: dict[str, dict[str, Any]] | None = None) -> dict[str, NonMemberSet]:
    """Several sets at once (``None``: every available source), in the order given;
    ``options`` maps a source name to its keyword options (e.g. ``{"scaled": {"factor": 10}}``)."""
    names = available_sources(exp) if names is None else list(names)
    options = options or {}
    return {name: nonmember_set(exp, name, **options.get(name, {})) for name in names}


def describe_sources(exp: "Experiment", names: list[str] | None = None) -> "Any":
    """A table (pandas) of the sources: name, kind and description."""
    import pandas as pd

    names = available_sources(exp) if names is None else list(names)
    rows = []
    for name in names:
        if name.startswith(IMAGEFOLDER_PREFIX):
            rows.append({"source": name, "kind": "synthetic", "description": "Images read from a folder."})
        else:
            spec = SOURCES[name]
            rows.append({"source": name, "kind": spec.kind_for(exp), "description": spec.description_for(exp)})
    return pd.DataFrame(rows).set_index("source")
