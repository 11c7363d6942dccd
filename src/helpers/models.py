"""Model architectures for any input size and channel count.

Every model returned by :func:`build_model` has the same small interface:

* ``forward(x) -> logits`` of shape ``N x num_classes``;
* ``forward_features(x) -> N x D``, the penultimate-layer features;
* ``classifier``: the final :class:`torch.nn.Linear`, so that in eval mode
  ``logits == model.classifier(model.forward_features(x))``.

Architectures: ``salem_cnn`` (the paper's small CNN), ``resnet18`` (CIFAR variant),
``efficientnet_b0`` (CIFAR variant), ``resnet50`` (torchvision, ImageNet-pretrained for
transfer) and ``mlp`` (a small toy network). ``width`` multiplies channel counts (small
widths make ResNet-18 trainable on a CPU). ``activation`` (relu, leaky_relu, silu, tanh)
applies to salem_cnn, resnet18 and mlp; EfficientNet-B0 always uses SiLU and ResNet-50 ReLU,
as designed (see :func:`helpers.architectures.effective_activation`).
"""

from __future__ import annotations

from functools import partial
from typing import Callable

import torch
from torch import nn

from .architectures import (
    ACTIVATIONS,
    ARCHITECTURES,
    Architecture,
    add_architecture,
    check_activation,
    check_architecture,
)
from .errors import ConfigError

# Architecture name -> builder(num_classes, in_channels, image_size, width, activation,
# pretrained) -> model. Every name in ARCHITECTURES has one (checked at import).
Builder = Callable[[int, int, int, float, str, bool], nn.Module]
BUILDERS: dict[str, Builder] = {}


def make_activation(name: str) -> nn.Module:
    """A fresh activation module by registered name (see :data:`ACTIVATIONS`)."""
    return getattr(nn, ACTIVATIONS[check_activation(name)])()


def register_architecture(spec: Architecture, builder: Builder) -> Architecture:
    """Register a new architecture: its facts (for profiles and cache keys) and its builder.

    ``builder(num_classes, in_channels, image_size, width, activation, pretrained)`` returns
    a model with the interface described in this module's docstring.
    """
    add_architecture(spec)
    BUILDERS[spec.name] = builder
    return spec


def _scaled(channels: int, width: float) -> int:
    return max(1, int(round(channels * width)))


class FeatureClassifier(nn.Module):
    """Base of every model here: ``logits = classifier(forward_features(x))``.

    Subclasses set ``self.classifier`` (the final ``nn.Linear``) and implement
    :meth:`forward_features` (penultimate-layer features, shape N x D).
    """

    classifier: nn.Linear

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.forward_features(x))


class SalemCNN(FeatureClassifier):
    """The paper's CNN: two 5x5 conv blocks (conv, activation, 2x2 max-pool) and two
    linear layers. On ``3 x 32 x 32`` with width 1 it is exactly
    Conv(3->32,5,pad 2), act, MaxPool 2, Conv(32->32,5,pad 2), act, MaxPool 2,
    Linear(2048->128), act, Linear(128->classes)."""

    def __init__(self, num_classes: int, in_channels: int, image_size: int, width: float = 1.0, activation: str = "relu") -> None:
        super().__init__()
        c, hidden = _scaled(32, width), _scaled(128, width)
        side = image_size // 2 // 2
        if side < 1:
            raise ConfigError(f"parameter 'image_size' has value {image_size}; allowed for salem_cnn: at least 4")
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c, 5, padding=2),
            make_activation(activation),
            nn.MaxPool2d(2),
            nn.Conv2d(c, c, 5, padding=2),
            make_activation(activation),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(c * side * side, hidden),
            make_activation(activation),
        )
        self.classifier = nn.Linear(hidden, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


class _BasicBlock(nn.Module):
    """ResNet basic block: two 3x3 convs with batch norm and an identity/projection skip."""

    def __init__(self, cin: int, cout: int, stride: int, activation: str) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.act1, self.act2 = make_activation(activation), make_activation(activation)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.act2(out + self.shortcut(x))


class ResNet18Cifar(FeatureClassifier):
    """ResNet-18 for small images: a 3x3 stride-1 stem and no max-pool, then four stages of
    two basic blocks (64, 128, 256, 512 channels times ``width``; strides 1, 2, 2, 2),
    global average pooling and a linear classifier."""

    def __init__(self, num_classes: int, in_channels: int, image_size: int, width: float = 1.0, activation: str = "relu") -> None:
        super().__init__()
        chans = [_scaled(c, width) for c in (64, 128, 256, 512)]
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, chans[0], 3, padding=1, bias=False), nn.BatchNorm2d(chans[0]), make_activation(activation)
        )
        blocks: list[nn.Module] = []
        cin = chans[0]
        for i, cout in enumerate(chans):
            stride = 1 if i == 0 else 2
            blocks += [_BasicBlock(cin, cout, stride, activation), _BasicBlock(cout, cout, 1, activation)]
            cin = cout
        self.layers = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(cin, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.pool(self.layers(self.stem(x))), 1)


class EfficientNetB0Cifar(FeatureClassifier):
    """torchvision's EfficientNet-B0 blocks (MBConv, squeeze-excitation 0.25, SiLU,
    stochastic depth 0.2) with a 3x3 stride-1 stem for small images, dropout 0.2 before
    the classifier (active only in training mode)."""

    def __init__(self, num_classes: int, in_channels: int, image_size: int, width: float = 1.0) -> None:
        super().__init__()
        from torchvision.models.efficientnet import EfficientNet, MBConvConfig

        cfg = partial(MBConvConfig, width_mult=width, depth_mult=1.0)
        # expand ratio, kernel, stride, in, out, layers (the B0 table)
        setting = [
            cfg(1, 3, 1, 32, 16, 1),
            cfg(6, 3, 2, 16, 24, 2),
            cfg(6, 5, 2, 24, 40, 2),
            cfg(6, 3, 2, 40, 80, 3),
            cfg(6, 5, 1, 80, 112, 3),
            cfg(6, 5, 2, 112, 192, 4),
            cfg(6, 3, 1, 192, 320, 1),
        ]
        net = EfficientNet(setting, dropout=0.2, stochastic_depth_prob=0.2, num_classes=num_classes)
        stem_out = net.features[0][0].out_channels
        net.features[0][0] = nn.Conv2d(in_channels, stem_out, 3, stride=1, padding=1, bias=False)
        nn.init.kaiming_normal_(net.features[0][0].weight, mode="fan_out")
        self.features = net.features
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.2)
        linear = net.classifier[1]
        self.classifier = nn.Linear(linear.in_features, num_classes)
        self.classifier.load_state_dict(linear.state_dict())

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.pool(self.features(x)), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.forward_features(x)))


class ResNet50Transfer(FeatureClassifier):
    """torchvision ResNet-50 (ImageNet weights when ``pretrained``) with a new linear head."""

    def __init__(self, num_classes: int, in_channels: int, pretrained: bool) -> None:
        super().__init__()
        from torchvision.models import ResNet50_Weights, resnet50

        net = resnet50(weights=None)
        if pretrained:
            weights = ResNet50_Weights.IMAGENET1K_V1
            try:
                state = weights.get_state_dict(progress=False)
            except Exception as err:  # noqa: BLE001 - offline, proxy, corrupt download...
                hub = torch.hub.get_dir()
                raise ConfigError(
                    f"ImageNet weights for resnet50 ({weights.url}) are neither in torch's hub cache "
                    f"{hub!r} nor downloadable ({type(err).__name__}: {err}). Put the file in "
                    f"{hub}/checkpoints/ or build the model with pretrained=False to start from "
                    "random weights (the results then differ from the paper's)"
                ) from err
            net.load_state_dict(state)
        if in_channels != 3:
            old = net.conv1
            net.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
            with torch.no_grad():  # spread the pretrained RGB filters over the new channels
                net.conv1.weight.copy_(old.weight.mean(dim=1, keepdim=True).expand(-1, in_channels, -1, -1))
        self.classifier = nn.Linear(net.fc.in_features, num_classes)
        net.fc = nn.Identity()
        self.backbone = net

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)


class MLP(FeatureClassifier):
    """Flatten, two hidden layers of ``256 x width`` units, linear classifier (for toys/tests)."""

    def __init__(self, num_classes: int, in_channels: int, image_size: int, width: float = 1.0, activation: str = "relu") -> None:
        super().__init__()
        hidden = _scaled(256, width)
        self.features = nn.Sequential(
            nn.Flatten(),
            nn.Linear(in_channels * image_size * image_size, hidden),
            make_activation(activation),
            nn.Linear(hidden, hidden),
            make_activation(activation),
        )
        self.classifier = nn.Linear(hidden, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


def build_model(
    architecture: str,
    num_classes: int,
    in_channels: int,
    image_size: int,
    width: float = 1.0,
    activation: str = "relu",
    *,
    pretrained: bool | None = None,
) -> nn.Module:
    """Build an untrained model (weights from the global torch RNG; seed it first).

    ``pretrained`` only concerns ``resnet50``: ``None``/``True`` loads ImageNet weights
    (a :class:`ConfigError` explains what to do when they are unavailable); ``False`` asks
    for random initialisation. Other architectures are trained from scratch.
    """
    spec = check_architecture(architecture)
    for name, value, low in (("num_classes", num_classes, 2), ("in_channels", in_channels, 1), ("image_size", image_size, 4)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ConfigError(f"parameter {name!r} has value {value!r}; allowed: an integer >= {low}")
    if not isinstance(width, (int, float)) or not 0 < width <= 4:
        raise ConfigError(f"parameter 'width' has value {width!r}; allowed: a number in (0, 4]")
    check_activation(activation)
    if pretrained and not spec.pretrained:
        raise ConfigError(f"parameter 'pretrained' is true for {architecture!r}; allowed only for "
                          f"{[a.name for a in ARCHITECTURES.values() if a.pretrained]}")
    use_weights = spec.pretrained and pretrained is not False
    return BUILDERS[architecture](num_classes, in_channels, image_size, width, activation, use_weights)


BUILDERS.update({
    "salem_cnn": lambda k, c, s, w, a, _: SalemCNN(k, c, s, w, a),
    "resnet18": lambda k, c, s, w, a, _: ResNet18Cifar(k, c, s, w, a),
    "efficientnet_b0": lambda k, c, s, w, a, _: EfficientNetB0Cifar(k, c, s, w),
    "resnet50": lambda k, c, s, w, a, pretrained: ResNet50Transfer(k, c, pretrained=pretrained),
    "mlp": lambda k, c, s, w, a, _: MLP(k, c, s, w, a),
})
assert set(BUILDERS) == set(ARCHITECTURES), "every registered architecture needs a builder"
