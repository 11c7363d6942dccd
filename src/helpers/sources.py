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
* ``fake`` [synthetic]: samples (balanced over the classes) of a class-conditional GAN that
  the attacker trained only on its own images, none of them in a target split
  (:func:`helpers.generator.fake_generator`), cached on disk.
* ``heldout-classes`` [near-OOD]: images of the classes the profile holds out
  (``heldout_classes``); only when there are some.
* ``cifar100``, ``svhn``, ``stl10`` (without ``monkey``): torchvision sets found in
  ``data_root`` (listed when their files are there; built on request with ``download``).
* ``imagefolder:PATH``: any folder of images (class sub-folders), e.g. a reader's own
  StyleGAN2 samples, AFHQ or Stanford Dogs.
* Offline stand-ins that need no network (rendered by :mod:`helpers.standins`):
  ``natural-patches`` (random crops of scikit-learn's two bundled photos),
  ``printed-letters`` (letters rendered with PIL's built-in font), ``uniform-noise``, and for targets that are not the digits themselves
  ``digits-as-images`` (scikit-learn's digits, a stand-in for house numbers / SVHN).

A *source* is a set of non-members; the data a model trains on is a *dataset*
(:mod:`helpers.data`). Channel rule (never silent): a source with another channel count is
converted by :meth:`helpers.data.ImageDataset.conform` with
:func:`helpers.data.convert_channels` (RGB -> grey by BT.601 luminance, grey -> RGB by
repeating the channel); any other mismatch raises :class:`~helpers.config.ConfigError`.
"""

from __future__ import annotations

import warnings
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from .config import ConfigError
from .data import IMAGEFOLDER_PREFIX, default_data_root, drop_classes, load_heldout, load_named_dataset, resolve_path
from .experiment import Experiment, derived_seed
from .generator import GanSettings, fake_generator, sample
from .standins import natural_patches, printed_letters

KINDS = ("in-distribution", "near-OOD", "far-OOD", "synthetic", "transformed")


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
    kind: str | Callable[[Experiment], str]
    description: str | Callable[[Experiment], str]
    build: Callable[..., tuple[torch.Tensor, bool, dict[str, Any]]]
    available: Callable[[Experiment], bool] = lambda exp: True
    options: tuple[str, ...] = ()  # keyword options ``build`` accepts

    def kind_for(self, exp: Experiment) -> str:
        return self.kind(exp) if callable(self.kind) else self.kind

    def description_for(self, exp: Experiment) -> str:
        return self.description(exp) if callable(self.description) else self.description


SOURCES: dict[str, SourceSpec] = {}


def register(spec: SourceSpec) -> SourceSpec:
    """Add a source to :data:`SOURCES` (name must be new)."""
    if spec.name in SOURCES:
        raise ValueError(f"source {spec.name!r} is registered twice")
    SOURCES[spec.name] = spec
    return spec


# --------------------------------------------------------------------------- helpers
def _subsample(n_have: int, n: int, rng: np.random.Generator, name: str) -> np.ndarray:
    if n_have < n:
        warnings.warn(f"source {name!r} holds {n_have} images, fewer than n_members = {n}; all are used",
                      stacklevel=3)
        return np.arange(n_have)
    return np.sort(rng.choice(n_have, size=n, replace=False))


def _target_nonmembers(exp: Experiment) -> torch.Tensor:
    return exp.input_set("target_nonmembers")[0]


def _is_digits(exp: Experiment) -> bool:
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
def _build_fake(exp, rng, n, gan: GanSettings | None = None, progress: bool = False, **kw):
    model, meta = fake_generator(exp, gan, progress=progress)
    pixels = sample(model, n, seed=int(rng.integers(2**31)))
    return exp.data.conform(pixels), False, {"generator": meta}


# --------------------------------------------------------------------------- other datasets
TORCHVISION_FILES = {"cifar100": "cifar-100-python", "svhn": "test_32x32.mat", "stl10": "stl10_binary"}


def _data_root(exp: Experiment) -> Path:
    p = exp.profile
    return resolve_path(p.data_root) if p.data_root is not None else default_data_root()


def _torchvision_present(name: str) -> Callable[[Experiment], bool]:
    def check(exp: Experiment) -> bool:
        return exp.profile.dataset != name and (_data_root(exp) / TORCHVISION_FILES[name]).exists()

    return check


def _load_other(exp: Experiment, name: str):
    """Another dataset in the target's preprocessing (channels, size, mean / std)."""
    p = exp.profile
    return load_named_dataset(
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


def _ood_kind(exp: Experiment) -> str:
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
def _build_patches(exp, rng, n, **kw):
    return exp.data.conform(natural_patches(n, int(rng.integers(2**31)))), False, {}


def _build_letters(exp, rng, n, **kw):
    # rendered at the digits' native 8 x 8 px when the target is the digits, so the glyphs
    # pass through the same upscaling (and look as soft) as the target's own images
    images, chars = printed_letters(n, int(rng.integers(2**31)), size=8 if _is_digits(exp) else 32)
    return exp.data.conform(images), False, {"characters": "".join(chars)}


def _build_noise(exp, rng, n, **kw):
    c, s = exp.data.in_channels, exp.data.image_size
    gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
    return torch.rand(n, c, s, s, generator=gen), False, {}


def _build_digits(exp, rng, n, **kw):
    from sklearn.datasets import load_digits

    images = torch.from_numpy(load_digits().images.astype(np.float32) / 16.0).unsqueeze(1)
    idx = _subsample(len(images), n, rng, "digits-as-images")
    return exp.data.conform(images[idx]), False, {}


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
                    "Samples of a class-conditional GAN the attacker trained only on its own images, none of "
                    "them a target member or test image.",
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


def available_sources(exp: Experiment, include_downloadable: bool = False) -> list[str]:
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


def select_sources(exp: Experiment, requested: str | list[str] | tuple[str, ...] | None = None) -> list[str]:
    """The source names a chapter works with, ``test`` first (the reference every other
    source is compared with): every available source when ``requested`` is ``None``, else the
    name or names given, each a key of :data:`SOURCES` or ``imagefolder:PATH``."""
    allowed = (f"None, a source name or a non-empty list of source names from {available_sources(exp)} "
               f"(or {IMAGEFOLDER_PREFIX}PATH)")
    if requested is None:
        names = available_sources(exp)
    elif isinstance(requested, str):
        names = [requested]
    elif isinstance(requested, (list, tuple)) and requested and all(isinstance(s, str) for s in requested):
        names = list(requested)
    else:
        raise ConfigError(f"parameter 'sources' has value {requested!r}; allowed: {allowed}")
    unknown = [n for n in names if n not in SOURCES and not n.startswith(IMAGEFOLDER_PREFIX)]
    if unknown:
        raise ConfigError(f"parameter 'sources' names unknown source(s) {unknown}; allowed: {allowed}")
    return ["test"] + [n for n in dict.fromkeys(names) if n != "test"]


def nonmember_set(exp: Experiment, name: str, *, seed: int | None = None, n: int | None = None,
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
    seed = derived_seed(exp.profile.seed, name) if seed is None else int(seed)
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
        x = exp.data.normalize(x)
    expected = (exp.data.in_channels, exp.data.image_size, exp.data.image_size)
    if tuple(x.shape[1:]) != expected:  # pragma: no cover - a builder bug
        raise RuntimeError(f"source {name!r} built images of shape {tuple(x.shape[1:])}, expected {expected}")
    result = NonMemberSet(name=name, x=x.float().contiguous(), description=description, kind=kind,
                          meta={"seed": seed, **meta})
    memo[memo_key] = result
    return result


def nonmember_sets(exp: Experiment, names: list[str] | None = None,
                   options: dict[str, dict[str, Any]] | None = None) -> dict[str, NonMemberSet]:
    """Several sets at once (``None``: every available source), in the order given;
    ``options`` maps a source name to its keyword options (e.g. ``{"scaled": {"factor": 10}}``)."""
    names = available_sources(exp) if names is None else list(names)
    options = options or {}
    return {name: nonmember_set(exp, name, **options.get(name, {})) for name in names}


def describe_sources(exp: Experiment, names: list[str] | None = None) -> "Any":
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
