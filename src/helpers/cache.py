"""A small, safe on-disk cache for trained models (and other artefacts).

Layout under the cache root (see :func:`default_cache_dir`)::

    models/<key>.pt     the model's ``state_dict`` (written with ``torch.save``)
    models/<key>.json   sidecar: sha256 of the ``.pt`` file, the full training config,
                        the training history and a few facts (time, library versions)
    data/...            decoded image folders (see :mod:`helpers.data`)

Rules that keep the cache trustworthy:

* every file is written to a temporary file in the same folder and moved into place with
  :func:`os.replace` (atomic on POSIX and Windows), weights first, sidecar last, so an entry
  exists only once both files are complete; an interrupted run leaves no entry;
* on load the weight file's sha256 must equal the one recorded in the sidecar, and the
  config recorded in the sidecar must equal the requested config;
* weights are read with ``torch.load(..., weights_only=True)`` (no pickled code runs);
* an entry that fails any check is reported with :func:`warnings.warn` naming the file,
  deleted, and treated as missing, so the caller retrains.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import torch

from .paths import atomic_path, atomic_write_text, find_repo_root

CACHE_ENV = "HELPERS_CACHE_DIR"
HOME_CACHE = Path("~/.cache/mia-overconfidence")
FORMAT_VERSION = 1


class CacheWarning(UserWarning):
    """A cache entry was unusable (corrupt, truncated or mismatched) and is ignored."""



def default_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """Resolve the cache root.

    Order: the explicit ``cache_dir`` (a profile's ``cache_dir``), the environment variable
    ``HELPERS_CACHE_DIR``, ``<repo>/.cache/helpers`` when running from the checkout, else
    ``~/.cache/mia-overconfidence``. A relative ``cache_dir`` is taken relative to the
    checkout when there is one (so chapters executed in ``book/chapters`` share it).
    """
    chosen = cache_dir if cache_dir is not None else os.environ.get(CACHE_ENV) or None
    repo = find_repo_root()
    if chosen is not None:
        path = Path(chosen).expanduser()
        if not path.is_absolute():
            path = (repo or Path.cwd()) / path
        return path
    if repo is not None:
        return repo / ".cache" / "helpers"
    return HOME_CACHE.expanduser()


def fingerprint(x: Any) -> str:
    """Short content hash of an array / tensor (shape, dtype and bytes)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    a = np.ascontiguousarray(np.asarray(x))
    h = hashlib.sha256(f"{a.shape}|{a.dtype}".encode())
    h.update(a.tobytes())
    return h.hexdigest()[:16]


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()



def atomic_torch_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)



def _jsonable(value: Any) -> Any:
    """Round-trip through JSON so that tuples/lists compare equal after loading."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


@dataclass
class CacheEntry:
    """A verified cache entry: the weights and the sidecar's metadata."""

    state_dict: dict[str, torch.Tensor]
    meta: dict[str, Any]
    weights_path: Path


class ModelCache:
    """Model weights keyed by a config hash (see :class:`helpers.training.TrainConfig`).

    ``save(key, config, state_dict, meta)`` writes an entry, ``load(key, config)`` returns a
    :class:`CacheEntry` or ``None`` (missing, or unusable and reported with a warning).
    """

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root = default_cache_dir(root)
        self.folder = self.root / "models"

    def paths(self, key: str) -> tuple[Path, Path]:
        """(weights file, sidecar file) of an entry."""
        return self.folder / f"{key}.pt", self.folder / f"{key}.json"

    def __contains__(self, key: str) -> bool:
        weights, sidecar = self.paths(key)
        return weights.is_file() and sidecar.is_file()

    def keys(self) -> list[str]:
        """Keys of the complete entries (sidecar and weights both present)."""
        if not self.folder.is_dir():
            return []
        return sorted(p.stem for p in self.folder.glob("*.json") if (self.folder / f"{p.stem}.pt").is_file())

    def remove(self, key: str) -> None:
        """Delete an entry (both files) if present."""
        for p in self.paths(key):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()

    def save(
        self,
        key: str,
        config: Mapping[str, Any],
        state_dict: Mapping[str, torch.Tensor],
        meta: Mapping[str, Any] | None = None,
    ) -> Path:
        """Write an entry atomically: weights first, then the sidecar that makes it valid."""
        weights, sidecar = self.paths(key)
        cpu_state = {k: v.detach().to("cpu").clone() for k, v in state_dict.items()}
        atomic_torch_save(cpu_state, weights)
        record = {
            "format": FORMAT_VERSION,
            "key": key,
            "sha256": sha256_file(weights),
            "bytes": weights.stat().st_size,
            "config": _jsonable(dict(config)),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "torch": torch.__version__,
            **_jsonable(dict(meta or {})),
        }
        atomic_write_text(json.dumps(record, indent=1, sort_keys=True), sidecar)
        return weights

    def _reject(self, key: str, path: Path, why: str) -> None:
        warnings.warn(
            f"cache entry {path} is unusable ({why}); it is deleted and the model will be "
            "trained again",
            CacheWarning,
            stacklevel=3,
        )
        self.remove(key)

    def load(self, key: str, config: Mapping[str, Any]) -> CacheEntry | None:
        """Return the verified entry for ``key`` or ``None``.

        ``None`` without a warning when there is no complete entry; ``None`` with a
        :class:`CacheWarning` when an entry exists but is corrupt, truncated, or was written
        for a different config.
        """
        weights, sidecar = self.paths(key)
        if not sidecar.is_file():
            return None
        try:
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
            if not isinstance(meta, dict):
                raise ValueError("sidecar is not a JSON object")
        except (OSError, ValueError) as err:
            self._reject(key, sidecar, f"unreadable metadata: {err}")
            return None
        if not weights.is_file():
            self._reject(key, weights, "weight file missing")
            return None
        if meta.get("config") != _jsonable(dict(config)):
            self._reject(key, sidecar, "recorded config differs from the requested one")
            return None
        digest = sha256_file(weights)
        if digest != meta.get("sha256"):
            self._reject(
                key, weights, f"sha256 {digest[:12]}... does not match the recorded {str(meta.get('sha256'))[:12]}..."
            )
            return None
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True)
        except Exception as err:  # noqa: BLE001 - any failure means the entry is unusable
            self._reject(key, weights, f"torch.load failed: {err}")
            return None
        if not isinstance(state, dict):
            self._reject(key, weights, "file does not hold a state_dict")
            return None
        return CacheEntry(state_dict=state, meta=meta, weights_path=weights)


def cached_tensors(
    path: str | os.PathLike,
    build: Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    """Load a dict of tensors from ``path`` or build it, save it atomically and return it.

    For decoded data and other derived artefacts. A file that cannot be read is reported
    with a :class:`CacheWarning` and rebuilt.
    """
    target = Path(path)
    if target.is_file():
        try:
            obj = torch.load(target, map_location="cpu", weights_only=True)
            if isinstance(obj, dict):
                return obj
            raise ValueError("not a dict")
        except Exception as err:  # noqa: BLE001
            warnings.warn(f"cached file {target} is unusable ({err}); rebuilding it", CacheWarning, stacklevel=2)
            with contextlib.suppress(FileNotFoundError):
                target.unlink()
    obj = build()
    atomic_torch_save(obj, target)
    return obj
