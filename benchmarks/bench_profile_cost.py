"""What a profile's training costs on this machine, from measured throughput.

For every architecture of the profile, one short training run with the profile's
settings (image shape, width, batch size, optimiser, ``cpu_threads``) on random tensors
measures images per second; the profile's training jobs (``helpers train``: targets,
shadows, variants, chapter 8's reference models, plus chapter 1's one SiLU model per
architecture) times their epochs x images then give the training time, per kind of job
and in all. Training dominates the real-data profiles, so this bounds their cold book
from below without running it for hours. Cheaper settings can be priced with ``-p``:

    python benchmarks/bench_profile_cost.py --profile cifar10
    python benchmarks/bench_profile_cost.py --profile cifar10 -p epochs 30 -p n_references 4
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import torch
import yaml

from helpers.config import load_profile
from helpers.tooling.grid import training_jobs
from helpers.training import TrainConfig, train_model


def throughput(profile, architecture: str, n: int = 1536, channels: int = 3, size: int = 32) -> float:
    """Training images per second of one architecture under ``profile`` (second epoch)."""
    torch.set_num_threads(profile.cpu_threads)
    cfg = TrainConfig(dataset="bench", data_key="bench", architecture=architecture, num_classes=10,
                      in_channels=channels, image_size=size, width=profile.width_for(architecture),
                      optimizer=profile.optimizer, lr=profile.lr_for(architecture), epochs=2,
                      batch_size=profile.batch_size, cpu_threads=profile.cpu_threads)
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(n, channels, size, size, generator=gen), torch.randint(0, 10, (n,), generator=gen)
    epochs: list[float] = []
    start = time.perf_counter()
    train_model(cfg, x, y, device="cpu", progress=False,
                callback=lambda epoch, stats: epochs.append(time.perf_counter() - start))
    return n / (epochs[1] - epochs[0])  # the second epoch: no start-up cost


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="cifar10")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    args = parser.parse_args()
    profile = load_profile(args.profile, **{k: yaml.safe_load(v) for k, v in args.parameter})
    rates = {a: throughput(profile, a) for a in profile.architectures}
    seconds: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    jobs = training_jobs(profile, extras=False)  # the SiLU model is added below; the generator is not priced
    kinds = [("reference models" if j.role == "reference" else f"{j.variant} target + shadow", j.architecture)
             for j in jobs] + [("chapter 1 SiLU model", a) for a in profile.architectures]
    for kind, arch in kinds:
        seconds[kind] += profile.epochs_for(arch) * profile.train_size / rates[arch]
        counts[kind] += 1
    print(f"profile {profile.name}: {profile.train_size:,} images per model, "
          f"epochs {[profile.epochs_for(a) for a in profile.architectures]}, {profile.cpu_threads} threads")
    for arch, rate in rates.items():
        print(f"  {arch:16s} {rate:8.0f} training images/s")
    for kind, s in seconds.items():
        print(f"  {kind:32s} {counts[kind]:3d} models  {s / 60:7.1f} min")
    total = sum(seconds.values())
    print(f"  {'training in all':32s} {sum(counts.values()):3d} models  {total / 60:7.1f} min (estimate)")


if __name__ == "__main__":
    main()
