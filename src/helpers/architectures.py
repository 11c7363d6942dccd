"""The registries of model architectures and activation functions, by name.

This module holds names and facts only (no torch), so that checking a profile and
listing profiles on the command line stay fast. :mod:`helpers.config` validates profiles
against these registries; :mod:`helpers.models` attaches a builder to every architecture
and :func:`helpers.models.register_architecture` adds a new one to both at once.

>>> check_architecture("resnet18").version
'resnet18_cifar-1'
>>> effective_activation("efficientnet_b0", "relu")    # EfficientNet always uses SiLU
'silu'
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ConfigError


@dataclass(frozen=True)
class Architecture:
    """Facts about one architecture.

    Attributes
    ----------
    name: the registry name used in profiles (``salem_cnn``).
    version: part of every model cache key; bump it whenever the architecture's code
        changes, so that models trained with the old code are not reused.
    fixed_activation: the activation the design prescribes (``None``: the profile's
        ``activation`` applies).
    pretrained: whether it can start from published ImageNet weights.
    """

    name: str
    version: str
    fixed_activation: str | None = None
    pretrained: bool = False


# Activation name -> class name in ``torch.nn`` (built by :func:`helpers.models.make_activation`).
ACTIVATIONS: dict[str, str] = {
    "relu": "ReLU",
    "leaky_relu": "LeakyReLU",
    "silu": "SiLU",
    "tanh": "Tanh",
}

ARCHITECTURES: dict[str, Architecture] = {}


def add_architecture(spec: Architecture) -> Architecture:
    """Add ``spec`` to :data:`ARCHITECTURES` (names are unique); returns it.

    Use :func:`helpers.models.register_architecture`, which also attaches the builder.
    """
    if spec.name in ARCHITECTURES:
        raise ConfigError(f"parameter 'name' has value {spec.name!r}; allowed: a name not yet in "
                          f"{list(ARCHITECTURES)}")
    if spec.fixed_activation is not None:
        check_activation(spec.fixed_activation, "fixed_activation")
    ARCHITECTURES[spec.name] = spec
    return spec


def check_architecture(name: object, parameter: str = "architecture") -> Architecture:
    """The registered :class:`Architecture` called ``name``, or a :class:`ConfigError`."""
    if not isinstance(name, str) or name not in ARCHITECTURES:
        raise ConfigError(f"parameter {parameter!r} has value {name!r}; allowed: one of "
                          f"{list(ARCHITECTURES)}")
    return ARCHITECTURES[name]


def check_activation(name: object, parameter: str = "activation") -> str:
    """``name`` if it is a registered activation, else a :class:`ConfigError`."""
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ConfigError(f"parameter {parameter!r} has value {name!r}; allowed: one of "
                          f"{list(ACTIVATIONS)}")
    return name


def effective_activation(architecture: str, activation: str) -> str:
    """The activation a model of ``architecture`` really uses when ``activation`` is asked."""
    fixed = check_architecture(architecture).fixed_activation
    return fixed if fixed is not None else activation


for _spec in (
    Architecture("salem_cnn", "salem_cnn-1"),
    Architecture("resnet18", "resnet18_cifar-1"),
    Architecture("efficientnet_b0", "efficientnet_b0_cifar-1", fixed_activation="silu"),
    Architecture("resnet50", "resnet50_transfer-1", fixed_activation="relu", pretrained=True),
    Architecture("mlp", "mlp-1"),
):
    add_architecture(_spec)
