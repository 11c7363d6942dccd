"""How many epochs a profile's models need, judged on development seeds the book never reports.

The criterion is not a claim of the paper: the fewest epochs after which every standard
model (target and shadow, every training replicate) of every development seed fits at
least ``--fit`` (99 %) of its training images. Evidence per architecture:

* the running training accuracy of each epoch, from the models' training histories (it is
  measured while the weights still change, so it lags the fitted model: a cautious guide);
* the fitted model's training accuracy in eval mode after the profile's epochs;
* seconds per epoch, the cost side of the choice.

Models are taken from the cache (``bench_stability.py`` trains those of seed 7) or trained.

    .venv/bin/python benchmarks/bench_epochs.py                 # quick, development seed 7
    .venv/bin/python benchmarks/bench_epochs.py --seeds 7 1001
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from helpers.config import load_profile
from helpers.experiment import Experiment
from helpers.training import ROLES, accuracy


def histories(profile_name: str, seed: int) -> pd.DataFrame:
    """Per-epoch running training accuracy of every standard model of one seed, plus the
    fitted model's eval-mode training accuracy."""
    exp = Experiment(load_profile(profile_name, seed=seed), progress=False)
    rows = []
    for run in exp.replicates():
        for arch in exp.profile.architectures:
            for role in ROLES:
                trained = run.model(arch, role, "standard")
                x, y = run.input_set(f"{role}_train")
                fitted = accuracy(trained.model, x, y)
                for h in trained.history:
                    rows.append({"architecture": arch, "seed": seed, "replicate": run.replicate, "role": role,
                                 "epoch": int(h["epoch"]), "running": h["train_accuracy"],
                                 "seconds": h["seconds"], "fitted": fitted})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--seeds", type=int, nargs="+", default=[7])
    parser.add_argument("--fit", type=float, default=0.99)
    args = parser.parse_args()
    began = time.perf_counter()
    table = pd.concat([histories(args.profile, s) for s in args.seeds], ignore_index=True)
    profile = load_profile(args.profile)
    for arch, part in table.groupby("architecture"):
        worst = part.groupby("epoch").running.min()
        fits = worst[worst >= args.fit]
        first = int(fits.index[0]) if len(fits) else None
        stays = first is not None and bool((worst.loc[first:] >= args.fit).all())
        models = part.drop_duplicates(["seed", "replicate", "role"])
        print(f"{arch}: {len(models)} development models (seeds {args.seeds}), profile epochs "
              f"{profile.epochs_for(arch)}, {part.seconds.mean():.2f} s per epoch")
        print("  lowest running training accuracy per epoch: "
              + ", ".join(f"{e}: {100 * v:.1f} %" for e, v in worst.items()))
        print(f"  first epoch at which every model's running accuracy is >= {args.fit:.0%}: {first}"
              f" ({'and every later epoch too' if stays else 'not every later epoch'}); fitted models' "
              f"eval-mode training accuracy after {profile.epochs_for(arch)} epochs: lowest "
              f"{100 * models.fitted.min():.1f} %, mean {100 * models.fitted.mean():.1f} %")
    print(f"total {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
