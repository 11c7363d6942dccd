# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 1. Overconfidence and the scaling theorem
#
# A score-based membership inference attack reads a model's softmax vector and says
# "member" when the model looks sure of itself. This chapter shows why that rule is
# fragile from the ground up: for a network built from ReLU units, *any* input can be
# made to look maximally sure of itself just by multiplying it with a large number. We
# state the result, prove it, and then watch it happen on a network small enough to draw.
#
# **In this chapter**
# - the theorem and a short proof;
# - a 2-D classifier whose confidence map we can see at several input scales;
# - the maximum score along many random directions for ReLU, leaky ReLU, SiLU and tanh,
#   and why the bounded activation behaves differently.

# %% tags=["remove-cell"]
# Setup: installs the project in Google Colab; does nothing elsewhere.
import importlib.util
import os
import subprocess
import sys

REPO_URL = "https://github.com/mia-overconfidence/trust-prediction-scores-book"
IN_COLAB = "google.colab" in sys.modules
if IN_COLAB and importlib.util.find_spec("helpers") is None:
    subprocess.run(
        ["git", "clone", "--depth", "1", REPO_URL, "/content/book"], check=True
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "-e", "/content/book[laplace]"],
        check=True,
    )
    sys.path.insert(0, "/content/book/src")
    os.chdir("/content/book/book/chapters")

# %% tags=["parameters"]
profile = "quick"  # name of a file in book/profiles/
seed = None  # None keeps the profile's seed
n_directions = 500  # random directions probed in the 2-D experiment
# any other profile parameter, e.g. {"epochs": 10} (for the image-classifier section)
overrides = {}

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from helpers import plots, toy, widgets
from helpers.config import load_profile
from helpers.notebook import fmt_pct, glue, setup

cfg = load_profile(profile, overrides, seed=seed)
setup(cfg.seed, cfg.cpu_threads)
print(f"profile {cfg.name!r}, seed {cfg.seed}")

# %% [markdown]
# ## The theorem
#
# Let $f:\mathbb{R}^m \to \mathbb{R}^d$ be the logit function of a classifier made of affine
# layers and (leaky) ReLU activations; max-pooling and batch normalisation at inference time
# are allowed too, because they are also piecewise affine. Let $s(x) = \operatorname{softmax}(f(x))$
# be its score vector, and let an attack call $x$ a member whenever $\max_i s_i(x)$ is at
# least some threshold $\tau < 1$ (or, equivalently for our purpose, whenever the entropy of
# $s(x)$ is below some positive threshold).
#
# **Theorem (after Hintersdorf et al., 2022, Theorem 1; the condition is Hein et al.'s,
# CVPR 2019).** Suppose that on every unbounded linear region of $f$ (defined in the
# proof) the matrix $A$ of the affine map $f(z) = Az + b$ has pairwise distinct rows. Then
# for almost every input $x \in \mathbb{R}^m$ there is an $\alpha_0$ such that every scaled
# copy $\alpha x$ with $\alpha > \alpha_0$ is called a member.
#
# **Proof.** Each ReLU unit is affine on either side of a hyperplane, so $f$ is affine on
# each cell of a partition of $\mathbb{R}^m$ into finitely many convex polytopes (its
# *linear regions*). Follow the ray $\{\alpha x : \alpha > 0\}$. It meets each polytope in
# an interval (convexity), there are finitely many of them, and they cover the ray, so one
# of these intervals is unbounded: beyond some $\alpha_0$ the ray stays inside a single
# region $Q$, where $f(z) = Az + b$. For $\alpha > \alpha_0$ the logit gap between classes
# $k$ and $j$ is therefore
#
# $$ f_k(\alpha x) - f_j(\alpha x) = \alpha\,(a_k - a_j)^\top x + (b_k - b_j), $$
#
# a straight line in $\alpha$. Two entries of $Ax$ can tie for the largest value only if
# $x$ lies on the hyperplane $(a_k - a_j)^\top x = 0$ for two distinct rows $a_k \ne a_j$
# (the condition), and finitely many regions give finitely many such hyperplanes: a set
# of measure zero. Off it, one class $k$ has a strictly positive slope against every other
# class, all gaps to $k$ grow without bound, and
# $s_k(\alpha x) = 1 / \bigl(1 + \sum_{j\ne k} e^{-(f_k - f_j)}\bigr) \to 1$. The maximum
# score passes any $\tau < 1$ and the entropy falls below any positive threshold. $\square$
#
# The condition is not a formality. If every unit of some hidden layer is inactive on an
# unbounded region (a "dead" region), then $A = 0$ there: the logits are constant on a cone
# of positive measure, and the maximum score never moves however far the input is scaled.
# Small networks can have such regions; trained image classifiers rarely do in the
# directions of real inputs, which is what the experiments below measure.
#
# Three remarks. First, nothing in the proof mentions training data: the score of a scaled
# input says nothing about membership. Second, the proof needs the network to be
# *asymptotically linear along rays*. Activations such as SiLU ($t\,\sigma(t)$) are not piecewise
# affine, but they approach $t$ for large $t$ and $0$ for very negative $t$, so we should
# expect the same behaviour in practice. A bounded activation such as $\tanh$ is different:
# the last hidden layer is then bounded, so the logits are bounded, and the maximum score
# stays below one along most rays. Third, the statement is about the limit: how large
# $\alpha$ must be depends on the input and the network.

# %% [markdown]
# ## A classifier we can draw
#
# Three Gaussian blobs in the plane and a two-hidden-layer network with 64 units per layer.
# `toy.train_toy` trains it full-batch with Adam for a few hundred steps, which takes about
# a second on a CPU. We train the same network with four activations.

# %%
x_toy, y_toy = toy.make_blobs_2d(n=600, seed=cfg.seed)
activations = ["relu", "leaky_relu", "silu", "tanh"]
toy_models = {a: toy.train_toy(a, x_toy, y_toy, seed=cfg.seed) for a in activations}
toy_accuracy = {
    a: float((m(x_toy).argmax(1) == y_toy).float().mean())
    for a, m in toy_models.items()
}
pd.Series(toy_accuracy, name="training accuracy").to_frame().style.format("{:.1%}")

# %% [markdown]
# The figure below colours every point of the plane by the maximum softmax score the ReLU
# network gives it; white lines separate the predicted classes. The left panel is the
# region around the data. The other panels show the *same* grid of inputs, each multiplied
# by the factor in the title, so they look at ever larger circles around the origin.

# %%
map_scales = [1, 10, 100]
fig, axes = plt.subplots(2, len(map_scales), figsize=(10, 6.6), constrained_layout=True)
for row, activation in enumerate(["relu", "tanh"]):
    for col, scale in enumerate(map_scales):
        grid = toy.score_map(
            toy_models[activation], extent=5.0, resolution=160, scale=scale
        )
        mesh = plots.plot_score_map(
            axes[row, col],
            grid,
            points=x_toy.numpy() if scale == 1 else None,
            labels=y_toy.numpy(),
            title=f"{activation}, inputs x {scale}",
        )
fig.colorbar(mesh, ax=axes, shrink=0.8, label="maximum softmax score")
plt.show()

# %% [markdown]
# For ReLU, the confident (yellow) area grows with the scale until almost the whole plane is
# yellow: far from the origin the network is certain about everything, and the class
# boundaries become straight rays from the origin, as the proof predicts. The tanh network
# keeps darker wedges at every scale.
#
# The slider below steps through more scales for the ReLU network (the pictures were
# rendered when the chapter was executed, so the slider also works in the static book).

# %%
slider_scales = [1, 2, 5, 10, 20, 50, 100, 1000]
pngs = []
for scale in slider_scales:
    fig, ax = plt.subplots(figsize=(4.6, 4.0), constrained_layout=True)
    grid = toy.score_map(toy_models["relu"], extent=5.0, resolution=120, scale=scale)
    mesh = plots.plot_score_map(ax, grid, title=f"ReLU network, inputs x {scale}")
    fig.colorbar(mesh, ax=ax, label="maximum softmax score")
    pngs.append(plots.figure_to_png(fig))
widgets.image_stepper(
    [str(s) for s in slider_scales], pngs, description="scale", initial=3, width="460px"
)

# %% [markdown]
# ## The maximum score along random rays
#
# Now the quantitative version. We draw unit vectors $u$ in many random directions and
# compute the maximum score of $\alpha u$ for growing $\alpha$. The left panel shows the
# mean maximum score, the right one the fraction of directions in which the score reaches
# 0.99, a threshold that any score-based attack would treat as "member".

# %%
scales = np.logspace(0, 3, 13)
directions = toy.random_directions(n_directions, seed=cfg.seed)
ray_scores = {
    a: toy.max_score_along_rays(m, directions, scales) for a, m in toy_models.items()
}
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), constrained_layout=True)
plots.plot_scale_curves(
    axes[0], scales, {a: s.mean(axis=1) for a, s in ray_scores.items()}
)
plots.plot_scale_curves(
    axes[1],
    scales,
    {a: (s >= 0.99).mean(axis=1) for a, s in ray_scores.items()},
    ylabel="fraction with max score >= 0.99",
)
plt.show()

# %%
summary = pd.DataFrame(
    {
        a: {
            "mean max score, scale 1": s[0].mean(),
            "mean max score, scale 1000": s[-1].mean(),
            "share >= 0.99, scale 1": (s[0] >= 0.99).mean(),
            "share >= 0.99, scale 1000": (s[-1] >= 0.99).mean(),
        }
        for a, s in ray_scores.items()
    }
).T

# %% tags=["remove-cell"]
for a in activations:
    glue(f"ch1_share99_{a}_1", fmt_pct((ray_scores[a][0] >= 0.99).mean()))
    glue(f"ch1_share99_{a}_1000", fmt_pct((ray_scores[a][-1] >= 0.99).mean()))

# %%
summary.style.format("{:.3f}")

# %% [markdown]
# At the data's own scale, {glue:text}`ch1_share99_relu_1` of the random directions reach a
# ReLU score of 0.99; at a thousand times that scale, {glue:text}`ch1_share99_relu_1000` do.
# Leaky ReLU ({glue:text}`ch1_share99_leaky_relu_1000`) and SiLU
# ({glue:text}`ch1_share99_silu_1000`) behave the same way, as the remark above predicted.
# The tanh network stops at {glue:text}`ch1_share99_tanh_1000`: its logits are bounded, so
# along the rays where the winning class does not dominate the bounded last hidden layer,
# the score never gets close to one.
#
# ## Why the logits grow linearly
#
# The proof's key step is that, far enough out, the ray stays in one linear region and
# every logit is an affine function of $\alpha$. We can check that directly: along one
# direction, the second differences of the logits with respect to $\alpha$ vanish
# (up to floating-point error) once $\alpha$ is large, for ReLU but not for tanh.

# %%
alphas = np.linspace(50, 500, 46)
u = directions[:1]
curvature = {}
for a in ["relu", "tanh"]:
    with torch.no_grad():
        logits = (
            toy_models[a](torch.tensor(alphas, dtype=torch.float32)[:, None] * u)
            .double()
            .numpy()
        )
    gaps = logits.max(axis=1) - np.sort(logits, axis=1)[:, -2]
    curvature[a] = {
        "logit gap at alpha=50": gaps[0],
        "logit gap at alpha=500": gaps[-1],
        "max |second difference| of logits": np.abs(np.diff(logits, n=2, axis=0)).max(),
    }
pd.DataFrame(curvature).T.style.format("{:.3g}")

# %% [markdown]
# For ReLU the gap between the two largest logits keeps growing in proportion to $\alpha$
# while the second differences are at the level of float32 rounding; for tanh the gap
# levels off. That is the whole theorem in two numbers.
#
# ## The theorem on trained image classifiers
#
# The toy network has two inputs; the models the rest of the book attacks have hundreds or
# thousands. The theorem does not care: a convolutional network with ReLU units, max-pooling
# and batch normalisation (in eval mode) is still piecewise affine in its input. We take the
# profile's *target* models (the same cached models that chapter 2 trains and later chapters
# attack), feed them their own test images (non-members, which the model never saw),
# multiply every image by a factor between 1 and 10,000, and count how many of them get a
# maximum score of at least 0.99. The factor multiplies the input *as the network sees it*,
# i.e. after the usual per-channel normalisation.
#
# For the smooth comparison we also train a SalemCNN whose activations are all SiLU, with
# otherwise the identical recipe and data (one extra small model, cached like the others).

# %%
from helpers.experiment import Experiment
from helpers.training import predict_logits

exp = Experiment(cfg, progress=False)
exp_silu = Experiment(cfg.replace(activation="silu"), progress=False)
x_test, y_test = exp.input_set("target_nonmembers")
image_scales = np.logspace(0, 4, 9)


def share_confident(model, x, scales, threshold=0.99):
    """Fraction of the inputs whose maximum softmax score is >= threshold, per scale."""
    out = []
    for s in scales:
        probs = torch.softmax(predict_logits(model, x * float(s)).double(), dim=1)
        out.append(float((probs.max(dim=1).values >= threshold).float().mean()))
    return np.array(out)


image_models = {}
for arch in cfg.architectures:
    trained = exp.model(arch)
    image_models[f"{arch} ({trained.config.activation})"] = trained.model
image_models["salem_cnn (silu)"] = exp_silu.model("salem_cnn").model
image_curves = {
    name: share_confident(m, x_test, image_scales) for name, m in image_models.items()
}

fig, ax = plt.subplots(figsize=(6.4, 3.6), constrained_layout=True)
for i, (name, curve) in enumerate(image_curves.items()):
    ax.plot(
        image_scales,
        curve,
        marker="o",
        ms=3,
        label=name,
        color=plots.PALETTE[i % len(plots.PALETTE)],
        ls="--" if "silu" in name else "-",
    )
ax.set_xscale("log")
ax.set_xlabel("input scale factor")
ax.set_ylabel("share of test images with max score >= 0.99")
ax.set_ylim(-0.02, 1.02)
ax.legend(frameon=False, loc="lower right")
plt.show()

image_summary = pd.DataFrame(
    {
        name: {
            "test accuracy (scale 1)": float(
                (predict_logits(image_models[name], x_test).argmax(1) == y_test)
                .float()
                .mean()
            ),
            "share >= 0.99, scale 1": c[0],
            "share >= 0.99, scale 10,000": c[-1],
        }
        for name, c in image_curves.items()
    }
).T
relu_names = [n for n in image_curves if "(relu)" in n]

# %% tags=["remove-cell"]
glue(
    "ch1_images_relu_1",
    ", ".join(f"{fmt_pct(image_curves[n][0])} ({n.split(' ')[0]})" for n in relu_names),
)
glue(
    "ch1_images_relu_max",
    ", ".join(
        f"{fmt_pct(image_curves[n][-1])} ({n.split(' ')[0]})" for n in relu_names
    ),
)
glue("ch1_images_silu_1", fmt_pct(image_curves["salem_cnn (silu)"][0]))
glue("ch1_images_silu_max", fmt_pct(image_curves["salem_cnn (silu)"][-1]))
glue("ch1_images_n", str(len(x_test)))

# %%
image_summary.style.format("{:.1%}")

# %% [markdown]
# At their natural scale, the share of the {glue:text}`ch1_images_n` test images that the
# ReLU target models score at 0.99 or more is {glue:text}`ch1_images_relu_1`; multiplied by
# 10,000 it is {glue:text}`ch1_images_relu_max`. The SiLU network goes from
# {glue:text}`ch1_images_silu_1` to {glue:text}`ch1_images_silu_max`, as the remark after
# the proof predicted for asymptotically linear activations. A scaled image is not a
# realistic photograph, but it is a perfectly valid input to the model, and nothing in the
# score vector tells a score-based attack that it is unusual. Seen through the maximum score
# alone, these non-members look like the most confident "members" of all.
#
# ## Summary
#
# - A ReLU network is piecewise affine; along almost every ray it eventually becomes
#   affine, so its largest logit gap grows linearly and the maximum softmax score tends to 1.
# - Any attack that equates a high maximum score (or a low entropy) with membership
#   therefore calls scaled-up non-members "members": its false-positive rate can be pushed
#   as close to one as the attacker (or an auditor) likes.
# - Asymptotically linear smooth activations (SiLU) behave the same way in practice;
#   bounded ones (tanh) keep the score below one along many rays.
# - The same holds for the trained image classifiers of the book: multiplying their own test
#   images by 10,000 makes the ReLU target models near-certain on
#   {glue:text}`ch1_images_relu_max` of them.
#
# ## Exercises
#
# 1. Replace the blobs by `sklearn.datasets.make_moons` (two classes). Does the share of
#    directions reaching 0.99 at scale 1000 change? Why can it not be every direction?
# 2. Add a final `tanh` *after* the last linear layer (bounded logits) to the ReLU network.
#    Derive the largest maximum score it can ever output with three classes.
# 3. The theorem says "almost every input". Construct, for the trained ReLU network, a
#    direction along which the maximum score does **not** tend to one. (Hint: look for a
#    ray that stays on a class boundary.)
# 4. Re-execute this chapter with `-p seed 7` and compare the table. Which numbers move?
# 5. The image experiment scales the *normalised* input. Scale the raw image instead
#    (pixel values in $[0, 1]$, `exp.data.denormalize(x)`), then normalise with
#    `exp.data.mean` and `exp.data.std`. The network now sees $\alpha a + b$ rather than
#    $\alpha x$. Does the share of confident images still approach one? Adapt the proof.
# 6. Train a SalemCNN with `activation="tanh"` through
#    `Experiment(cfg.replace(activation="tanh")).model("salem_cnn")` and add it to the
#    image figure. Is its maximum score bounded away from one, as in the toy experiment?
