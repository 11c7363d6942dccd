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
# # 2. Target and shadow models
#
# A membership inference attack needs two ingredients before it can say anything about a
# model: a model to attack (the *target*) and a way to learn what "member" looks like in
# that model's scores. Since the attacker does not know which points the target was
# trained on, it builds a stand-in whose members it does know: a *shadow model*. This
# chapter sets up both, exactly as the rest of the book will use them.
#
# **In this chapter**
# - the threat model and the attack preparation of the paper's Figure 2, drawn as a diagram;
# - the data, the disjoint splits for target and shadow, and example images;
# - the architectures and their sizes;
# - training one target and one shadow model per architecture, with training curves;
# - train and test accuracy of every model, next to the paper's values.

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
dataset = None  # None keeps the profile's dataset (e.g. "cifar10", "imagefolder:PATH")
epochs = None  # None keeps the profile's number of training epochs
seed = None  # None keeps the profile's seed
overrides = (
    {}
)  # any other profile parameter, e.g. {"train_size": 125, "n_members": 125}

# %%
import matplotlib.pyplot as plt
import pandas as pd

from helpers import plots
from helpers.config import load_profile
from helpers.experiment import Experiment
from helpers.notebook import fmt_pct, glue, setup
from helpers.reference import CITATION, paper_model_results

cfg = load_profile(profile, overrides, dataset=dataset, epochs=epochs, seed=seed)
setup(cfg.seed, cfg.cpu_threads)
exp = Experiment(cfg, progress=False)
print(
    f"profile {cfg.name!r}, dataset {cfg.dataset!r}, architectures"
    f" {list(cfg.architectures)}, epochs"
    f" {[cfg.epochs_for(a) for a in cfg.architectures]}, seed {cfg.seed}"
)

# %% [markdown]
# ## The threat model
#
# We follow the setting of Shokri et al. (2017) in the single-shadow-model form of Salem
# et al. (2019), which is also the paper's setting. The attacker
#
# - can query the target model and sees its full vector of prediction scores, nothing else
#   (no weights, no gradients, no training data);
# - owns data from the *same distribution* as the target's training data, disjoint from it;
# - knows the target's *training recipe*: architecture, optimiser, number of epochs,
#   regularisation. This is a worst case for the defender, and it makes the shadow model as
#   similar to the target as an outsider can make it.
#
# The attack is prepared in two steps, drawn below. First the attacker splits its own data
# into a part it trains a shadow model on (the shadow's members) and a part it holds out
# (the shadow's non-members), queries the shadow model on both and so obtains score vectors
# *with known membership*. On these it fits the attack $h$: a threshold on the maximum score
# or on the entropy, or a small classifier on the top three scores. Second, it applies $h$,
# unchanged, to the target model's scores on whatever input it wants to test.

# %%
fig, ax = plt.subplots(figsize=(11, 5.4))
plots.plot_threat_model(ax)
plt.show()

# %% [markdown]
# The second step is where the paper's argument bites. $h$ only ever sees a score vector.
# Chapter 1 showed that a ReLU network's score vector can be pushed to near certainty for
# inputs that have nothing to do with its training data, so "$h$ says member" may just mean
# "the target is confident", and the shadow model offers no protection against that: it
# was fitted on members and non-members drawn from the *same* distribution, so it never saw
# the inputs that fool it.
#
# ## The data and the splits
#
# Everything starts from one labelled image set. The library draws five disjoint *base*
# splits from it with a fixed seed: a training and a test split for the target, the same for
# the shadow, and a calibration split that later chapters use for temperature scaling and
# the Laplace approximation. Inside each training split it then picks the *members* used to
# fit and evaluate attacks, and inside each test split equally many *non-members*.

# %%
data = exp.data
splits = exp.splits

# %% tags=["remove-cell"]
glue("ch2_n_images", f"{len(data):,}")
glue("ch2_n_classes", str(data.num_classes))
glue("ch2_image_shape", f"{data.in_channels} x {data.image_size} x {data.image_size}")
glue("ch2_train_size", f"{exp.profile.train_size:,}")
glue("ch2_test_size", f"{exp.profile.test_size:,}")
glue("ch2_n_members", f"{exp.profile.n_members:,}")

# %%
print(
    f"{cfg.dataset}: {len(data):,} images of {data.in_channels} x {data.image_size} x"
    f" {data.image_size}, {data.num_classes} classes"
)
splits.describe()

# %% [markdown]
# The dataset holds {glue:text}`ch2_n_images` images of shape {glue:text}`ch2_image_shape`
# in {glue:text}`ch2_n_classes` classes. Target and shadow each train on
# {glue:text}`ch2_train_size` images and are tested on {glue:text}`ch2_test_size` others;
# attacks are fitted and scored on {glue:text}`ch2_n_members` members and as many
# non-members per model. (The paper used 12,500 training images per model on CIFAR-10 and
# 2,500 members and non-members.) Because the base splits are disjoint, no image the target
# trained on is ever part of the shadow's data, which is exactly the attacker's situation.
# When a dataset has an official test part (CIFAR-10 does, the digits do not), the test
# splits come from it, as in the paper; the column "drawn from" says where each split came
# from.
#
# A few training images of the target, one column per class:

# %%
x_show, y_show = exp.input_set("target_train")
fig = plots.plot_image_grid(
    data.denormalize(x_show).numpy(), y_show.numpy(), data.classes, per_class=3
)
plt.show()

# %% [markdown]
# ## The architectures
#
# The paper attacks three convolutional networks trained from scratch on CIFAR-10 and a
# ResNet-50 fine-tuned on Stanford Dogs. The book uses the same families, sized to the
# profile (a width multiplier scales every channel count, which keeps the `quick` profile
# trainable on a laptop CPU):
#
# - `salem_cnn`: the small network of Salem et al. (2019), two 5x5 convolution blocks with
#   max-pooling and two fully connected layers;
# - `resnet18`: the CIFAR variant of ResNet-18 (3x3 stem, no initial pooling);
# - `efficientnet_b0`: the CIFAR variant of EfficientNet-B0 (SiLU activations by design);
# - `resnet50`: torchvision's ImageNet-pretrained ResNet-50, fine-tuned (transfer learning).
#
# All but EfficientNet use ReLU activations unless a profile asks otherwise, so the scaling
# theorem of chapter 1 applies to them directly. Their sizes in this profile:


# %%
def n_parameters(model) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


models = (
    exp.models()
)  # every (architecture, role) model: trained now or loaded from the cache
arch_table = pd.DataFrame(
    {
        arch: {
            "parameters": n_parameters(models[(arch, "target")].model),
            "width": cfg.width_for(arch),
            "activation": models[(arch, "target")].config.activation,
            "learning rate": cfg.lr_for(arch),
            "epochs": cfg.epochs_for(arch),
        }
        for arch in cfg.architectures
    }
).T
arch_table.index.name = "architecture"
arch_table.style.format(
    {"parameters": "{:,}", "width": "{:g}", "learning rate": "{:g}"}
)

# %% [markdown]
# ## Training target and shadow
#
# Each architecture is trained twice with the same recipe (the profile's optimiser,
# learning rate, batch size and number of epochs): once on the target's training split and
# once on the shadow's. The two runs start from different random initialisations and see
# different mini-batch orders, so the shadow is an independent model of the same kind,
# not a copy of the target. Trained weights are cached on disk under a key that covers the
# whole recipe and the exact split, so every later chapter reuses them, and a second run of
# this chapter loads them instead of training.
#
# Below, the loss and the training accuracy per epoch (target solid, shadow dashed),
# recorded during training.

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), constrained_layout=True)
for i, arch in enumerate(cfg.architectures):
    colour = plots.PALETTE[i % len(plots.PALETTE)]
    for role, style in (("target", "-"), ("shadow", "--")):
        history = models[(arch, role)].history_frame()
        axes[0].plot(
            history.index,
            history["loss"],
            style,
            color=colour,
            label=f"{arch} ({role})",
        )
        axes[1].plot(
            history.index,
            history["train_accuracy"],
            style,
            color=colour,
            label=f"{arch} ({role})",
        )
axes[0].set_yscale("log")
axes[0].set_ylabel("training loss (log scale)")
axes[1].set_ylabel("training accuracy (running, per epoch)")
for ax in axes:
    ax.set_xlabel("epoch")
axes[1].legend(frameon=False, fontsize=8)
plt.show()

training = pd.DataFrame(
    {
        f"{arch} ({role})": {
            "trained seconds": m.seconds,
            "loaded from cache now": m.from_cache,
            "final training loss": m.history[-1]["loss"] if m.history else float("nan"),
        }
        for (arch, role), m in models.items()
    }
).T
training.style.format({"trained seconds": "{:.1f}", "final training loss": "{:.2g}"})

# %% [markdown]
# The training accuracy in the right panel is measured on the fly, over the mini-batches of
# each epoch while the weights still change; the table below re-measures it with the final
# weights. The loss keeps falling long after the training accuracy has reached its ceiling:
# the models keep growing their logit margins on examples they already classify correctly,
# which is precisely the overconfidence on members that score-based attacks pick up.
#
# ## Train and test accuracy
#
# The gap between accuracy on the training split and accuracy on unseen images is the
# classic signal of membership leakage: the larger it is, the more differently a model
# treats its members.


# %%
def fmt_points(gap: float) -> str:
    """An accuracy difference in percentage points: 0.053 -> '5.3 percentage points'."""
    return f"{100 * gap:.1f} percentage points"


acc = exp.accuracy_table()
acc["target gap"] = acc["target train"] - acc["target test"]
acc["shadow gap"] = acc["shadow train"] - acc["shadow test"]

# %% tags=["remove-cell"]
for arch, row in acc.iterrows():
    glue(f"ch2_{arch}_target_train", fmt_pct(row["target train"]))
    glue(f"ch2_{arch}_target_test", fmt_pct(row["target test"]))
gap_text = ", ".join(
    f"{fmt_points(row['target gap'])} for {arch}" for arch, row in acc.iterrows()
)
glue("ch2_gaps", gap_text)
glue("ch2_min_train", fmt_pct(acc[["target train", "shadow train"]].min().min()))
glue(
    "ch2_max_test_diff",
    fmt_points((acc["target test"] - acc["shadow test"]).abs().max()),
)

# %%
acc.style.format("{:.1%}")

# %% [markdown]
# Every model fits its training split to at least {glue:text}`ch2_min_train`, and the
# target's accuracy gap (train minus test) is {glue:text}`ch2_gaps`. The shadow models
# land close to their targets: their test accuracies differ by at most
# {glue:text}`ch2_max_test_diff`, which is what makes a threshold fitted on the shadow
# transferable to the target.
#
# ### The paper's models
#
# The paper reports the train and test accuracy of its CIFAR-10 target models (values from
# the authors' published result files, {glue:text}`ch2_citation`):

# %%
paper = paper_model_results()
paper = paper[
    (paper.dataset == "cifar10")
    & (paper.variant == "standard")
    & paper.metric.isin(
        [
            "train_accuracy_target",
            "test_accuracy_target",
            "train_accuracy_shadow",
            "test_accuracy_shadow",
        ]
    )
]
paper = paper.pivot(index="architecture", columns="metric", values="value")
paper = paper.rename(
    columns={
        f"{part}_accuracy_{role}": f"{role} {part}"
        for role in ("target", "shadow")
        for part in ("train", "test")
    }
)
paper = paper[
    [
        c
        for c in ["target train", "target test", "shadow train", "shadow test"]
        if c in paper.columns
    ]
]
paper["target gap"] = paper["target train"] - paper["target test"]

# %% tags=["remove-cell"]
glue("ch2_citation", CITATION)
paper.columns.name = None
glue(
    "ch2_paper_gaps",
    ", ".join(f"{fmt_points(g)} for {a}" for a, g in paper["target gap"].items()),
)
if acc["target gap"].max() < paper["target gap"].min():
    comparison = "all of them larger than any gap of this run"
elif acc["target gap"].min() > paper["target gap"].max():
    comparison = "all of them smaller than any gap of this run"
else:
    comparison = "in the same range as the gaps of this run"
glue("ch2_gap_comparison", comparison)

same_data = cfg.dataset == "cifar10"
if same_data:
    shared = [a for a in acc.index if a in paper.index]
    side_by_side = pd.concat(
        {"this run": acc.loc[shared, paper.columns], "paper": paper.loc[shared]}, axis=1
    )
    glue(
        "ch2_dataset_note",
        "This run used CIFAR-10 as the paper did, so the two tables measure the same"
        " quantity; differences come from the training-set size, the number of epochs"
        " and the model width of the profile.",
    )
    display_table = side_by_side
else:
    glue(
        "ch2_dataset_note",
        f"This run used the {cfg.dataset} data, not CIFAR-10: the two tables come from"
        " different datasets and model sizes, and the values of the paper are shown as"
        " context only, not as a target to match.",
    )
    display_table = paper

# %%
display_table.style.format("{:.1%}")

# %% [markdown]
# The paper's CIFAR-10 target models have accuracy gaps of {glue:text}`ch2_paper_gaps`,
# {glue:text}`ch2_gap_comparison`. {glue:text}`ch2_dataset_note`
#
# Why the difference matters for the rest of the book: a large accuracy gap means members
# and non-members look different to the model, so any attack does well. On an easy dataset
# with a small gap, attacks have less to work with, and it becomes easier to see the
# paper's main point: a high score is a weak signal of membership to begin with, and one an
# attacker (or an auditor) can be fooled by.
#
# ## Summary
#
# - The attacker trains a shadow model with the target's recipe on its own data from the
#   same distribution, fits the attack on the shadow's scores of known members and
#   non-members, and applies it unchanged to the target's scores.
# - Target, shadow and calibration data are disjoint splits drawn with a fixed seed; members
#   and non-members are sampled inside each model's training and test split.
# - One target and one shadow model are trained per architecture with the same recipe and
#   cached; every later chapter reuses them.
# - The accuracy gap between training and test data, here {glue:text}`ch2_gaps`, is the
#   overfitting that score-based attacks exploit.
#
# ## Exercises
#
# 1. Re-execute the chapter with `-p epochs 5`. How do the training curves, the accuracy
#    gap and the agreement between target and shadow change?
# 2. Change the seed (`-p seed 7`). The splits, the initialisations and the batch orders
#    all change. Which numbers of the accuracy table move most?
# 3. The threat model assumes the attacker knows the recipe. Train the shadow models with a
#    different architecture from the target (hint: `exp.model(arch, "shadow")` for another
#    `arch`) and keep the question in mind for the attack chapters: does a threshold fitted
#    on a mismatched shadow still transfer to the target?
# 4. With the training splits halved (`-p train_size 125 -p n_members 125`), does the
#    accuracy gap grow? Explain why a smaller training set makes membership inference easier.
