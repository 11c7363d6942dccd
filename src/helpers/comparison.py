"""Members, test non-members and one out-of-distribution source, side by side.

The paper's Figures 4 and 5 compare three equally sized sets of inputs: the target's
members, its test non-members and images of another distribution. Chapters 5 and 6 draw
them for different variants; this module chooses the OOD source, builds the sets and
measures how far each non-member set's max scores lie from the members' (earth mover's
distance), so the figures only draw what was computed here.

>>> sets = comparison_sets(exp)                 # near-OOD preferred, then far-OOD
>>> values = {k: ev.predict_scores(a, "target", v, x).probs.max(1) for k, x in sets.x.items()}
>>> score_distances(values)                     # {"test": 0.12, "ood": 0.31}
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .config import ConfigError
from .experiment import Experiment
from .metrics import earth_movers_distance
from .sources import SOURCES, available_sources, nonmember_set

OOD_PREFERENCE = ("near-OOD", "far-OOD")  # the kinds tried in order when no source is named
SET_NAMES = ("members", "test", "ood")


def choose_ood_source(exp: Experiment, requested: str | None = None) -> str:
    """The OOD source of the comparison: ``requested`` when given (checked), else the first
    available source of kind near-OOD, else far-OOD, else the first source other than
    ``test``."""
    candidates = [n for n in available_sources(exp) if n != "test"]
    if requested is not None:
        if requested not in candidates:
            raise ConfigError(f"parameter 'ood_source' has value {requested!r}; allowed: one of {candidates}")
        return requested
    if not candidates:
        raise ConfigError(f"profile {exp.profile.name!r} has no non-member source besides 'test'")
    for kind in OOD_PREFERENCE:
        for name in candidates:
            if SOURCES[name].kind_for(exp) == kind:
                return name
    return candidates[0]


@dataclass(frozen=True)
class ComparisonSets:
    """Three equally sized input sets, keyed ``members``, ``test``, ``ood``."""

    ood_source: str
    x: dict[str, torch.Tensor]

    @property
    def n(self) -> int:
        return int(self.x["members"].shape[0])

    @property
    def labels(self) -> dict[str, str]:
        """Display names of the three sets (for legends and tables)."""
        return {"members": "members", "test": "test non-members", "ood": f"OOD: {self.ood_source}"}


def comparison_sets(exp: Experiment, ood_source: str | None = None) -> ComparisonSets:
    """Members, test non-members and the OOD source's images, cut to one common size
    (at most ``profile.n_members``)."""
    source = choose_ood_source(exp, ood_source)
    ood = nonmember_set(exp, source).x
    members = exp.input_set("target_members")[0]
    test = exp.input_set("target_nonmembers")[0]
    n = min(exp.profile.n_members, len(members), len(test), len(ood))
    return ComparisonSets(source, {"members": members[:n], "test": test[:n], "ood": ood[:n]})


def score_distances(values: dict[str, np.ndarray], reference: str = "members") -> dict[str, float]:
    """Earth mover's (Wasserstein-1) distance from ``values[reference]`` to every other set."""
    if reference not in values:
        raise ConfigError(f"parameter 'reference' has value {reference!r}; allowed: one of {list(values)}")
    return {name: earth_movers_distance(values[reference], v) for name, v in values.items() if name != reference}


def direction_word(new: float, old: float, tol: float = 0.01) -> str:
    """``'higher'``, ``'lower'`` or ``'about the same'``: ``new`` against ``old`` with a
    dead band of ``tol`` (a descriptive word for prose, not a test)."""
    return "higher" if new > old + tol else "lower" if new < old - tol else "about the same"
