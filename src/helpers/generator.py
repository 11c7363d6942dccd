"""A small DCGAN that the attacker trains on its own (shadow) data.

The paper used pre-trained StyleGAN2 generators to show that an attacker can produce an
unlimited supply of realistic non-members. The book makes the same point with a
generator it can train anywhere: a compact DCGAN fitted only on the shadow model's
training images. It works in pixel space ([0, 1]); callers normalise its samples with the
target's own preprocessing.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from .cache import ModelCache
from .config import ConfigError
from .experiment import derived_seed
from .progress import Throttle, eta

if TYPE_CHECKING:
    from .experiment import Experiment

GENERATOR_VERSION = "2"  # bump when the generator or its training changes (invalidates the cache)


def _n_upsamples(image_size: int) -> int:
    """Number of 2x up-sampling steps from a 4x4 seed to at least ``image_size``."""
    return max(1, math.ceil(math.log2(image_size / 4)))


class Generator(nn.Module):
    """z -> 4x4 feature map -> transposed convolutions -> image in [0, 1]."""

    def __init__(self, channels: int, image_size: int, latent_dim: int = 64, width: int = 64):
        super().__init__()
        self.channels, self.image_size, self.latent_dim = channels, image_size, latent_dim
        steps = _n_upsamples(image_size)
        widths = [width * 2 ** (steps - i) for i in range(steps + 1)]
        self.project = nn.Sequential(nn.Linear(latent_dim, widths[0] * 16), nn.BatchNorm1d(widths[0] * 16), nn.ReLU())
        blocks: list[nn.Module] = []
        for w_in, w_out in zip(widths[:-1], widths[1:]):
            blocks += [nn.ConvTranspose2d(w_in, w_out, 4, 2, 1, bias=False), nn.BatchNorm2d(w_out), nn.ReLU()]
        blocks += [nn.Conv2d(widths[-1], channels, 3, padding=1), nn.Sigmoid()]
        self.body = nn.Sequential(*blocks)
        self._seed_width = widths[0]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.project(z).view(len(z), self._seed_width, 4, 4)
        out = self.body(h)
        if out.shape[-1] != self.image_size:
            out = F.interpolate(out, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False)
        return out


class Discriminator(nn.Module):
    """Strided convolutions with leaky ReLU down to one real/fake logit."""

    def __init__(self, channels: int, image_size: int, width: int = 64):
        super().__init__()
        steps = _n_upsamples(image_size)
        layers: list[nn.Module] = []
        w_in = channels
        for i in range(steps):
            w_out = width * 2**i
            layers += [nn.Conv2d(w_in, w_out, 4, 2, 1), nn.LeakyReLU(0.2)]
            w_in = w_out
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(w_in * _spatial(image_size, steps) ** 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x).flatten(1)).squeeze(1)


class MLPGenerator(nn.Module):
    """z -> two hidden layers -> image in [0, 1]; fast enough for tiny images on a CPU."""

    def __init__(self, channels: int, image_size: int, latent_dim: int = 64, width: int = 256):
        super().__init__()
        self.channels, self.image_size, self.latent_dim = channels, image_size, latent_dim
        self.body = nn.Sequential(
            nn.Linear(latent_dim, width), nn.LeakyReLU(0.2),
            nn.Linear(width, 2 * width), nn.BatchNorm1d(2 * width), nn.LeakyReLU(0.2),
            nn.Linear(2 * width, channels * image_size * image_size), nn.Sigmoid(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z).view(len(z), self.channels, self.image_size, self.image_size)


class MLPDiscriminator(nn.Module):
    """Flattened image -> two hidden layers -> one real/fake logit."""

    def __init__(self, channels: int, image_size: int, width: int = 256):
        super().__init__()
        self.body = nn.Sequential(
            nn.Flatten(), nn.Linear(channels * image_size * image_size, 2 * width), nn.LeakyReLU(0.2),
            nn.Linear(2 * width, width), nn.LeakyReLU(0.2), nn.Linear(width, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).squeeze(1)


GAN_KINDS = ("mlp", "dcgan")


def _spatial(image_size: int, steps: int) -> int:
    size = image_size
    for _ in range(steps):
        size = (size + 2 - 4) // 2 + 1
    return size


@dataclass
class GanHistory:
    """Per-epoch mean losses of the discriminator and the generator."""

    d_loss: list[float] = field(default_factory=list)
    g_loss: list[float] = field(default_factory=list)


def train_gan(
    images: torch.Tensor,
    *,
    kind: str = "dcgan",
    epochs: int = 200,
    batch_size: int = 64,
    latent_dim: int = 64,
    width: int | None = None,
    lr: float = 2e-4,
    seed: int = 0,
    device: str | torch.device = "cpu",
    cpu_threads: int | None = 1,
) -> tuple[nn.Module, GanHistory]:
    """Fit a GAN to ``images`` (N x C x H x W, pixels in [0, 1]); deterministic on the CPU.

    ``kind='dcgan'`` (convolutional, ``width`` 32 by default) gives the cleaner samples;
    ``kind='mlp'`` (``width`` 256) is faster per step but its samples stay speckled. On the
    250 16 x 16 digit images of the ``quick`` profile, a DCGAN of width 16 with ``lr=1e-3``
    and about 1,600 steps of 32 images draws recognisable digits in well under half a
    minute on two CPU cores. The caller's global random state is left untouched.

    ``cpu_threads``: torch threads while training on the CPU (restored afterwards; ``None``
    keeps the current setting). One thread is the default because these small layers gain
    little from more, and several threads slow down badly on a busy machine.
    """
    if kind not in GAN_KINDS:
        raise ConfigError(f"parameter 'kind' has value {kind!r}; allowed: {list(GAN_KINDS)}")
    if images.ndim != 4 or images.shape[-1] != images.shape[-2]:
        raise ConfigError(f"parameter 'images' has shape {tuple(images.shape)}; allowed: N x C x S x S")
    if float(images.min()) < -1e-6 or float(images.max()) > 1 + 1e-6:
        raise ConfigError(
            f"parameter 'images' has values in [{float(images.min()):.3f}, {float(images.max()):.3f}]; "
            "allowed: pixels in [0, 1] (undo the dataset normalisation first)"
        )
    if epochs < 1:
        raise ConfigError(f"parameter 'epochs' has value {epochs}; allowed: an integer >= 1")
    device = torch.device(device)
    gen_rng = torch.Generator().manual_seed(seed)
    n, c, s, _ = images.shape
    with torch.random.fork_rng(devices=[]):  # seeded initialisation without touching the caller's RNG
        torch.manual_seed(seed)
        if kind == "dcgan":
            generator: nn.Module = Generator(c, s, latent_dim, width or 32).to(device)
            discriminator: nn.Module = Discriminator(c, s, width or 32).to(device)
        else:
            generator = MLPGenerator(c, s, latent_dim, width or 256).to(device)
            discriminator = MLPDiscriminator(c, s, width or 256).to(device)
    previous_threads = torch.get_num_threads()
    if cpu_threads is not None and device.type == "cpu":
        torch.set_num_threads(max(1, int(cpu_threads)))
    try:
        history = _fit(generator, discriminator, images.to(device), epochs, batch_size, latent_dim, lr, gen_rng, device)
    finally:
        torch.set_num_threads(previous_threads)
    return generator.eval(), history


def _fit(generator: nn.Module, discriminator: nn.Module, data: torch.Tensor, epochs: int, batch_size: int,
         latent_dim: int, lr: float, gen_rng: torch.Generator, device: torch.device) -> GanHistory:
    """The training loop of :func:`train_gan` (non-saturating GAN loss, one-sided label smoothing)."""
    n = len(data)
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    history = GanHistory()
    throttle, began = Throttle(), time.perf_counter()
    for epoch in range(epochs):
        order = torch.randperm(n, generator=gen_rng).to(device)
        d_sum = g_sum = 0.0
        steps = 0
        for start in range(0, n - 1, batch_size):
            real = data[order[start:start + batch_size]]
            if len(real) < 2:
                continue
            z = torch.randn(len(real), latent_dim, generator=gen_rng).to(device)
            fake = generator(z)
            d_loss = bce(discriminator(real), torch.full((len(real),), 0.9, device=device)) + bce(
                discriminator(fake.detach()), torch.zeros(len(real), device=device))
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            g_loss = bce(discriminator(fake), torch.ones(len(real), device=device))
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()
            d_sum, g_sum, steps = d_sum + d_loss.item(), g_sum + g_loss.item(), steps + 1
        history.d_loss.append(d_sum / max(steps, 1))
        history.g_loss.append(g_sum / max(steps, 1))
        throttle.update(f"training the attacker's generator: epoch {epoch + 1}/{epochs} on {n:,} images, "
                        f"{eta(epoch + 1, epochs, time.perf_counter() - began)}", final=epoch + 1 == epochs)
    return history


@torch.no_grad()
def sample(generator: nn.Module, n: int, seed: int = 0, device: str | torch.device = "cpu") -> torch.Tensor:
    """``n`` generated images (pixels in [0, 1]), reproducible under ``seed``."""
    if n < 1:
        raise ConfigError(f"parameter 'n' has value {n}; allowed: an integer >= 1")
    rng = torch.Generator().manual_seed(seed)
    z = torch.randn(n, generator.latent_dim, generator=rng)
    generator = generator.to(device).eval()
    return torch.cat([generator(z[i:i + 512].to(device)).cpu() for i in range(0, n, 512)])


# --------------------------------------------------------------------------- the attacker's generator
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


def _generator_plan(exp: "Experiment", settings: GanSettings | None):
    """(shadow-train pixels, resolved settings, cache config, cache key) of ``exp``'s generator."""
    settings = settings or GanSettings(steps=exp.profile.gan_steps, width=exp.profile.gan_width)
    x_shadow, _ = exp.input_set("shadow_train")
    pixels = exp.data.denormalize(x_shadow).clamp(0, 1)
    gan = settings.resolved(exp.data.image_size, len(pixels))
    config = {
        "version": GENERATOR_VERSION,
        "split": "shadow_train",
        "split_key": exp.split_key("shadow_train"),
        "data_key": exp.data_key,
        "channels": exp.data.in_channels,
        "image_size": exp.data.image_size,
        "seed": derived_seed(exp.profile.seed, "fake-generator"),
        "cpu_threads": exp.profile.training_threads,
        **gan,
    }
    key = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:24]
    return pixels, gan, config, key


def generator_key(exp: "Experiment", settings: GanSettings | None = None) -> str:
    """The cache key of ``exp``'s generator (what :func:`fake_generator` looks up)."""
    return _generator_plan(exp, settings)[3]


def generator_is_cached(exp: "Experiment", settings: GanSettings | None = None) -> bool:
    """Whether :func:`fake_generator` would find its generator in the cache (files present)."""
    return generator_key(exp, settings) in _generator_cache(exp)


def fake_generator(exp: "Experiment", settings: GanSettings | None = None, *, progress: bool = False):
    """The attacker's generator for ``exp``: trained on ``shadow_train`` only, cached on disk.

    Returns ``(generator, meta)``; ``meta`` is the cache sidecar (it records ``split`` =
    ``'shadow_train'`` and that split's :meth:`~helpers.experiment.Experiment.split_key`).
    """
    pixels, gan, config, key = _generator_plan(exp, settings)
    seed = config["seed"]
    cache = _generator_cache(exp)
    builder = Generator if gan["kind"] == "dcgan" else MLPGenerator
    model = builder(exp.data.in_channels, exp.data.image_size, gan["latent_dim"], gan["width"])
    entry = cache.load(key, config)
    if entry is not None:
        model.load_state_dict(entry.state_dict)
        return model.eval(), entry.meta
    if progress:
        print(f"training the attacker's generator ({gan['kind']}, {gan['epochs']} epochs on "
              f"{len(pixels)} shadow-train images) ...", flush=True)
    start = time.perf_counter()
    trained, history = train_gan(pixels, seed=seed, device=exp.device, cpu_threads=exp.profile.training_threads, **gan)
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
