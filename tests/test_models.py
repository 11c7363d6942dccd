"""Architectures: shapes, the shared interface, the paper's SalemCNN layers, errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from helpers.architectures import ARCHITECTURES, Architecture, effective_activation
from helpers.config import ConfigError, load_profile
from helpers.models import BUILDERS, SalemCNN, build_model, make_activation, register_architecture


@pytest.mark.parametrize(
    "arch,channels,size,width",
    [
        ("salem_cnn", 3, 32, 1.0),
        ("salem_cnn", 1, 16, 0.25),
        ("salem_cnn", 1, 8, 0.5),
        ("resnet18", 3, 32, 0.125),
        ("resnet18", 1, 16, 0.25),
        ("efficientnet_b0", 3, 32, 0.25),
        ("mlp", 1, 8, 0.5),
    ],
)
def test_interface_and_shapes(arch, channels, size, width):
    torch.manual_seed(0)
    model = build_model(arch, 7, channels, size, width=width).eval()
    x = torch.randn(3, channels, size, size)
    logits = model(x)
    assert logits.shape == (3, 7)
    assert isinstance(model.classifier, nn.Linear) and model.classifier.out_features == 7
    feats = model.forward_features(x)
    assert feats.ndim == 2 and feats.shape[0] == 3 and feats.shape[1] == model.classifier.in_features
    assert torch.allclose(model.classifier(feats), logits, atol=1e-5)


def test_salem_cnn_matches_the_paper():
    model = build_model("salem_cnn", 10, 3, 32)
    assert isinstance(model, SalemCNN)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.padding) for c in convs] == [
        (3, 32, (5, 5), (2, 2)),
        (32, 32, (5, 5), (2, 2)),
    ]
    assert [(l.in_features, l.out_features) for l in linears] == [(2048, 128), (128, 10)]
    assert sum(isinstance(m, nn.MaxPool2d) for m in model.modules()) == 2
    assert sum(isinstance(m, nn.ReLU) for m in model.modules()) == 3


def test_resnet18_uses_cifar_stem():
    model = build_model("resnet18", 10, 3, 32)
    stem = model.stem[0]
    assert stem.kernel_size == (3, 3) and stem.stride == (1, 1)
    assert not any(isinstance(m, nn.MaxPool2d) for m in model.modules())
    assert model.classifier.in_features == 512
    assert build_model("resnet18", 10, 3, 32, width=0.25).classifier.in_features == 128


def test_efficientnet_stem_and_silu():
    model = build_model("efficientnet_b0", 10, 3, 32, activation="relu")
    first = model.features[0][0]
    assert first.kernel_size == (3, 3) and first.stride == (1, 1)
    assert any(isinstance(m, nn.SiLU) for m in model.modules())
    assert effective_activation("efficientnet_b0", "relu") == "silu"


@pytest.mark.parametrize("activation,cls", [("relu", nn.ReLU), ("leaky_relu", nn.LeakyReLU), ("silu", nn.SiLU), ("tanh", nn.Tanh)])
def test_activation_choice(activation, cls):
    model = build_model("salem_cnn", 10, 1, 8, activation=activation)
    assert sum(isinstance(m, cls) for m in model.modules()) == 3


def test_bad_arguments_are_named():
    with pytest.raises(ConfigError, match="architecture.*vgg.*allowed"):
        build_model("vgg", 10, 3, 32)
    with pytest.raises(ConfigError, match="activation.*gelu"):
        build_model("salem_cnn", 10, 3, 32, activation="gelu")
    with pytest.raises(ConfigError, match="num_classes"):
        build_model("salem_cnn", 1, 3, 32)
    with pytest.raises(ConfigError, match="width"):
        build_model("salem_cnn", 10, 3, 32, width=0)
    with pytest.raises(ConfigError, match="pretrained"):
        build_model("salem_cnn", 10, 3, 32, pretrained=True)


def test_resnet50_without_weights_explains(monkeypatch):
    from torchvision.models import ResNet50_Weights

    def offline(self, *args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(ResNet50_Weights, "get_state_dict", offline)
    with pytest.raises(ConfigError, match="pretrained=False"):
        build_model("resnet50", 5, 3, 32)
    model = build_model("resnet50", 5, 1, 32, pretrained=False).eval()
    x = torch.randn(2, 1, 32, 32)
    assert torch.allclose(model.classifier(model.forward_features(x)), model(x), atol=1e-5)


def test_every_architecture_has_a_version_and_a_builder():
    assert set(BUILDERS) == set(ARCHITECTURES)
    assert len({a.version for a in ARCHITECTURES.values()}) == len(ARCHITECTURES)


def test_activations_come_from_one_registry():
    assert isinstance(make_activation("leaky_relu"), nn.LeakyReLU)
    with pytest.raises(ConfigError, match="parameter 'activation' has value 'gelu'"):
        make_activation("gelu")
    with pytest.raises(ConfigError, match="parameter 'activation' has value 'gelu'"):
        load_profile("digits", activation="gelu")


def test_a_registered_architecture_is_valid_in_profiles_and_buildable():
    spec = Architecture("tiny_linear", "tiny_linear-1")

    class TinyLinear(nn.Module):
        def __init__(self, k, c, s):
            super().__init__()
            self.classifier = nn.Linear(c * s * s, k)

        def forward_features(self, x):
            return x.flatten(1)

        def forward(self, x):
            return self.classifier(self.forward_features(x))

    with pytest.raises(ConfigError, match="parameter 'architectures'"):
        load_profile("digits", architectures=["tiny_linear"])
    register_architecture(spec, lambda k, c, s, w, a, pretrained: TinyLinear(k, c, s))
    try:
        assert load_profile("digits", architectures=["tiny_linear"]).architectures == ("tiny_linear",)
        model = build_model("tiny_linear", 3, 1, 8)
        assert model(torch.zeros(2, 1, 8, 8)).shape == (2, 3)
        with pytest.raises(ConfigError, match="name"):
            register_architecture(spec, lambda *args: TinyLinear(3, 1, 8))
    finally:
        ARCHITECTURES.pop("tiny_linear")
        BUILDERS.pop("tiny_linear")
