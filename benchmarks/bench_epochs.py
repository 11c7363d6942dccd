"""How many epochs a profile's models need, chosen on development seeds the book never reports.

The criterion is not a claim of the paper: the smallest number of epochs after which the
standard target of every architecture fits at least ``--fit`` (99 %) of its training images
(eval mode) on every development seed. The script also prints the test accuracy, the
train-test gap and the seconds per epoch, for the record.

One training run per seed and architecture gives every epoch count at once: after each
epoch the model is evaluated without changing its weights or consuming random numbers, so
the model after ``e`` epochs of a longer run is the model a run of ``e`` epochs trains.

    .venv/bin/python benchmarks/bench_epochs.py                       # quick, seeds 1001-1003
    .venv/bin/python benchmarks/bench_epochs.py --seeds 1001 1002 --max-epochs 25
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import torch

from helpers import training
from helpers.config import load_profile
from helpers.experiment import Experiment


def _accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    was_training = model.training
    model.eval()
    try:
        logits = training.predict_logits(model, x)
    finally:
        model.train(was_training)
    return float((logits.argmax(1) == y).float().mean())


def trajectory(profile_name: str, architecture: str, seed: int, max_epochs: int) -> pd.DataFrame:
    """Train and test accuracy of the standard target after every epoch, for one seed."""
    exp = Experiment(load_profile(profile_name, seed=seed, epochs=max_epochs, replicates=1), progress=False)
    cfg = exp.train_config(architecture, "target", "standard")
    x, y = exp.input_set("target_train")
    x_test, y_test = exp.input_set("target_test")
    built: list[torch.nn.Module] = []
    original = training.new_model

    def capture(c):  # keep a handle on the model the loop trains
        built.append(original(c))
        return built[-1]

    rows = []

    def after_epoch(epoch: int, stats: dict) -> None:
        model = built[-1]
        rows.append({"architecture": architecture, "seed": seed, "epoch": epoch,
                     "train_accuracy": _accuracy(model, x, y), "test_accuracy": _accuracy(model, x_test, y_test),
                     "seconds": stats["seconds"]})

    training.new_model = capture
    try:
        training.train_model(cfg, x, y, device=exp.device, progress=False, callback=after_epoch)
    finally:
        training.new_model = original
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1001, 1002, 1003])
    parser.add_argument("--max-epochs", type=int, default=22)
    parser.add_argument("--fit", type=float, default=0.99)
    args = parser.parse_args()
    profile = load_profile(args.profile)
    began = time.perf_counter()
    frames = [trajectory(args.profile, a, s, args.max_epochs) for a in profile.architectures for s in args.seeds]
    table = pd.concat(frames, ignore_index=True)
    table["gap"] = table.train_accuracy - table.test_accuracy
    wide = table.pivot_table(index="epoch", columns=["architecture", "seed"], values="train_accuracy")
    print("train accuracy (eval mode) after each epoch, per architecture and development seed")
    print((100 * wide).round(1).to_string())
    print()
    for arch in profile.architectures:
        fits = wide[arch].min(axis=1) >= args.fit
        chosen = int(fits.index[fits.to_numpy()][0]) if fits.any() else None
        now = profile.epochs_for(arch)
        at = table[(table.architecture == arch) & (table.epoch == (chosen or now))]
        print(f"{arch}: smallest epochs with train accuracy >= {args.fit:.0%} on every seed: {chosen} "
              f"(profile: {now}); there: test accuracy {100 * at.test_accuracy.mean():.1f} %, "
              f"gap {100 * at.gap.mean():.1f} points, {at.seconds.mean():.2f} s per epoch")
        later = wide[arch].loc[chosen:] if chosen else None
        if later is not None:
            print(f"  lowest train accuracy at any later epoch up to {args.max_epochs}: "
                  f"{100 * np.nanmin(later.to_numpy()):.1f} %")
    print(f"total {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
