"""The contributor's walkthrough (CONTRIBUTING.md) holds: an attack and a non-member source
registered from outside the package run through the book's evaluation unchanged."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers.attacks import ATTACKS, ThresholdAttack
from helpers.evaluation import AttackEvaluation
from helpers.experiment import Experiment
from helpers.scores import Scores
from helpers.sources import SOURCES, SourceSpec, available_sources, nonmember_set, register


class ModifiedEntropyToy(ThresholdAttack):
    """A toy attack from outside the package: the negated sum of the two smallest scores."""

    name = "toy_low_tail"

    def _key(self, s: Scores) -> np.ndarray:
        return -np.sort(s.probs, axis=1)[:, :2].sum(axis=1)

    def _raw(self, s: Scores) -> np.ndarray:
        return self._key(s)


def _stripes(exp, rng, n, **kw):
    """Toy non-members: horizontal stripes in pixel space (the library normalises them)."""
    c, size = exp.data.in_channels, exp.data.image_size
    phase = torch.from_numpy(rng.uniform(0, 2 * np.pi, (n, 1, 1, 1))).float()
    rows = torch.arange(size).float().view(1, 1, size, 1)
    x = 0.5 + 0.5 * torch.sin(rows + phase)
    return x.expand(n, c, size, size).contiguous(), False, {"pattern": "stripes"}


@pytest.fixture
def registered():
    ATTACKS["toy_low_tail"] = ModifiedEntropyToy
    register(SourceSpec("toy-stripes", "far-OOD", "Horizontal stripes (a toy source).", _stripes))
    try:
        yield
    finally:
        ATTACKS.pop("toy_low_tail", None)
        SOURCES.pop("toy-stripes", None)


def test_toy_attack_and_toy_source_run_through_the_evaluation(registered, tmp_path):
    exp = Experiment("digits", progress=False, architectures=["salem_cnn"], epochs=3, cache_dir=str(tmp_path))
    assert "toy-stripes" in available_sources(exp)
    stripes = nonmember_set(exp, "toy-stripes")
    assert stripes.x.shape == (exp.profile.n_members, exp.data.in_channels, exp.data.image_size, exp.data.image_size)
    ev = AttackEvaluation(exp, attacks=("max_score", "toy_low_tail"))
    report = ev.evaluate("salem_cnn", "standard", source="toy-stripes", nonmember_x=stripes.x).set_index("attack")
    assert set(report.index) == {"max_score", "toy_low_tail"}
    for column in ("precision", "recall", "fpr", "auroc", "se_auroc"):
        assert np.isfinite(report.loc["toy_low_tail", column]), column
    assert 0.0 <= report.loc["toy_low_tail", "fpr"] <= 1.0
