"""Chapter 2 through the runner, cold (empty model cache) and warm (same cache again).

Cold, the chapter trains every target and shadow model of the profile; warm, it loads
them from the cache and only evaluates (re-executed with ``--force``, since the runner
would otherwise reuse the executed notebook of an unchanged chapter). Both runs use a fresh temporary cache folder
(``HELPERS_CACHE_DIR``) and a temporary build folder, so neither the repository's cache
nor ``book/_build`` is touched. Run from the repository root::

    .venv/bin/python benchmarks/bench_chapter2_cache.py                 # quick profile
    .venv/bin/python benchmarks/bench_chapter2_cache.py --profile cifar10
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_chapter(profile: str, cache_dir: Path, build_dir: Path, extra: list[str]) -> float:
    """Execute chapter 2 with the runner in a subprocess; return wall-clock seconds."""
    env = {**os.environ, "HELPERS_CACHE_DIR": str(cache_dir)}
    cmd = [sys.executable, "-m", "helpers", "run", "--profile", profile, "-c", "02",
           "--build-dir", str(build_dir), *extra]
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"chapter 2 failed (exit {done.returncode})")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="passed on to the runner, e.g. -p epochs 5")
    args = parser.parse_args()
    extra = [item for pair in args.parameter for item in ("-p", *pair)]
    with tempfile.TemporaryDirectory(prefix="bench_ch2_") as tmp:
        cache, build = Path(tmp) / "cache", Path(tmp) / "build"
        cold = run_chapter(args.profile, cache, build, extra)
        n_models = len(list((cache / "models").glob("*.pt"))) if (cache / "models").is_dir() else 0
        # --force: re-execute the chapter (the runner would otherwise reuse its executed notebook)
        warm = run_chapter(args.profile, cache, build, extra + ["--force"])
    print(f"chapter 2, profile {args.profile!r}: {n_models} models trained and cached")
    print(f"cold (empty cache): {cold:7.1f} s")
    print(f"warm (same cache):  {warm:7.1f} s")
    print(f"cold / warm:        {cold / warm:7.2f}x")


if __name__ == "__main__":
    main()
