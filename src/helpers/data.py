"""Datasets as in-memory tensors, from a registry of named datasets.

A *dataset* here is what models train on (its loaders are registered with
:func:`register_dataset`); the non-member inputs fed to a trained model are *sources*
(:mod:`helpers.sources`). Every dataset yields the same thing, an :class:`ImageDataset`:
all images in one float32 tensor ``x`` of shape ``N x C x H x W`` (resized to the requested
size and normalised with the dataset's per-channel mean / std) and the labels in one int64
tensor ``y``. Training then indexes these tensors directly: no per-sample PIL or Python work
in the hot loop.

Datasets (the ``dataset`` value of a profile):

``cifar10-mini``
    a subset of real CIFAR-10 shipped inside the package (``helpers/bundled``), the
    embedded default: 1,500 training and 500 test images per class (20,000 images, 32x32
    RGB, 10 classes), with the official train / test parts kept apart. CIFAR-10 is by
    Krizhevsky (2009); these files come from a public JPEG copy that re-encoded the
    original images (quality about 75), so pixels are close to, not identical with, the
    original. The archive is verified against its manifest's sha256, decoded once and
    cached as uint8 tensors; ``scripts/build_cifar10_mini.py`` rebuilds it byte for byte
    from any CIFAR-10 copy laid out as class folders.
``digits``
    scikit-learn's 8x8 handwritten digits (1,797 images, 10 classes, 1 channel). Shipped with
    scikit-learn, so it needs no network: the fastest run (profile ``digits``). Pixel values 0..16 are
    scaled to [0, 1]. There is no official test part.
``cifar10``, ``cifar100``, ``svhn``, ``stl10``
    torchvision's datasets, read from ``data_root`` (downloaded there first when
    ``download`` is true). Their official train / test parts are kept apart
    (``is_test``).
``imagefolder:PATH``
    any folder of class sub-folders (``PATH/<class>/<image>``), or with ``PATH/train/<class>``
    and ``PATH/test/<class>`` sub-trees, which then become the official train / test parts.
    Decoded once with PIL and cached on disk as uint8 tensors.

Use :func:`load_dataset` for a profile's target data and :func:`load_named_dataset` to load any
other dataset under a chosen preprocessing (size, channel count, mean / std), as the
non-member sources do.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .cache import cached_tensors, default_cache_dir
from .paths import find_repo_root
from .config import ConfigError, Profile

DATA_ROOT_ENV = "HELPERS_DATA_ROOT"
IMAGEFOLDER_PREFIX = "imagefolder:"
DECODE_VERSION = "1"  # bump when the imagefolder decoding changes (invalidates its cache)

# Per-channel statistics of the training parts (the values commonly used for these sets;
# CIFAR-10's are the paper's). ``None`` means: computed from the data itself.
KNOWN_STATS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar10-mini": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
    "svhn": ((0.4377, 0.4438, 0.4728), (0.1980, 0.2010, 0.1970)),
    "stl10": ((0.4467, 0.4398, 0.4066), (0.2603, 0.2566, 0.2713)),
}


class DatasetNotFoundError(ConfigError):
    """The files of a dataset are not where the configuration says they are."""


@dataclass(frozen=True, eq=False)
class RawImages:
    """What a dataset loader returns: images in [0, 1] before resizing and normalising."""

    x: torch.Tensor  # float32 N x C x H x W in [0, 1]  (or uint8 0..255)
    y: torch.Tensor  # int64 N
    classes: list[str]
    is_test: torch.Tensor | None = None  # bool N, None when there is no official test part
    origin: str = ""  # text that identifies the files (enters the data key)


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """Images and labels held as tensors.

    Attributes
    ----------
    name: the dataset name (``digits``, ``cifar10``, ``imagefolder:PATH``, ...).
    x: float32 tensor ``N x C x H x W``, resized and normalised with ``mean`` / ``std``.
    y: int64 tensor ``N`` of class indices into ``classes``.
    classes: class names, ``classes[k]`` is label ``k``.
    mean, std: per-channel statistics used to normalise ``x``.
    has_official_test: whether the dataset has an official test part.
    is_test: bool tensor ``N``, true for images of the official test part (all false when
        there is none).
    """

    name: str
    x: torch.Tensor
    y: torch.Tensor
    classes: list[str]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    has_official_test: bool
    is_test: torch.Tensor
    origin: str = field(default="", repr=False)

    def __len__(self) -> int:
        return int(self.y.shape[0])

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def in_channels(self) -> int:
        return int(self.x.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.x.shape[-1])

    def key(self) -> str:
        """Stable short hash of the selection: dataset, preprocessing, classes and contents.

        The contents enter through the labels and a fingerprint of the images (per-image
        sums and a strided sample), so a change of files or preprocessing changes the key.
        """
        digest = hashlib.sha256()
        head = {
            "name": self.name,
            "origin": self.origin,
            "shape": list(self.x.shape),
            "classes": self.classes,
            "mean": [round(m, 6) for m in self.mean],
            "std": [round(s, 6) for s in self.std],
            "official_test": self.has_official_test,
        }
        digest.update(json.dumps(head, sort_keys=True).encode())
        digest.update(self.y.cpu().numpy().astype(np.int64).tobytes())
        digest.update(self.is_test.cpu().numpy().astype(np.uint8).tobytes())
        flat = self.x.detach().cpu().reshape(len(self), -1)
        sums = flat.double().sum(dim=1).numpy().round(3)
        digest.update(sums.tobytes())
        step = max(1, flat.numel() // 200_000)
        digest.update(flat.reshape(-1)[::step].numpy().round(4).tobytes())
        return digest.hexdigest()[:16]

    def subset(self, indices: Sequence[int] | np.ndarray | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x, y)`` of the given indices."""
        idx = torch.as_tensor(np.asarray(indices), dtype=torch.long)
        return self.x[idx], self.y[idx]

    def normalize(self, pixels: torch.Tensor) -> torch.Tensor:
        """Apply this dataset's normalisation (``mean`` / ``std``) to pixels in [0, 1]."""
        mean = torch.tensor(self.mean, dtype=torch.float32).view(1, -1, 1, 1)
        std = torch.tensor(self.std, dtype=torch.float32).view(1, -1, 1, 1)
        return (pixels.float() - mean) / std

    def conform(self, pixels: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] (``N x C x H x W``, any size) -> this dataset's channels and size.

        Channels follow the documented rule of :func:`convert_channels`; a channel count that
        rule does not cover is a :class:`ConfigError`. The result is not normalised.
        """
        if pixels.ndim != 4:
            raise ConfigError(f"parameter 'pixels' has shape {tuple(pixels.shape)}; allowed: N x C x H x W")
        channels = self.in_channels
        if pixels.shape[1] != channels and {int(pixels.shape[1]), channels} != {1, 3}:
            raise ConfigError(
                f"parameter 'pixels' has {pixels.shape[1]} channel(s) and the dataset {channels}; allowed: "
                "the same count, or 1 <-> 3 (RGB -> grey by luminance, grey -> RGB by repetition)"
            )
        return resize_images(convert_channels(pixels.float(), channels), self.image_size)

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        """Undo the normalisation: images back in [0, 1] (for plotting)."""
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        return x * std + mean

    def with_selection(self, keep: torch.Tensor, classes: list[str], relabel: torch.Tensor) -> "ImageDataset":
        """A copy restricted to the rows ``keep`` with labels mapped through ``relabel``."""
        y = relabel[self.y[keep]]
        return replace(self, x=self.x[keep], y=y, classes=classes, is_test=self.is_test[keep])


# --------------------------------------------------------------------------- registry
Loader = Callable[[Path | None, bool, int | None, Path], RawImages]
_DATASETS: dict[str, Loader] = {}


def register_dataset(name: str) -> Callable[[Loader], Loader]:
    """Decorator: make ``fn(data_root, download, image_size, cache_dir) -> RawImages`` a dataset loader."""

    def wrap(fn: Loader) -> Loader:
        _DATASETS[name] = fn
        return fn

    return wrap


def available_datasets() -> list[str]:
    """Names accepted by :func:`load_named_dataset` (plus ``imagefolder:PATH``)."""
    return sorted(_DATASETS) + [IMAGEFOLDER_PREFIX + "PATH"]


def resolve_path(path: str | os.PathLike) -> Path:
    """Resolve a user path: absolute as given; relative to the working folder when it exists
    there, else relative to the project checkout (so chapters run in ``book/chapters`` find
    ``data/`` at the top)."""
    p = Path(path).expanduser()
    if p.is_absolute():
        return p
    if (Path.cwd() / p).exists():
        return (Path.cwd() / p).resolve()
    repo = find_repo_root()
    return ((repo or Path.cwd()) / p).resolve()


def default_data_root() -> Path:
    """Where torchvision datasets live when ``data_root`` is not set: ``$HELPERS_DATA_ROOT``,
    else ``<repo>/data`` in the checkout, else ``~/.cache/mia-overconfidence/data``."""
    if os.environ.get(DATA_ROOT_ENV):
        return resolve_path(os.environ[DATA_ROOT_ENV])
    repo = find_repo_root()
    if repo is not None:
        return repo / "data"
    return Path("~/.cache/mia-overconfidence/data").expanduser()


@register_dataset("digits")
def _load_digits(data_root: Path | None, download: bool, image_size: int | None, cache_dir: Path) -> RawImages:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.from_numpy(bunch.images.astype(np.float32) / 16.0).unsqueeze(1)
    y = torch.from_numpy(bunch.target.astype(np.int64))
    return RawImages(x=x, y=y, classes=[str(c) for c in bunch.target_names], origin="sklearn-digits")


BUNDLED_DIR = Path(__file__).resolve().parent / "bundled"
BUNDLED_NAME = "cifar10-mini"
_REBUILD_HINT = (
    "reinstall the package, restore the file from the repository (git checkout -- "
    "src/helpers/bundled), or rebuild it with: python scripts/build_cifar10_mini.py SOURCE "
    "(SOURCE holding CIFAR-10 as train/<class>/ and test/<class>/ image folders)"
)


def bundled_manifest(folder: Path = BUNDLED_DIR) -> dict:
    """The manifest of the bundled CIFAR-10 subset (checksum, counts, provenance)."""
    path = folder / f"{BUNDLED_NAME}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise DatasetNotFoundError(f"the bundled dataset's manifest {str(path)!r} is missing or unreadable ({err}); {_REBUILD_HINT}") from err


def read_bundled_archive(folder: Path = BUNDLED_DIR) -> tuple[bytes, dict]:
    """The bundled archive's bytes, checked against the manifest's sha256."""
    meta = bundled_manifest(folder)
    path = folder / meta["archive"]
    try:
        blob = path.read_bytes()
    except OSError as err:
        raise DatasetNotFoundError(f"the bundled dataset archive {str(path)!r} is missing ({err}); {_REBUILD_HINT}") from err
    digest = hashlib.sha256(blob).hexdigest()
    if digest != meta["sha256"]:
        raise DatasetNotFoundError(
            f"the bundled dataset archive {str(path)!r} is damaged: its sha256 is {digest[:16]}..., the "
            f"manifest says {meta['sha256'][:16]}...; {_REBUILD_HINT}"
        )
    return blob, meta


def _decode_bytes(blob: bytes) -> np.ndarray:
    """One 32x32 image file's bytes -> uint8 ``3 x H x W`` (RGB)."""
    from PIL import Image

    with Image.open(io.BytesIO(blob)) as img:
        return np.asarray(img.convert("RGB"), dtype=np.uint8).transpose(2, 0, 1)


@register_dataset(BUNDLED_NAME)
def _load_bundled(data_root: Path | None, download: bool, image_size: int | None, cache_dir: Path) -> RawImages:
    blob, meta = read_bundled_archive()

    def build() -> dict:
        classes = list(meta["classes"])
        xs, ys, flags = [], [], []
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                part, cls, _ = member.name.split("/", 2)
                xs.append(_decode_bytes(tar.extractfile(member).read()))
                ys.append(classes.index(cls))
                flags.append(part == "test")
        expected = sum(meta["images"].values())
        if len(xs) != expected:
            raise DatasetNotFoundError(f"the bundled archive holds {len(xs)} images, its manifest {expected}; {_REBUILD_HINT}")
        return {
            "x": torch.from_numpy(np.stack(xs)),
            "y": torch.tensor(ys, dtype=torch.int64),
            "is_test": torch.tensor(flags, dtype=torch.bool),
            "classes": classes,
        }

    tag = f"{meta['sha256'][:20]}-{DECODE_VERSION}"
    obj = cached_tensors(cache_dir / "data" / f"{BUNDLED_NAME}-{tag}.pt", build)
    return RawImages(x=obj["x"], y=obj["y"], classes=list(obj["classes"]), is_test=obj["is_test"],
                     origin=f"{BUNDLED_NAME}-{meta['sha256'][:16]}")


def _torchvision_parts(name: str, data_root: Path | None, download: bool) -> list:
    import torchvision.datasets as tvd

    root = data_root if data_root is not None else default_data_root()
    makers = {
        "cifar10": lambda train: tvd.CIFAR10(str(root), train=train, download=download),
        "cifar100": lambda train: tvd.CIFAR100(str(root), train=train, download=download),
        "svhn": lambda train: tvd.SVHN(str(root), split="train" if train else "test", download=download),
        "stl10": lambda train: tvd.STL10(str(root), split="train" if train else "test", download=download),
    }
    try:
        return [makers[name](True), makers[name](False)]
    except RuntimeError as err:  # torchvision: "Dataset not found or corrupted ..."
        raise DatasetNotFoundError(
            f"dataset {name!r} was not found in data_root {str(root)!r} ({err}). Either put "
            f"torchvision's {name} files in that folder (set data_root to the folder that "
            f"holds them), set download: true (-p download true) to download them there, or "
            f"point dataset at an image folder with -p dataset imagefolder:PATH"
        ) from err
    except OSError as err:  # network errors while downloading
        raise DatasetNotFoundError(
            f"dataset {name!r} could not be downloaded to {str(root)!r} ({err}); provide the "
            f"files in data_root or use -p dataset imagefolder:PATH"
        ) from err


def _from_torchvision(name: str) -> Loader:
    def load(data_root: Path | None, download: bool, image_size: int | None, cache_dir: Path) -> RawImages:
        xs, ys, flags = [], [], []
        parts = _torchvision_parts(name, data_root, download)
        for part, test in zip(parts, (False, True)):
            data = np.asarray(part.data)
            if data.ndim == 4 and data.shape[-1] == 3:  # N H W C (CIFAR)
                data = data.transpose(0, 3, 1, 2)
            labels = np.asarray(getattr(part, "targets", None) if hasattr(part, "targets") else part.labels)
            xs.append(torch.from_numpy(np.ascontiguousarray(data)))
            ys.append(torch.from_numpy(labels.astype(np.int64)))
            flags.append(torch.full((len(labels),), test, dtype=torch.bool))
        classes = list(getattr(parts[0], "classes", [])) or [str(i) for i in range(10)]
        return RawImages(
            x=torch.cat(xs), y=torch.cat(ys), classes=classes, is_test=torch.cat(flags), origin=f"torchvision-{name}"
        )

    return load


for _name in ("cifar10", "cifar100", "svhn", "stl10"):
    register_dataset(_name)(_from_torchvision(_name))


# --------------------------------------------------------------------------- image folders
_ACCEPTED_MODES = {"RGB": None, "L": "grayscale", "LA": "grayscale with alpha", "RGBA": "RGB with alpha", "P": "palette"}


def _class_dirs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _list_folder(root: Path) -> tuple[list[str], list[tuple[Path, int, bool]]]:
    """Classes and ``(file, label, is_test)`` of an image folder; clear errors when empty."""
    if not root.is_dir():
        raise DatasetNotFoundError(
            f"parameter 'dataset' names image folder {str(root)!r}, which does not exist; "
            "allowed: a folder of class sub-folders (PATH/<class>/<image>) or with train/ and "
            "test/ sub-trees"
        )
    parts = [(root / "train", False), (root / "test", True)] if (root / "train").is_dir() else [(root, False)]
    parts = [(p, t) for p, t in parts if p.is_dir()]
    classes = [d.name for d in _class_dirs(parts[0][0])]
    if not classes:
        raise ConfigError(
            f"image folder {str(parts[0][0])!r} has no class sub-folders; allowed: a folder "
            "holding one sub-folder per class, each with images"
        )
    files: list[tuple[Path, int, bool]] = []
    for folder, is_test in parts:
        for d in _class_dirs(folder):
            if d.name not in classes:
                raise ConfigError(
                    f"class folder {str(d)!r} of the test part has no twin in the train part "
                    f"{classes}; allowed: the same class names in train/ and test/"
                )
            label = classes.index(d.name)
            images = sorted(p for p in d.rglob("*") if p.is_file() and not p.name.startswith("."))
            if not images:
                raise ConfigError(f"class folder {str(d)!r} is empty; every class needs at least one image")
            files.extend((p, label, is_test) for p in images)
    return classes, files


def _decode(path: Path, image_size: int | None) -> np.ndarray:
    """One image file -> uint8 ``3 x H x W`` (RGB).

    Grayscale (``L``), grayscale+alpha (``LA``), ``RGBA`` and palette (``P``) images are
    converted to RGB explicitly (alpha is dropped, grey is copied to all three channels);
    any other mode (CMYK, 16-bit, float, 1-bit, ...) is an error naming the file. With
    ``image_size`` the shorter side is resized to it (bilinear, antialiased) and the centre
    square is cropped.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            mode = img.mode
            if mode not in _ACCEPTED_MODES:
                raise ConfigError(
                    f"image {str(path)!r} has mode {mode!r}; allowed modes: {sorted(_ACCEPTED_MODES)} "
                    "(converted to RGB); convert the file to RGB first"
                )
            rgb = img.convert("RGB") if mode != "RGB" else img.copy()
    except UnidentifiedImageError as err:
        raise ConfigError(f"file {str(path)!r} in the image folder is not an image PIL can read; remove it") from err
    except OSError as err:
        raise ConfigError(f"image {str(path)!r} could not be decoded ({err})") from err
    if image_size is not None and rgb.size != (image_size, image_size):
        w, h = rgb.size
        scale = image_size / min(w, h)
        nw, nh = max(image_size, round(w * scale)), max(image_size, round(h * scale))
        rgb = rgb.resize((nw, nh), Image.BILINEAR, reducing_gap=None)
        left, top = (nw - image_size) // 2, (nh - image_size) // 2
        rgb = rgb.crop((left, top, left + image_size, top + image_size))
    return np.asarray(rgb, dtype=np.uint8).transpose(2, 0, 1)


def _load_imagefolder(root: Path, image_size: int | None, cache_dir: Path) -> RawImages:
    classes, files = _list_folder(root)
    listing = hashlib.sha256()
    for path, label, is_test in files:
        st = path.stat()
        listing.update(f"{path.relative_to(root)}|{label}|{is_test}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    tag = hashlib.sha256(f"{root}|{image_size}|{DECODE_VERSION}|{listing.hexdigest()}".encode()).hexdigest()[:20]

    def build() -> dict:
        with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) * 2)) as pool:
            arrays = list(pool.map(lambda f: _decode(f[0], image_size), files, chunksize=256))
        shapes = {a.shape for a in arrays}
        if len(shapes) > 1:
            raise ConfigError(
                f"images in {str(root)!r} have different sizes {sorted(shapes)[:4]}...; set "
                "image_size (e.g. -p image_size 32) so they are resized to one size"
            )
        return {
            "x": torch.from_numpy(np.stack(arrays)),
            "y": torch.tensor([f[1] for f in files], dtype=torch.int64),
            "is_test": torch.tensor([f[2] for f in files], dtype=torch.bool),
            "classes": classes,
        }

    obj = cached_tensors(cache_dir / "data" / f"imagefolder-{tag}.pt", build)
    has_test = bool(obj["is_test"].any())
    return RawImages(
        x=obj["x"],
        y=obj["y"],
        classes=list(obj["classes"]),
        is_test=obj["is_test"] if has_test else None,
        origin=f"imagefolder-{listing.hexdigest()[:16]}",
    )


# --------------------------------------------------------------------------- preprocessing
def _to_unit_float(x: torch.Tensor) -> torch.Tensor:
    return x.float().div_(255.0) if x.dtype == torch.uint8 else x.float()


def convert_channels(x: torch.Tensor, channels: int | None) -> torch.Tensor:
    """Convert ``N x C x H x W`` images in [0, 1] to ``channels`` channels.

    1 -> 3 copies the grey channel; 3 -> 1 takes the luminance
    0.299 R + 0.587 G + 0.114 B (ITU-R BT.601, as PIL's ``L`` mode). ``None`` keeps ``C``.
    """
    if channels is None or x.shape[1] == channels:
        return x
    if x.shape[1] == 1 and channels == 3:
        return x.expand(-1, 3, -1, -1).contiguous()
    if x.shape[1] == 3 and channels == 1:
        weights = torch.tensor([0.299, 0.587, 0.114], dtype=x.dtype).view(1, 3, 1, 1)
        return (x * weights).sum(dim=1, keepdim=True)
    raise ConfigError(f"parameter 'channels' has value {channels!r} for images with {x.shape[1]} channels; allowed: 1 or 3")


def resize_images(x: torch.Tensor, image_size: int | None, chunk: int = 4096) -> torch.Tensor:
    """Resize square or non-square images to ``image_size x image_size`` (bilinear,
    antialiased when shrinking; shorter side scaled then centre-cropped)."""
    if image_size is None or tuple(x.shape[-2:]) == (image_size, image_size):
        return x
    h, w = x.shape[-2:]
    scale = image_size / min(h, w)
    nh, nw = max(image_size, round(h * scale)), max(image_size, round(w * scale))
    out = []
    for start in range(0, x.shape[0], chunk):
        part = F.interpolate(x[start : start + chunk], size=(nh, nw), mode="bilinear", align_corners=False, antialias=scale < 1)
        top, left = (nh - image_size) // 2, (nw - image_size) // 2
        out.append(part[..., top : top + image_size, left : left + image_size].clamp_(0, 1))
    return torch.cat(out).contiguous()


def channel_stats(x: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of images in [0, 1]."""
    flat = x.transpose(0, 1).reshape(x.shape[1], -1).double()
    return tuple(round(float(v), 4) for v in flat.mean(1)), tuple(round(float(v), 4) for v in flat.std(1))


def load_named_dataset(
    name: str,
    *,
    data_root: str | os.PathLike | None = None,
    download: bool = False,
    image_size: int | None = None,
    channels: int | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> ImageDataset:
    """Load a dataset by name and preprocess it: channels, size, normalisation.

    Parameters
    ----------
    name: ``cifar10-mini``, ``digits``, ``cifar10``, ``cifar100``, ``svhn``, ``stl10`` or ``imagefolder:PATH``.
    data_root: folder of torchvision's files (default :func:`default_data_root`).
    download: let torchvision download missing files into ``data_root``.
    image_size: resize to ``image_size x image_size`` (``None`` keeps the native size).
    channels: convert to this many channels (1 or 3; ``None`` keeps them); see
        :func:`convert_channels`.
    mean, std: normalisation statistics; ``None`` uses the dataset's own (known constants
        for torchvision sets, otherwise computed from its train part). Pass the target's to
        load another dataset as non-members under the target's preprocessing.
    cache_dir: where decoded image folders are cached (default :func:`default_cache_dir`).
    """
    if not isinstance(name, str) or not name:
        raise ConfigError(f"parameter 'dataset' has value {name!r}; allowed: one of {available_datasets()}")
    cache = default_cache_dir(cache_dir)
    if name.startswith(IMAGEFOLDER_PREFIX):
        folder = name[len(IMAGEFOLDER_PREFIX) :]
        if not folder:
            raise ConfigError("parameter 'dataset' has value 'imagefolder:' without a folder; allowed: imagefolder:PATH")
        raw = _load_imagefolder(resolve_path(folder), image_size, cache)
    elif name in _DATASETS:
        root = resolve_path(data_root) if data_root is not None else None
        raw = _DATASETS[name](root, bool(download), image_size, cache)
    else:
        raise ConfigError(f"parameter 'dataset' has value {name!r}; allowed: one of {available_datasets()}")

    x = _to_unit_float(raw.x)
    x = convert_channels(x, channels)
    x = resize_images(x, image_size)
    if mean is None or std is None:
        if name in KNOWN_STATS and x.shape[1] == 3:
            mean, std = KNOWN_STATS[name]
        else:
            train_part = x if raw.is_test is None else x[~raw.is_test]
            mean, std = channel_stats(train_part)
    mean, std = tuple(float(m) for m in mean), tuple(float(s) for s in std)
    if len(mean) != x.shape[1] or len(std) != x.shape[1] or min(std) <= 0:
        raise ConfigError(
            f"normalisation mean={mean} std={std} does not fit images with {x.shape[1]} channels; "
            "allowed: one value per channel, std > 0"
        )
    m = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
    x = x.sub_(m).div_(s) if x.data_ptr() != raw.x.data_ptr() else (x - m) / s
    is_test = raw.is_test if raw.is_test is not None else torch.zeros(len(raw.y), dtype=torch.bool)
    return ImageDataset(
        name=name,
        x=x.contiguous(),
        y=raw.y.to(torch.int64),
        classes=list(raw.classes),
        mean=mean,
        std=std,
        has_official_test=raw.is_test is not None,
        is_test=is_test,
        origin=f"{raw.origin}|size={image_size}|ch={channels}",
    )


# --------------------------------------------------------------------------- class selection
def _check_names(ds: ImageDataset, names: Sequence[str], parameter: str) -> list[str]:
    names = [str(n) for n in names]
    unknown = [n for n in names if n not in ds.classes]
    if unknown:
        raise ConfigError(f"parameter {parameter!r} names unknown class(es) {unknown}; allowed: {ds.classes}")
    return names


def select_classes(ds: ImageDataset, keep: Sequence[str], parameter: str = "classes") -> ImageDataset:
    """Keep only the named classes, relabelled ``0..k-1`` in the order given."""
    keep = _check_names(ds, keep, parameter)
    if len(set(keep)) != len(keep):
        raise ConfigError(f"parameter {parameter!r} has repeated class names {keep}; allowed: distinct names")
    relabel = torch.full((len(ds.classes),), -1, dtype=torch.int64)
    for new, c in enumerate(keep):
        relabel[ds.classes.index(c)] = new
    mask = relabel[ds.y] >= 0
    return ds.with_selection(mask, keep, relabel)


def drop_classes(ds: ImageDataset, names: Sequence[str], parameter: str = "heldout_classes") -> ImageDataset:
    """Remove the named classes (e.g. STL-10's ``monkey``), relabelling the rest in order."""
    names = _check_names(ds, names, parameter)
    return select_classes(ds, [c for c in ds.classes if c not in names], parameter)


def load_dataset(profile: Profile) -> ImageDataset:
    """The target data of a profile: ``profile.dataset`` preprocessed, with
    ``profile.classes`` kept (all when null) and ``profile.heldout_classes`` removed (they
    are reserved as non-members of unseen classes; see :func:`load_heldout`)."""
    ds = _load_profile_dataset(profile)
    if profile.classes is not None:
        overlap = set(profile.classes) & set(profile.heldout_classes)
        if overlap:
            raise ConfigError(
                f"parameters 'classes' and 'heldout_classes' share {sorted(overlap)}; allowed: disjoint lists"
            )
        _check_names(ds, profile.heldout_classes, "heldout_classes")
        ds = select_classes(ds, profile.classes)
    elif profile.heldout_classes:
        ds = drop_classes(ds, profile.heldout_classes)
    if ds.num_classes < 2:
        raise ConfigError(f"dataset {profile.dataset!r} keeps {ds.num_classes} class(es); allowed: at least 2")
    return ds


def load_heldout(profile: Profile) -> ImageDataset | None:
    """Images of ``profile.heldout_classes`` (original class names, relabelled 0..k-1),
    preprocessed like the target; ``None`` when no classes are held out."""
    if not profile.heldout_classes:
        return None
    return select_classes(_load_profile_dataset(profile), profile.heldout_classes, "heldout_classes")


def _load_profile_dataset(profile: Profile) -> ImageDataset:
    """``profile.dataset`` with the profile's data location, download flag and size."""
    return load_named_dataset(
        profile.dataset,
        data_root=profile.data_root,
        download=profile.download,
        image_size=profile.image_size,
        cache_dir=profile.cache_dir,
    )
