"""The attacker's generator: a small GAN trained only on data the attacker owns.

The paper used pre-trained StyleGAN2 generators to show that an attacker can produce an
unlimited supply of realistic non-members. The book makes the same point with a
generator it can train anywhere. Its default recipe (``kind='sngan'``) is a
class-conditional GAN: a transposed-convolution generator that receives the class with the
noise, a discriminator with spectral normalisation and a class projection, the hinge loss
and an exponential moving average (EMA) of the generator's weights, which is what gets
sampled. It trains on the attacker's *pool* (every image outside the target's training,
test and calibration splits, :func:`helpers.reference_models.reference_pool`), never on a
target member. The older unconditional recipes (``dcgan``, ``mlp``; non-saturating loss,
trained on the shadow split) stay available for comparison.

It works in pixel space ([0, 1]); callers normalise its samples with the target's own
preprocessing. :func:`generator_quality` measures how close the samples come to real
images without downloaded weights: the attacker's shadow model classifies class-conditional
samples, and a kernel two-sample distance (MMD) in the shadow model's feature space compares
them with real test images, beside the same distance between two halves of real images.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .cache import ModelCache
from .config import ConfigError
from .experiment import derived_seed
from .progress import Throttle, eta
from .reference_models import reference_pool

if TYPE_CHECKING:
    from .experiment import Experiment

# bump when a recipe's code or training changes (invalidates the cache); 3: the sngan recipe
# (class-conditional, spectral norm, hinge loss, EMA) trained on the attacker's pool
GENERATOR_VERSION = "3"

GAN_KINDS = ("sngan", "dcgan", "mlp")
GAN_DATA = ("pool", "shadow_train")


def _n_upsamples(image_size: int) -> int:
    """Number of 2x up-sampling steps from a 4x4 seed to at least ``image_size``."""
    return max(1, math.ceil(math.log2(image_size / 4)))


class Generator(nn.Module):
    """z (and, when ``num_classes`` > 0, a class) -> 4x4 map -> transposed convolutions ->
    image in [0, 1]. The class enters as a learnt embedding appended to the noise.

    The network draws images of ``native_size`` pixels (default ``image_size``);
    :meth:`native` returns them as drawn (what the discriminator judges in training),
    :meth:`forward` resized bilinearly to ``image_size``."""

    def __init__(self, channels: int, image_size: int, latent_dim: int = 64, width: int = 64,
                 num_classes: int = 0, native_size: int | None = None):
        super().__init__()
        self.channels, self.image_size, self.latent_dim = channels, image_size, latent_dim
        self.num_classes = int(num_classes)
        self.native_size = int(native_size or image_size)
        steps = _n_upsamples(self.native_size)
        widths = [width * 2 ** (steps - i) for i in range(steps + 1)]
        self.embed = nn.Embedding(self.num_classes, latent_dim) if self.num_classes else None
        n_in = latent_dim * (2 if self.num_classes else 1)
        self.project = nn.Sequential(nn.Linear(n_in, widths[0] * 16), nn.BatchNorm1d(widths[0] * 16), nn.ReLU())
        blocks: list[nn.Module] = []
        for w_in, w_out in zip(widths[:-1], widths[1:]):
            blocks += [nn.ConvTranspose2d(w_in, w_out, 4, 2, 1, bias=False), nn.BatchNorm2d(w_out), nn.ReLU()]
        blocks += [nn.Conv2d(widths[-1], channels, 3, padding=1), nn.Sigmoid()]
        self.body = nn.Sequential(*blocks)
        self._seed_width = widths[0]

    def native(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            if y is None:
                raise ConfigError("parameter 'y' has value None; allowed: class labels (this generator is conditional)")
            z = torch.cat([z, self.embed(y)], dim=1)
        h = self.project(z).view(len(z), self._seed_width, 4, 4)
        return _resize(self.body(h), self.native_size)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return _resize(self.native(z, y), self.image_size)


def _resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear resize of square images to ``size`` pixels (unchanged when they have it)."""
    if images.shape[-1] == size:
        return images
    return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)


class Discriminator(nn.Module):
    """Strided convolutions with leaky ReLU down to one real/fake logit (the dcgan recipe)."""

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

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.body(x).flatten(1)).squeeze(1)


class ProjectionDiscriminator(nn.Module):
    """The sngan recipe's critic: the dcgan recipe's strided 4x4 convolutions, spectrally
    normalised, summed features ``h``, and the logit ``w . h + embed(y) . h`` (a class
    projection; without classes just ``w . h``)."""

    def __init__(self, channels: int, image_size: int, width: int = 64, num_classes: int = 0,
                 spectral_norm: bool = True):
        super().__init__()
        sn = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda layer: layer)
        steps = _n_upsamples(image_size)
        layers: list[nn.Module] = []
        w_in = channels
        for i in range(steps):
            w_out = width * 2**i
            layers += [sn(nn.Conv2d(w_in, w_out, 4, 2, 1)), nn.LeakyReLU(0.1)]
            w_in = w_out
        self.body = nn.Sequential(*layers)
        self.head = sn(nn.Linear(w_in, 1))
        self.embed = sn(nn.Embedding(num_classes, w_in)) if num_classes else None

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.body(x).sum(dim=(2, 3))
        out = self.head(h).squeeze(1)
        if self.embed is not None and y is not None:
            out = out + (self.embed(y) * h).sum(dim=1)
        return out


class MLPGenerator(nn.Module):
    """z -> two hidden layers -> image in [0, 1]; fast enough for tiny images on a CPU."""

    num_classes = 0

    def __init__(self, channels: int, image_size: int, latent_dim: int = 64, width: int = 256):
        super().__init__()
        self.channels, self.image_size, self.latent_dim = channels, image_size, latent_dim
        self.native_size = image_size
        self.body = nn.Sequential(
            nn.Linear(latent_dim, width), nn.LeakyReLU(0.2),
            nn.Linear(width, 2 * width), nn.BatchNorm1d(2 * width), nn.LeakyReLU(0.2),
            nn.Linear(2 * width, channels * image_size * image_size), nn.Sigmoid(),
        )

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.body(z).view(len(z), self.channels, self.image_size, self.image_size)

    native = forward


class MLPDiscriminator(nn.Module):
    """Flattened image -> two hidden layers -> one real/fake logit."""

    def __init__(self, channels: int, image_size: int, width: int = 256):
        super().__init__()
        self.body = nn.Sequential(
            nn.Flatten(), nn.Linear(channels * image_size * image_size, 2 * width), nn.LeakyReLU(0.2),
            nn.Linear(2 * width, width), nn.LeakyReLU(0.2), nn.Linear(width, 1),
        )

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.body(x).squeeze(1)


def _spatial(image_size: int, steps: int) -> int:
    size = image_size
    for _ in range(steps):
        size = (size + 2 - 4) // 2 + 1
    return size


def build_networks(kind: str, channels: int, image_size: int, latent_dim: int, width: int,
                   num_classes: int = 0, native_size: int | None = None,
                   spectral_norm: bool = True) -> tuple[nn.Module, nn.Module]:
    """(generator, discriminator) of one recipe; ``num_classes`` > 0 and ``spectral_norm``
    only for ``sngan``; ``native_size`` (convolutional kinds): the size the generator draws
    and the discriminator judges (default ``image_size``)."""
    if kind not in GAN_KINDS:
        raise ConfigError(f"parameter 'kind' has value {kind!r}; allowed: {list(GAN_KINDS)}")
    native = int(native_size or image_size)
    if not 4 <= native <= image_size:
        raise ConfigError(f"parameter 'native_size' has value {native_size!r}; allowed: 4 to {image_size} "
                          "(the image size) or None")
    if kind == "sngan":
        return (Generator(channels, image_size, latent_dim, width, num_classes, native),
                ProjectionDiscriminator(channels, native, width, num_classes, spectral_norm))
    if kind == "dcgan":
        return Generator(channels, image_size, latent_dim, width, native_size=native), Discriminator(channels, native, width)
    if native != image_size:
        raise ConfigError(f"parameter 'native_size' has value {native_size!r}; allowed for kind 'mlp': None")
    return MLPGenerator(channels, image_size, latent_dim, width), MLPDiscriminator(channels, image_size, width)


@dataclass
class GanHistory:
    """Mean losses of the discriminator and the generator over each stretch of ``every``
    optimiser steps (the last stretch may be shorter)."""

    d_loss: list[float] = field(default_factory=list)
    g_loss: list[float] = field(default_factory=list)
    every: int = 1


def _check_images(images: torch.Tensor, labels: torch.Tensor | None) -> None:
    if images.ndim != 4 or images.shape[-1] != images.shape[-2]:
        raise ConfigError(f"parameter 'images' has shape {tuple(images.shape)}; allowed: N x C x S x S")
    if len(images) < 2:
        raise ConfigError(f"parameter 'images' holds {len(images)} image(s); allowed: at least 2")
    if float(images.min()) < -1e-6 or float(images.max()) > 1 + 1e-6:
        raise ConfigError(
            f"parameter 'images' has values in [{float(images.min()):.3f}, {float(images.max()):.3f}]; "
            "allowed: pixels in [0, 1] (undo the dataset normalisation first)"
        )
    if labels is not None and (labels.shape != (len(images),) or labels.dtype not in (torch.int64, torch.int32)
                               or int(labels.min()) < 0):
        raise ConfigError(f"parameter 'labels' has shape {tuple(labels.shape)} and dtype {labels.dtype}; "
                          f"allowed: {len(images)} non-negative integer class indices")


def train_gan(
    images: torch.Tensor,
    labels: torch.Tensor | None = None,
    *,
    kind: str = "sngan",
    steps: int = 800,
    batch_size: int = 64,
    latent_dim: int = 64,
    width: int | None = None,
    lr: float = 2e-4,
    beta1: float | None = None,
    spectral_norm: bool = True,
    loss: str | None = None,
    ema: float = 0.0,
    native_size: int | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    cpu_threads: int | None = 1,
) -> tuple[nn.Module, GanHistory]:
    """Fit a GAN to ``images`` (N x C x H x W, pixels in [0, 1]) for ``steps`` optimiser
    steps of ``batch_size`` images; deterministic on the CPU.

    ``kind='sngan'`` with ``labels`` (class indices) trains a class-conditional generator
    against a spectrally normalised projection discriminator with the hinge loss; without
    ``labels`` the same networks are unconditional. ``kind='dcgan'`` (convolutional) and
    ``kind='mlp'`` use the non-saturating loss and ignore ``labels``. ``ema`` > 0 keeps an
    exponential moving average of the generator's weights (decay ``ema`` per step) and returns
    it instead of the last weights. ``native_size``: the generator draws (and the discriminator
    judges, against real images resized by area averaging) images of this size, which the
    returned generator resizes to the images' size; fewer pixels cost less per step. The returned generator's batch-norm statistics are
    re-estimated on its own samples (so eval-mode samples match training-mode ones). The
    caller's global random state is left untouched.

    ``cpu_threads``: torch threads while training on the CPU (restored afterwards; ``None``
    keeps the current setting).
    """
    if kind not in GAN_KINDS:
        raise ConfigError(f"parameter 'kind' has value {kind!r}; allowed: {list(GAN_KINDS)}")
    _check_images(images, labels)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ConfigError(f"parameter 'steps' has value {steps!r}; allowed: an integer >= 1")
    if loss not in (None, "hinge", "bce"):
        raise ConfigError(f"parameter 'loss' has value {loss!r}; allowed: 'hinge', 'bce' or None (the kind's own)")
    if not 0.0 <= ema < 1.0:
        raise ConfigError(f"parameter 'ema' has value {ema!r}; allowed: a number in [0, 1)")
    if batch_size < 2:
        raise ConfigError(f"parameter 'batch_size' has value {batch_size!r}; allowed: an integer >= 2")
    device = torch.device(device)
    n, c, s, _ = images.shape
    conditional = kind == "sngan" and labels is not None
    num_classes = int(labels.max()) + 1 if conditional else 0
    with torch.random.fork_rng(devices=[]):  # seeded initialisation without touching the caller's RNG
        torch.manual_seed(seed)
        default_width = {"sngan": 16, "dcgan": 32, "mlp": 256}[kind]
        generator, discriminator = build_networks(kind, c, s, latent_dim, width or default_width, num_classes,
                                                  native_size, spectral_norm)
    generator, discriminator = generator.to(device), discriminator.to(device)
    previous_threads = torch.get_num_threads()
    if cpu_threads is not None and device.type == "cpu":
        torch.set_num_threads(max(1, int(cpu_threads)))
    try:
        gen_rng = torch.Generator().manual_seed(seed)
        y = labels.long() if conditional else None
        data = images if generator.native_size == s else F.interpolate(images, size=generator.native_size, mode="area")
        hinge = (loss or ("hinge" if kind == "sngan" else "bce")) == "hinge"
        kept, history = _fit(generator, discriminator, data, y, hinge, steps, batch_size, latent_dim, lr, beta1,
                             ema, gen_rng, device)
        _standing_statistics(kept, torch.Generator().manual_seed(seed + 1), device)
    finally:
        torch.set_num_threads(previous_threads)
    return kept.eval(), history


def _fit(generator: nn.Module, discriminator: nn.Module, data: torch.Tensor, labels: torch.Tensor | None,
         hinge: bool, steps: int, batch_size: int, latent_dim: int, lr: float, beta1: float | None, ema: float,
         gen_rng: torch.Generator, device: torch.device) -> tuple[nn.Module, GanHistory]:
    """The training loop of :func:`train_gan`; returns the generator to keep (the EMA copy
    when ``ema`` > 0) and the loss history."""
    n = len(data)
    betas = (beta1, 0.999) if beta1 is not None else ((0.0, 0.9) if hinge else (0.5, 0.999))
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=betas)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=betas)
    bce = nn.BCEWithLogitsLoss()
    averaged = copy.deepcopy(generator).requires_grad_(False) if ema > 0 else None
    every = max(1, steps // 100)
    history = GanHistory(every=every)
    throttle, began = Throttle(), time.perf_counter()
    order, cursor = torch.randperm(n, generator=gen_rng), 0
    d_sum = g_sum = 0.0
    counted = 0
    for step in range(steps):
        if cursor + batch_size > n and cursor > 0:
            order, cursor = torch.randperm(n, generator=gen_rng), 0
        idx = order[cursor:cursor + batch_size]
        cursor += batch_size
        real = data[idx].to(device)
        y = labels[idx].to(device) if labels is not None else None
        z = torch.randn(len(real), latent_dim, generator=gen_rng).to(device)
        fake = generator.native(z, y)
        # one pass over real and generated images (the discriminators have no batch norm, so
        # this equals two passes and costs less)
        both = discriminator(torch.cat([real, fake.detach()]), None if y is None else torch.cat([y, y]))
        d_real, d_fake = both[:len(real)], both[len(real):]
        if hinge:
            d_loss = F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
        else:
            d_loss = bce(d_real, torch.full((len(real),), 0.9, device=device)) + bce(
                d_fake, torch.zeros(len(real), device=device))
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        g_loss = -discriminator(fake, y).mean() if hinge else bce(discriminator(fake), torch.ones(len(real), device=device))
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        if averaged is not None:
            with torch.no_grad():
                torch._foreach_lerp_(list(averaged.parameters()), list(generator.parameters()), 1.0 - ema)
        d_sum, g_sum, counted = d_sum + d_loss.item(), g_sum + g_loss.item(), counted + 1
        if counted == every or step + 1 == steps:
            history.d_loss.append(d_sum / counted)
            history.g_loss.append(g_sum / counted)
            d_sum = g_sum = 0.0
            counted = 0
        throttle.update(f"training the attacker's generator: step {step + 1}/{steps} on {n:,} images, "
                        f"{eta(step + 1, steps, time.perf_counter() - began)}", final=step + 1 == steps)
    return (averaged if averaged is not None else generator), history


@torch.no_grad()
def _standing_statistics(generator: nn.Module, rng: torch.Generator, device: torch.device,
                         batches: int = 16, batch_size: int = 64) -> None:
    """Re-estimate every batch-norm layer's running mean and variance as the plain average
    over ``batches`` batches of the generator's own samples (balanced classes)."""
    norms = [m for m in generator.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    generator.train()
    try:
        for b in range(batches):
            z = torch.randn(batch_size, generator.latent_dim, generator=rng).to(device)
            y = (torch.arange(batch_size) + b) % generator.num_classes if generator.num_classes else None
            generator(z, None if y is None else y.to(device))
    finally:
        for m, momentum in zip(norms, saved):
            m.momentum = momentum
        generator.eval()


def balanced_labels(n: int, num_classes: int, seed: int = 0) -> torch.Tensor:
    """``n`` class indices, each class ``n // num_classes`` or one more times, in a seeded order."""
    if num_classes < 1:
        raise ConfigError(f"parameter 'num_classes' has value {num_classes!r}; allowed: an integer >= 1")
    rng = np.random.default_rng([seed, 0xC1A55])
    return torch.from_numpy(rng.permutation(np.arange(n) % num_classes)).long()


@torch.no_grad()
def sample_labelled(generator: nn.Module, n: int, seed: int = 0, device: str | torch.device = "cpu",
                    labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``n`` generated images (pixels in [0, 1]) and the classes they were drawn for
    (balanced, :func:`balanced_labels`, unless ``labels`` are given; ``None`` for an
    unconditional generator), reproducible under ``seed``."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"parameter 'n' has value {n!r}; allowed: an integer >= 1")
    rng = torch.Generator().manual_seed(seed)
    z = torch.randn(n, generator.latent_dim, generator=rng)
    k = int(getattr(generator, "num_classes", 0))
    if k:
        labels = balanced_labels(n, k, seed) if labels is None else torch.as_tensor(labels).long()
        if labels.shape != (n,) or int(labels.min()) < 0 or int(labels.max()) >= k:
            raise ConfigError(f"parameter 'labels' has shape {tuple(labels.shape)}; allowed: {n} class indices "
                              f"from 0 to {k - 1}")
    else:
        labels = None
    generator = generator.to(device).eval()
    out = [(generator(z[i:i + 512].to(device)) if labels is None
            else generator(z[i:i + 512].to(device), labels[i:i + 512].to(device))).cpu()
           for i in range(0, n, 512)]
    return torch.cat(out), labels


def sample(generator: nn.Module, n: int, seed: int = 0, device: str | torch.device = "cpu") -> torch.Tensor:
    """``n`` generated images (pixels in [0, 1]), reproducible under ``seed`` (balanced
    classes for a conditional generator)."""
    return sample_labelled(generator, n, seed, device)[0]


# --------------------------------------------------------------------------- the attacker's generator
@dataclass(frozen=True)
class GanSettings:
    """Settings of the attacker's generator (see :func:`train_gan`).

    ``steps``: optimiser steps (the profile's ``gan_steps``); ``width``: base channels
    (the profile's ``gan_width``; ``None`` picks 16 for images up to 16 px, else 32);
    ``data``: ``'pool'`` (every image the attacker owns: outside the target's training, test
    and calibration splits) or ``'shadow_train'`` (the shadow model's training split only).
    The defaults are the book's recipe, chosen with benchmarks/bench_generator.py on a
    development seed (1001, not the book's) by the generator's own criteria, the MMD^2 of
    :func:`generator_quality` first, the class accuracy second, the training time third:
    under ``quick`` (800 steps, width 16) the MMD^2 fell from 0.057 (the former unconditional
    DCGAN on the 1,000 shadow-training images) to 0.032, with the shadow model's class
    accuracy on samples at 40 % (41 % on real test images); without the EMA 0.045, with the
    shadow split instead of the pool 0.031 but a class accuracy of 30 %; a generator drawing
    16 px images (batch 128) 0.050; Adam's beta1 = 0.5 at a rate of 1e-3 0.028 with samples
    collapsed onto few patterns (class accuracy 19 %); without spectral norm (hinge, rate
    2e-4, beta1 0.5) 0.042; with the dcgan recipe's loss and rate, made conditional, 0.214.
    Single runs: the same recipe scatters by about 0.01. Known weakness: at 800 steps and 16
    channels the discriminator's hinge loss settles near 2 (it outputs about 0 for every
    image) and the samples of one class vary little (collapse per class); the recipe costs
    about 10-20 % more CPU time per step than the former one.
    """

    kind: str = "sngan"
    steps: int = 1600
    batch_size: int = 32
    width: int | None = None
    latent_dim: int = 64
    lr: float = 2e-4
    ema: float = 0.99
    data: str = "pool"
    native_size: int | None = None
    beta1: float | None = None
    spectral_norm: bool = True
    loss: str | None = None

    def resolved(self, image_size: int) -> dict[str, Any]:
        """The keyword arguments of :func:`train_gan` (validated)."""
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1:
            raise ConfigError(f"parameter 'gan_steps' has value {self.steps!r}; allowed: an integer >= 1")
        if self.kind not in GAN_KINDS:
            raise ConfigError(f"parameter 'kind' has value {self.kind!r}; allowed: {list(GAN_KINDS)}")
        if self.data not in GAN_DATA:
            raise ConfigError(f"parameter 'data' has value {self.data!r}; allowed: {list(GAN_DATA)}")
        return {
            "kind": self.kind,
            "steps": self.steps,
            "batch_size": self.batch_size,
            "width": self.width if self.width is not None else (16 if image_size <= 16 else 32),
            "latent_dim": self.latent_dim,
            "lr": self.lr,
            "ema": self.ema,
            "native_size": self.native_size if self.native_size is not None else image_size,
            "beta1": self.beta1,
            "spectral_norm": self.spectral_norm,
            # only when chosen, so that the entries trained before the option existed stay valid
            **({"loss": self.loss} if self.loss is not None else {}),
        }


def _generator_cache(exp: "Experiment") -> ModelCache:
    cache = ModelCache(exp.profile.cache_dir)
    cache.folder = cache.root / "generators"
    return cache


def generator_indices(exp: "Experiment", data: str = "pool") -> np.ndarray:
    """Dataset indices the attacker's generator trains on (``data``: see :class:`GanSettings`)."""
    if data == "pool":
        return reference_pool(exp.splits)
    if data == "shadow_train":
        return np.asarray(exp.splits["shadow_train"], dtype=np.int64)
    raise ConfigError(f"parameter 'data' has value {data!r}; allowed: {list(GAN_DATA)}")


def _indices_key(exp: "Experiment", name: str, indices: np.ndarray) -> str:
    digest = hashlib.sha256(f"{name}|n={exp.splits.n_total}|data={exp.data_key}".encode())
    digest.update(np.ascontiguousarray(indices, dtype=np.int64).tobytes())
    return digest.hexdigest()[:16]


def _generator_plan(exp: "Experiment", settings: GanSettings | None):
    """(training indices, resolved settings, cache config, cache key) of ``exp``'s generator.
    Nothing here depends on ``exp.replicate``: one generator serves every replicate."""
    settings = settings or GanSettings(steps=exp.profile.gan_steps, width=exp.profile.gan_width)
    gan = settings.resolved(exp.data.image_size)
    indices = generator_indices(exp, settings.data)
    conditional = gan["kind"] == "sngan"
    config = {
        "version": GENERATOR_VERSION,
        "split": settings.data,
        "split_key": _indices_key(exp, settings.data, indices),
        "data_key": exp.data_key,
        "channels": exp.data.in_channels,
        "image_size": exp.data.image_size,
        "num_classes": exp.data.num_classes if conditional else 0,
        "seed": derived_seed(exp.profile.seed, "fake-generator"),
        "cpu_threads": exp.profile.training_threads,
        **gan,
    }
    key = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:24]
    return indices, gan, config, key


def generator_key(exp: "Experiment", settings: GanSettings | None = None) -> str:
    """The cache key of ``exp``'s generator (what :func:`fake_generator` looks up)."""
    return _generator_plan(exp, settings)[3]


def generator_is_cached(exp: "Experiment", settings: GanSettings | None = None) -> bool:
    """Whether :func:`fake_generator` would find its generator in the cache (files present)."""
    return generator_key(exp, settings) in _generator_cache(exp)


def fake_generator(exp: "Experiment", settings: GanSettings | None = None, *, progress: bool = False):
    """The attacker's generator for ``exp``: trained on the attacker's own data only
    (``settings.data``; by default the pool outside every target split), cached on disk.

    Returns ``(generator, meta)``; ``meta`` is the cache sidecar: it records ``split`` (the
    data's name), ``split_key`` (a hash of its indices), ``n_images``, the training time in
    ``seconds`` and the loss history. A damaged entry is reported and retrained.
    """
    indices, gan, config, key = _generator_plan(exp, settings)
    cache = _generator_cache(exp)
    model, _ = build_networks(gan["kind"], config["channels"], config["image_size"], gan["latent_dim"],
                              gan["width"], config["num_classes"], gan["native_size"], gan["spectral_norm"])
    entry = cache.load(key, config)
    if entry is not None:
        model.load_state_dict(entry.state_dict)
        return model.eval(), entry.meta
    x, y = exp.data.subset(indices)
    pixels = exp.data.denormalize(x).clamp(0, 1)
    del x
    if progress:
        print(f"training the attacker's generator ({gan['kind']}, {gan['steps']} steps on "
              f"{len(pixels):,} images of its {config['split']!r} data) ...", flush=True)
    start = time.perf_counter()
    trained, history = train_gan(pixels, y if config["num_classes"] else None, seed=config["seed"],
                                 device=exp.device, cpu_threads=exp.profile.training_threads, **gan)
    seconds = time.perf_counter() - start
    trained = trained.to("cpu").eval()
    meta = {
        "split": config["split"],
        "split_key": config["split_key"],
        "n_images": len(pixels),
        "seconds": round(seconds, 2),
        "loss_every": history.every,
        "d_loss": history.d_loss,
        "g_loss": history.g_loss,
    }
    cache.save(key, config, trained.state_dict(), meta)
    entry = cache.load(key, config)
    return trained, (entry.meta if entry is not None else {**meta, "config": config})


# --------------------------------------------------------------------------- sample quality
def class_accuracy(predicted: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor) -> float:
    """Share of ``predicted`` class indices equal to ``labels`` (same length, at least one)."""
    p, t = np.asarray(predicted).ravel(), np.asarray(labels).ravel()
    if p.shape != t.shape or p.size == 0:
        raise ConfigError(f"parameters 'predicted' and 'labels' have {p.size} and {t.size} entries; "
                          "allowed: the same number, at least one")
    return float(np.mean(p == t))


def _sq_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a.pow(2).sum(1, keepdim=True) + b.pow(2).sum(1) - 2.0 * a @ b.T).clamp_min(0.0)


def median_bandwidth(features: np.ndarray | torch.Tensor) -> float:
    """The median distance between two different rows of ``features`` (the usual RBF width)."""
    f = torch.as_tensor(np.asarray(features), dtype=torch.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ConfigError(f"parameter 'features' has shape {tuple(f.shape)}; allowed: N x D with N >= 2")
    rows, cols = torch.triu_indices(len(f), len(f), offset=1)
    pairs = _sq_distances(f, f)[rows, cols].numpy()
    return float(max(np.median(np.sqrt(pairs)), 1e-12))


def mmd2(x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor, bandwidth: float) -> float:
    """Unbiased squared maximum mean discrepancy between the rows of ``x`` and of ``y`` under
    the Gaussian kernel ``exp(-|a - b|^2 / (2 bandwidth^2))``. Its expectation is 0 when both
    are drawn from one distribution (single estimates scatter around 0, slightly negative
    values included) and grows as the distributions part."""
    a = torch.as_tensor(np.asarray(x), dtype=torch.float64)
    b = torch.as_tensor(np.asarray(y), dtype=torch.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or len(a) < 2 or len(b) < 2:
        raise ConfigError(f"parameters 'x' and 'y' have shapes {tuple(a.shape)} and {tuple(b.shape)}; "
                          "allowed: N x D and M x D with N, M >= 2")
    if not bandwidth > 0:
        raise ConfigError(f"parameter 'bandwidth' has value {bandwidth!r}; allowed: a number > 0")
    gamma = 1.0 / (2.0 * bandwidth**2)
    kxx, kyy = torch.exp(-gamma * _sq_distances(a, a)), torch.exp(-gamma * _sq_distances(b, b))
    kxy = torch.exp(-gamma * _sq_distances(a, b))
    n, m = len(a), len(b)
    within_x = (kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1))
    within_y = (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
    return float(within_x + within_y - 2.0 * kxy.mean())


@torch.no_grad()
def model_features(model: nn.Module, x: torch.Tensor, batch_size: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """(penultimate features, logits) of a :class:`helpers.models.FeatureClassifier` on ``x``
    (normalised inputs), in eval mode, on the CPU; the model's mode is restored."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    feats, logits = [], []
    try:
        for i in range(0, len(x), batch_size):
            h = model.forward_features(x[i:i + batch_size].to(device))
            feats.append(h.flatten(1).float().cpu())
            logits.append(model.classifier(h).float().cpu())
    finally:
        model.train(was_training)
    return torch.cat(feats), torch.cat(logits)


@dataclass(frozen=True)
class GeneratorQuality:
    """How real the generator's samples look to the attacker's shadow model.

    ``fake_accuracy``: share of class-conditional samples the shadow model assigns to the
    class they were drawn for (NaN for an unconditional generator); ``real_accuracy``: its
    accuracy on the real test images (the reference); ``mmd_fake``: unbiased MMD^2 between
    samples and half of the real test images in the shadow model's feature space;
    ``mmd_real``: the same between the two halves of the real test images (the floor);
    ``n``: images per compared set; ``bandwidth``: the RBF kernel's width.
    """

    architecture: str
    n: int
    fake_accuracy: float
    real_accuracy: float
    mmd_fake: float
    mmd_real: float
    bandwidth: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def generator_quality(exp: "Experiment", architecture: str, generator: nn.Module | None = None, *,
                      seed: int | None = None) -> GeneratorQuality:
    """:class:`GeneratorQuality` of ``generator`` (default: :func:`fake_generator` of ``exp``)
    judged by the standard shadow model of ``architecture``. The real test images are the
    target's test split (which neither the shadow model nor the generator saw), split in two
    seeded halves A and B; as many samples as A holds are drawn with balanced classes."""
    if generator is None:
        generator, _ = fake_generator(exp)
    seed = derived_seed(exp.profile.seed, "generator-quality") if seed is None else int(seed)
    shadow = exp.model(architecture, "shadow").model
    x_real, y_real = exp.input_set("target_test")
    order = torch.from_numpy(np.random.default_rng([seed, 0xA]).permutation(len(x_real)))
    half = len(x_real) // 2
    if half < 2:
        raise ConfigError(f"the target's test split holds {len(x_real)} images; allowed: at least 4")
    part_a, part_b = order[:half], order[half:2 * half]
    pixels, labels = sample_labelled(generator, half, seed)
    x_fake = exp.data.normalize(exp.data.conform(pixels))
    f_real, logits_real = model_features(shadow, x_real)
    f_fake, logits_fake = model_features(shadow, x_fake)
    bandwidth = median_bandwidth(f_real[torch.cat([part_a, part_b])])
    fake_acc = class_accuracy(logits_fake.argmax(1), labels) if labels is not None else float("nan")
    return GeneratorQuality(
        architecture=architecture,
        n=half,
        fake_accuracy=fake_acc,
        real_accuracy=class_accuracy(logits_real.argmax(1), y_real),
        mmd_fake=mmd2(f_fake, f_real[part_a], bandwidth),
        mmd_real=mmd2(f_real[part_b], f_real[part_a], bandwidth),
        bandwidth=bandwidth,
    )
