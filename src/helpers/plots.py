"""One plotting style for the whole book, and the figure types the chapters share."""

from __future__ import annotations

import io

import matplotlib

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.lines import Line2D
from matplotlib.patches import FancyBboxPatch
from matplotlib.ticker import FixedLocator, NullFormatter, PercentFormatter
from scipy.stats import gaussian_kde

from .calibration import expected_calibration_error, overconfidence_error, reliability_table
from .metrics import roc

PALETTE = sns.color_palette("colorblind")
ACTIVATION_COLOURS = {"relu": PALETTE[0], "leaky_relu": PALETTE[1], "silu": PALETTE[2], "tanh": PALETTE[3]}


def set_style() -> None:
    """Seaborn's white-grid style with readable font sizes and crisp figures."""
    sns.set_theme(style="whitegrid", context="notebook", palette=PALETTE)
    matplotlib.rcParams.update({"figure.dpi": 100, "savefig.dpi": 120, "savefig.bbox": "tight",
                                "axes.titlesize": 11, "axes.labelsize": 10})


def figure_to_png(fig: "plt.Figure") -> bytes:
    """Render a figure to PNG bytes (for image widgets) and close it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def plot_score_map(ax, grid: dict, points=None, labels=None, title: str = "", vmin: float = 1 / 3):
    """Max-score map of a 2-D classifier with class boundaries and optional training points."""
    mesh = ax.pcolormesh(grid["xx"], grid["yy"], grid["max_score"], cmap="viridis",
                         vmin=vmin, vmax=1.0, shading="auto")
    ax.contour(grid["xx"], grid["yy"], grid["label"], levels=np.arange(grid["label"].max()) + 0.5,
               colors="white", linewidths=0.8)
    if points is not None:
        ax.scatter(points[:, 0], points[:, 1], c=[PALETTE[int(c)] for c in labels], s=6,
                   edgecolors="black", linewidths=0.2)
    ax.set_title(title)
    ax.set_aspect("equal")
    return mesh


def plot_scale_curves(ax, scales, curves: dict, ylabel: str = "mean max score"):
    """One line per model (e.g. per activation) of a statistic against the input scale."""
    for name, values in curves.items():
        ax.plot(scales, values, marker="o", ms=3, label=name, color=ACTIVATION_COLOURS.get(name))
    ax.set_xscale("log")
    ax.set_xlabel("input scale factor")
    ax.set_ylabel(ylabel)
    ax.legend(frameon=False)


# ---------------------------------------------------------------- attacks (chapter 3)
MEMBER_COLOURS = {"member": PALETTE[0], "non-member": PALETTE[1]}


def plot_roc(ax, y_true, score, label: str = "", log: bool = False, color=None, chance: bool = False):
    """ROC curve of one membership score (members = 1), every threshold kept.

    ``log=True`` draws log-log axes for the low-FPR regime; rates of exactly 0 are drawn
    at the axis floor (half of the smallest non-zero rate the sample can realise).
    ``chance=True`` also draws the diagonal of a random guess (once per axes).
    """

    fpr, tpr, _ = roc(y_true, score)
    y = np.asarray(y_true).astype(bool)
    if log:
        fpr_floor, tpr_floor = 0.5 / max(int((~y).sum()), 1), 0.5 / max(int(y.sum()), 1)
        fpr, tpr = np.maximum(fpr, fpr_floor), np.maximum(tpr, tpr_floor)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(fpr_floor, 1.0)
        ax.set_ylim(tpr_floor, 1.05)
        grid = np.logspace(np.log10(min(fpr_floor, tpr_floor)), 0, 50)
    else:
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.01)
        grid = np.linspace(0, 1, 2)
    if chance:
        ax.plot(grid, grid, ls=":", color="grey", lw=1, label="chance")
    (line,) = ax.plot(fpr, tpr, label=label, color=color, lw=1.6)
    ax.set_xlabel("false-positive rate")
    ax.set_ylabel("true-positive rate")
    return line


def plot_member_distributions(ax, member_values, nonmember_values, threshold: float | None = None,
                              xlabel: str = "", log_x: bool = False, bins: int = 30,
                              threshold_label: str = "fitted threshold"):
    """Histograms (density, with KDE) of an attack statistic for members vs non-members.

    ``threshold`` (same units as the values) is drawn as a dashed vertical line.
    """
    values = {"member": np.asarray(member_values, float), "non-member": np.asarray(nonmember_values, float)}
    for name, v in values.items():
        v = v[np.isfinite(v) & (v > 0)] if log_x else v[np.isfinite(v)]
        sns.histplot(v, ax=ax, bins=bins, stat="density", element="step", fill=True, alpha=0.25,
                     kde=len(np.unique(v)) > 1, log_scale=log_x, color=MEMBER_COLOURS[name], label=name)
    if threshold is not None and np.isfinite(threshold):
        ax.axvline(threshold, color="black", ls="--", lw=1.2, label=threshold_label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")


def label_log_odds_axis(ax, probabilities=(0.5, 0.99, 1 - 1e-4, 1 - 1e-6, 1 - 1e-8)) -> None:
    """Tick an x axis in log-odds units ``log(p / (1 - p))`` with the probabilities ``p``."""
    p = np.asarray(probabilities, float)
    ticks = np.log(p) - np.log1p(-p)
    lo, hi = ax.get_xlim()
    keep = (ticks >= lo) & (ticks <= hi)
    labels = [f"{q:g}" if q <= 0.999 else f"1-{1 - q:.0e}".replace("e-0", "e-") for q in p]
    ax.set_xticks(ticks[keep], [l for l, k in zip(labels, keep) if k])


# ------------------------------------------------------------ chapters 5-6: calibration and defences
VARIANT_COLOURS = {"standard": PALETTE[7], "label_smoothing": PALETTE[2], "laplace": PALETTE[4],
                   "temperature": PALETTE[3], "l2": PALETTE[0], "temperature_fitted": PALETTE[8]}
SET_COLOURS = {"members": PALETTE[1], "test": PALETTE[0], "ood": PALETTE[4]}


def plot_reliability_diagram(ax, probs, labels, n_bins: int = 15, title: str = "", color=None):
    """Reliability diagram: accuracy per confidence bin (bars) against the diagonal.

    The hatched box on each bar spans the gap between the bin's accuracy and its mean
    confidence; the small grey bars at the bottom show the share of inputs in each bin.
    ECE and OE (same bins, :mod:`helpers.calibration`) are written in a corner.
    """

    t = reliability_table(probs, labels, n_bins)
    t = t[t["count"] > 0]
    width = 1.0 / n_bins
    ax.bar(t["bin_lower"], t["accuracy"], width=width, align="edge", color=color or PALETTE[0],
           edgecolor="black", linewidth=0.5, label="accuracy")
    bottom = np.minimum(t["accuracy"], t["confidence"])
    ax.bar(t["bin_lower"], np.abs(t["gap"]), bottom=bottom, width=width, align="edge", fill=False,
           hatch="///", edgecolor="#b2182b", linewidth=0.8, label="gap to confidence")
    ax.bar(t["bin_lower"], 0.15 * t["fraction"], width=width, align="edge", color="0.35",
           label="share of inputs (x 0.15)")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1)
    ece = expected_calibration_error(probs, labels, n_bins)
    oe = overconfidence_error(probs, labels, n_bins)
    ax.text(0.04, 0.95, f"ECE {100 * ece:.1f} %\nOE {100 * oe:.1f} %", transform=ax.transAxes,
            va="top", fontsize=9, bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("confidence (max score)")
    ax.set_ylabel("accuracy")
    ax.set_title(title)


def plot_score_kde(ax, samples, colors=None, labels=None, notes=None, title: str = "",
                   bandwidth: float | None = 0.02, xlim: tuple[float, float] = (0.0, 1.0)) -> None:
    """Gaussian KDE of scores in [0, 1] (e.g. max scores), one curve per set.

    ``samples`` maps a set's name to its values; ``colors``, ``labels`` (legend text) and
    ``notes`` (appended to the legend text, e.g. a distance computed beforehand with
    :func:`helpers.comparison.score_distances`) are keyed by the same names. ``bandwidth``
    is the kernel's standard deviation in score units, the same for every set (``None``:
    scipy's Scott rule per set). Scores cannot exceed 1, so the density is reflected at
    ``xlim[1]`` (no mass is lost past the largest possible score). A set without spread is
    drawn as a vertical line.
    """
    colors, labels, notes = colors or {}, labels or {}, notes or {}
    if bandwidth is not None and not bandwidth > 0:
        raise ValueError(f"parameter 'bandwidth' has value {bandwidth!r}; allowed: a number > 0 or None")
    grid = np.linspace(*xlim, 500)
    for i, (name, values) in enumerate(samples.items()):
        v = np.asarray(values, dtype=np.float64).ravel()
        label = labels.get(name, name) + (f" ({notes[name]})" if name in notes else "")
        color = colors.get(name, PALETTE[i % len(PALETTE)])
        spread = float(np.std(v))
        if spread < 1e-12 and bandwidth is None:
            ax.axvline(v[0], color=color, lw=2, label=label + ", all equal")
            continue
        if bandwidth is None:
            kde = gaussian_kde(v)
            density = kde(grid) + kde(2 * xlim[1] - grid)
        else:  # fixed kernel width: a sum of Gaussians, no covariance estimate needed
            z = (grid[:, None] - v[None, :]) / bandwidth
            zr = (2 * xlim[1] - grid[:, None] - v[None, :]) / bandwidth
            density = (np.exp(-0.5 * z**2) + np.exp(-0.5 * zr**2)).mean(axis=1) / (bandwidth * np.sqrt(2 * np.pi))
        ax.plot(grid, density, color=color, lw=1.8, label=label)
        ax.fill_between(grid, density, color=color, alpha=0.15)
    ax.set_xlim(*xlim)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("maximum softmax score")
    ax.set_ylabel("density")
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8, loc="upper left")


def plot_embedding(ax, embedding, groups, colors=None, title: str = "", size: float = 8.0) -> None:
    """Scatter of a 2-D embedding (e.g. t-SNE), one colour per group.

    ``groups`` maps a legend name to the row indices (or a boolean mask) of that group.
    """
    emb = np.asarray(embedding)
    if emb.ndim != 2 or emb.shape[1] != 2:
        raise ValueError(f"parameter 'embedding' has shape {emb.shape}; allowed: (N, 2)")
    colors = colors or {}
    for i, (name, index) in enumerate(groups.items()):
        pts = emb[index]
        ax.scatter(pts[:, 0], pts[:, 1], s=size, alpha=0.7, color=colors.get(name, PALETTE[i % len(PALETTE)]),
                   label=name, edgecolors="none")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8, markerscale=2)


def plot_tradeoff(ax, table, x: str = "ece", y: str = "auroc", label: str = "variant",
                  group: str = "architecture", labels=None, xlabel: str = "expected calibration error (ECE)",
                  ylabel: str = "attack AUROC", log_x: bool = True) -> None:
    """Scatter of one metric against another: a colour per ``label``, a marker per ``group``.

    ``table`` is a DataFrame with columns ``x``, ``y``, ``label`` and ``group``. Each point
    is joined to its group's ``standard`` point (when there is one) by a thin line, so each
    segment shows what a variant changed. ``labels`` maps label values to legend names;
    the legend names colours (variants) and markers (groups). ``log_x`` puts the x axis on
    a log scale (calibration errors span orders of magnitude).
    """

    labels = labels or {}
    markers = ["o", "s", "^", "D", "v", "P"]
    extra = [PALETTE[i] for i in (5, 6, 8, 9)]
    colours = dict(VARIANT_COLOURS)
    for value in table[label].unique():
        if value not in colours:
            colours[value] = extra[len([v for v in colours if v not in VARIANT_COLOURS]) % len(extra)]
    handles = []
    for gi, (g, part) in enumerate(table.groupby(group, sort=False)):
        marker = markers[gi % len(markers)]
        base = part[part[label] == "standard"]
        for _, row in part.iterrows():
            if len(base) and row[label] != "standard":
                ax.plot([base[x].iloc[0], row[x]], [base[y].iloc[0], row[y]], color="grey", lw=0.6, zorder=1)
            is_base = row[label] == "standard"  # drawn larger and underneath, so a variant on top leaves a ring
            ax.scatter(row[x], row[y], marker=marker, s=150 if is_base else 60, zorder=2 if is_base else 3,
                       color=colours[row[label]], edgecolors="black", linewidths=0.6)
        handles.append(Line2D([], [], ls="", marker=marker, color="white", markeredgecolor="black", label=str(g)))
    for value in table[label].unique():
        handles.append(Line2D([], [], ls="", marker="o", color=colours[value], markeredgecolor="black",
                              label=labels.get(value, value)))
    if log_x:

        ax.set_xscale("log")
        lo, hi = float(table[x].min()), float(table[x].max())
        nice = [t for t in (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0) if lo / 1.5 <= t <= hi * 1.5]
        ax.xaxis.set_major_locator(FixedLocator(nice))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=None))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(handles=handles, frameon=False, fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))


# --------------------------------------------------------------------------- chapter 2
def _box(ax, x: float, y: float, w: float, h: float, text: str, colour, *, bold: bool = False) -> tuple[float, float, float, float]:
    """A rounded, labelled box; returns its (x, y, w, h)."""

    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.15",
                                facecolor=(*colour, 0.22), edgecolor=colour, linewidth=1.4))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=9,
            fontweight="bold" if bold else "normal")
    return x, y, w, h


def _arrow(ax, start: tuple[float, float], end: tuple[float, float], text: str = "", *,
           style: str = "-|>", dashed: bool = False, offset: tuple[float, float] = (0.0, 0.15)) -> None:
    """An arrow from ``start`` to ``end`` with an optional label at its middle."""
    ax.annotate("", xy=end, xytext=start,
                arrowprops=dict(arrowstyle=style, color="0.25", lw=1.2, shrinkA=0, shrinkB=0,
                                linestyle="--" if dashed else "-"))
    if text:
        ax.text((start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1], text,
                ha="center", va="bottom", fontsize=8, color="0.2", style="italic")


def plot_threat_model(ax) -> None:
    """The shadow-model attack (Shokri et al. 2017; the paper's Figure 2) as boxes and arrows.

    Top: the attacker prepares the attack on a shadow model whose members it knows. Bottom:
    the attack is applied to the target model, of which only the scores are seen.
    """
    attacker, owner, attack = PALETTE[0], PALETTE[1], PALETTE[2]
    ax.set_xlim(0, 15)
    ax.set_ylim(0, 7.4)
    ax.set_axis_off()
    ax.text(0.1, 7.15, "1  Preparation: the attacker's own data, membership known", fontsize=10,
            fontweight="bold", color=attacker, va="center")
    ax.text(0.1, 2.95, "2  Attack: black-box access to the target's scores", fontsize=10,
            fontweight="bold", color=owner, va="center")
    ax.plot([0.1, 12.4], [3.35, 3.35], color="0.6", lw=0.8, ls=(0, (4, 3)))
    # preparation row
    _box(ax, 0.2, 4.4, 2.3, 1.6, "shadow data\n(same distribution\nas the target's)", attacker)
    _box(ax, 3.4, 5.45, 2.3, 1.05, "shadow train\n= members", attacker)
    _box(ax, 3.4, 3.85, 2.3, 1.05, "shadow test\n= non-members", attacker)
    _box(ax, 6.7, 4.55, 2.3, 1.3, "shadow model\n(target's recipe)", attacker, bold=True)
    _box(ax, 10.0, 4.55, 2.1, 1.3, "scores with\nmember labels", attacker)
    _box(ax, 12.7, 3.1, 2.1, 1.3, "attack $h$\n(threshold\nor classifier)", attack, bold=True)
    _arrow(ax, (2.5, 5.5), (3.4, 5.95), offset=(0, 0))
    _arrow(ax, (2.5, 4.9), (3.4, 4.4), offset=(0, 0))
    _arrow(ax, (5.7, 5.95), (6.7, 5.45), "train, query", offset=(0.0, 0.3))
    _arrow(ax, (5.7, 4.4), (6.7, 4.95), "query", offset=(0.0, -0.55))
    _arrow(ax, (9.0, 5.2), (10.0, 5.2), "scores")
    _arrow(ax, (12.1, 5.2), (13.75, 4.4), "fit", offset=(0.35, 0.0))
    # attack row
    _box(ax, 0.2, 0.6, 2.3, 1.6, "target train data\n(private, members)", owner)
    _box(ax, 3.4, 0.2, 2.3, 1.05, "any input $x$", owner)
    _box(ax, 6.7, 0.7, 2.3, 1.3, "target model", owner, bold=True)
    _box(ax, 10.0, 0.7, 2.1, 1.3, "scores\n$s(x)$", owner)
    _box(ax, 12.7, 0.3, 2.1, 1.1, "member or\nnon-member?", attack)
    _arrow(ax, (2.5, 1.6), (6.7, 1.6), "trained by the owner", offset=(0.0, 0.08))
    _arrow(ax, (5.7, 0.75), (6.7, 1.0), "query", offset=(0.0, -0.5))
    _arrow(ax, (9.0, 1.35), (10.0, 1.35))
    _arrow(ax, (12.1, 1.35), (12.7, 3.45), "apply", offset=(-0.45, 0.0))
    _arrow(ax, (13.75, 3.1), (13.75, 1.4))


def plot_image_grid(images, labels, classes, per_class: int = 4, title: str = ""):
    """A grid of example images, one column per class (``per_class`` rows); returns the figure.

    ``images``: array ``N x C x H x W`` with values in [0, 1] (one or three channels).
    """
    images = np.asarray(images)
    labels = np.asarray(labels)
    n_classes = len(classes)
    fig, axes = plt.subplots(per_class, n_classes, figsize=(0.95 * n_classes, 0.95 * per_class + 0.4),
                             squeeze=False, constrained_layout=True)
    for k in range(n_classes):
        picks = np.flatnonzero(labels == k)[:per_class]
        for row in range(per_class):
            ax = axes[row, k]
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            if row < len(picks):
                img = np.clip(images[picks[row]].transpose(1, 2, 0), 0, 1)
                ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray_r" if img.shape[-1] == 1 else None,
                          vmin=0, vmax=1)
            else:
                ax.set_axis_off()
        axes[0, k].set_title(str(classes[k]), fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


# --------------------------------------------------------------------------- non-member sources (chapter 4)
ATTACK_COLOURS = {"entropy": PALETTE[0], "max_score": PALETTE[1], "top3": PALETTE[2]}
ATTACK_NAMES_SHORT = {"entropy": "Entropy", "max_score": "Max. score", "top3": "Top-3 scores"}


def _as_hwc(image) -> np.ndarray:
    """One image (C x H x W tensor or array, values in [0, 1]) as H x W (grey) or H x W x 3."""
    arr = np.asarray(image.detach().cpu() if hasattr(image, "detach") else image, dtype=np.float32)
    arr = np.clip(arr, 0.0, 1.0)
    return arr[0] if arr.shape[0] == 1 else np.transpose(arr, (1, 2, 0))


def tile_images(images, ncols: int = 8, pad: int = 1, pad_value: float = 1.0) -> np.ndarray:
    """Lay out ``N x C x H x W`` images in [0, 1] row by row into one array (H' x W' [x 3])."""
    arrays = [_as_hwc(im) for im in images]
    if not arrays:
        raise ValueError("parameter 'images' is empty; allowed: at least one image")
    h, w = arrays[0].shape[:2]
    ncols = max(1, min(ncols, len(arrays)))
    nrows = -(-len(arrays) // ncols)
    shape = (nrows * (h + pad) + pad, ncols * (w + pad) + pad) + arrays[0].shape[2:]
    out = np.full(shape, pad_value, dtype=np.float32)
    for i, a in enumerate(arrays):
        r, c = divmod(i, ncols)
        out[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = a
    return out


def plot_image_tiles(ax, images, ncols: int = 8, title: str = "", pad: int = 1) -> None:
    """Draw ``N x C x H x W`` images in [0, 1] as one tiled picture on ``ax`` (grey for 1 channel)."""
    ax.imshow(tile_images(images, ncols=ncols, pad=pad), cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_title(title)
    ax.set_axis_off()


def plot_class_rows(ax, images, labels, class_names, per_class: int = 6, title: str = "") -> None:
    """One row per class: the first ``per_class`` images of each class (``labels[i]`` is the
    class index of ``images[i]``, pixels in [0, 1]), the class name at the row's left. A
    class with fewer images leaves its row's end blank."""
    labels = np.asarray(labels.detach().cpu() if hasattr(labels, "detach") else labels)
    if len(labels) != len(images) or per_class < 1:
        raise ValueError(f"got {len(images)} images, {len(labels)} labels and per_class={per_class!r}; "
                         "allowed: as many labels as images, per_class >= 1")
    blank = np.ones_like(np.asarray(images[0].detach().cpu() if hasattr(images[0], "detach") else images[0]))
    rows = []
    for k in range(len(class_names)):
        chosen = [images[i] for i in np.flatnonzero(labels == k)[:per_class]]
        rows += chosen + [blank] * (per_class - len(chosen))
    pad = 1
    ax.imshow(tile_images(rows, ncols=per_class, pad=pad), cmap="gray", vmin=0.0, vmax=1.0,
              interpolation="nearest")
    side = _as_hwc(rows[0]).shape[0] + pad
    ax.set_yticks([pad + side * k + (side - pad) / 2 for k in range(len(class_names))], list(class_names))
    ax.set_xticks([])
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(title)


def plot_gallery(images, captions, ncols: int = 6, size: float = 1.45, title: str = "", caption_size: float = 8):
    """A figure of single images, each with a caption underneath (e.g. source and max score).

    ``images``: ``N x C x H x W`` in [0, 1]; ``captions``: ``N`` strings. Returns the figure.
    """
    n = len(captions)
    if n == 0 or len(images) != n:
        raise ValueError(f"got {len(images)} images and {n} captions; allowed: as many of each, at least one")
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, (size + 0.35) * nrows), squeeze=False,
                             constrained_layout=True)
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.set_axis_off()
            continue
        ax.imshow(_as_hwc(images[i]), cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_xlabel(captions[i], fontsize=caption_size)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def plot_fpr_bars(ax, tidy, *, metric: str = "fpr", sources=None, attacks=("entropy", "max_score", "top3"),
                  base_variant: str = "standard", overlay_variant: str | None = None,
                  source_labels: dict | None = None, title: str = "", legend: bool = True,
                  ylabel: str | None = None, variant: str | None = None):
    """Grouped bars of one metric (default the FPR): one group per non-member source, one bar
    per attack.

    Parameters
    ----------
    tidy: a tidy table as returned by ``AttackEvaluation.evaluate`` (concatenated), with the
        columns ``source``, ``attack``, ``variant`` and ``metric``; it must hold a single
        architecture (filter it first).
    sources: the groups, in order (default: as they first appear in ``tidy``).
    attacks: the bars within a group (colours from :data:`ATTACK_COLOURS`).
    base_variant: the variant drawn as the ordinary bars.
    overlay_variant: optional second variant (e.g. ``label_smoothing`` or ``laplace``): its
        bars are drawn solid over the base bars, which then become transparent, so the
        change from the base variant reads as the uncovered (or overshooting) part.
    source_labels: display names of the sources.
    variant: shorthand for ``overlay_variant`` (``plot_fpr_bars(ax, part, variant="laplace")``).

    Returns the axes.
    """
    if variant is not None and overlay_variant is not None and variant != overlay_variant:
        raise ValueError(f"parameters 'variant' ({variant!r}) and 'overlay_variant' ({overlay_variant!r}) "
                         "disagree; allowed: give one of them")
    overlay_variant = overlay_variant or (variant if variant != base_variant else None)
    if "architecture" in tidy.columns and tidy["architecture"].nunique() > 1:
        raise ValueError(f"parameter 'tidy' holds architectures {sorted(tidy['architecture'].unique())}; "
                         "allowed: one (filter the table first)")
    for col in ("source", "attack", "variant", metric):
        if col not in tidy.columns:
            raise ValueError(f"parameter 'tidy' has no column {col!r}; allowed: a table from AttackEvaluation.evaluate")
    sources = list(dict.fromkeys(tidy["source"])) if sources is None else list(sources)
    source_labels = source_labels or {}
    values = tidy.groupby(["variant", "source", "attack"])[metric].mean()
    variants = [base_variant] + ([overlay_variant] if overlay_variant else [])
    missing = [v for v in variants if v not in values.index.get_level_values(0)]
    if missing:
        raise ValueError(f"parameter 'tidy' has no rows of variant(s) {missing}; it has "
                         f"{sorted(set(values.index.get_level_values(0)))}")
    n_att = len(attacks)
    width = 0.8 / n_att
    x = np.arange(len(sources))
    for j, attack in enumerate(attacks):
        pos = x - 0.4 + width * (j + 0.5)
        colour = ATTACK_COLOURS.get(attack, PALETTE[j % len(PALETTE)])
        name = ATTACK_NAMES_SHORT.get(attack, attack)
        base = [values.get((base_variant, s, attack), np.nan) for s in sources]
        if overlay_variant is None:
            ax.bar(pos, base, width, color=colour, label=name)
        else:
            ax.bar(pos, base, width, color=colour, alpha=0.3, edgecolor=colour, linewidth=0.6,
                   label=f"{name} ({base_variant})")
            over = [values.get((overlay_variant, s, attack), np.nan) for s in sources]
            ax.bar(pos, over, width * 0.62, color=colour, label=f"{name} ({overlay_variant})")
    ax.set_xticks(x)
    ax.set_xticklabels([source_labels.get(s, s) for s in sources], rotation=30, ha="right")
    ax.set_ylim(0, 1.02)
    ax.set_ylabel(ylabel or ("FPR" if metric == "fpr" else metric))
    ax.set_title(title)
    ax.grid(axis="x", visible=False)
    if legend:
        ax.legend(frameon=False, fontsize=8, ncol=n_att if overlay_variant is None else 2)
    return ax


VERDICT_COLOURS = {"holds": PALETTE[2], "does not hold": PALETTE[3], "inconclusive": "0.45"}


def plot_claim_support(ax, support, title: str = "", labels=None) -> None:
    """One claim's rows (:func:`helpers.claims.support`): a small dot per training replicate
    and the pooled value with its one-sided 95 % margin, coloured by verdict; right of the
    zero line supports the claim."""
    rows = support.reset_index(drop=True)
    for i, r in rows.iterrows():
        reps = np.asarray(r.replicates, dtype=float)
        ax.scatter(reps, np.full(len(reps), i) + 0.18, s=12, color="0.35", zorder=3, linewidths=0)
        colour = VERDICT_COLOURS.get(r.verdict, "0.45")
        ax.errorbar([r.pooled], [i - 0.1], xerr=[[r.margin], [r.margin]], fmt="D", ms=4.5, color=colour,
                    capsize=2.5, lw=1.3, zorder=4)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(labels if labels is not None else [f"{r.architecture} · {r.attack}" for r in rows.itertuples()],
                       fontsize=9)
    ax.set_ylim(len(rows) - 0.5, -0.6)
    ax.tick_params(axis="x", labelsize=9)
    ax.set_title(title, fontsize=10, loc="left")
