"""Recipes of the attacker's generator (helpers.generator.GanSettings) side by side.

Chapter 4 needs samples a reader recognises as the dataset's classes, without training for
longer than the former recipe (an unconditional DCGAN on the 1,000 shadow-training images,
about 40 s on 2 cores under ``quick``). This script trains each recipe named on the command
line for a *development* seed (default 1001, not the book's 42), so that settings are
chosen by the generator's own criteria and never by the attack results the book reports,
and prints per recipe: the training time (wall clock and CPU seconds of this process), the
shadow model's accuracy on class-conditional samples beside its accuracy on real test
images, and the MMD^2 between samples and real test images in the shadow model's feature
space beside the real-vs-real floor (:func:`helpers.generator.generator_quality`). With
``--tiles DIR`` it also writes a PNG of 64 samples per recipe.

    python benchmarks/bench_generator.py [--profile quick] [--seed 1001] [--cache-dir DIR]
        [--recipes before book ...] [--architectures salem_cnn] [--threads 2] [--tiles DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time

import torch

from helpers.config import load_profile
from helpers.experiment import Experiment
from helpers.generator import GanSettings, fake_generator, generator_quality, sample

# name -> changes to the book's recipe (GanSettings() with the profile's steps and width)
RECIPES: dict[str, dict] = {
    "before": {"kind": "dcgan", "data": "shadow_train", "batch_size": 32, "lr": 1e-3, "ema": 0.0},
    "dcgan-pool": {"kind": "dcgan", "data": "pool", "batch_size": 32, "lr": 1e-3, "ema": 0.0},
    "book": {},
    "sngan-b32": {"batch_size": 32},
    "sngan-b28": {"batch_size": 28},
    "sngan-b32-lr1e-3": {"batch_size": 32, "lr": 1e-3},
    "sngan-b32-lr5e-4": {"batch_size": 32, "lr": 5e-4},
    "sngan-b32-noema": {"batch_size": 32, "ema": 0.0},
    "sngan-b32-ema999": {"batch_size": 32, "ema": 0.999},
    "sngan-b32-shadow": {"batch_size": 32, "data": "shadow_train"},
    "sngan-n16-b64": {"native_size": 16, "batch_size": 64},
    "sngan-n16-b64-lr1e-3": {"native_size": 16, "batch_size": 64, "lr": 1e-3},
    "sngan-n16-b128": {"native_size": 16, "batch_size": 128},
    "sngan-n16-b128-lr5e-4": {"native_size": 16, "batch_size": 128, "lr": 5e-4},
    "sngan-n16-b128-noema": {"native_size": 16, "batch_size": 128, "ema": 0.0},
    "sngan-n16-b128-shadow": {"native_size": 16, "batch_size": 128, "data": "shadow_train"},
    "b32-lr1e-3-beta.5": {"batch_size": 32, "lr": 1e-3, "beta1": 0.5},
    "b32-lr1e-3-beta.5-nosn": {"batch_size": 32, "lr": 1e-3, "beta1": 0.5, "spectral_norm": False},
    "b32-lr2e-4-beta.5": {"batch_size": 32, "lr": 2e-4, "beta1": 0.5},
    "cgan-bce-lr1e-3": {"spectral_norm": False, "loss": "bce", "lr": 1e-3, "beta1": 0.5},
    "cgan-hinge-lr2e-4": {"spectral_norm": False, "loss": "hinge", "lr": 2e-4, "beta1": 0.5},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--seed", type=int, default=1001, help="development seed (not the book's)")
    parser.add_argument("--cache-dir", default=None, help="model cache (default: a fresh temporary folder)")
    parser.add_argument("--recipes", nargs="+", default=["before", "book"], choices=sorted(RECIPES))
    parser.add_argument("--architectures", nargs="+", default=["salem_cnn"])
    parser.add_argument("--threads", type=int, default=None, help="training threads (default: the profile's)")
    parser.add_argument("--tiles", default=None, help="folder for a PNG of samples per recipe")
    args = parser.parse_args()
    cache_dir = args.cache_dir or tempfile.mkdtemp(prefix="bench-generator-")
    overrides = {"seed": args.seed, "cache_dir": cache_dir}
    if args.threads is not None:
        overrides["train_threads"] = args.threads
    profile = load_profile(args.profile, overrides)
    exp = Experiment(profile, progress=False)
    for arch in args.architectures:
        exp.model(arch, "shadow")  # trained before the timings start
    base = GanSettings(steps=profile.gan_steps, width=profile.gan_width)
    for name in args.recipes:
        settings = dataclasses.replace(base, **RECIPES[name])
        wall, cpu = time.perf_counter(), time.process_time()
        generator, meta = fake_generator(exp, settings)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        row = {"recipe": name, "settings": dataclasses.asdict(settings), "n_images": meta["n_images"],
               "seconds": round(wall, 1), "cpu_seconds": round(cpu, 1)}
        for arch in args.architectures:
            q = generator_quality(exp, arch, generator)
            row[arch] = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in q.as_dict().items()}
        print(json.dumps(row), flush=True)
        if args.tiles:
            import matplotlib.pyplot as plt
            from pathlib import Path

            from helpers import plots

            fig, ax = plt.subplots(figsize=(5, 5))
            plots.plot_image_tiles(ax, sample(generator, 64, seed=0), ncols=8, title=name)
            Path(args.tiles).mkdir(parents=True, exist_ok=True)
            fig.savefig(Path(args.tiles) / f"{name}.png", dpi=80)
            plt.close(fig)


if __name__ == "__main__":
    torch.set_num_threads(2)
    main()
