"""Command line: ``python -m helpers {run,build,book,train,profiles,audit}``.

Examples::

    python -m helpers book                         # execute every chapter (quick), build HTML
    python -m helpers run --profile cifar10 -c 02  # execute chapter 2 only
    python -m helpers run -p dataset imagefolder:/data/afhq -p epochs 5
    python -m helpers build                        # render already executed chapters
    python -m helpers train --engine ray           # every model of a profile, as Ray tasks
    python -m helpers audit --model model.pt --members train/ --heldout heldout/ --out report/
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import yaml

from ..config import ConfigError, available_profiles, load_profile
from .runner import DEFAULT_BUILD_DIR, ChapterFailed, build_html, execute_chapters, select_chapters


def _parse_value(text: str):
    """Read a ``-p NAME VALUE`` value as YAML (so 5 is an int, [a, b] a list)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (("run", "execute chapters with papermill"),
                            ("book", "execute chapters, then build the HTML")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--profile", default="quick", help="profile name (default: quick)")
        p.add_argument("-c", "--chapters", nargs="*", default=None,
                       help="chapter numbers or names (default: all)")
        p.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                       metavar=("NAME", "VALUE"), help="override one profile parameter")
        p.add_argument("--build-dir", type=Path, default=DEFAULT_BUILD_DIR)
        p.add_argument("--force", action="store_true",
                       help="re-execute chapters even when nothing they depend on has changed")
        p.add_argument("--pretrain", choices=("auto", "yes", "no"), default="auto",
                       help="train the missing models first, in parallel processes (auto, the "
                            "default: when every chapter is selected)")
    t = sub.add_parser("train", help="train the profile's models into the cache, locally or with Ray")
    t.add_argument("--profile", default="quick", help="profile name (default: quick)")
    t.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                   metavar=("NAME", "VALUE"), help="override one profile parameter")
    t.add_argument("--engine", default="local",
                   help="local (default): one model after another here; processes: in parallel "
                        "worker processes here; ray: one Ray task per model")
    t.add_argument("--workers", type=int, default=None,
                   help="worker processes of the processes engine (default: CPU cores / train_threads)")
    t.add_argument("--address", default=None,
                   help="a Ray cluster's address (default: start a local Ray instance)")
    t.add_argument("--no-references", action="store_true", help="skip chapter 8's reference models")
    t.add_argument("--variant-references", type=int, default=2,
                   help="reference models per non-standard variant (chapter 8's parameter, default 2)")
    b = sub.add_parser("build", help="render executed chapters to HTML (no execution)")
    b.add_argument("--build-dir", type=Path, default=DEFAULT_BUILD_DIR)
    sub.add_parser("profiles", help="list the available profiles")
    _audit_parser(sub)
    args = parser.parse_args(argv)

    try:
        if args.command == "audit":
            return _audit(args)
        if args.command == "profiles":
            for name in available_profiles():
                prof = load_profile(name)
                print(f"{name:10s} {prof.description}")
                print(f"{'':10s} data: {prof.dataset}; architectures: {', '.join(prof.architectures)}; "
                      f"{prof.train_size:,} training images per model; {prof.expected_time or 'time not measured'}")
            return 0
        if args.command == "train":
            # imported here: the grid needs torch (seconds), the other commands do not
            from .grid import train_grid, training_jobs

            params = {name: _parse_value(value) for name, value in args.parameter}
            profile = load_profile(args.profile, **params)
            jobs = training_jobs(profile, references=not args.no_references,
                                 variant_references=args.variant_references)
            start = time.perf_counter()
            results = train_grid(profile, jobs, engine=args.engine, address=args.address, workers=args.workers)
            trained = sum(not r["from_cache"] for r in results)
            print(f"{len(results)} model(s) ready ({trained} trained) in {time.perf_counter() - start:.1f} s")
            return 0
        if args.command in ("run", "book"):
            params = {name: _parse_value(value) for name, value in args.parameter}
            chapters = select_chapters(args.chapters)
            start = time.perf_counter()
            execute_chapters(chapters, args.profile, params, build_dir=args.build_dir, force=args.force,
                             pretrain={"auto": None, "yes": True, "no": False}[args.pretrain])
            print(f"executed {len(chapters)} chapter(s) in {time.perf_counter() - start:.1f} s; "
                  f"timings in {args.build_dir / 'timings.json'}")
        if args.command in ("build", "book"):
            index = build_html(args.build_dir)
            print(f"book built: {index}")
        return 0
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # the audit's own checks (helpers.audit) raise ValueError
        if args.command != "audit":
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ChapterFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1




def _audit_parser(sub) -> None:
    """The ``audit`` command's options (see :mod:`helpers.model_audit`)."""
    a = sub.add_parser("audit", help="audit a trained model of your own: FPR of score-based attacks per "
                                     "non-member source at thresholds set on held-out images")
    a.add_argument("--model", required=True, help="TorchScript file, or a state dict (with --architecture "
                   "and its sizes, or a sidecar NAME.json as the book's cache writes)")
    a.add_argument("--members", required=True, help="folder of the model's training images (class sub-folders "
                   "or images directly inside)")
    a.add_argument("--heldout", required=True, help="folder of held-out images of the same distribution "
                   "(thresholds; half of them are the test source unless --test is given)")
    a.add_argument("--test", default=None, help="folder of other held-out images, the in-distribution source")
    a.add_argument("--source", nargs=2, action="append", default=[], metavar=("NAME", "FOLDER"),
                   help="another non-member source (repeatable)")
    a.add_argument("--out", type=Path, default=Path("audit-report"), help="output folder (default audit-report)")
    a.add_argument("--format", nargs="+", default=["md", "html"], help="md, html or both (default both)")
    a.add_argument("--architecture", default=None, help="registered architecture of a state dict")
    a.add_argument("--num-classes", type=int, default=None)
    a.add_argument("--in-channels", type=int, default=None)
    a.add_argument("--image-size", type=int, default=None)
    a.add_argument("--width", type=float, default=None)
    a.add_argument("--activation", default=None)
    a.add_argument("--mean", type=float, nargs="+", default=None,
                   help="normalisation mean per channel (default: the member images' own)")
    a.add_argument("--std", type=float, nargs="+", default=None, help="normalisation std per channel")
    a.add_argument("--resize", action="store_true", help="resize images to the model's --image-size")
    a.add_argument("--fprs", type=float, nargs="+", default=[0.01, 0.05], help="target FPRs (default 0.01 0.05)")
    a.add_argument("--confidence", type=float, default=0.95,
                   help="interval level; also the family-wise level of the flags (Holm, as in chapter 8)")
    a.add_argument("--scale-factor", type=float, default=255.0, help="factor of the scaled source (default 255)")
    a.add_argument("--seed", type=int, default=0)


def _audit(args: argparse.Namespace) -> int:
    """Run ``python -m helpers audit`` and print where the report went."""
    # imported here: torch and the models load in seconds, the other commands do not need them
    from ..model_audit import audit_folders, load_model

    names = [name for name, _ in args.source]
    if len(set(names)) != len(names):
        raise ConfigError(f"parameter 'source' repeats a name in {names}; allowed: distinct names")
    model = load_model(args.model, architecture=args.architecture, num_classes=args.num_classes,
                       in_channels=args.in_channels, image_size=args.image_size, width=args.width,
                       activation=args.activation)
    start = time.perf_counter()
    result = audit_folders(model, args.members, args.heldout, test=args.test, sources=dict(args.source),
                           mean=args.mean, std=args.std, resize=args.resize, fprs=tuple(args.fprs),
                           confidence=args.confidence, scale_factor=args.scale_factor, seed=args.seed)
    written = result.write(args.out, args.format)
    for line in result.summary():
        print(line)
    print(f"audit written in {time.perf_counter() - start:.1f} s: {', '.join(str(p) for p in written)}")
    return 0
