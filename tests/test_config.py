"""Profiles and parameter validation."""

import pytest

from helpers.config import ConfigError, Profile, available_profiles, load_profile, validate


def test_quick_profile_loads_and_is_the_embedded_default():
    cfg = load_profile("quick")
    assert cfg.name == "quick"
    assert cfg.dataset == "cifar10-mini"  # the bundled real images, no download
    assert {"quick", "digits", "cifar10", "paper"} <= set(available_profiles())
    assert load_profile("digits").dataset == "digits"


def test_profiles_all_validate():
    for name in available_profiles():
        assert isinstance(load_profile(name), Profile)


def test_unknown_profile_names_the_value_and_the_choices():
    with pytest.raises(ConfigError, match=r"'profile' has value 'nosuch'.*quick"):
        load_profile("nosuch")


@pytest.mark.parametrize(
    "key, value, fragment",
    [
        ("epochs", "ten", "'epochs' has value 'ten' of type str"),
        ("epochs", 0, "'epochs' has value 0"),
        ("epochs", True, "'epochs' has value True"),
        ("learning_rate", -1.0, "'learning_rate' has value -1.0"),
        ("architectures", ["vgg"], "'architectures' has value"),
        ("device", "tpu", "'device' has value 'tpu'"),
        ("label_smoothing", 1.5, "'label_smoothing'"),
    ],
)
def test_bad_values_name_parameter_value_and_allowed(key, value, fragment):
    with pytest.raises(ConfigError, match="allowed") as info:
        load_profile("quick", {key: value})
    assert fragment in str(info.value)


def test_unknown_parameter_is_rejected():
    with pytest.raises(ConfigError, match=r"unknown parameter\(s\) \['epoch'\]"):
        load_profile("quick", epoch=3)


def test_none_keyword_overrides_keep_the_profile_value():
    assert load_profile("quick", seed=None).seed == load_profile("quick").seed
    assert load_profile("quick", seed=7).seed == 7


def test_members_cannot_exceed_split_sizes():
    with pytest.raises(ConfigError, match="n_members"):
        load_profile("quick", n_members=10_000)


def test_key_is_stable_and_sensitive():
    a, b = load_profile("quick"), load_profile("quick")
    assert a.key() == b.key()
    assert a.replace(seed=1).key() != a.key()
    assert validate(a.to_dict()) == a
