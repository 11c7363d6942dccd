"""One training loop for every model, and the cached ``get_or_train``.

The loop works on tensors that already sit on the training device: each epoch draws a
permutation from a seeded :class:`torch.Generator` and slices mini-batches out of the
tensors (no ``DataLoader``, no per-sample Python). Adam or SGD, cross-entropy with optional
label smoothing, optional coupled L2 weight decay (``weight_decay`` of
:class:`torch.optim.Adam`, as in the paper). On CUDA it uses mixed precision (bf16 autocast
where supported, else fp16 with a gradient scaler); on the CPU it runs in float32 with
deterministic algorithms and a fixed number of threads (``cpu_threads``, part of the
config: a different thread count changes the order of floating-point sums), so the same
config gives bit-identical weights on any machine with the same CPU instruction set. Convolutional models train in the channels-last memory format,
which is faster with oneDNN and cuDNN.

A :class:`TrainConfig` holds everything that changes the weights; its :meth:`TrainConfig.key`
names the cache entry (see :mod:`helpers.cache`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import pandas as pd
import torch
from torch import nn

from .cache import CacheWarning, ModelCache, cached_tensors, default_cache_dir, fingerprint
from .config import KNOWN_DEVICES, KNOWN_OPTIMIZERS, ConfigError
from .architectures import check_architecture
from .models import build_model
from .progress import Throttle, eta

ROLES = ("target", "shadow")
MODEL_ROLES = ROLES + ("reference",)  # reference models: helpers.reference_models
EpochCallback = Callable[[int, dict[str, float]], None]


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a trained model's weights (and nothing else)."""

    dataset: str
    data_key: str
    architecture: str
    num_classes: int
    in_channels: int
    image_size: int
    width: float = 1.0
    activation: str = "relu"
    optimizer: str = "adam"
    lr: float = 1e-3
    epochs: int = 30
    batch_size: int = 64
    label_smoothing: float = 0.0
    weight_decay: float = 0.0
    seed: int = 0
    role: str = "target"
    variant: str = "standard"
    split_key: str = ""
    model_version: str = ""
    pretrained: bool = False
    cpu_threads: int = 2
    flush_denormal: bool = True

    def __post_init__(self) -> None:
        spec = check_architecture(self.architecture)
        if not self.model_version:
            object.__setattr__(self, "model_version", spec.version)
        if self.optimizer not in KNOWN_OPTIMIZERS:
            raise ConfigError(f"parameter 'optimizer' has value {self.optimizer!r}; allowed: one of {list(KNOWN_OPTIMIZERS)}")
        if self.role not in MODEL_ROLES:
            raise ConfigError(f"parameter 'role' has value {self.role!r}; allowed: one of {list(MODEL_ROLES)}")
        checks = (
            ("epochs", self.epochs, self.epochs >= 1, "an integer >= 1"),
            ("batch_size", self.batch_size, self.batch_size >= 1, "an integer >= 1"),
            ("lr", self.lr, self.lr > 0, "a number > 0"),
            ("label_smoothing", self.label_smoothing, 0 <= self.label_smoothing < 1, "a number in [0, 1)"),
            ("weight_decay", self.weight_decay, self.weight_decay >= 0, "a number >= 0"),
        )
        for name, value, ok, allowed in checks:
            if not ok:
                raise ConfigError(f"parameter {name!r} has value {value!r}; allowed: {allowed}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def key(self) -> str:
        """Stable sha256 (hex) of every field."""
        blob = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()


@dataclass
class TrainedModel:
    """A model in eval mode plus how it came to be."""

    model: nn.Module
    history: list[dict[str, float]]
    key: str
    from_cache: bool
    config: TrainConfig | None = None
    seconds: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)

    def history_frame(self) -> pd.DataFrame:
        """Per-epoch loss and training accuracy as a table."""
        if not self.history:
            return pd.DataFrame(columns=["loss", "train_accuracy", "seconds"])
        frame = pd.DataFrame(self.history).set_index("epoch")
        first = [c for c in ("loss", "train_accuracy", "seconds") if c in frame.columns]
        return frame[first + [c for c in frame.columns if c not in first]]


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` -> ``cuda`` when available, else ``cpu``; other names are checked."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in KNOWN_DEVICES:
        raise ConfigError(f"parameter 'device' has value {device!r}; allowed: one of {list(KNOWN_DEVICES)}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("parameter 'device' has value 'cuda' but no CUDA device is available; allowed here: 'auto' or 'cpu'")
    if device == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise ConfigError("parameter 'device' has value 'mps' but MPS is not available; allowed here: 'auto' or 'cpu'")
    return torch.device(device)


@contextlib.contextmanager
def _deterministic(enabled: bool, threads: int | None = None) -> Iterator[None]:
    """Turn on deterministic algorithms for the block and restore the previous setting.

    PyTorch's deterministic mode also fills every freshly allocated tensor with NaN (a guard
    against reading uninitialised memory), which costs one extra pass over each buffer and
    changes no result of a correct kernel; the block switches that fill off.
    """
    if not enabled:
        yield
        return
    with cpu_threads(threads):
        yield from _deterministic_algorithms()


@contextlib.contextmanager
def flush_denormals(enabled: bool = True) -> Iterator[None]:
    """Treat denormal floats as zero inside the block (CPU only), then restore.

    Coupled weight decay shrinks weights that get no gradient towards zero until they are
    denormal (below about 1e-38); on x86 CPUs arithmetic on denormals is many times slower,
    and an L2 model then trains several times slower than the others. Flushing them
    changes values below 1e-38 only, but it is still part of :class:`TrainConfig`.
    """
    before = torch.set_flush_denormal(False)  # returns whether the CPU supports it
    torch.set_flush_denormal(enabled and before)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


@contextlib.contextmanager
def cpu_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch CPU threads (``None``: unchanged), then restore."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _deterministic_algorithms() -> Iterator[None]:
    before = torch.are_deterministic_algorithms_enabled()
    before_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    det = torch.utils.deterministic
    before_fill = det.fill_uninitialized_memory
    torch.use_deterministic_algorithms(True, warn_only=True)
    det.fill_uninitialized_memory = False
    try:
        yield
    finally:
        det.fill_uninitialized_memory = before_fill
        torch.use_deterministic_algorithms(before, warn_only=before_warn)


def _batches(n: int, batch_size: int) -> list[tuple[int, int]]:
    """Batch bounds covering ``0..n``; a last batch of a single sample joins the previous one
    (batch norm cannot train on one sample)."""
    bounds = [(s, min(s + batch_size, n)) for s in range(0, n, batch_size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2] = (bounds[-2][0], n)
        bounds.pop()
    return bounds


def make_optimizer(cfg: TrainConfig, params) -> torch.optim.Optimizer:
    """Adam (coupled L2 via ``weight_decay``) or SGD with momentum 0.9."""
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)


def _check_inputs(cfg: TrainConfig, x: torch.Tensor, y: torch.Tensor) -> None:
    expected = (cfg.in_channels, cfg.image_size, cfg.image_size)
    if x.ndim != 4 or tuple(x.shape[1:]) != expected:
        raise ConfigError(f"training images have shape {tuple(x.shape)}; allowed: N x {' x '.join(map(str, expected))} (from the config)")
    if y.ndim != 1 or y.shape[0] != x.shape[0] or x.shape[0] < 2:
        raise ConfigError(f"labels have shape {tuple(y.shape)} for {x.shape[0]} images; allowed: one label per image, at least 2 images")
    if int(y.min()) < 0 or int(y.max()) >= cfg.num_classes:
        raise ConfigError(f"labels range over [{int(y.min())}, {int(y.max())}]; allowed: 0..{cfg.num_classes - 1}")


def new_model(cfg: TrainConfig) -> nn.Module:
    """The untrained model of ``cfg``, initialised from ``cfg.seed`` (global RNG untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        return build_model(
            cfg.architecture,
            cfg.num_classes,
            cfg.in_channels,
            cfg.image_size,
            cfg.width,
            cfg.activation,
            pretrained=cfg.pretrained if cfg.architecture == "resnet50" else None,
        )


def train_model(
    cfg: TrainConfig,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    device: str | torch.device = "auto",
    progress: bool = True,
    callback: EpochCallback | None = None,
    memory_format: torch.memory_format | None = None,
) -> tuple[nn.Module, list[dict[str, float]]]:
    """Train a fresh model of ``cfg`` on ``(x, y)``; return it in eval mode and its history.

    ``callback(epoch, stats)`` runs after every epoch (stats: loss, train_accuracy,
    seconds); raising inside it aborts training. ``memory_format`` defaults to
    ``channels_last`` for convolutional models (faster with oneDNN / cuDNN, same results).
    """
    from tqdm import tqdm

    _check_inputs(cfg, x, y)
    dev = resolve_device(device)
    on_cuda = dev.type == "cuda"
    model = new_model(cfg)
    if memory_format is None:
        memory_format = torch.channels_last if cfg.architecture != "mlp" else torch.contiguous_format
    model = model.to(dev, memory_format=memory_format)
    x = x.to(dev, non_blocking=True).contiguous(memory_format=memory_format)
    y = y.to(dev, non_blocking=True)
    n = x.shape[0]
    bounds = _batches(n, cfg.batch_size)
    optimizer = make_optimizer(cfg, model.parameters())
    loss_fn = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    amp_dtype = None
    if on_cuda:
        amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)
    shuffler = torch.Generator(device="cpu").manual_seed(cfg.seed + 1)
    history: list[dict[str, float]] = []

    rng_devices = [dev] if on_cuda else []
    with torch.random.fork_rng(devices=rng_devices), _deterministic(not on_cuda, cfg.cpu_threads), \
            flush_denormals(cfg.flush_denormal and not on_cuda):
        torch.manual_seed(cfg.seed + 2)  # dropout / stochastic depth
        model.train()
        name = f"{cfg.architecture} ({cfg.role}, {cfg.variant}, {cfg.activation})"
        bar = tqdm(range(cfg.epochs), desc=name, disable=not progress, leave=True)
        throttle, began = Throttle(), time.perf_counter()
        for epoch in bar:
            start = time.perf_counter()
            order = torch.randperm(n, generator=shuffler).to(dev, non_blocking=True)
            loss_sum = torch.zeros((), device=dev)
            correct = torch.zeros((), device=dev, dtype=torch.long)
            for lo, hi in bounds:
                idx = order[lo:hi]
                xb, yb = x[idx], y[idx]
                with torch.autocast(dev.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                    logits = model(xb)
                    loss = loss_fn(logits, yb)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
                loss_sum += loss.detach().float() * (hi - lo)
                correct += (logits.detach().argmax(1) == yb).sum()
            stats = {
                "epoch": epoch + 1,
                "loss": float(loss_sum) / n,
                "train_accuracy": float(correct) / n,
                "seconds": time.perf_counter() - start,
            }
            if not math.isfinite(stats["loss"]):
                raise FloatingPointError(
                    f"training {cfg.architecture} diverged at epoch {epoch + 1} (loss {stats['loss']}); "
                    f"lower the learning rate (now {cfg.lr})"
                )
            history.append(stats)
            bar.set_postfix(loss=f"{stats['loss']:.3f}", acc=f"{stats['train_accuracy']:.3f}")
            elapsed = time.perf_counter() - began
            throttle.update(f"training {name}: epoch {epoch + 1}/{cfg.epochs}, {n / stats['seconds']:,.0f} images/s, "
                            f"train accuracy {stats['train_accuracy']:.1%}, {eta(epoch + 1, cfg.epochs, elapsed)}",
                            final=epoch + 1 == cfg.epochs)
            if callback is not None:
                callback(epoch + 1, stats)
    model = model.to(memory_format=torch.contiguous_format)
    model.eval()
    return model, history


def get_or_train(
    cfg: TrainConfig,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    cache_dir: str | None = None,
    device: str | torch.device = "auto",
    progress: bool = True,
    callback: EpochCallback | None = None,
) -> TrainedModel:
    """The cached model of ``cfg`` when a verified entry exists, else train and cache it.

    The cache (:class:`helpers.cache.ModelCache` under ``cache_dir``) is written only after
    training finished, so an interrupted run leaves no entry. The returned model is in eval
    mode on ``device``.
    """
    dev = resolve_device(device)
    cache = ModelCache(cache_dir)
    key = cfg.key()
    entry = cache.load(key, cfg.to_dict())
    if entry is not None:
        model = new_model(cfg)
        try:
            model.load_state_dict(entry.state_dict)
        except RuntimeError as err:
            warnings.warn(f"cache entry {entry.weights_path} does not fit the model ({err}); retraining", CacheWarning, stacklevel=2)
            cache.remove(key)
        else:
            model.to(dev).eval()
            return TrainedModel(
                model=model,
                history=list(entry.meta.get("history", [])),
                key=key,
                from_cache=True,
                config=cfg,
                seconds=float(entry.meta.get("seconds", 0.0)),
                meta=entry.meta,
            )
    start = time.perf_counter()
    model, history = train_model(cfg, x, y, device=dev, progress=progress, callback=callback)
    seconds = time.perf_counter() - start
    meta = {"history": history, "seconds": seconds, "device": str(dev), "n_train": int(x.shape[0])}
    cache.save(key, cfg.to_dict(), model.state_dict(), meta)
    return TrainedModel(model=model, history=history, key=key, from_cache=False, config=cfg, seconds=seconds, meta=meta)


# Images per forward pass when predicting. On a CPU small batches keep the activations in
# the caches: 128 runs SalemCNN 1.7x and the quarter-width ResNet-18 1.8x faster than 512
# on 2 cores (benchmarks/bench_inference.py). Each image is computed on its own in eval
# mode, so the logits do not depend on the batch beyond float rounding (oneDNN picks other
# kernels for some sizes: differences of 2e-7). A GPU wants larger batches.
INFERENCE_BATCH = {"cpu": 128, "cuda": 512}


@torch.no_grad()
def predict_logits(model: nn.Module, x: Any, *, batch_size: int | None = None,
                   device: str | torch.device | None = None) -> torch.Tensor:
    """Logits of ``model`` on ``x`` (tensor or array), returned on the CPU.

    Batched (``batch_size`` images per pass; None: :data:`INFERENCE_BATCH` of the device),
    without autograd, image batches in the channels-last memory format (as in training);
    the model runs in eval mode and its train / eval mode is restored afterwards.
    """
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"parameter 'batch_size' has value {batch_size!r}; allowed: an integer >= 1")
    x = torch.as_tensor(x)
    param = next(iter(model.parameters()), None)
    if device is None:
        dev = param.device if param is not None else torch.device("cpu")
    else:
        dev = resolve_device(device)
    if param is not None and x.is_floating_point() and x.dtype != param.dtype:
        x = x.to(param.dtype)  # e.g. float64 NumPy input for a float32 model
    if batch_size is None:
        batch_size = INFERENCE_BATCH.get(dev.type, INFERENCE_BATCH["cpu"])
    layout = torch.channels_last if x.ndim == 4 else torch.contiguous_format
    was_training = model.training
    model.eval()
    outs = []
    try:
        with torch.no_grad():
            for start in range(0, x.shape[0], batch_size):
                xb = x[start : start + batch_size].to(dev).contiguous(memory_format=layout)
                outs.append(model(xb).float().cpu())
    finally:
        model.train(was_training)
    return torch.cat(outs) if outs else torch.empty(0)


LOGITS_VERSION = "logits-2"  # bump when predict_logits changes (invalidates cached logits); 2: batch 128 on CPUs


def cached_logits(trained: "TrainedModel", x: torch.Tensor, *, cache_dir: str | None = None,
                  device: str | torch.device | None = None) -> torch.Tensor:
    """:func:`predict_logits` of a trained model, cached on disk.

    The entry (``derived/logits-*.pt`` in the cache folder) is keyed by the model's cache
    key and a hash of the inputs, so every chapter that scores the same model on the same
    images, and every re-run, reads the logits instead of recomputing them.
    """
    x_cpu = x.detach().cpu().contiguous()
    key = hashlib.sha256(f"{LOGITS_VERSION}|{trained.key}|{fingerprint(x_cpu)}".encode()).hexdigest()
    path = default_cache_dir(cache_dir) / "derived" / f"logits-{key[:32]}.pt"
    return cached_tensors(path, lambda: {"logits": predict_logits(trained.model, x_cpu, device=device)})["logits"]


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, batch_size: int | None = None) -> float:
    """Top-1 accuracy of ``model`` on ``(x, y)``."""
    logits = predict_logits(model, x, batch_size=batch_size)
    return float((logits.argmax(1) == y.cpu()).float().mean())
