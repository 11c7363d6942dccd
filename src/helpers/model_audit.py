"""Audit a trained model of your own: chapter 8's FPR audit without a shadow model.

An auditor knows which images trained the model, so no shadow model is needed: the
score-based attacks' statistics (the maximum score and the entropy, in the ranked forms of
:mod:`helpers.attacks`) are computed on

* ``members``: images the model trained on (the TPR at each threshold);
* ``calibration``: held-out images of the same distribution; the threshold for a target
  FPR (1 % and 5 %) is set on them with :func:`helpers.audit.threshold_at_fpr`;
* ``test``: other held-out images of the same distribution, the in-distribution source
  (by default half of the held-out folder, the other half being ``calibration``);
* the transformed sources built from ``test`` as chapter 4 builds them (``scaled``,
  ``permuted``, ``unnormalized``), and any folders of other non-member sources.

For each attack, source and target FPR, :func:`helpers.audit.audit` gives the realised FPR
with a Clopper-Pearson interval and flags a source whose FPR is significantly above what
held-out non-members get at that threshold, with the book's multiplicity correction (Holm
over every attack x source x level cell, :func:`helpers.audit.flag_sources`). The
scaling check of Theorem 1 multiplies the test images by growing factors and follows the
maximum score and the max-score attack's FPR.

>>> loaded = load_model("model.pt")                          # TorchScript, or a state dict
>>> result = audit_folders(loaded, "train/", "heldout/", sources={"web": "web/"})
>>> result.write("audit-report")                             # report.md, report.html, CSVs

``python -m helpers audit`` runs the same from the command line (:mod:`helpers.tooling.cli`).
"""

from __future__ import annotations

import base64
import html
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from .architectures import ARCHITECTURES
from .attacks import Attack, make_attack
from .audit import audit, pivot_audit, threshold_at_fpr
from .config import ConfigError
from .data import IMAGEFOLDER_PREFIX, _decode, channel_stats, convert_channels, load_named_dataset, resize_images
from .models import build_model
from .paths import atomic_write_text
from .scores import Scores, scores_from_logits
from .sources import permute_pixels
from .training import predict_logits

AUDIT_ATTACKS = {"max score": "max_score", "entropy": "entropy"}  # chapter 8's names
TRANSFORMS = ("scaled", "permuted", "unnormalized")
SCALE_FACTORS = (1.0, 2.0, 5.0, 10.0, 30.0, 100.0, 255.0)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}


# ------------------------------------------------------------------ the model
@dataclass
class LoadedModel:
    """A model under audit and what is known about its input and output."""

    module: torch.nn.Module
    kind: str  # "torchscript" or "state_dict"
    path: str
    num_classes: int | None = None
    in_channels: int | None = None
    image_size: int | None = None
    config: dict[str, Any] = field(default_factory=dict)


def load_model(path: str | Path, *, architecture: str | None = None, num_classes: int | None = None,
               in_channels: int | None = None, image_size: int | None = None, width: float | None = None,
               activation: str | None = None) -> LoadedModel:
    """Load a TorchScript file, or a state dict plus a registered architecture.

    For a state dict the architecture and its shape (``num_classes``, ``in_channels``,
    ``image_size``, ``width``, ``activation``) come from the arguments, else from a sidecar
    ``NAME.json`` beside the file holding ``{"config": {...}}`` (the book's model cache writes
    one for every model, so a cache entry can be audited as it is).
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(f"parameter 'model' has value {str(path)!r}, which is not a file; allowed: a "
                          "TorchScript file (torch.jit.save) or a state dict (torch.save(model.state_dict()))")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch suggests torch.export; TorchScript is asked for
            module = torch.jit.load(str(p), map_location="cpu")
        return LoadedModel(module.eval(), "torchscript", str(p), num_classes, in_channels, image_size)
    except (RuntimeError, ValueError):
        pass  # not TorchScript: a state dict
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any failure means the file is not a model we can read
        raise ConfigError(f"parameter 'model' has value {str(path)!r}, which torch can read neither as "
                          f"TorchScript nor as a state dict ({err}); allowed: one of the two") from err
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConfigError(f"parameter 'model' has value {str(path)!r}, which holds a {type(state).__name__}, "
                          "not a state dict of tensors; allowed: TorchScript or a state dict")
    sidecar = p.with_suffix(".json")
    config: dict[str, Any] = {}
    if sidecar.is_file():
        try:
            config = dict(json.loads(sidecar.read_text(encoding="utf-8")).get("config") or {})
        except (OSError, ValueError, AttributeError):
            config = {}
    given = {"architecture": architecture, "num_classes": num_classes, "in_channels": in_channels,
             "image_size": image_size, "width": width, "activation": activation}
    spec = {k: (v if v is not None else config.get(k)) for k, v in given.items()}
    spec["width"] = 1.0 if spec["width"] is None else spec["width"]
    spec["activation"] = spec["activation"] or "relu"
    missing = [k for k in ("architecture", "num_classes", "in_channels", "image_size") if spec[k] is None]
    if missing:
        raise ConfigError(f"parameter(s) {missing} are needed for the state dict {str(path)!r} (no sidecar "
                          f"{sidecar.name} names them); allowed: --architecture one of {list(ARCHITECTURES)}, "
                          "--num-classes, --in-channels and --image-size as integers")
    module = build_model(spec["architecture"], int(spec["num_classes"]), int(spec["in_channels"]),
                         int(spec["image_size"]), float(spec["width"]), spec["activation"], pretrained=False)
    try:
        module.load_state_dict(state)
    except RuntimeError as err:
        first = str(err).splitlines()[1:3]
        raise ConfigError(f"parameter 'model' ({str(path)!r}) does not fit architecture {spec['architecture']!r} "
                          f"with {spec['num_classes']} classes, {spec['in_channels']} channel(s), "
                          f"{spec['image_size']} px, width {spec['width']}: {' '.join(first)}; allowed: the "
                          "architecture and sizes the weights were trained with") from err
    return LoadedModel(module.eval(), "state_dict", str(p), int(spec["num_classes"]), int(spec["in_channels"]),
                       int(spec["image_size"]), {**config, **spec})


# ------------------------------------------------------------------ images
@dataclass
class ImageSet:
    """Images in [0, 1] (``N x 3 x H x W``) read from a folder, and its class names when the
    folder holds class sub-folders."""

    pixels: torch.Tensor
    classes: list[str] | None
    folder: str


def read_images(folder: str | Path, parameter: str, *, image_size: int | None = None,
                cache_dir: str | Path | None = None) -> ImageSet:
    """Every image of ``folder`` (class sub-folders, or images directly inside), in [0, 1].

    ``image_size`` resizes (shorter side, then the centre square); without it the images must
    share one size. Errors name ``parameter`` (the command-line option).
    """
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise ConfigError(f"parameter {parameter!r} has value {str(folder)!r}, which is not a folder; allowed: "
                          "a folder of images, or of class sub-folders of images")
    subdirs = [d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")]
    if subdirs:
        data = load_named_dataset(IMAGEFOLDER_PREFIX + str(root.resolve()), image_size=image_size,
                                  mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), cache_dir=cache_dir)
        return ImageSet(data.x, list(data.classes), str(folder))
    files = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ConfigError(f"parameter {parameter!r} has value {str(folder)!r}, a folder without images; "
                          f"allowed: a folder holding image files ({sorted(IMAGE_SUFFIXES)}) or class sub-folders")
    arrays = [_decode(f, image_size) for f in files]
    shapes = sorted({a.shape for a in arrays})
    if len(shapes) > 1:
        raise ConfigError(f"parameter {parameter!r} has value {str(folder)!r} with images of sizes {shapes[:3]}; "
                          "allowed: one size, or --resize to bring them to the model's")
    return ImageSet(torch.from_numpy(np.stack(arrays)).float().div_(255.0), None, str(folder))


def _probe(module: torch.nn.Module, x: torch.Tensor) -> torch.Tensor | None:
    """The model's logits on a few inputs, or ``None`` when it cannot take them."""
    try:
        with torch.no_grad():
            out = module.eval()(x)
    except Exception:  # noqa: BLE001 - any failure: the model does not take this shape
        return None
    return out if isinstance(out, torch.Tensor) and out.ndim == 2 else None


def model_input_shape(model: LoadedModel, sample: torch.Tensor, parameter: str = "members") -> tuple[int, int]:
    """(channels, size) the model takes, checked on two ``sample`` images (in [0, 1]).

    A state dict's shape is known; a TorchScript model is tried on the sample in 3 and in
    1 channel(s). :class:`ConfigError` when the model takes neither.
    """
    size = int(sample.shape[-1])
    if model.in_channels is not None and model.image_size is not None:
        return model.in_channels, model.image_size
    for channels in ((model.in_channels,) if model.in_channels else (3, 1)):
        if _probe(model.module, convert_channels(sample[:2], channels)) is not None:
            return channels, model.image_size or size
    raise ConfigError(f"parameter 'model' ({model.path!r}) fails on the {parameter} images of "
                      f"{size}x{size} pixels in 3 and in 1 channel(s); allowed: images of the size and channel "
                      "count the model takes (--resize brings them to --image-size)")


def prepare(images: ImageSet, parameter: str, channels: int, image_size: int, mean: Sequence[float],
            std: Sequence[float], resize: bool) -> torch.Tensor:
    """Images in the model's preprocessing: its channels and size, normalised with ``mean`` / ``std``."""
    x = images.pixels
    if tuple(x.shape[-2:]) != (image_size, image_size):
        if not resize:
            raise ConfigError(f"parameter {parameter!r} ({images.folder!r}) has images of {x.shape[-1]}x"
                              f"{x.shape[-2]} pixels; allowed: {image_size}x{image_size}, the size the model "
                              "takes (or pass --resize to resize them)")
        x = resize_images(x, image_size)
    x = convert_channels(x, channels)
    m = torch.tensor([float(v) for v in mean], dtype=torch.float32).view(1, -1, 1, 1)
    s = torch.tensor([float(v) for v in std], dtype=torch.float32).view(1, -1, 1, 1)
    return ((x - m) / s).contiguous()


# ------------------------------------------------------------------ scores and the audit
def audit_attacks(members: Scores, calibration: Scores) -> dict[str, Attack]:
    """The audit's attacks by display name. Fitting sets only each attack's own threshold,
    which the audit replaces with its own; the membership score is the attack's (ranked)
    statistic."""
    return {label: make_attack(name, allow_unbalanced=True).fit(members, calibration)
            for label, name in AUDIT_ATTACKS.items()}


def attack_scores(logits_by_set: Mapping[str, torch.Tensor]) -> dict[str, dict[str, np.ndarray]]:
    """``{attack: {set: membership scores}}`` of the audit's attacks from each set's logits.
    ``members`` and ``calibration`` must be among the sets."""
    scores = {name: scores_from_logits(z.double()) for name, z in logits_by_set.items()}
    attacks = audit_attacks(scores["members"], scores["calibration"])
    return {label: {s: attack.membership_score(v) for s, v in scores.items()} for label, attack in attacks.items()}


def transformed_sources(test: torch.Tensor, pixels: torch.Tensor, scale_factor: float = 255.0,
                        seed: int = 0) -> dict[str, torch.Tensor]:
    """Chapter 4's transformed sources of the normalised ``test`` images: ``scaled`` (times
    ``scale_factor``), ``permuted`` (pixel positions shuffled) and ``unnormalized`` (the raw
    ``pixels`` in [0, 1] fed as if normalised)."""
    return {"scaled": test * float(scale_factor), "permuted": permute_pixels(test, seed),
            "unnormalized": pixels.clamp(0, 1)}


@dataclass
class AuditResult:
    """What :func:`run_audit` found: the long audit table, an attack x source view per
    target FPR, the scaling check and the settings that produced them."""

    table: pd.DataFrame
    scaling: pd.DataFrame
    settings: dict[str, Any]

    def view(self, target_fpr: float, value: str = "fpr") -> pd.DataFrame:
        """Attack-by-source cells ``rate [low, high]`` in percent at one target FPR."""
        wide = pivot_audit(self.table, target_fpr, value=value)
        s = self.settings
        wide.columns.name = (f"{value.upper()} in % at thresholds for {100 * target_fpr:g} % FPR "
                             f"[{100 * s['confidence']:g} % Clopper-Pearson interval]")
        return wide

    def tpr(self) -> pd.DataFrame:
        """TPR on the members at each attack's thresholds, with intervals."""
        cols = ["attack", "target_fpr", "threshold", "calibration_fpr", "n_members", "true_positives", "tpr",
                "tpr_ci_low", "tpr_ci_high"]
        return self.table[cols].drop_duplicates(["attack", "target_fpr"]).reset_index(drop=True)

    def summary(self) -> list[str]:
        """Sentences: sources whose FPR is significantly above each target, and the scaling check."""
        lines = []
        for target in self.settings["fprs"]:
            sel = self.table[np.isclose(self.table.target_fpr, target) & self.table.above_target]
            found = ", ".join(f"{r.attack} on {r.source} ({100 * r.fpr:.1f} %)" for r in sel.itertuples())
            lines.append(f"At thresholds set for {100 * target:g} % FPR on held-out non-members, "
                         + (f"significantly more false positives than held-out non-members get (Holm over "
                            f"every cell): {found}." if found else
                            "no source gets significantly more false positives than held-out non-members."))
        s = self.scaling
        lines.append(f"Scaling check (Theorem 1): the median maximum score of the test images goes from "
                     f"{s['median max score'].iloc[0]:.4f} at factor {s['factor'].iloc[0]:g} to "
                     f"{s['median max score'].iloc[-1]:.6f} at {s['factor'].iloc[-1]:g}, and the max-score "
                     f"attack's FPR at its 5 % threshold from {100 * s['max-score FPR at 5 %'].iloc[0]:.1f} % to "
                     f"{100 * s['max-score FPR at 5 %'].iloc[-1]:.1f} %"
                     + (" (the theorem's prediction: scaled inputs look ever more confident)."
                        if s['median max score'].iloc[-1] >= s['median max score'].iloc[0] else
                        " (the scores do not rise: this model does not behave as the theorem predicts)."))
        return lines

    def figure(self) -> bytes:
        """PNG: the FPR of every source per attack at each target, with intervals, and the
        scaling curve."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from .plots import figure_to_png

        fprs = list(self.settings["fprs"])
        fig, axes = plt.subplots(1, len(fprs) + 1, figsize=(4.6 * (len(fprs) + 1), 3.8), constrained_layout=True)
        for ax, target in zip(axes, fprs):
            sel = self.table[np.isclose(self.table.target_fpr, target)]
            sources = list(dict.fromkeys(sel.source))
            for i, attack in enumerate(dict.fromkeys(sel.attack)):
                rows = sel[sel.attack == attack].set_index("source").loc[sources]
                xs = np.arange(len(sources)) + (i - 0.5) * 0.35
                err = np.vstack([rows.fpr - rows.ci_low, rows.ci_high - rows.fpr]) * 100
                ax.bar(xs, rows.fpr * 100, width=0.35, yerr=err, capsize=2, label=attack)
            ax.axhline(100 * target, color="black", ls="--", lw=1)
            ax.set_xticks(np.arange(len(sources)), sources, rotation=30, ha="right")
            ax.set_ylabel("FPR (%)")
            ax.set_title(f"threshold for {100 * target:g} % FPR")
            ax.legend(frameon=False)
        ax = axes[-1]
        ax.plot(self.scaling["factor"], self.scaling["max-score FPR at 5 %"] * 100, marker="o", label="max-score FPR (%)")
        ax.set_xscale("log")
        ax.set_xlabel("input scale factor")
        ax.set_ylabel("FPR at the 5 % threshold (%)")
        ax.set_title("scaling check (Theorem 1)")
        png = figure_to_png(fig)
        plt.close(fig)
        return png

    def to_markdown(self, figure_name: str | None = "audit.png") -> str:
        """The report as Markdown (the figure referenced by file name)."""
        parts = [f"# Membership audit of {self.settings['model']}", "", *self._settings_lines(), ""]
        parts += ["## Summary", "", *(f"- {line}" for line in self.summary()), ""]
        for target in self.settings["fprs"]:
            parts += [f"## FPR per source, thresholds for {100 * target:g} % FPR", "",
                      self.view(target).to_markdown(), ""]
        parts += ["## TPR on the members at the same thresholds", "", _percent(self.tpr()).to_markdown(index=False),
                  "", "## Scaling check", "", _percent(self.scaling).to_markdown(index=False), ""]
        if figure_name:
            parts += [f"![FPR per source and scaling check]({figure_name})", ""]
        return "\n".join(parts)

    def to_html(self) -> str:
        """The report as one self-contained HTML page (the figure embedded)."""
        png = base64.b64encode(self.figure()).decode()
        body = [f"<h1>Membership audit of {html.escape(str(self.settings['model']))}</h1>",
                "<ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in self._settings_lines()) + "</ul>",
                "<h2>Summary</h2><ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in self.summary()) + "</ul>"]
        for target in self.settings["fprs"]:
            body += [f"<h2>FPR per source, thresholds for {100 * target:g} % FPR</h2>", self.view(target).to_html()]
        body += ["<h2>TPR on the members at the same thresholds</h2>", _percent(self.tpr()).to_html(index=False),
                 "<h2>Scaling check</h2>", _percent(self.scaling).to_html(index=False),
                 f'<img alt="FPR per source and scaling check" src="data:image/png;base64,{png}">']
        return ("<!doctype html><html><head><meta charset='utf-8'><title>Membership audit</title></head><body>"
                + "\n".join(body) + "</body></html>")

    def write(self, out_dir: str | Path, formats: Sequence[str] = ("md", "html")) -> list[Path]:
        """Write ``report.md`` / ``report.html``, ``audit.csv``, ``scaling.csv`` and ``audit.png``."""
        bad = [f for f in formats if f not in ("md", "html")]
        if bad or not formats:
            raise ConfigError(f"parameter 'format' has value {list(formats)!r}; allowed: 'md', 'html' or both")
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written = [out / "audit.csv", out / "scaling.csv"]
        atomic_write_text(self.table.to_csv(index=False), written[0])
        atomic_write_text(self.scaling.to_csv(index=False), written[1])
        if "md" in formats:
            (out / "audit.png").write_bytes(self.figure())
            atomic_write_text(self.to_markdown(), out / "report.md")
            written += [out / "audit.png", out / "report.md"]
        if "html" in formats:
            atomic_write_text(self.to_html(), out / "report.html")
            written.append(out / "report.html")
        return written

    def _settings_lines(self) -> list[str]:
        s = self.settings
        sizes = ", ".join(f"{k} {v}" for k, v in s["sizes"].items())
        return [f"model: {s['model']} ({s['kind']}), {s['num_classes']} classes, {s['in_channels']} channel(s), "
                f"{s['image_size']} px",
                f"images: {sizes}",
                f"normalisation: mean {list(s['mean'])}, std {list(s['std'])} ({s['normalisation']})",
                f"attacks: {list(AUDIT_ATTACKS)} (no shadow model: thresholds set on held-out non-members)",
                f"intervals: Clopper-Pearson at {100 * s['confidence']:g} %; a source is flagged when its false "
                f"positives exceed what held-out non-members get at the same threshold, Holm-corrected over the "
                f"{s['n_cells']} attack x source x level cells (helpers.audit)"]


def _percent(frame: pd.DataFrame) -> pd.DataFrame:
    """Rates shown in percent (one decimal) for the reports."""
    out = frame.copy()
    for col in out.columns:
        if any(k in str(col) for k in ("fpr", "tpr", "FPR", "share")) and out[col].dtype.kind == "f":
            out[col] = out[col].map(lambda v: f"{100 * v:.1f} %")
    return out


def run_audit(module: torch.nn.Module, sets: Mapping[str, torch.Tensor], *, pixels_test: torch.Tensor | None = None,
              transforms: Sequence[str] = TRANSFORMS, fprs: Sequence[float] = (0.01, 0.05),
              confidence: float = 0.95, scale_factor: float = 255.0,
              seed: int = 0, settings: Mapping[str, Any] | None = None) -> AuditResult:
    """The audit on prepared (normalised) inputs.

    ``sets`` holds ``members``, ``calibration`` and ``test`` and any other non-member
    source; ``transforms`` are added from ``test`` (``unnormalized`` needs ``pixels_test``,
    the test images in [0, 1]). ``confidence`` is the intervals' level and sets the
    family-wise level of the flags, as in :func:`helpers.audit.audit`.
    """
    for name in ("members", "calibration", "test"):
        if name not in sets or len(sets[name]) == 0:
            raise ConfigError(f"parameter 'sets' lacks a non-empty {name!r} set; allowed: members, calibration, "
                              "test and other sources")
    unknown = [t for t in transforms if t not in TRANSFORMS]
    if unknown:
        raise ConfigError(f"parameter 'transforms' has {unknown}; allowed: a subset of {list(TRANSFORMS)}")
    inputs = dict(sets)
    if transforms:
        built = transformed_sources(sets["test"], pixels_test if pixels_test is not None else sets["test"],
                                    scale_factor, seed)
        inputs.update({t: built[t] for t in transforms if t != "unnormalized" or pixels_test is not None})
    logits = {name: predict_logits(module, x) for name, x in inputs.items()}
    widths = {int(z.shape[1]) for z in logits.values()}
    probs = {name: scores_from_logits(z.double()) for name, z in logits.items()}
    attacks = audit_attacks(probs["members"], probs["calibration"])
    scores = {label: {s: a.membership_score(v) for s, v in probs.items()} for label, a in attacks.items()}
    table = audit(scores, fprs=fprs, confidence=confidence)
    scaling = scaling_check(module, sets["test"], scores["max score"]["calibration"], attacks["max score"])
    info = {**dict(settings or {}), "fprs": tuple(float(f) for f in fprs), "confidence": float(confidence),
            "n_cells": len(table),
            "num_classes": widths.pop() if len(widths) == 1 else sorted(widths)}
    info.setdefault("sizes", {name: int(len(x)) for name, x in inputs.items()})
    return AuditResult(table, scaling, info)


def scaling_check(module: torch.nn.Module, test: torch.Tensor, calibration_keys: np.ndarray, attack: Attack,
                  factors: Sequence[float] = SCALE_FACTORS) -> pd.DataFrame:
    """Theorem 1 on this model: the test images multiplied by each factor; the median maximum
    score, the share whose float32 maximum score is exactly 1, the share that keeps its
    prediction, and the max-score ``attack``'s FPR at the threshold set for 5 % FPR on
    ``calibration_keys`` (its membership scores of the calibration set)."""
    threshold = threshold_at_fpr(calibration_keys, 0.05)
    base_pred = None
    rows = []
    for factor in factors:
        z = predict_logits(module, test * float(factor))
        s: Scores = scores_from_logits(z.double())
        pred = s.probs.argmax(1)
        base_pred = pred if base_pred is None else base_pred
        keys = attack.membership_score(s)
        rows.append({"factor": float(factor), "median max score": float(np.median(s.probs.max(1))),
                     "share max score = 1 (float32)": float(np.mean(s.probs.astype(np.float32).max(1) == 1.0)),
                     "share same prediction": float(np.mean(pred == base_pred)),
                     "max-score FPR at 5 %": float(np.mean(keys >= threshold))})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ folders -> report
def audit_folders(model: LoadedModel, members: str | Path, heldout: str | Path, *,
                  test: str | Path | None = None, sources: Mapping[str, str | Path] | None = None,
                  mean: Sequence[float] | None = None, std: Sequence[float] | None = None, resize: bool = False,
                  transforms: Sequence[str] = TRANSFORMS, fprs: Sequence[float] = (0.01, 0.05),
                  confidence: float = 0.95, scale_factor: float = 255.0,
                  seed: int = 0, cache_dir: str | Path | None = None) -> AuditResult:
    """Read the folders, check them against the model before any scoring, and audit.

    ``heldout`` supplies the calibration images; without ``test`` a seeded half of it is
    the ``test`` source and the other half the calibration set. ``mean`` / ``std`` default
    to the member images' per-channel statistics (say so in the report).
    """
    names = {"members": members, "heldout": heldout, **({"test": test} if test is not None else {}),
             **{f"source {k}": v for k, v in (sources or {}).items()}}
    reserved = {"members", "calibration", "test", *TRANSFORMS} & set(sources or {})
    if reserved:
        raise ConfigError(f"parameter 'source' uses reserved name(s) {sorted(reserved)}; allowed: other names")
    size_for_resize = model.image_size if resize else None
    read = {k: read_images(v, k.replace("source ", "source:"), image_size=size_for_resize, cache_dir=cache_dir)
            for k, v in names.items()}
    channels, image_size = model_input_shape(model, read["members"].pixels)
    if resize and model.image_size is None:
        raise ConfigError("parameter 'resize' needs the model's image size; allowed with a TorchScript model: "
                          "--image-size N as well")
    if mean is None or std is None:
        pixels = convert_channels(read["members"].pixels, channels)
        mean, std = channel_stats(pixels)
        how = "computed from the member images"
    else:
        how = "given"
    mean, std = tuple(float(m) for m in mean), tuple(float(s) for s in std)
    if len(mean) != channels or len(std) != channels or min(std) <= 0:
        raise ConfigError(f"parameters 'mean' {list(mean)} and 'std' {list(std)} do not fit a model of {channels} "
                          "channel(s); allowed: one value per channel, std > 0")
    x = {k: prepare(v, k, channels, image_size, mean, std, resize) for k, v in read.items()}
    probe = _probe(model.module, x["members"][:2])
    if probe is None:
        raise ConfigError(f"parameter 'model' ({model.path!r}) fails on the member images prepared as "
                          f"{channels} x {image_size} x {image_size}; allowed: a classifier that maps N x C x H x W "
                          "images to N x K logits")
    width, classes = int(probe.shape[1]), read["members"].classes
    if classes is not None and len(classes) != width:
        raise ConfigError(f"parameter 'model' outputs {width} scores per image but parameter 'members' has "
                          f"{len(classes)} class folders {classes}; allowed: as many classes as model outputs")
    if width < 2:
        raise ConfigError(f"parameter 'model' outputs {width} score(s) per image; allowed: at least 2 (a softmax "
                          "classifier's logits)")
    px = {k: convert_channels(resize_images(v.pixels, image_size), channels) for k, v in read.items()}
    if test is None:
        n = len(x["heldout"])
        if n < 2:
            raise ConfigError(f"parameter 'heldout' has {n} image(s); allowed: at least 2 (half set thresholds, "
                              "half are the test source), or a separate --test folder")
        order = np.random.default_rng(seed).permutation(n)
        cal_idx, test_idx = np.sort(order[: n // 2]), np.sort(order[n // 2:])
        sets = {"members": x["members"], "calibration": x["heldout"][cal_idx], "test": x["heldout"][test_idx]}
        pixels_test = px["heldout"][test_idx]
    else:
        sets = {"members": x["members"], "calibration": x["heldout"], "test": x["test"]}
        pixels_test = px["test"]
    for k in names:
        if k.startswith("source "):
            sets[k[len("source "):]] = x[k]
    settings = {"model": model.path, "kind": model.kind, "in_channels": channels, "image_size": image_size,
                "mean": mean, "std": std, "normalisation": how}
    return run_audit(model.module, sets, pixels_test=pixels_test, transforms=transforms, fprs=fprs,
                     confidence=confidence, scale_factor=scale_factor, seed=seed, settings=settings)


__all__ = ["AUDIT_ATTACKS", "TRANSFORMS", "LoadedModel", "ImageSet", "AuditResult", "load_model", "read_images",
           "model_input_shape", "prepare", "attack_scores", "transformed_sources", "run_audit", "scaling_check",
           "audit_attacks", "audit_folders"]
