"""The variants module is the one list of variants every other module uses."""

from __future__ import annotations

import pytest

from helpers import claims, experiment, labels, plots, reference
from helpers.config import ConfigError
from helpers.variants import (
    ALL_VARIANTS,
    POST_HOC_VARIANTS,
    TRAINING_VARIANTS,
    VARIANT_LABELS,
    check_variant,
    training_variant,
)


def test_training_and_post_hoc_partition_all_variants():
    assert set(TRAINING_VARIANTS) | set(POST_HOC_VARIANTS) == set(ALL_VARIANTS)
    assert not set(TRAINING_VARIANTS) & set(POST_HOC_VARIANTS)
    assert set(VARIANT_LABELS) == set(ALL_VARIANTS)
    assert set(ALL_VARIANTS) <= set(plots.VARIANT_COLOURS)


def test_post_hoc_variants_reuse_the_standard_model():
    assert [training_variant(v) for v in ALL_VARIANTS] == [
        "standard", "label_smoothing", "standard", "standard", "l2"]
    with pytest.raises(ConfigError, match="'variant' has value 'dropout'"):
        training_variant("dropout")
    with pytest.raises(ConfigError, match="allowed"):
        check_variant("temperature", TRAINING_VARIANTS)


def test_no_module_keeps_its_own_list():
    assert experiment.VARIANTS is TRAINING_VARIANTS
    assert claims.ALL_VARIANTS is ALL_VARIANTS
    assert labels.VARIANT_LABELS is VARIANT_LABELS and reference.VARIANT_LABELS is VARIANT_LABELS
