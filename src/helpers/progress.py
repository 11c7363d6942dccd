"""Progress of long steps, visible outside the notebook kernel that runs them.

Inside a chapter executed by the runner, a kernel has no terminal: its progress bars end
up in the executed notebook, not in front of the user. Long steps (training a model, the
attacker's generator, a Laplace fit, a t-SNE embedding) therefore also report one-line
messages through :func:`report`. When the environment variable ``HELPERS_PROGRESS_FILE``
names a file, each message is appended to it as one line; the runner follows that file and
prints the lines while the chapter runs. Without the variable nothing happens.

:class:`Throttle` keeps the output short: a step reports at most every ``every`` seconds
(and always its last update).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

PROGRESS_ENV = "HELPERS_PROGRESS_FILE"


def progress_file() -> Path | None:
    """The file progress lines go to, or ``None`` when nobody listens."""
    name = os.environ.get(PROGRESS_ENV)
    return Path(name) if name else None


def report(message: str) -> None:
    """Append ``message`` (one line) to the progress file, if there is one."""
    path = progress_file()
    if path is None:
        return
    line = " ".join(str(message).split())
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")


class Throttle:
    """Report a long step's updates at most every ``every`` seconds, and always the last one."""

    def __init__(self, every: float = 10.0) -> None:
        self.every = every
        self._last = time.monotonic()

    def update(self, message: str, *, final: bool = False) -> None:
        now = time.monotonic()
        if final or now - self._last >= self.every:
            report(message)
            self._last = now


def eta(done: int, total: int, elapsed: float) -> str:
    """'about 12 s left' from the work done so far."""
    if done <= 0 or total <= done:
        return "done" if total <= done else "estimating"
    left = elapsed / done * (total - done)
    return f"about {left:.0f} s left" if left < 120 else f"about {left / 60:.1f} min left"
