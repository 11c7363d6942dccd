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
