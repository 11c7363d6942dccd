"""One plotting style for the whole book, and the figure types the chapters share."""

from __future__ import annotations

import io

import matplotlib

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

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
    from .metrics import roc

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
                   "temperature": PALETTE[3], "l2": PALETTE[0]}
SET_COLOURS = {"members": PALETTE[1], "test": PALETTE[0], "ood": PALETTE[3]}


def plot_reliability_diagram(ax, probs, labels, n_bins: int = 15, title: str = "", color=None):
    """Reliability diagram: accuracy per confidence bin (bars) against the diagonal.

    The red part of each bar is the gap between the bin's mean confidence and its
    accuracy; ECE and OE (same bins, :mod:`helpers.calibration`) are written in a corner.
    Bar widths are the bins; empty bins are left out.
    """
    from .calibration import expected_calibration_error, overconfidence_error, reliability_table

    t = reliability_table(probs, labels, n_bins)
    t = t[t["count"] > 0]
    width = 1.0 / n_bins
    ax.bar(t["bin_lower"], t["accuracy"], width=width, align="edge", color=color or PALETTE[0],
           edgecolor="black", linewidth=0.5, label="accuracy")
    bottom = np.minimum(t["accuracy"], t["confidence"])
    ax.bar(t["bin_lower"], np.abs(t["gap"]), bottom=bottom, width=width, align="edge",
           color=PALETTE[3], alpha=0.35, edgecolor=PALETTE[3], linewidth=0.5, label="gap to confidence")
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


def plot_score_kde(ax, samples, reference: str | None = None, colors=None, title: str = "",
                   bw_method=None, xlim: tuple[float, float] = (0.0, 1.0)) -> dict[str, float]:
    """Gaussian KDE of 1-D samples (e.g. max scores), with the EMD to ``reference`` in the legend.

    ``samples`` maps a legend name to values. For every other set the earth mover's
    (Wasserstein-1) distance to ``reference`` is computed, appended to its legend entry
    and returned. A set whose values are all equal (no spread for a KDE) is drawn as a
    vertical line. The KDE is evaluated on ``xlim`` only; it is not renormalised there.
    """
    from scipy.stats import gaussian_kde

    from .metrics import earth_movers_distance

    colors = colors or {}
    if reference is not None and reference not in samples:
        raise ValueError(f"parameter 'reference' has value {reference!r}; allowed: one of {list(samples)}")
    grid = np.linspace(*xlim, 400)
    emd: dict[str, float] = {}
    for i, (name, values) in enumerate(samples.items()):
        v = np.asarray(values, dtype=np.float64).ravel()
        label = name
        if reference is not None and name != reference:
            emd[name] = earth_movers_distance(samples[reference], v)
            label = f"{name} (EMD {emd[name]:.3f})"
        color = colors.get(name, PALETTE[i % len(PALETTE)])
        if np.ptp(v) < 1e-9:
            ax.axvline(v[0], color=color, lw=2, label=label + ", all equal")
            continue
        density = gaussian_kde(v, bw_method=bw_method)(grid)
        ax.plot(grid, density, color=color, lw=1.8, label=label)
        ax.fill_between(grid, density, color=color, alpha=0.15)
    ax.set_xlim(*xlim)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("maximum softmax score")
    ax.set_ylabel("density")
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    return emd


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
                  ylabel: str = "attack AUROC") -> None:
    """Scatter of one metric against another, a marker per ``group`` and a colour per ``label``.

    ``table`` is a DataFrame with columns ``x``, ``y``, ``label`` and ``group``; points of
    the same group are joined to their group's ``standard`` point (when there is one) by a
    thin line, so each arrow-like segment shows what a variant changed.
    """
    labels = labels or {}
    markers = ["o", "s", "^", "D", "v", "P"]
    for gi, (g, part) in enumerate(table.groupby(group, sort=False)):
        base = part[part[label] == "standard"]
        for _, row in part.iterrows():
            if len(base) and row[label] != "standard":
                ax.plot([base[x].iloc[0], row[x]], [base[y].iloc[0], row[y]], color="grey", lw=0.6, zorder=1)
            ax.scatter(row[x], row[y], marker=markers[gi % len(markers)], s=60, zorder=2,
                       color=VARIANT_COLOURS.get(row[label], PALETTE[gi]), edgecolors="black", linewidths=0.5)
            ax.annotate(labels.get(row[label], row[label]), (row[x], row[y]), xytext=(5, 4),
                        textcoords="offset points", fontsize=8)
        ax.scatter([], [], marker=markers[gi % len(markers)], color="white", edgecolors="black", label=g)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(frameon=False, title=group, fontsize=8)
