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
# # 6. Defences versus calibration
#
# Chapter 5 made the scores *more* informative and watched the attacks improve. Most
# defences against membership inference go the other way: they make the scores of members
# and non-members look alike, which means making the scores say less. This chapter runs two
# such defences, a large softmax temperature and L2 regularisation, through the same
# measurements and puts all five variants of the book side by side. The paper's conclusion
# (its question Q4) is that defending and calibrating pull in opposite directions.
#
# **In this chapter**
# - temperature scaling, both as a defence (a fixed, large $T$) and as a calibration method
#   (a $T$ fitted on held-out data), with a slider over $T$;
# - L2 regularisation (weight decay) as a training-time defence;
# - the paper's Table 2 (defence columns), Figure 4c-d (score densities and earth mover's
#   distances) and Figure 5c (t-SNE of the penultimate features);
# - the trade-off in one picture: calibration error against attack AUROC for every variant.

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
dataset = None  # None keeps the profile's dataset
seed = None  # None keeps the profile's seed
# the fixed temperature of the Temp defence; None keeps the profile's
temperature = None
weight_decay = None  # L2 strength of the L2 defence; None keeps the profile's
# architecture of Figures 4 and 5 and the slider; None: the profile's last
focus_architecture = None
# out-of-distribution source of Figures 4 and 5; None: the first near-OOD one
ood_source = None
overrides = {}  # any other profile parameter, e.g. {"epochs": 10}

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from helpers import plots, widgets
from helpers.calibration import TemperatureScaler, expected_calibration_error
from helpers.comparison import comparison_sets, direction_word, score_distances
from helpers.config import ConfigError, load_profile
from helpers.evaluation import (
    AttackEvaluation,
    change_between,
    count_lower,
    variant_table,
    with_arrows,
)
from helpers.variants import ALL_VARIANTS, VARIANT_LABELS
from helpers.embedding import embedding_silhouettes, penultimate_features, tsne_2d
from helpers.experiment import Experiment
from helpers.metrics import auroc, membership_labels
from helpers.notebook import fmt_pct, glue, setup, show_source
from helpers.reference import CITATION, paper_table2
from helpers.scores import max_log_odds, scores_from_logits

cfg = load_profile(
    profile,
    overrides,
    dataset=dataset,
    seed=seed,
    temperature=temperature,
    weight_decay=weight_decay,
)
setup(cfg.seed, cfg.cpu_threads)
exp = Experiment(cfg, progress=False)
ev = AttackEvaluation(exp)
archs = list(cfg.architectures)
focus = focus_architecture or archs[-1]
if focus not in archs:
    raise ConfigError(
        f"parameter 'focus_architecture' has value {focus!r}; allowed: one of {archs}"
    )
print(
    f"profile {cfg.name!r}, dataset {cfg.dataset!r}, seed {cfg.seed}, architectures"
    f" {archs}, T = {cfg.temperature:g}, weight decay {cfg.weight_decay:g}, focus"
    f" {focus!r}"
)

# %% [markdown]
# ## Temperature scaling
#
# A softmax with **temperature** $T > 0$ divides the logits before normalising:
# $s_k(x; T) = \exp(z_k / T) / \sum_j \exp(z_j / T)$. The predicted class does not change, so
# neither does the accuracy; only the confidence does. For every single input the maximum
# score falls as $T$ grows, because each ratio $s_j / s_{\max} = \exp(-(z_{\max} - z_j)/T)$
# rises towards one, and as $T \to \infty$ every score vector tends to the uniform one,
# $1/K$ per class.
#
# Guo et al. (2017) use temperature as a *calibration* method: fit one $T$ on held-out data
# by minimising the negative log-likelihood. The paper uses it as a *defence*: a fixed large
# $T$ (ten in the paper, `profile.temperature` here), applied to the standard target and to
# the attacker's shadow model alike, squeezes every score towards $1/K$. We compute both. The
# fitted temperature comes from the held-out calibration split, never from data the attacks
# are evaluated on, and is fitted on each architecture's target model (the attacker, who
# knows the recipe, applies the same value to the shadow model). The fit is a
# one-dimensional search over $\log T$ for the lowest negative log-likelihood:

# %%
show_source(TemperatureScaler.fit)

# %%
x_cal, y_cal = exp.input_set("calibration")
fitted_t = {}
for arch in archs:
    logits = ev.predict_scores(arch, "target", "standard", x_cal).logits
    fitted_t[arch] = TemperatureScaler().fit(logits, y_cal.numpy()).temperature
# one evaluation per fitted temperature, on the same models: its 'temperature' variant
# divides the logits by that T
ev_fit = {arch: AttackEvaluation(exp, temperature=fitted_t[arch]) for arch in archs}
t_rows = []
for arch in archs:
    for label, e, t in (
        ("Standard", ev, 1.0),
        ("Temp (fixed)", ev, cfg.temperature),
        ("Temp (fitted)", ev_fit[arch], fitted_t[arch]),
    ):
        m = e.model_metrics(arch, "standard" if label == "Standard" else "temperature")
        t_rows.append(
            {
                "architecture": arch,
                "scores": label,
                "T": t,
                "test accuracy": m["test_accuracy"],
                "ECE": m["ece"],
                "OE": m["oe"],
            }
        )
temps = pd.DataFrame(t_rows).set_index(["architecture", "scores"])

# %% tags=["remove-cell"]
glue("ch6_t_fixed", f"{cfg.temperature:g}")
glue("ch6_t_fitted", ", ".join(f"{a} {t:.2f}" for a, t in fitted_t.items()))
glue(
    "ch6_ece_fixed_t",
    ", ".join(f"{a} {fmt_pct(temps.loc[(a, 'Temp (fixed)'), 'ECE'])}" for a in archs),
)
glue(
    "ch6_ece_fitted_t",
    ", ".join(f"{a} {fmt_pct(temps.loc[(a, 'Temp (fitted)'), 'ECE'])}" for a in archs),
)
glue(
    "ch6_ece_standard",
    ", ".join(f"{a} {fmt_pct(temps.loc[(a, 'Standard'), 'ECE'])}" for a in archs),
)
helped = [
    a
    for a in archs
    if temps.loc[(a, "Temp (fitted)"), "ECE"] < temps.loc[(a, "Standard"), "ECE"]
]
glue(
    "ch6_fit_helped",
    (
        "lowered the test ECE for every architecture"
        if len(helped) == len(archs)
        else (
            "did not lower the test ECE for any architecture"
            if not helped
            else (
                f"lowered the test ECE for {', '.join(helped)} but not for"
                f" {', '.join(a for a in archs if a not in helped)}"
            )
        )
    ),
)

# %%
temps.style.format(
    {"T": "{:.2f}", "test accuracy": "{:.1%}", "ECE": "{:.1%}", "OE": "{:.1%}"}
)

# %% [markdown]
# The temperatures that calibrate the standard models best on held-out data are
# {glue:text}`ch6_t_fitted`: close to one means the model was already nearly calibrated,
# above one means it was overconfident. With the fitted temperature the ECE is
# {glue:text}`ch6_ece_fitted_t`, against {glue:text}`ch6_ece_standard` without: the fit
# {glue:text}`ch6_fit_helped`. (A temperature chosen by likelihood on a couple of hundred
# held-out images need not lower a binned error measured on another split; where the ECE is
# a few per cent to begin with, both are within the noise of the bins.) The defence's
# fixed $T$ = {glue:text}`ch6_t_fixed` is far from any of them and makes the models badly
# *under*confident: ECE {glue:text}`ch6_ece_fixed_t`, and an OE of zero, since no bin is
# more confident than accurate any more.
#
# ### A slider over the temperature
#
# What the temperature does to the attack's view of the data is easiest to see in the
# densities of the maximum score. The slider steps through temperatures for the standard
# {glue:text}`ch6_focus` target; each picture shows the kernel density of the max score of
# its members, its test non-members and an out-of-distribution source, and the earth mover's
# distance (EMD) from the members to each of the other two sets. (The pictures were rendered
# when the chapter was executed, so the slider also works in the static book.)

# %%
sets = comparison_sets(exp, ood_source)
ood_source, n_set = sets.ood_source, sets.n

# %% tags=["remove-cell"]
glue("ch6_focus", focus)
glue("ch6_ood_source", ood_source)

# %%
base_logits = {
    name: ev.predict_scores(focus, "target", "standard", x).logits
    for name, x in sets.x.items()
}
y_test = exp.input_set("target_nonmembers")[1][:n_set].numpy()
slider_t = [0.5, 1.0, 2.0, 5.0, 10.0, 20.0]
pngs, t_rows = [], []
for t in slider_t:
    scored = {
        name: scores_from_logits(z, temperature=t) for name, z in base_logits.items()
    }
    max_scores = {name: s.probs.max(1) for name, s in scored.items()}
    emd = score_distances(max_scores)
    fig, ax = plt.subplots(figsize=(6.4, 3.6), constrained_layout=True)
    plots.plot_score_kde(
        ax,
        max_scores,
        colors=plots.SET_COLOURS,
        labels=sets.labels,
        notes={name: f"EMD {d:.3f}" for name, d in emd.items()},
        title=f"{focus}, standard model, T = {t:g}",
    )
    pngs.append(plots.figure_to_png(fig))
    members, nonmembers = scored["members"], scored["test"]
    y = membership_labels(n_set, n_set)
    t_rows.append(
        {
            "T": t,
            "mean max score (test)": nonmembers.probs.max(1).mean(),
            "ECE (test)": expected_calibration_error(nonmembers.probs, y_test),
            "EMD members vs test": emd["test"],
            "EMD members vs OOD": emd["ood"],
            "max-score AUROC (members vs test)": auroc(
                y, np.r_[max_log_odds(members), max_log_odds(nonmembers)]
            ),
        }
    )
slider_table = pd.DataFrame(t_rows).set_index("T")
widgets.image_stepper(
    [f"{t:g}" for t in slider_t], pngs, description="T", initial=1, width="640px"
)


# %%
def emd_path(column: str) -> str:
    """'a at T=.., peak b at T=.., c at T=..' for one EMD column of the slider table."""
    col = slider_table[column]
    return (
        f"{col.iloc[0]:.3f} at T = {col.index[0]:g}, {col.max():.3f} at T ="
        f" {col.idxmax():g} and {col.iloc[-1]:.3f} at T = {col.index[-1]:g}"
    )


# %% tags=["remove-cell"]
glue("ch6_slider_emd_test", emd_path("EMD members vs test"))
glue("ch6_slider_emd_ood", emd_path("EMD members vs OOD"))
glue(
    "ch6_slider_conf",
    f"{slider_table['mean max score (test)'].iloc[0]:.3f} to "
    f"{slider_table['mean max score (test)'].iloc[-1]:.3f}",
)
glue("ch6_uniform", f"{1 / exp.data.num_classes:.2f}")
glue(
    "ch6_slider_auroc",
    f"{fmt_pct(slider_table['max-score AUROC (members vs test)'].min())} and "
    f"{fmt_pct(slider_table['max-score AUROC (members vs test)'].max())}",
)

# %%
slider_table.style.format({c: "{:.3f}" for c in slider_table.columns})

# %% [markdown]
# As $T$ grows all three densities slide to the left, towards the uniform score
# {glue:text}`ch6_uniform`: the mean max score of the test non-members falls from
# {glue:text}`ch6_slider_conf`. The EMD does not simply fall, though. From the members to the
# test non-members it is {glue:text}`ch6_slider_emd_test`; to the
# {glue:text}`ch6_ood_source` images {glue:text}`ch6_slider_emd_ood`. At small $T$ the
# softmax saturates: members and non-members alike sit at a score of one and the EMD is
# small because the *scores* cannot show a difference that the logits still hold. Moderate
# temperatures un-saturate them and pull the sets apart; only large temperatures squeeze
# everything together again, which is the regime of the paper's defence. The attack's
# *ranking* of the inputs changes much less: the AUROC of the max score, members against test
# non-members, stays between {glue:text}`ch6_slider_auroc` over the whole range. Dividing
# every logit by the same $T$ mostly preserves which input looks more confident; what it
# takes away is the *absolute* meaning of a score, which is what the EMD compares.
#
# ## L2 regularisation
#
# The second defence changes training. **L2 regularisation** adds $\tfrac{\lambda}{2}
# \lVert\theta\rVert^2$ to the loss (here: Adam's coupled `weight_decay`, with $\lambda$ =
# `profile.weight_decay`, as in the paper's code). Small weights keep the logits small and the
# network smoother, which reduces overfitting, the train-test gap that membership inference
# feeds on. Like label smoothing, it is a training variant applied to target and shadow
# models alike.

# %%
train_l2 = exp.train_config(focus, "target", "l2")

# %% tags=["remove-cell"]
glue("ch6_wd", f"{train_l2.weight_decay:g}")
# the paper's L2 factor for its CIFAR-10 models (1e-3 for the ResNet-50)
PAPER_WD = 3e-4
glue(
    "ch6_wd_note",
    (
        "the paper's value for its CIFAR-10 models"
        if np.isclose(train_l2.weight_decay, PAPER_WD)
        else (
            f"not the paper's {PAPER_WD:g} for CIFAR-10: this profile trains for far"
            " fewer epochs, over which the paper's value barely restrains the models,"
            " so it uses a factor that restrains them about as much as the paper's L2"
            " restrained its ResNet-50 (see the profile file for the measurements)"
        )
    ),
)
acc = {v: {a: ev.model_metrics(a, v) for a in archs} for v in ("standard", "l2")}
glue(
    "ch6_l2_acc",
    "; ".join(
        f"{a}: train {fmt_pct(acc['standard'][a]['train_accuracy'])} to"
        f" {fmt_pct(acc['l2'][a]['train_accuracy'])}, test"
        f" {fmt_pct(acc['standard'][a]['test_accuracy'])} to"
        f" {fmt_pct(acc['l2'][a]['test_accuracy'])}"
        for a in archs
    ),
)

# %% [markdown]
# With $\lambda$ = {glue:text}`ch6_wd` ({glue:text}`ch6_wd_note`) the accuracies change as
# follows (standard to L2):
# {glue:text}`ch6_l2_acc`.
#
# ## Table 2: the defence columns
#
# The same layout as in chapter 5: the target's accuracies, ECE and OE, and each attack's
# precision, recall, FPR and AUROC on members vs test non-members, attacks fitted on a shadow
# model of the same variant. An arrow marks a change of at least one percentage point
# against the standard model of the same architecture. The paper's ResNet-50 numbers follow.

# %%
DEFENCES = ["standard", "temperature", "l2"]


table2 = variant_table(ev, archs, DEFENCES)
with_arrows(table2)

# %%
paper2 = paper_table2(DEFENCES).reindex(table2.index)
print(f"Paper, Table 2 (defence columns), {CITATION}:")
with_arrows(paper2)


# %% tags=["remove-cell"]
for variant, key in (("temperature", "temp"), ("l2", "l2")):
    for attack, akey in (
        ("entropy", "entropy"),
        ("max_score", "max"),
        ("top3", "top3"),
    ):
        glue(
            f"ch6_{key}_auroc_{akey}",
            change_between(table2, f"{attack}_auroc", variant),
        )
    glue(
        f"ch6_{key}_auroc_max_lowered",
        count_lower(table2, "max_score_auroc", variant),
    )
    glue(f"ch6_{key}_pre_max", change_between(table2, "max_score_precision", variant))
    glue(f"ch6_{key}_rec_max", change_between(table2, "max_score_recall", variant))
glue(
    "ch6_paper_temp_auroc",
    f"{fmt_pct(paper2.loc['max_score_auroc'].iloc[0])} to "
    f"{fmt_pct(paper2.loc['max_score_auroc'].iloc[1])}",
)
glue(
    "ch6_paper_temp_top3",
    f"{fmt_pct(paper2.loc['top3_auroc'].iloc[0])} to "
    f"{fmt_pct(paper2.loc['top3_auroc'].iloc[1])}",
)
glue(
    "ch6_paper_l2_auroc",
    f"{fmt_pct(paper2.loc['max_score_auroc'].iloc[0])} to "
    f"{fmt_pct(paper2.loc['max_score_auroc'].iloc[2])}",
)

# %% [markdown]
# **Temperature.** In the paper, $T$ = 10 lowered the max-score AUROC of the ResNet-50 from
# {glue:text}`ch6_paper_temp_auroc` and left the top-3 attack almost untouched
# ({glue:text}`ch6_paper_temp_top3`). Here the max-score AUROC moved
# {glue:text}`ch6_temp_auroc_max` (lower for {glue:text}`ch6_temp_auroc_max_lowered`
# architectures), the entropy attack's {glue:text}`ch6_temp_auroc_entropy` and the top-3
# attack's {glue:text}`ch6_temp_auroc_top3`. The slider above explains why the effect is
# modest: the attacks' hard decisions come from a threshold fitted on the shadow model at the
# same temperature, and a temperature changes the *order* of two inputs' max scores only in
# special cases. If one input's logit gaps (its largest logit minus each other logit, sorted)
# are all at least as large as another input's, it stays ahead at every temperature; the
# order can only flip for pairs where neither dominates the other.
#
# **L2.** The paper's L2 model lost a lot of accuracy and most of the attack's power
# (max-score AUROC {glue:text}`ch6_paper_l2_auroc`). Here the max-score AUROC moved
# {glue:text}`ch6_l2_auroc_max` (lower for {glue:text}`ch6_l2_auroc_max_lowered`
# architectures), with precision {glue:text}`ch6_l2_pre_max` and recall
# {glue:text}`ch6_l2_rec_max`. How much L2 helps depends on how strongly $\lambda$ restrains
# the particular model: compare the train accuracies above.
#
# The paper's statements about the two defences, checked with the book's one rule
# (`helpers.claims`, as in chapters 5 and 7: over every training run of the profile, a
# change holds only beyond its one-sided 95 percent margin, which includes how much the runs
# differ, and is inconclusive inside it):

# %%
from helpers.claims import claim_summary, claim_verdicts

DEFENCE_CLAIMS = [
    "temperature_lowers_auroc",
    "l2_lowers_auroc",
    "l2_lowers_precision_and_recall",
]
defence_rows = claim_verdicts(ev, {}, DEFENCE_CLAIMS)
defence_claims = claim_summary(defence_rows).loc[
    DEFENCE_CLAIMS, ["claim", "scope", "checked", "holds", "verdict"]
]

# %% tags=["remove-cell"]
for key, row in defence_claims.iterrows():
    glue(f"ch6_claim_{key}", f"{row.verdict} ({row.holds} of {row.checked} rows hold)")

# %%
defence_claims

# %% [markdown]
# Temperature scaling lowers the AUROC of the entropy and max-score attacks:
# {glue:text}`ch6_claim_temperature_lowers_auroc`. L2 lowers the AUROC:
# {glue:text}`ch6_claim_l2_lowers_auroc`; it lowers precision and recall:
# {glue:text}`ch6_claim_l2_lowers_precision_and_recall`.
#
# ## Figure 4c-d: score densities under the defences
#
# The densities of the maximum score for the fixed-temperature model (c) and the L2 model
# (d), members against test non-members and the same out-of-distribution source as in
# chapter 5, with the standard model on the left for reference (Figure 4a there).

# %%
kde_variants = [("", "standard"), ("c", "temperature"), ("d", "l2")]
fig, axes = plt.subplots(1, 3, figsize=(15, 3.8), constrained_layout=True)
emd = {}
for ax, (letter, variant) in zip(axes, kde_variants):
    values = {
        n: ev.predict_scores(focus, "target", variant, x).probs.max(1)
        for n, x in sets.x.items()
    }
    emd[variant] = score_distances(values)
    name = f"{VARIANT_LABELS[variant]}" + (
        f", T = {cfg.temperature:g}" if variant == "temperature" else ""
    )
    plots.plot_score_kde(
        ax,
        values,
        colors=plots.SET_COLOURS,
        labels=sets.labels,
        notes={n: f"EMD {d:.3f}" for n, d in emd[variant].items()},
        title=(f"({letter}) " if letter else "") + f"{focus}, {name}",
    )
plt.show()

# %%
emd_table = pd.DataFrame(
    {
        VARIANT_LABELS[v]: {
            f"EMD members vs {sets.labels[name]}": d[name] for name in ("test", "ood")
        }
        for v, d in emd.items()
    }
)
emd_table["paper, ResNet-50 (Std / Temp / L2)"] = [
    "0.132 / 0.041 / 0.100 (dogs)",
    "0.223 / 0.077 / 0.189 (AFHQ cats)",
]


# %% tags=["remove-cell"]
for v, e in emd.items():
    glue(f"ch6_emd_{v}_test", f"{e['test']:.3f}")
    glue(f"ch6_emd_{v}_ood", f"{e['ood']:.3f}")
closer = {
    v: sum(emd[v][k] < emd["standard"][k] for k in ("test", "ood"))
    for v in ("temperature", "l2")
}
glue(
    "ch6_emd_closer",
    "; ".join(f"{VARIANT_LABELS[v]}: {n} of 2" for v, n in closer.items()),
)

# %%
emd_table

# %% [markdown]
# The EMD from members to test non-members is {glue:text}`ch6_emd_standard_test` for the
# standard model, {glue:text}`ch6_emd_temperature_test` at the fixed temperature and
# {glue:text}`ch6_emd_l2_test` under L2; to the out-of-distribution images it is
# {glue:text}`ch6_emd_standard_ood`, {glue:text}`ch6_emd_temperature_ood` and
# {glue:text}`ch6_emd_l2_ood`. In the paper both defences moved the distributions closer
# together, the temperature much more than L2. Counting the two distances that shrank
# compared with the standard model gives {glue:text}`ch6_emd_closer`. Where a distance grew
# instead, the reason is the saturation seen with the slider: the standard model gives
# members and non-members alike a score of almost exactly one, so its EMD is already small,
# and anything that un-saturates the scores (a moderate temperature, or L2's smaller
# weights) can pull the densities *apart* before it pushes them together. The EMD compares
# score values, so on a saturated model it understates how different members and
# non-members still are in their logits, which is what the AUROC in Table 2 measures.
#
# ## Figure 5c: the penultimate layer under L2
#
# The t-SNE embedding (two components, PCA initialisation, perplexity 30) of the penultimate
# features of the three sets, for the L2 model and, for reference, the standard model (Figure
# 5a in chapter 5). The temperature does not change the features, so it has no picture of
# its own. As in chapter 5, two silhouette scores summarise each picture: the OOD points
# against everything else, and the members against the test non-members.

# %%
n_tsne = min(
    n_set, 500
)  # points per set in the t-SNE pictures (t-SNE's cost grows faster than linearly)
tsne_sets = {name: x[:n_tsne] for name, x in sets.x.items()}
groups = np.repeat(np.arange(len(tsne_sets)), n_tsne)
fig, axes = plt.subplots(1, 2, figsize=(10, 4.6), constrained_layout=True)
silhouette = {}
for ax, (letter, variant) in zip(axes, [("", "standard"), ("c", "l2")]):
    features = penultimate_features(
        ev.base_model(focus, "target", variant), list(tsne_sets.values())
    )
    embedding = tsne_2d(features, seed=cfg.seed, cache_dir=cfg.cache_dir)
    silhouette[variant] = embedding_silhouettes(embedding, groups)
    plots.plot_embedding(
        ax,
        embedding,
        {sets.labels[name]: groups == i for i, name in enumerate(tsne_sets)},
        colors={sets.labels[name]: c for name, c in plots.SET_COLOURS.items()},
        title=(f"({letter}) " if letter else "")
        + f"{focus}, {VARIANT_LABELS[variant]}",
    )
plt.show()
sil = pd.DataFrame(silhouette)

# %% tags=["remove-cell"]
for key, row in (("ood", "OOD vs the rest"), ("mem", "members vs test non-members")):
    glue(
        f"ch6_sil_{key}",
        f"{sil.loc[row, 'standard']:.2f} (standard) and {sil.loc[row, 'l2']:.2f} (L2)",
    )
    glue(
        f"ch6_sil_{key}_dir",
        direction_word(sil.loc[row, "l2"], sil.loc[row, "standard"]),
    )

# %%
sil.rename(columns=VARIANT_LABELS).style.format("{:.2f}")

# %% [markdown]
# The OOD images separate from the target's own images with a silhouette of {glue:text}`ch6_sil_ood`
# ({glue:text}`ch6_sil_ood_dir` under L2); members against test non-members score
# {glue:text}`ch6_sil_mem` ({glue:text}`ch6_sil_mem_dir`). The paper's Figure 5c showed the
# L2 model's features of members, test non-members and out-of-distribution images
# overlapping more than the standard model's; a lower OOD silhouette under L2 would point
# the same way.
#
# ## The trade-off in one picture
#
# Finally, all five variants of the book, for every architecture: the expected calibration
# error of the target on its test non-members against the AUROC of the max-score attack
# (members vs test non-members). The temperature fitted on the calibration split is added as
# a sixth point. Thin lines connect each variant to the standard model of the same
# architecture.


# %%
def target_point(e: AttackEvaluation, arch: str, variant: str) -> dict:
    """ECE, OE, test accuracy and max-score AUROC of one target model variant.

    The AUROC of the max-score attack needs no threshold, so no shadow model: it
    ranks the target's members against its test non-members by the attack's
    membership score.
    """
    m = e.model_metrics(arch, variant)
    members = e.scores(arch, "target", variant, "target_members")
    nonmembers = e.scores(arch, "target", variant, "target_nonmembers")
    y = membership_labels(len(members), len(nonmembers))
    return {
        "ece": m["ece"],
        "oe": m["oe"],
        "test accuracy": m["test_accuracy"],
        "auroc": auroc(y, np.r_[max_log_odds(members), max_log_odds(nonmembers)]),
    }


rows = []
for arch in archs:
    for variant in ALL_VARIANTS:
        rows.append(
            {
                "architecture": arch,
                "variant": variant,
                **target_point(ev, arch, variant),
            }
        )
    rows.append(
        {
            "architecture": arch,
            "variant": "temperature_fitted",
            **target_point(ev_fit[arch], arch, "temperature"),
        }
    )
tradeoff = pd.DataFrame(rows)
for arch in archs:  # the same AUROC as the shadow-fitted attack's in Table 2 above
    for variant in DEFENCES:
        point = tradeoff[
            (tradeoff.architecture == arch) & (tradeoff.variant == variant)
        ].auroc.iloc[0]
        assert np.isclose(point, table2.loc["max_score_auroc", (arch, variant)])
labels = {**VARIANT_LABELS, "temperature_fitted": "Temp (fitted)"}
fig, ax = plt.subplots(figsize=(8, 4.6), constrained_layout=True)
plots.plot_tradeoff(
    ax,
    tradeoff,
    x="ece",
    y="auroc",
    labels=labels,
    xlabel="expected calibration error (ECE, log scale)",
    ylabel="max-score attack AUROC (members vs test)",
)
plt.show()

# %%
best = tradeoff.loc[tradeoff.groupby("architecture")["auroc"].idxmax()].set_index(
    "architecture"
)
worst = tradeoff.loc[tradeoff.groupby("architecture")["auroc"].idxmin()].set_index(
    "architecture"
)

# %% tags=["remove-cell"]
glue(
    "ch6_best_variant",
    "; ".join(
        f"{a}: {labels[best.loc[a, 'variant']]} ({fmt_pct(best.loc[a, 'auroc'])})"
        for a in archs
    ),
)
glue(
    "ch6_worst_variant",
    "; ".join(
        f"{a}: {labels[worst.loc[a, 'variant']]} ({fmt_pct(worst.loc[a, 'auroc'])})"
        for a in archs
    ),
)
std = tradeoff[tradeoff.variant == "standard"].set_index("architecture")
both_better = [
    f"{a} {labels[v]} (ECE {fmt_pct(std.loc[a, 'ece'])} to {fmt_pct(ece)}, "
    f"AUROC {fmt_pct(std.loc[a, 'auroc'])} to {fmt_pct(auc)})"
    for a, v, ece, auc in tradeoff[
        ["architecture", "variant", "ece", "auroc"]
    ].itertuples(index=False)
    if v != "standard"
    and ece < std.loc[a, "ece"] - 0.005
    and auc < std.loc[a, "auroc"] - 0.005
]
glue("ch6_both_better", "; ".join(both_better) if both_better else "none")
glue("ch6_n_members", f"{len(exp.splits['target_members']):,}")

# %%
view = tradeoff.assign(variant=tradeoff.variant.map(labels)).set_index(
    ["architecture", "variant"]
)
view.style.format("{:.1%}")

# %% [markdown]
# The most vulnerable variant per architecture (highest max-score AUROC) is
# {glue:text}`ch6_best_variant`; the least vulnerable is {glue:text}`ch6_worst_variant`.
# In the paper, the calibrated label-smoothing model is the easiest to attack, and both
# defences sit at a larger calibration error than the calibrated variants and a lower AUROC
# than any other variant. Two effects can blur that picture, and the figure shows whether
# they do in this run. ECE counts under- and overconfidence alike, so where label smoothing
# overshoots, the model turns underconfident and moves *right* while still moving *up*. And a
# fixed temperature is a monotone squeeze of each logit vector, which can cost the attack
# little AUROC even while the ECE grows.
#
# The sharper question is whether anything escapes the trade-off: is any variant both
# *better calibrated* than the standard model (lower ECE, by more than half a percentage
# point) and *harder to attack* (lower max-score AUROC, by the same margin)? In this run:
# {glue:text}`ch6_both_better`. Such a point, if there is one, would contradict the paper's
# conclusion on this profile only as far as its margin reaches; with
# {glue:text}`ch6_n_members` members and as many non-members per set, differences of about a
# percentage point in AUROC are within the noise of a single split and seed (exercise 5).
#
# ## Summary
#
# - Temperature scaling is one knob with two uses: a $T$ fitted on held-out data calibrates,
#   a large fixed $T$ deliberately destroys calibration. A large enough $T$ pulls the
#   max-score distributions together (small EMD); on a saturated model a moderate $T$ first
#   pulls them apart. Either way the order of the inputs mostly survives, so the AUROC of
#   score-based attacks changes less than the pictures suggest.
# - L2 regularisation acts through training; it helps against the attacks to the extent
#   that it reduces overfitting, and it may cost accuracy.
# - Across all variants, a model whose scores are more informative about its own errors
#   tends to be more informative about its training data too: calibration and defences
#   against membership inference pull in opposite directions.
#
# ## Exercises
#
# 1. Move the slider's reasoning into numbers: for which pairs of inputs does the order of
#    the maximum score change between $T = 1$ and $T = 10$? (Hint: compare the ratio of the
#    largest to the second-largest logit gap.)
# 2. Re-execute with `-p weight_decay 0.003`. How do the train accuracy, the ECE and the
#    max-score AUROC change? Is there a $\lambda$ that lowers the AUROC without costing test
#    accuracy?
# 3. The attacker here knows the defence and fits its threshold at the same temperature.
#    Fit the attack on a shadow model *without* temperature and apply it to the target with
#    $T$ = 10. What happens to precision, recall and FPR, and why is this not a real defence?
# 4. Add a seventh point to the trade-off plot: label smoothing *and* a fitted temperature.
#    Where does it land?
# 5. Re-execute the chapter with three other seeds (`-p seed 1`, ...) and put error bars on
#    the trade-off plot. Which differences between variants survive?
