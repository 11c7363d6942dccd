"""Validated experiment configuration: named profiles plus per-run overrides.

A *profile* is a YAML file in ``book/profiles/`` (``quick``, ``cifar10``, ``paper``).
Every chapter starts from one and may override single values; both go through
:func:`load_profile`, which rejects unknown names, wrong types and out-of-range values
with a message that names the parameter, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from .architectures import ACTIVATIONS, ARCHITECTURES
from .errors import ConfigError

PROFILE_DIR_ENV = "HELPERS_PROFILE_DIR"
KNOWN_OPTIMIZERS = ("adam", "sgd")
KNOWN_DEVICES = ("auto", "cpu", "cuda", "mps")
SIZE_MODES = ("manual", "auto")


@dataclass(frozen=True)
class Profile:
    """Every setting that shapes an experiment of the book.

    Sizes are per model: the target and the shadow model each get ``train_size``
    training images and ``test_size`` held-out images; ``n_members`` of each are used as
    members / non-members when attacks are fitted and evaluated. With ``sizes: auto`` the
    four sizes are chosen from the dataset's counts when the experiment loads its data
    (:func:`helpers.splits.fit_sizes`: the profile's sizes, scaled down until they fit).
    """

    name: str = "custom"
    description: str = ""
    expected_time: str = ""
    dataset: str = "digits"
    data_root: str | None = None
    download: bool = False
    image_size: int | None = None
    classes: tuple[str, ...] | None = None
    heldout_classes: tuple[str, ...] = ()
    architectures: tuple[str, ...] = ("salem_cnn",)
    width: float = 1.0
    widths: Mapping[str, float] = field(default_factory=dict)
    activation: str = "relu"
    optimizer: str = "adam"
    epochs: int = 30
    epochs_per_architecture: Mapping[str, int] = field(default_factory=dict)
    batch_size: int = 64
    learning_rate: float = 1e-3
    learning_rates: Mapping[str, float] = field(default_factory=dict)
    label_smoothing: float = 0.0083
    weight_decay: float = 3e-4
    temperature: float = 10.0
    train_size: int = 500
    test_size: int = 250
    n_members: int = 250
    calibration_size: int = 200
    sizes: str = "manual"
    scale_factor: float = 255.0
    gan_steps: int = 1600
    gan_width: int | None = None
    n_references: int = 16
    replicates: int = 1
    seed: int = 42
    device: str = "auto"
    cpu_threads: int = 2
    train_threads: int | None = None
    cache_dir: str | None = None

    def epochs_for(self, architecture: str) -> int:
        """Training epochs of one architecture (per-architecture override or the default)."""
        return int(self.epochs_per_architecture.get(architecture, self.epochs))

    def width_for(self, architecture: str) -> float:
        """Channel-width multiplier of one architecture (per-architecture override or the default)."""
        return float(self.widths.get(architecture, self.width))

    @property
    def training_threads(self) -> int:
        """Torch CPU threads while training a model or the generator (``train_threads``,
        else ``cpu_threads``)."""
        return int(self.train_threads if self.train_threads is not None else self.cpu_threads)

    def lr_for(self, architecture: str) -> float:
        """Learning rate of one architecture (per-architecture override or the default)."""
        return float(self.learning_rates.get(architecture, self.learning_rate))

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-serialisable view of the profile."""
        out = dataclasses.asdict(self)
        out["learning_rates"] = dict(self.learning_rates)
        out["widths"] = dict(self.widths)
        out["epochs_per_architecture"] = dict(self.epochs_per_architecture)
        for key in ("classes", "heldout_classes", "architectures"):
            if out[key] is not None:
                out[key] = list(out[key])
        return out

    def key(self) -> str:
        """Stable short hash of every value (used to name cached results)."""
        blob = json.dumps(self.to_dict(), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def replace(self, **overrides: Any) -> "Profile":
        """A validated copy with some values changed."""
        return validate({**self.to_dict(), **overrides})


def _positive(x: float) -> bool:
    return x > 0


# parameter -> (allowed python types, check, text that says what is allowed)
_RULES: dict[str, tuple[tuple[type, ...], Any, str]] = {
    "name": ((str,), None, "a string"),
    "description": ((str,), None, "a string"),
    "expected_time": ((str,), None, "a string (how long the whole book takes, for `helpers profiles`)"),
    "dataset": ((str,), lambda v: len(v) > 0, "a dataset name such as 'digits', 'cifar10' or 'imagefolder:PATH'"),
    "data_root": ((str, type(None)), None, "a folder path or null"),
    "download": ((bool,), None, "true or false"),
    "image_size": ((int, type(None)), lambda v: v is None or 4 <= v <= 1024, "null (native size) or an integer from 4 to 1024"),
    "classes": ((list, tuple, type(None)), lambda v: v is None or len(v) >= 2, "null (all classes) or a list of at least two class names"),
    "heldout_classes": ((list, tuple), None, "a list of class names (possibly empty)"),
    "architectures": ((list, tuple), lambda v: len(v) >= 1 and all(a in ARCHITECTURES for a in v), f"a non-empty list drawn from {list(ARCHITECTURES)}"),
    "width": ((int, float), lambda v: 0 < v <= 4, "a number in (0, 4] (channel-width multiplier)"),
    "widths": ((dict,), lambda v: all(k in ARCHITECTURES and isinstance(x, (int, float)) and not isinstance(x, bool) and 0 < x <= 4 for k, x in v.items()), f"a mapping from architecture {list(ARCHITECTURES)} to a width in (0, 4]"),
    "activation": ((str,), lambda v: v in ACTIVATIONS, f"one of {list(ACTIVATIONS)}"),
    "optimizer": ((str,), lambda v: v in KNOWN_OPTIMIZERS, f"one of {list(KNOWN_OPTIMIZERS)}"),
    "epochs": ((int,), lambda v: 1 <= v <= 10_000, "an integer from 1 to 10000"),
    "epochs_per_architecture": ((dict,), lambda v: all(k in ARCHITECTURES and isinstance(x, int) and not isinstance(x, bool) and 1 <= x <= 10_000 for k, x in v.items()), f"a mapping from architecture {list(ARCHITECTURES)} to an integer from 1 to 10000"),
    "batch_size": ((int,), lambda v: 1 <= v <= 65_536, "an integer from 1 to 65536"),
    "learning_rate": ((int, float), lambda v: 0 < v < 10, "a number in (0, 10)"),
    "learning_rates": ((dict,), lambda v: all(k in ARCHITECTURES and isinstance(x, (int, float)) and not isinstance(x, bool) and 0 < x < 10 for k, x in v.items()), f"a mapping from architecture {list(ARCHITECTURES)} to a number in (0, 10)"),
    "label_smoothing": ((int, float), lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "weight_decay": ((int, float), lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "temperature": ((int, float), _positive, "a number > 0"),
    "train_size": ((int,), lambda v: v >= 10, "an integer >= 10"),
    "test_size": ((int,), lambda v: v >= 10, "an integer >= 10"),
    "n_members": ((int,), lambda v: v >= 10, "an integer >= 10"),
    "calibration_size": ((int,), lambda v: v >= 0, "an integer >= 0"),
    "sizes": ((str,), lambda v: v in SIZE_MODES, f"one of {list(SIZE_MODES)} ('manual': train_size, test_size, "
              "n_members and calibration_size as given; 'auto': the same sizes scaled down until they fit "
              "the dataset's counts, chosen when the data are loaded)"),
    "scale_factor": ((int, float), _positive, "a number > 0"),
    "gan_steps": ((int,), lambda v: 1 <= v <= 10_000_000, "an integer from 1 to 10000000 (optimiser steps of the "
                  "attacker's generator, the 'fake' non-member source)"),
    "gan_width": ((int, type(None)), lambda v: v is None or 4 <= v <= 512, "null (16 for images up to 16 px, else 32) "
                  "or an integer from 4 to 512 (base channel width of the attacker's generator)"),
    "n_references": ((int,), lambda v: 2 <= v <= 1024, "an integer from 2 to 1024 (reference models per "
                     "architecture for the reference-model attacks of chapter 8)"),
    "replicates": ((int,), lambda v: 1 <= v <= 100, "an integer from 1 to 100 (independent training runs, "
                   "with derived seeds, of every target and shadow model behind a claim; verdicts pool them)"),
    "seed": ((int,), lambda v: 0 <= v < 2**32, "an integer from 0 to 2**32 - 1"),
    "device": ((str,), lambda v: v in KNOWN_DEVICES, f"one of {list(KNOWN_DEVICES)}"),
    "cpu_threads": ((int,), lambda v: 1 <= v <= 1024, "an integer from 1 to 1024 (torch threads on the CPU; "
                    "it changes the order of floating-point sums, so it is part of every cache key)"),
    "train_threads": ((int, type(None)), lambda v: v is None or 1 <= v <= 1024, "null (the same as cpu_threads) "
                      "or an integer from 1 to 1024 (torch threads while training; part of every model's cache "
                      "key; the runner trains missing models in parallel processes of this many threads each)"),
    "cache_dir": ((str, type(None)), None, "a folder path or null"),
}
assert set(_RULES) == {f.name for f in dataclasses.fields(Profile)}


def validate(values: Mapping[str, Any]) -> Profile:
    """Check every value and build a :class:`Profile`; raise :class:`ConfigError` otherwise."""
    unknown = sorted(set(values) - set(_RULES))
    if unknown:
        raise ConfigError(
            f"unknown parameter(s) {unknown}; allowed parameters are: {sorted(_RULES)}"
        )
    clean: dict[str, Any] = {}
    for key, value in values.items():
        types, check, allowed = _RULES[key]
        is_bool_mismatch = isinstance(value, bool) and bool not in types
        if not isinstance(value, types) or is_bool_mismatch:
            raise ConfigError(
                f"parameter {key!r} has value {value!r} of type {type(value).__name__}; "
                f"allowed: {allowed}"
            )
        if check is not None and not check(value):
            raise ConfigError(f"parameter {key!r} has value {value!r}; allowed: {allowed}")
        if isinstance(value, list):
            value = tuple(value)
        if key in ("width", "learning_rate", "label_smoothing", "weight_decay", "temperature", "scale_factor"):
            value = float(value)
        if key in ("learning_rates", "widths"):
            value = {k: float(x) for k, x in value.items()}
        clean[key] = value
    if "classes" in clean and clean["classes"] is not None:
        clean["classes"] = tuple(str(c) for c in clean["classes"])
    clean["heldout_classes"] = tuple(str(c) for c in clean.get("heldout_classes", ()))
    profile = Profile(**clean)
    if profile.sizes == "manual" and profile.n_members > min(profile.train_size, profile.test_size):
        raise ConfigError(
            f"parameter 'n_members' has value {profile.n_members}; allowed: at most "
            f"min(train_size, test_size) = {min(profile.train_size, profile.test_size)}"
        )
    return profile


def profile_dirs() -> list[Path]:
    """Folders searched for ``NAME.yml``, in order."""
    dirs: list[Path] = []
    if os.environ.get(PROFILE_DIR_ENV):
        dirs.append(Path(os.environ[PROFILE_DIR_ENV]))
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "book" / "profiles").is_dir():
            dirs.append(parent / "book" / "profiles")
            break
    cwd = Path.cwd()
    for candidate in (cwd / "profiles", cwd.parent / "profiles", cwd / "book" / "profiles"):
        if candidate.is_dir() and candidate not in dirs:
            dirs.append(candidate)
    return dirs


def available_profiles() -> list[str]:
    """Names of every profile found on the search path."""
    names = {p.stem for d in profile_dirs() for p in d.glob("*.yml")}
    return sorted(names)


_OVERRIDES_HELP = (
    "a mapping of parameter: value, or its JSON / YAML text, e.g. "
    "-p overrides '{\"train_size\": 40}' or papermill's -y '{\"overrides\": {\"train_size\": 40}}'"
)


def parse_overrides(overrides: Mapping[str, Any] | str | None) -> dict[str, Any]:
    """The overrides as a dict: a mapping as it is, ``None`` or an empty text as ``{}``, and a
    JSON or YAML text of a mapping parsed (papermill's ``-p`` passes text; ``-y`` passes YAML
    that papermill already parsed). Anything else is a :class:`ConfigError`."""
    if overrides is None:
        return {}
    if isinstance(overrides, str):
        text = overrides.strip()
        if not text:
            return {}
        try:
            parsed = yaml.safe_load(text)  # JSON objects are YAML flow mappings
        except yaml.YAMLError as err:
            raise ConfigError(
                f"parameter 'overrides' has value {overrides!r}, which is not valid JSON or YAML "
                f"({str(err).splitlines()[0]}); allowed: {_OVERRIDES_HELP}"
            ) from err
        if not isinstance(parsed, Mapping):
            raise ConfigError(
                f"parameter 'overrides' has value {overrides!r}, text that parses to a "
                f"{type(parsed).__name__}; allowed: {_OVERRIDES_HELP}"
            )
        overrides = parsed
    if not isinstance(overrides, Mapping):
        raise ConfigError(
            f"parameter 'overrides' has value {overrides!r} of type {type(overrides).__name__}; "
            f"allowed: {_OVERRIDES_HELP}"
        )
    bad = [k for k in overrides if not isinstance(k, str)]
    if bad:
        raise ConfigError(f"parameter 'overrides' has key(s) {bad}; allowed: parameter names (strings)")
    return dict(overrides)


def load_profile(
    name: str = "quick",
    overrides: Mapping[str, Any] | str | None = None,
    **more_overrides: Any,
) -> Profile:
    """Load profile ``name`` and apply overrides.

    Keyword overrides whose value is ``None`` are ignored, so a chapter can pass its
    papermill parameters straight through (``dataset=None`` keeps the profile's dataset).
    ``overrides`` is a mapping, or a JSON / YAML text of one (what papermill's
    ``-p overrides '{"train_size": 40}'`` passes; see :func:`parse_overrides`).
    Overriding ``epochs`` alone sets the epochs of every architecture (it clears the
    profile's ``epochs_per_architecture``).
    """
    if not isinstance(name, str) or not name:
        raise ConfigError(f"parameter 'profile' has value {name!r}; allowed: {available_profiles()}")
    path = next((d / f"{name}.yml" for d in profile_dirs() if (d / f"{name}.yml").is_file()), None)
    if path is None:
        raise ConfigError(
            f"parameter 'profile' has value {name!r}; allowed: one of {available_profiles()} "
            f"(files NAME.yml in {[str(d) for d in profile_dirs()]})"
        )
    with open(path, encoding="utf-8") as fh:
        values = yaml.safe_load(fh) or {}
    if not isinstance(values, dict):
        raise ConfigError(f"profile file {path} must hold a mapping of parameter: value")
    values["name"] = name
    overrides = parse_overrides(overrides)
    changes = {**overrides, **{k: v for k, v in more_overrides.items() if v is not None}}
    if "epochs" in changes and "epochs_per_architecture" not in changes:
        changes["epochs_per_architecture"] = {}  # an explicit epoch count applies to every architecture
    values.update(changes)
    return validate(values)
