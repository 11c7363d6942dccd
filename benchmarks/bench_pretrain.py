"""Training a profile's models ahead of the chapters: one process or several? One run each.

Trains every model the chapters need (``helpers.tooling.grid.training_jobs``) into an
empty temporary cache, twice:

  sequential   one model after another in this process, ``train_threads`` = cpu_threads
  processes    N worker processes of ``train_threads`` = 1 each (what the runner does
               under ``quick`` before a whole-book run)

and prints both wall times, their ratio and the seconds per kind of model. The two runs
train different models (the thread count is part of every model's key), so both start
from an empty cache. From the repository root:

    python benchmarks/bench_pretrain.py [--profile quick] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import defaultdict

from helpers.config import load_profile
from helpers.tooling.grid import train_grid, training_jobs


def _run(profile, engine: str, workers: int | None) -> tuple[float, dict[str, list[float]]]:
    jobs = training_jobs(profile)
    start = time.perf_counter()
    results = train_grid(profile, jobs, engine=engine, workers=workers, echo=lambda line: None)
    wall = time.perf_counter() - start
    per_kind: dict[str, list[float]] = defaultdict(list)
    for result in results:
        per_kind[result["job"].split(" ")[0] if "generator" not in result["job"] else "generator"].append(
            result["seconds"])
    return wall, per_kind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    base = load_profile(args.profile)
    print(f"profile {args.profile}: {len(training_jobs(base))} models, {os.cpu_count()} CPU cores")
    walls = {}
    for label, engine, threads, workers in (("sequential", "local", base.cpu_threads, None),
                                            ("processes", "processes", 1, args.workers)):
        with tempfile.TemporaryDirectory() as cache:
            profile = base.replace(cache_dir=cache, train_threads=threads)
            walls[label], per_kind = _run(profile, engine, workers)
        kinds = ", ".join(f"{kind} {sum(s) / len(s):.1f} s x {len(s)}" for kind, s in per_kind.items())
        print(f"  {label:11s} {walls[label]:7.1f} s  ({threads} thread(s) per model"
              f"{f', {workers} at a time' if workers else ''}; per model: {kinds})")
    print(f"  sequential / processes: {walls['sequential'] / walls['processes']:.2f}x")


if __name__ == "__main__":
    main()
