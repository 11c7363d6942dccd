"""How often the verdict rule errs on simulated claims with known truth (helpers.verdict_simulation).

Training randomness five times the evaluation noise (as measured between seeds under
``quick``), three training runs, claims of 1, 6 and 12 rows whose rows share 0-80 % of their
run-to-run shift. For each setting: the share of draws judged "holds" and "does not hold"
when there is no effect (both should be at most 5 %), and when there is a true effect of
four run-to-run deviations ("holds" should be most), for the book's rule and for the one-run
rule it replaced (the first run's own bootstrap error, normal quantile, no correction).

    .venv/bin/python benchmarks/bench_verdicts.py [--draws 2000]
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from helpers.verdict_simulation import verdict_rates

SETTINGS = [(1, 0.0), (6, 0.0), (6, 0.8), (12, 0.5)]
NOISE = dict(replicates=3, between=0.05, within=0.01)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=2000)
    args = parser.parse_args()
    began = time.perf_counter()
    rows = []
    for rows_per_claim, corr in SETTINGS:
        for rule, naive in (("book (3 runs, t, Holm)", False), ("one run, bootstrap error", True)):
            null = verdict_rates(0.0, draws=args.draws, seed=rows_per_claim, naive=naive, rows=rows_per_claim,
                                 correlation=corr, **NOISE)
            real = verdict_rates(0.2, draws=args.draws, seed=100 + rows_per_claim, naive=naive, rows=rows_per_claim,
                                 correlation=corr, **NOISE)
            rows.append({"rows": rows_per_claim, "shared shift": corr, "rule": rule,
                         "no effect: holds": null["holds"], "no effect: does not hold": null["does not hold"],
                         "true effect: holds": real["holds"]})
    table = pd.DataFrame(rows).set_index(["rows", "shared shift", "rule"])
    pd.set_option("display.width", 160)
    print((100 * table).round(1).astype(str).add(" %").to_string())
    print(f"{args.draws} draws per cell, {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
