"""Whole-book execution: cold, warm with nothing changed, and after a prose edit.

Copies the chapter sources into a temporary folder and executes them three (four) times
with the runner, each time into the same build folder and model cache:

  cold         empty model cache, no executed notebooks: everything trains and runs
  warm         nothing changed: the runner's chapter cache reuses every executed notebook
  prose edit   one sentence added to one chapter's prose: no chapter re-executes (the
               runner swaps the new text into the executed notebook)
  code edit    one code cell added to that chapter: only it re-executes, on the warm
               model cache
  forced       ``force=True`` (every chapter re-executed on the warm model cache)

and prints the times with their ratios to the cold run. Run from the repository root:

    python benchmarks/bench_book_cache.py [--profile quick] [--edit 03]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from helpers.tooling.runner import CHAPTER_DIR, chapter_sources, execute_chapters


def _timed(label: str, chapters: list[Path], profile: str, build: Path, force: bool = False) -> float:
    start = time.perf_counter()
    results = execute_chapters(chapters, profile, build_dir=build, force=force, echo=lambda *a, **k: None)
    seconds = time.perf_counter() - start
    ran = [r.chapter for r in results if not r.reused]
    print(f"  {label:11s} {seconds:7.1f} s   executed: {', '.join(ran) if ran else 'none'}", flush=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--edit", default="03", help="number of the chapter whose prose is edited")
    parser.add_argument("--skip-forced", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        chapter_dir = root / "chapters"
        chapter_dir.mkdir()
        for source in chapter_sources(CHAPTER_DIR):
            shutil.copy(source, chapter_dir / source.name)
        chapters = chapter_sources(chapter_dir)
        build = root / "build"
        os.environ["HELPERS_CACHE_DIR"] = str(root / "cache")
        print(f"book under '{args.profile}', {len(chapters)} chapters, empty model cache in a temporary folder:")
        cold = _timed("cold", chapters, args.profile, build)
        warm = _timed("warm", chapters, args.profile, build)
        edited = next(c for c in chapters if c.name.startswith(args.edit.zfill(2)))
        edited.write_text(edited.read_text() + "\n# %% [markdown]\n# One more sentence of prose.\n")
        edit = _timed("prose edit", chapters, args.profile, build)
        edited.write_text(edited.read_text() + "\n# %%\nprint('one more code cell')\n")
        code_edit = _timed("code edit", chapters, args.profile, build)
        forced = None if args.skip_forced else _timed("forced", chapters, args.profile, build, force=True)
    print(f"\nwarm / cold       {warm / cold:6.1%}")
    print(f"prose edit / cold {edit / cold:6.1%}  (chapter {edited.stem}'s text)")
    print(f"code edit / cold  {code_edit / cold:6.1%}  (chapter {edited.stem} re-executed)")
    if forced is not None:
        print(f"forced / cold     {forced / cold:6.1%}  (every chapter, models from the cache)")


if __name__ == "__main__":
    main()
