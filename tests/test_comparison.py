"""The three comparison sets of Figures 4-5, their distances, and display labels."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from scipy.stats import wasserstein_distance  # noqa: E402

from helpers import plots  # noqa: E402
from helpers.comparison import (  # noqa: E402
    choose_ood_source,
    comparison_sets,
    direction_word,
    score_distances,
)
from helpers.config import ConfigError  # noqa: E402
from helpers.evaluation import change_between, count_lower, with_arrows  # noqa: E402
from helpers.experiment import Experiment  # noqa: E402
from helpers.labels import fmt_pct, labelled, row_label  # noqa: E402
from helpers.sources import SOURCES, available_sources  # noqa: E402


@pytest.fixture(scope="module")
def exp():
    return Experiment("digits", progress=False)


def test_the_ood_source_prefers_near_then_far_ood(exp):
    chosen = choose_ood_source(exp)
    kinds = {n: SOURCES[n].kind_for(exp) for n in available_sources(exp) if n != "test"}
    assert kinds[chosen] == ("near-OOD" if "near-OOD" in kinds.values() else "far-OOD")
    first_of_kind = next(n for n, k in kinds.items() if k == kinds[chosen])
    assert chosen == first_of_kind
    assert choose_ood_source(exp, "uniform-noise") == "uniform-noise"
    with pytest.raises(ConfigError, match="parameter 'ood_source' has value 'test'"):
        choose_ood_source(exp, "test")


def test_comparison_sets_have_one_size_and_come_from_the_right_splits(exp):
    sets = comparison_sets(exp, "uniform-noise")
    assert set(sets.x) == {"members", "test", "ood"}
    assert {len(x) for x in sets.x.values()} == {sets.n}
    assert sets.n <= exp.profile.n_members
    members = exp.input_set("target_members")[0][: sets.n]
    assert np.array_equal(sets.x["members"].numpy(), members.numpy())
    assert sets.labels["ood"] == "OOD: uniform-noise"


def test_score_distances_match_scipy_and_exclude_the_reference():
    rng = np.random.default_rng(0)
    values = {"members": rng.beta(5, 1, 300), "test": rng.beta(3, 1, 200), "ood": rng.uniform(size=100)}
    d = score_distances(values)
    assert set(d) == {"test", "ood"}
    for name in d:
        assert d[name] == pytest.approx(wasserstein_distance(values["members"], values[name]))
    with pytest.raises(ConfigError, match="reference"):
        score_distances(values, reference="nope")


def test_the_density_plot_only_draws_what_it_is_given():
    values = {"members": np.full(50, 0.99), "test": np.linspace(0.2, 0.9, 50)}
    fig, ax = plt.subplots()
    out = plots.plot_score_kde(ax, values, labels={"test": "test non-members"}, notes={"test": "EMD 0.123"})
    assert out is None
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["members", "test non-members (EMD 0.123)"]
    plt.close(fig)


def test_direction_word_has_a_dead_band():
    assert direction_word(0.5, 0.4) == "higher"
    assert direction_word(0.3, 0.4) == "lower"
    assert direction_word(0.405, 0.4) == "about the same"


def test_tables_keep_names_and_labels_are_for_display_only():
    table = pd.DataFrame({("resnet18", "standard"): [0.5, 0.7], ("resnet18", "label_smoothing"): [0.6, 0.8]},
                         index=["ece", "max_score_auroc"])
    shown = labelled(table)
    assert list(shown.index) == ["ECE", "Max. Score AUROC"]
    assert list(shown.columns) == [("resnet18", "Standard"), ("resnet18", "LS")]
    assert list(table.index) == ["ece", "max_score_auroc"]  # the original is untouched
    assert row_label("something_else") == "something_else"
    assert fmt_pct(0.4476) == "44.8 %" and fmt_pct(float("nan")) == "n/a"


def test_with_arrows_change_between_and_count_lower_read_tables_by_name():
    table = pd.DataFrame(
        {("a", "standard"): [0.70, 0.10], ("a", "l2"): [0.60, 0.105],
         ("b", "standard"): [0.80, 0.20], ("b", "l2"): [0.85, 0.20]},
        index=["max_score_auroc", "ece"])
    shown = with_arrows(table)
    assert shown.loc["Max. Score AUROC", ("a", "L2")] == "↓ 60.0 %"
    assert shown.loc["Max. Score AUROC", ("b", "L2")] == "↑ 85.0 %"
    assert shown.loc["ECE", ("a", "L2")] == "10.5 %"  # below the 1-point threshold: no arrow
    assert change_between(table, "max_score_auroc", "l2") == "a: 70.0 % to 60.0 %; b: 80.0 % to 85.0 %"
    assert count_lower(table, "max_score_auroc", "l2") == "1 of 2"
