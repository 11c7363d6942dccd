"""Would running chapters in parallel pay on this machine? One run, two schedules.

Both schedules re-execute every chapter (``--force``) on the warm model cache, each
chapter in its own runner process (``python -m helpers run -c NN``), taken from one queue
longest-first (by the last ``timings.json``):

  1 worker    one chapter after another (what the runner does)
  N workers   N chapters at a time (what a ``-j N`` option would do)

and prints both wall times and their ratio. Training already uses both cores, so run it
after the models are cached (``make book``). From the repository root:

    python benchmarks/bench_parallel_chapters.py [--profile quick] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from helpers.tooling.runner import DEFAULT_BUILD_DIR, chapter_sources


def _schedule(chapters: list[str], workers: int, profile: str, build: Path) -> float:
    todo: queue.Queue[str] = queue.Queue()
    for stem in chapters:
        todo.put(stem)
    failures: list[str] = []

    def work() -> None:
        while True:
            try:
                stem = todo.get_nowait()
            except queue.Empty:
                return
            run = subprocess.run([sys.executable, "-m", "helpers", "run", "--force", "--profile", profile,
                                  "-c", stem[:2], "--build-dir", str(build)], capture_output=True, text=True)
            if run.returncode != 0:
                failures.append(f"{stem}: {run.stderr.strip()[-300:]}")

    start = time.perf_counter()
    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise SystemExit("chapters failed:\n" + "\n".join(failures))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    stems = [p.stem for p in chapter_sources()]
    timings = DEFAULT_BUILD_DIR / "timings.json"
    last = json.loads(timings.read_text())["chapters"] if timings.is_file() else {}
    stems.sort(key=lambda s: -last.get(s, 0.0))  # longest first: the best greedy schedule
    print(f"profile {args.profile}, {len(stems)} chapters, warm model cache, every chapter forced")
    with tempfile.TemporaryDirectory() as tmp:
        one = _schedule(stems, 1, args.profile, Path(tmp) / "one")
        many = _schedule(stems, args.workers, args.profile, Path(tmp) / "many")
    print(f"  1 worker    {one:7.1f} s")
    print(f"  {args.workers} workers   {many:7.1f} s   speed-up {one / many:.2f}x")


if __name__ == "__main__":
    main()
