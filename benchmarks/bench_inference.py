"""Inference batch size on the CPU (helpers.training.INFERENCE_BATCH).

Every chapter scores thousands of images: evaluation sets, scaled inputs, the label-only
attacks' perturbed queries. This script times ``predict_logits`` on 1,000 CIFAR-sized
images for the two ``quick`` architectures (SalemCNN, ResNet-18 at a quarter of its
channels) at several batch sizes, in one run, and prints images per second, the speed-up
over 512 (the former default) and the largest difference of the logits from those at 512
(0 means bit for bit the same).

    python benchmarks/bench_inference.py [--threads 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import torch

from helpers.models import build_model
from helpers.training import INFERENCE_BATCH, predict_logits

MODELS = {"salem_cnn": 1.0, "resnet18": 0.25}  # architecture -> width, as in the quick profile
BATCHES = (32, 64, 128, 256, 512, 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    x = torch.randn(1000, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    print(f"{args.threads} thread(s); default CPU batch: {INFERENCE_BATCH['cpu']}")
    for arch, width in MODELS.items():
        torch.manual_seed(0)
        model = build_model(arch, 10, 3, 32, width=width).eval()
        reference = predict_logits(model, x, batch_size=512)
        rates, diffs = {}, {}
        for batch in BATCHES:
            predict_logits(model, x, batch_size=batch)  # warm-up
            start = time.perf_counter()
            for _ in range(args.repeats):
                logits = predict_logits(model, x, batch_size=batch)
            rates[batch] = len(x) * args.repeats / (time.perf_counter() - start)
            diffs[batch] = float((logits - reference).abs().max())
        for batch in BATCHES:
            print(f"{arch:10s} batch {batch:5d}: {rates[batch]:7,.0f} images/s ({rates[batch] / rates[512]:.2f}x of "
                  f"512), largest logit difference from batch 512: {diffs[batch]:.1e}")

if __name__ == "__main__":
    main()
