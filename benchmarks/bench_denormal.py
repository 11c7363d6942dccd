"""Denormal floats and the training loop's flush (helpers.training.flush_denormals).

Coupled weight decay (the L2 variant) shrinks weights that get no gradient towards zero
until they are denormal; on x86 CPUs arithmetic on denormals is many times slower. This
script times a SalemCNN forward + backward pass on 3x32x32 batches three ways, in one run:

  normal       the freshly initialised weights
  denormal     half of every weight tensor set to 1e-40 (a denormal float32)
  flushed      the same denormal weights inside ``flush_denormals()``

and then trains the L2 and the standard variant for a few epochs with the book's loop
(which flushes), printing images per second of each.

    python benchmarks/bench_denormal.py [--batches 20] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from helpers.models import build_model
from helpers.training import TrainConfig, flush_denormals, train_model


def _denormalise_half(model: nn.Module) -> None:
    with torch.no_grad():
        for p in model.parameters():
            flat = p.view(-1)
            flat[: flat.numel() // 2] = 1e-40


def _time_steps(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batches: int) -> float:
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    for _ in range(batches):
        model.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 3, 32, 32, generator=gen), torch.randint(0, 10, (64,), generator=gen)

    torch.manual_seed(0)
    model = build_model("salem_cnn", 10, 3, 32)
    normal = _time_steps(model, x, y, args.batches)
    _denormalise_half(model)
    with flush_denormals(False):
        denormal = _time_steps(model, x, y, args.batches)
    with flush_denormals(True):
        flushed = _time_steps(model, x, y, args.batches)
    print(f"SalemCNN forward+backward, {args.batches} batches of 64, {args.threads} thread(s):")
    print(f"  normal weights      {normal:7.2f} s")
    print(f"  denormal weights    {denormal:7.2f} s   ({denormal / normal:.1f}x normal)")
    print(f"  denormal, flushed   {flushed:7.2f} s   ({flushed / normal:.1f}x normal)")

    xs = torch.randn(2000, 3, 32, 32, generator=gen)
    ys = torch.randint(0, 10, (2000,), generator=gen)
    print(f"\nbook training loop (flushes denormals), 2,000 images, {args.epochs} epochs, {args.threads} thread(s):")
    for variant, wd in (("standard", 0.0), ("l2", 3e-4)):
        cfg = TrainConfig(dataset="bench", data_key="random", architecture="salem_cnn", num_classes=10, in_channels=3,
                          image_size=32, epochs=args.epochs, weight_decay=wd, variant=variant, cpu_threads=args.threads)
        start = time.perf_counter()
        train_model(cfg, xs, ys, device="cpu", progress=False)
        seconds = time.perf_counter() - start
        print(f"  {variant:9s} {2000 * args.epochs / seconds:8.0f} images/s")


if __name__ == "__main__":
    main()
