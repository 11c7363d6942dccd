"""Small conveniences for the chapters: one plotting style, seeding, glued numbers."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

from .labels import fmt_pct  # noqa: F401  (chapters import it from here)
from .plots import set_style

__all__ = ["fmt_pct", "glue", "glue_bundle", "setup", "show_source"]


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


GLUE_PREFIX = "application/papermill.record/"  # the prefix myst-nb reads glued values under


def glue_bundle(name: str, value: Any, display: bool = False) -> tuple[dict, dict]:
    """The (data, metadata) display bundle by which ``myst_nb.glue`` stores ``value``.

    The same bundle as myst-nb's own (a test compares them), built without importing
    myst-nb: its glue module imports ``nbformat`` and with it ``jsonschema``'s format
    checkers, about a second of every chapter's run for nothing the chapter uses.
    """
    from IPython.core.formatters import format_display_data

    data, metadata = format_display_data(value)
    prefix = "" if display else GLUE_PREFIX
    metadata["scrapbook"] = {"name": name, "mime_prefix": prefix}
    return {prefix + mime: content for mime, content in data.items()}, metadata


def glue(name: str, value: Any, display: bool = False) -> Any:
    """Make ``value`` quotable in the chapter's prose as ``{glue:text}`name```.

    Publishes the bundle of :func:`glue_bundle` when running in a Jupyter kernel (the book
    build reads it back); elsewhere, e.g. in a plain Python process, it only returns
    ``value``, so chapters run in both places.
    """
    from IPython import get_ipython
    from IPython.display import display as ipython_display

    if get_ipython() is None:
        return value
    data, metadata = glue_bundle(name, value, display)
    ipython_display(data, raw=True, metadata=metadata)
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
