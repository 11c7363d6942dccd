"""Do the book's verdicts survive a new set of seeds? Chapter 7's claims on two disjoint seed sets.

Each set is the whole of chapter 7's computation (``claim_verdicts`` over every non-member
source the profile has) under one profile seed, with the profile's ``replicates`` training
runs: seed A's runs and seed B's runs share no model (different training seeds, and
different splits, since the profile seed also draws the splits). The script prints both
verdict tables side by side and counts the claims that change verdict, and those that go
from "holds" to "does not hold" (which the verdict rule should make very rare).

    .venv/bin/python benchmarks/bench_stability.py                    # quick, seeds 42 and 7
    .venv/bin/python benchmarks/bench_stability.py --seeds 42 1 -p replicates 3

It trains every model it lacks (about 10 minutes per new seed under quick on 2 cores).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from helpers import verdicts as vd
from helpers.claims import claim_summary, claim_verdicts
from helpers.config import load_profile
from helpers.evaluation import AttackEvaluation
from helpers.experiment import Experiment
from helpers.notebook import setup
from helpers.sources import available_sources, nonmember_sets


def verdicts_for(profile_name: str, seed: int, overrides: dict, out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Chapter 7's claim summary and rows under one profile seed; the rows are kept in
    ``out`` (a pickle per profile, seed and overrides), so a later run reuses them."""
    cfg = load_profile(profile_name, overrides, seed=seed)
    path = out / f"claims-{cfg.name}-seed{seed}-{cfg.key()}.pkl"
    if path.is_file():
        rows = pd.read_pickle(path)
    else:
        setup(cfg.seed, cfg.cpu_threads)
        exp = Experiment(cfg, progress=False)
        ev = AttackEvaluation(exp)
        rows = claim_verdicts(ev, nonmember_sets(exp, available_sources(exp)))
        out.mkdir(parents=True, exist_ok=True)
        rows.to_pickle(path.with_suffix(".tmp"))
        path.with_suffix(".tmp").replace(path)  # atomic: a killed run leaves no half file
    return claim_summary(rows), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--seeds", type=int, nargs=2, default=[42, 7])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"),
                        help="folder that keeps each seed set's claim rows for a later run")
    parser.add_argument("-p", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="profile override (integers and floats are parsed)")
    args = parser.parse_args()
    overrides = {}
    for name, value in args.p:
        for cast in (int, float):
            try:
                value = cast(value)
                break
            except ValueError:
                pass
        overrides[name] = value
    began = time.perf_counter()
    (sum_a, rows_a), (sum_b, rows_b) = (verdicts_for(args.profile, s, overrides, args.out) for s in args.seeds)
    a, b = args.seeds
    side = pd.DataFrame({
        f"seed {a}: verdict": sum_a.verdict, f"seed {a}: rows holding": sum_a.holds.astype(str) + "/" + sum_a.checked.astype(str),
        f"seed {b}: verdict": sum_b.verdict, f"seed {b}: rows holding": sum_b.holds.astype(str) + "/" + sum_b.checked.astype(str),
    })
    pd.set_option("display.width", 200)
    replicates = load_profile(args.profile, overrides).replicates
    print(f"profile {args.profile!r}, {replicates} training run(s) per seed set, overrides {overrides}")
    print(side.to_string())
    changed = side[side.iloc[:, 0] != side.iloc[:, 2]]
    reversed_ = side[((side.iloc[:, 0] == vd.HOLDS) & (side.iloc[:, 2] == vd.FAILS))
                     | ((side.iloc[:, 0] == vd.FAILS) & (side.iloc[:, 2] == vd.HOLDS))]
    print(f"\nclaims checked: {len(side)}; verdict changed: {len(changed)} ({', '.join(changed.index) or 'none'}); "
          f"holds <-> does not hold: {len(reversed_)} ({', '.join(reversed_.index) or 'none'})")
    merged = rows_a.merge(rows_b, on=["claim", "architecture", "attack", "metric"], suffixes=(f" {a}", f" {b}"))
    diff = (merged[f"measured {a}"] - merged[f"measured {b}"]).abs()
    se = (merged[f"se {a}"] ** 2 + merged[f"se {b}"] ** 2) ** 0.5
    print(f"rows: {len(merged)}; pooled values differ between the seed sets by at most {diff.max():.3f} "
          f"({(diff / se).max():.1f} combined standard errors; median {(diff / se).median():.1f})")
    print(f"total {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
