"""How often the verdict rule errs: simulated claims with known truth.

Each simulated claim has ``rows`` rows (architectures x attacks); each row is measured on
``replicates`` training runs. A run's value is the true effect, plus a run-to-run shift
(standard deviation ``between``, the training randomness) plus evaluation noise (standard
deviation ``within``, which is also the standard error the run reports). Rows may share
their run-to-run shift (``correlation``), as the attacks of one trained model do.

:func:`verdict_rates` returns how often the claim is judged to hold, to not hold and to be
inconclusive, for the book's rule (:mod:`helpers.verdicts`) or for the one-run rule that
ignores training randomness (``naive=True``: each replicate's own error, normal quantile,
no Holm correction), so tests and ``benchmarks/bench_verdicts.py`` can show the difference.
"""

from __future__ import annotations

import numpy as np

from . import verdicts as vd


def simulate_claim(rng: np.random.Generator, effect: float, *, rows: int = 6, replicates: int = 3,
                   between: float = 0.05, within: float = 0.01, correlation: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """One claim's measured values ``rows x replicates`` and their reported errors."""
    if not 0 <= correlation <= 1:
        raise ValueError(f"parameter 'correlation' has value {correlation!r}; allowed: a number in [0, 1]")
    shared = rng.normal(0, between, size=(1, replicates))
    own = rng.normal(0, between, size=(rows, replicates))
    shift = np.sqrt(correlation) * shared + np.sqrt(1 - correlation) * own
    values = effect + shift + rng.normal(0, within, size=(rows, replicates))
    return values, np.full_like(values, within)


def judge(values: np.ndarray, ses: np.ndarray, expected: int = +1, naive: bool = False) -> str:
    """The claim's verdict from ``rows x replicates`` values and errors."""
    verdicts, p_values = [], []
    for v, e in zip(values, ses):
        if naive:  # the first run alone, its own error, no correction
            verdicts.append(vd.direction(v[0], e[0], expected))
            continue
        pooled = vd.pool(v, e)
        verdicts.append(pooled.direction(expected))
        p_values.append(pooled.p_wrong_way(expected))
    return vd.combine(verdicts if naive else vd.holm_corrected(verdicts, p_values))


def verdict_rates(effect: float, *, draws: int = 2000, seed: int = 0, naive: bool = False,
                  **settings: float) -> dict[str, float]:
    """Share of ``draws`` simulated claims judged holds / does not hold / inconclusive."""
    rng = np.random.default_rng(seed)
    counts = dict.fromkeys(vd.VERDICTS, 0)
    for _ in range(draws):
        values, ses = simulate_claim(rng, effect, **settings)
        counts[judge(values, ses, naive=naive)] += 1
    return {k: n / draws for k, n in counts.items()}
