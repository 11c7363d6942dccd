"""Throughput of the book's training loop versus a plain DataLoader loop.

Both loops train the same model (same initial weights, same optimiser, same batch size)
on the same random ``3 x 32 x 32`` tensors (and, third, the quick profile's small SalemCNN
on ``1 x 16 x 16``, where per-batch overhead matters most). The baseline is the textbook loop:
``DataLoader(TensorDataset(x, y), batch_size, shuffle=True)`` feeding a contiguous model.
Ours is :func:`helpers.training.train_model` (seeded index slicing of tensors already on
the device, channels-last memory format, no per-sample work, deterministic on the CPU).

The two loops run alternately ``--repeats`` times and the best time of each is kept, which
damps the noise of a shared machine. Run from the repository root::

    .venv/bin/python benchmarks/bench_training.py            # ~2,000 images, 2 epochs
    .venv/bin/python benchmarks/bench_training.py --n 500 --repeats 1
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from helpers.training import TrainConfig, new_model, resolve_device, train_model


def dataloader_loop(cfg: TrainConfig, x: torch.Tensor, y: torch.Tensor, device: torch.device) -> float:
    """The plain baseline; returns seconds."""
    start = time.perf_counter()
    model = new_model(cfg).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    loss_fn = nn.CrossEntropyLoss()
    loader = DataLoader(TensorDataset(x, y), batch_size=cfg.batch_size, shuffle=True, generator=torch.Generator().manual_seed(0))
    model.train()
    for _ in range(cfg.epochs):
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            loss = loss_fn(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def our_loop(cfg: TrainConfig, x: torch.Tensor, y: torch.Tensor, device: torch.device) -> float:
    start = time.perf_counter()
    train_model(cfg, x, y, device=device, progress=False)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="number of images")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2, help="alternating runs per loop (best kept)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--resnet-width", type=float, default=0.25, help="ResNet-18 width (CPU profile: 0.25)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    device = resolve_device(args.device)
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 10, (args.n,), generator=g)
    print(f"device {device}, threads {torch.get_num_threads()}, {args.n} random images, "
          f"{args.epochs} epochs, batch {args.batch_size}, best of {args.repeats}")
    print(f"{'model':<24}{'DataLoader img/s':>18}{'ours img/s':>14}{'ratio':>8}")
    cases = (("salem_cnn", 1.0, 3, 32), ("resnet18", args.resnet_width, 3, 32), ("salem_cnn", 0.25, 1, 16))
    for arch, width, channels, size in cases:
        cfg = TrainConfig(
            dataset="random", data_key="bench", architecture=arch, num_classes=10, in_channels=channels,
            image_size=size, width=width, epochs=args.epochs, batch_size=args.batch_size, lr=1e-3, seed=0,
        )
        x = torch.randn(args.n, channels, size, size, generator=g)
        base, ours = [], []
        for _ in range(args.repeats):
            base.append(dataloader_loop(cfg, x, y, device))
            ours.append(our_loop(cfg, x, y, device))
        images = args.n * args.epochs
        b, o = images / min(base), images / min(ours)
        print(f"{arch + f' w{width:g} {channels}x{size}x{size}':<24}{b:>18.0f}{o:>14.0f}{o / b:>7.2f}x", flush=True)


if __name__ == "__main__":
    main()
