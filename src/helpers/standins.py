"""Offline stand-in images: pictures that need no download.

The paper feeds its targets other datasets (STL-10, AFHQ, SVHN, ...). A reader without a
network still gets non-members of the same *kind* from these renderers: crops of the two
photographs shipped with scikit-learn and letters printed with PIL's built-in font.
:mod:`helpers.sources` turns them into named non-member sets in a target's preprocessing.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from sklearn.datasets import load_sample_images

from .data import resize_images


def natural_patches(n: int, seed: int, min_size: int = 24, max_size: int = 160) -> torch.Tensor:
    """``n`` random square crops (side ``min_size..max_size`` px) of scikit-learn's two sample
    photos (``china.jpg``, ``flower.jpg``), RGB in [0, 1] at 64 x 64 px."""
    photos = [torch.from_numpy(np.array(im)).permute(2, 0, 1).float() / 255.0
              for im in load_sample_images().images]
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        img = photos[int(rng.integers(len(photos)))]
        _, h, w = img.shape
        side = int(rng.integers(min_size, min(max_size, h, w) + 1))
        top, left = int(rng.integers(h - side + 1)), int(rng.integers(w - side + 1))
        out.append(resize_images(img[None, :, top:top + side, left:left + side], 64))
    return torch.cat(out)


LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def printed_letters(n: int, seed: int, size: int = 32) -> tuple[torch.Tensor, list[str]]:
    """``n`` printed letters (white on black, grey ``N x 1 x size x size`` in [0, 1]) rendered
    with PIL's built-in font at random font sizes, stroke widths, small rotations and
    offsets; returns the images and the characters."""
    rng = np.random.default_rng(seed)
    images, chars = [], []
    for _ in range(n):
        ch = LETTERS[int(rng.integers(len(LETTERS)))]
        font = ImageFont.load_default(size=int(rng.integers(36, 56)))
        canvas = Image.new("L", (96, 96), 0)
        ImageDraw.Draw(canvas).text((48, 48), ch, fill=255, font=font, anchor="mm",
                                    stroke_width=int(rng.integers(0, 3)), stroke_fill=255)
        canvas = canvas.rotate(float(rng.uniform(-12, 12)), resample=Image.BILINEAR)
        box = canvas.getbbox() or (0, 0, 96, 96)
        side = int(max(box[2] - box[0], box[3] - box[1]) * rng.uniform(1.15, 1.35))
        cx = (box[0] + box[2]) / 2 + rng.uniform(-0.05, 0.05) * side
        cy = (box[1] + box[3]) / 2 + rng.uniform(-0.05, 0.05) * side
        crop = canvas.crop((round(cx - side / 2), round(cy - side / 2), round(cx + side / 2), round(cy + side / 2)))
        crop = crop.resize((size, size), Image.BILINEAR, reducing_gap=None)
        images.append(torch.from_numpy(np.asarray(crop, dtype=np.float32) / 255.0)[None])
        chars.append(ch)
    return torch.stack(images), chars
