"""ipywidgets explorers that still work in the static book.

A static page has no kernel, so nothing can be recomputed when a control moves. The
explorers here therefore pre-render every state and switch between them in the browser:
a slider's position is linked (``jslink``, client side) to the visible child of a
``Stack`` of images. The saved widget state then shows the right picture for every
slider position, with or without a kernel.
"""

from __future__ import annotations

from typing import Sequence

import ipywidgets as widgets


def image_stepper(
    labels: Sequence[str],
    images_png: Sequence[bytes],
    description: str = "scale",
    initial: int = 0,
    width: str = "640px",
) -> widgets.VBox:
    """A slider over ``labels`` that shows the matching pre-rendered PNG image."""
    if len(labels) != len(images_png) or not labels:
        raise ValueError(
            f"parameter 'images_png' has {len(images_png)} images for {len(labels)} labels; "
            "allowed: one image per label, at least one"
        )
    if not 0 <= initial < len(labels):
        raise ValueError(f"parameter 'initial' has value {initial}; allowed: 0..{len(labels) - 1}")
    slider = widgets.SelectionSlider(options=list(labels), index=initial, description=description,
                                     continuous_update=True, layout=widgets.Layout(width=width))
    pages = [widgets.Image(value=png, format="png", layout=widgets.Layout(width=width))
             for png in images_png]
    stack = widgets.Stack(pages, selected_index=initial)
    widgets.jslink((slider, "index"), (stack, "selected_index"))
    return widgets.VBox([slider, stack])
