"""Where things are, and how files are written: the one home for both.

Standard library only, so that the Sphinx extension (:mod:`helpers.tooling.assets`) and the runner
can use it without importing torch.

* :func:`find_repo_root` / :data:`REPO_ROOT`: the project checkout this package runs from;
* :func:`atomic_path` and :func:`atomic_write_text`: write to a temporary file in the
  target's folder, then :func:`os.replace` it into place (atomic on POSIX and Windows), so
  an interrupted write never leaves a half-written file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator


def find_repo_root() -> Path | None:
    """The project checkout this package runs from, or ``None`` when installed elsewhere.

    A folder counts as the checkout when it holds ``pyproject.toml`` and ``src/helpers``.
    """
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "src" / "helpers").is_dir():
            return parent
    return None


# The checkout, or (installed elsewhere) the current folder, where a reader's book lives.
REPO_ROOT = find_repo_root() or Path.cwd()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it onto ``path`` only on success.

    >>> with atomic_path("out.bin") as tmp:  # doctest: +SKIP
    ...     tmp.write_bytes(b"...")
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_text(text: str, path: str | os.PathLike) -> None:
    """Write a text file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
