"""Chapter 2 (target and shadow models) and the trained-model part of chapter 1.

Runs the library the way the chapters do, under the digits profile with few epochs:
reproducibility of the accuracy table from empty caches, and the paper's theorem on the
trained ReLU target models (scaled test inputs get near-certain scores).
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from helpers import plots  # noqa: E402
from helpers.experiment import Experiment  # noqa: E402
from helpers.training import predict_logits  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EPOCHS = 3  # enough to fit a little; the claims below do not depend on convergence


@pytest.fixture(scope="module")
def experiments(tmp_path_factory):
    """Two fresh digits experiments with separate empty caches and the same profile.

    Training runs on one CPU thread (restored afterwards): on a busy machine that is much
    faster than competing for cores, and both runs use the same thread count, which the
    bit-for-bit comparison needs.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        runs = []
        for name in ("a", "b"):
            cache = tmp_path_factory.mktemp(f"cache_{name}")
            exp = Experiment("digits", progress=False, epochs=EPOCHS, cache_dir=str(cache), device="cpu")
            exp.models()  # train everything now, under the thread setting above
            runs.append(exp)
    finally:
        torch.set_num_threads(threads)
    return runs


def test_two_cold_runs_give_identical_accuracy_tables(experiments):
    a, b = experiments
    table_a, table_b = a.accuracy_table(), b.accuracy_table()
    # both really trained (nothing was shared through a cache)
    assert all(not m.from_cache for m in a.models().values())
    assert all(not m.from_cache for m in b.models().values())
    assert a.cache_dir != b.cache_dir
    pd.testing.assert_frame_equal(table_a, table_b, check_exact=True)
    assert list(table_a.index) == list(a.profile.architectures)
    assert list(table_a.columns) == ["target train", "target test", "shadow train", "shadow test"]
    assert ((table_a >= 0) & (table_a <= 1)).all().all()
    # target and shadow are different models of the same recipe
    for arch in a.profile.architectures:
        wt = a.model(arch, "target").model.classifier.weight
        ws = a.model(arch, "shadow").model.classifier.weight
        assert not torch.equal(wt, ws), arch


def test_relu_targets_are_near_certain_on_scaled_test_inputs(experiments):
    """Theorem 1 on the embedded default: x -> 1e4 * x makes max score >= 0.99 for >= 95 %."""
    exp = experiments[0]
    x, _ = exp.input_set("target_nonmembers")
    assert len(x) == exp.profile.n_members
    for arch in exp.profile.architectures:
        trained = exp.model(arch, "target")
        assert trained.config.activation == "relu", arch
        shares = {}
        for scale in (1.0, 1e4):
            probs = torch.softmax(predict_logits(trained.model, x * scale).double(), dim=1)
            shares[scale] = float((probs.max(dim=1).values >= 0.99).double().mean())
        assert shares[1e4] >= 0.95, (arch, shares)
        assert shares[1e4] >= shares[1.0], (arch, shares)


def test_threat_model_diagram_names_both_models():
    fig, ax = plt.subplots()
    try:
        plots.plot_threat_model(ax)
        texts = " ".join(t.get_text() for t in ax.texts)
        assert "shadow model" in texts and "target model" in texts and "attack" in texts
        assert len(ax.patches) >= 10  # the boxes
    finally:
        plt.close(fig)


def test_image_grid_has_one_column_per_class():
    images = torch.rand(30, 1, 8, 8).numpy()
    labels = (torch.arange(30) % 3).numpy()
    fig = plots.plot_image_grid(images, labels, ["a", "b", "c"], per_class=2)
    try:
        assert len(fig.axes) == 6
        assert [ax.get_title() for ax in fig.axes[:3]] == ["a", "b", "c"]
    finally:
        plt.close(fig)


def test_chapter2_accepts_the_documented_parameters():
    nb = jupytext.read(ROOT / "book" / "chapters" / "02_target_and_shadow.py")
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    for line in ('profile = "quick"', "dataset = None", "epochs = None", "seed = None"):
        assert line in params.source
