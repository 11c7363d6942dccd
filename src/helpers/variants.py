"""The model variants of the paper's Table 2, in one place.

A *variant* changes how the target (and, identically, the attacker's shadow model) turns
inputs into scores:

* training variants change the recipe and need their own trained models:
  ``standard`` (no regularisation), ``label_smoothing`` (``profile.label_smoothing``),
  ``l2`` (``profile.weight_decay``, Adam's coupled weight decay);
* post-hoc variants reuse the ``standard`` model: ``temperature`` divides its logits by
  ``profile.temperature``; ``laplace`` replaces its softmax by a last-layer Laplace
  predictive (:mod:`helpers.calibration`).

The names here are the keys everywhere in the library; :data:`VARIANT_LABELS` holds the
paper's column labels, used only for display.
"""

from __future__ import annotations

from .config import ConfigError

TRAINING_VARIANTS = ("standard", "label_smoothing", "l2")
POST_HOC_VARIANTS = ("temperature", "laplace")
ALL_VARIANTS = ("standard", "label_smoothing", "laplace", "temperature", "l2")  # Table 2's order
VARIANT_LABELS = {"standard": "Standard", "label_smoothing": "LS", "laplace": "LA",
                  "temperature": "Temp", "l2": "L2"}


def check_variant(variant: str, allowed: tuple[str, ...] = ALL_VARIANTS) -> str:
    """``variant`` itself when it is one of ``allowed``; else a :class:`ConfigError`."""
    if variant not in allowed:
        raise ConfigError(f"parameter 'variant' has value {variant!r}; allowed: one of {list(allowed)}")
    return variant


def training_variant(variant: str) -> str:
    """The trained model behind a variant: itself, or ``standard`` for a post-hoc one."""
    check_variant(variant)
    return variant if variant in TRAINING_VARIANTS else "standard"
