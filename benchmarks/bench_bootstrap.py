"""Bootstrap standard errors (helpers.metrics.bootstrap_standard_errors) from draw counts.

Every attack report carries bootstrap standard errors of precision, recall, FPR and AUROC
(200 replicates; the attack's threshold is refitted on resampled shadow scores in each).
The library keeps a replicate as how often it drew every sample, so one sort of the values
serves all replicates. This script times it, in one run, against the same bootstrap with
every replicate written out and sorted (``scipy.stats.rankdata`` for the AUROC, an
argsort for the threshold), on 1,000 members and 1,000 non-members with 1,000 + 1,000
shadow scores, and checks that both give the same errors.

    python benchmarks/bench_bootstrap.py [--n 1000] [--repeats 10]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.stats import rankdata

from helpers.metrics import bootstrap_standard_errors


def _thresholds_sorted(members: np.ndarray, nonmembers: np.ndarray) -> np.ndarray:
    """Best TPR - FPR threshold of every row, by sorting each resample."""
    values = np.concatenate([members, nonmembers], axis=1)
    is_member = np.concatenate([np.ones_like(members), np.zeros_like(nonmembers)], axis=1)
    order = np.argsort(-values, axis=1, kind="stable")
    v, m = np.take_along_axis(values, order, axis=1), np.take_along_axis(is_member, order, axis=1)
    gain = np.cumsum(m, axis=1) / members.shape[1] - np.cumsum(1 - m, axis=1) / nonmembers.shape[1]
    last = np.concatenate([v[:, 1:] != v[:, :-1], np.ones((len(v), 1), bool)], axis=1)
    return v[np.arange(len(v)), np.argmax(np.where(last, gain, -np.inf), axis=1)]


def materialised(y, score, shadow, n_boot: int = 200, seed: int = 0) -> dict[str, float]:
    """The same bootstrap (same random draws) with every replicate written out."""
    rng = np.random.default_rng(seed)
    n1, n0 = int(y.sum()), int((~y).sum())
    pos, neg = score[y][rng.integers(0, n1, (n_boot, n1))], score[~y][rng.integers(0, n0, (n_boot, n0))]
    sh_pos, sh_neg = shadow
    t = _thresholds_sorted(sh_pos[rng.integers(0, len(sh_pos), (n_boot, len(sh_pos)))],
                           sh_neg[rng.integers(0, len(sh_neg), (n_boot, len(sh_neg)))])
    tp, fp = (pos >= t[:, None]).sum(axis=1), (neg >= t[:, None]).sum(axis=1)
    ranks = rankdata(np.concatenate([pos, neg], axis=1), axis=1)
    aurocs = (ranks[:, :n1].sum(axis=1) - n1 * (n1 + 1) / 2) / (n1 * n0)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), np.nan)
    se = np.nanstd(np.stack([precision, tp / n1, fp / n0, aurocs], axis=1), axis=0, ddof=1)
    return dict(zip(("se_precision", "se_recall", "se_fpr", "se_auroc"), map(float, se)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(args.n, bool), np.zeros(args.n, bool)]
    score = np.r_[rng.normal(1, 1, args.n), rng.normal(0, 1, args.n)]
    shadow = (rng.normal(1, 1, args.n), rng.normal(0, 1, args.n))
    timings = {}
    for name, run in (("written out and sorted", lambda: materialised(y, score, shadow)),
                      ("draw counts (library)", lambda: bootstrap_standard_errors(y, score > 0.5, score,
                                                                                   shadow_scores=shadow))):
        result = run()
        start = time.perf_counter()
        for _ in range(args.repeats):
            run()
        timings[name] = (time.perf_counter() - start) / args.repeats
        print(f"{name:24s} {timings[name] * 1000:7.1f} ms per report  {result}")
    ratio = timings["written out and sorted"] / timings["draw counts (library)"]
    same = materialised(y, score, shadow) == bootstrap_standard_errors(y, score > 0.5, score, shadow_scores=shadow)
    print(f"speed-up {ratio:.2f}x; the same errors bit for bit: {same}")


if __name__ == "__main__":
    main()
