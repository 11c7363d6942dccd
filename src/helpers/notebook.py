"""Small conveniences for the chapters: one plotting style, seeding, glued numbers."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

from .labels import fmt_pct  # noqa: F401  (chapters import it from here)
from .plots import set_style

__all__ = ["fmt_pct", "glue", "setup", "show_source"]


def setup(seed: int = 42, cpu_threads: int | None = 2) -> None:
    """Seed every generator, fix the CPU thread count and apply the plotting style.

    The thread count changes the order of floating-point sums, so a fixed value (the
    profile's ``cpu_threads``) keeps scores and tables identical across machines.
    """
    if cpu_threads is not None:
        torch.set_num_threads(int(cpu_threads))
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    set_style()


def glue(name: str, value: Any, display: bool = False) -> Any:
    """Make ``value`` quotable in the chapter's prose as ``{glue:text}`name```.

    Uses ``myst_nb.glue`` when it is installed (the book build) and is a no-op
    elsewhere (e.g. in Colab), so chapters run in both places.
    """
    try:
        from myst_nb import glue as _glue
    except ImportError:  # pragma: no cover - depends on the environment
        return value
    _glue(name, value, display=display)
    return value


def show_source(obj: Any) -> Any:
    """Display the source code of a library function, class or method in a chapter.

    The chapter shows the code the library really runs (one source of truth), not a copy
    that could drift from it.
    """
    import inspect
    import textwrap

    from IPython.display import Markdown

    code = textwrap.dedent(inspect.getsource(obj))
    return Markdown(f"```python\n{code}```")
