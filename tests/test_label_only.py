"""Label-only attacks: query construction, hand-counted scores, label-free form, fitting, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from helpers.attacks import NotFittedError
from helpers.label_only import (
    AugmentationAttack,
    NoiseAttack,
    augmentation_grid,
    augmentations,
    flip_images,
    noisy_copies,
    shift_images,
)

SIDE = 5


class BrightColumn(nn.Module):
    """Predicts the column of the bright pixel (classes 0..4); class 5 for an empty image.

    Logits = per-column sums of the image, plus a constant 0.5 for class 5, so a single
    pixel of value 1 wins over the "empty" class and an image without it predicts 5.
    """

    def __init__(self) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))  # gives predict_logits a dtype / device
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        cols = x.sum(dim=(1, 2))  # N x W
        return torch.cat([cols, torch.full((x.shape[0], 1), 0.5)], dim=1) + self.dummy


class Positive(nn.Module):
    """Class 1 iff the single pixel is > 0."""

    def __init__(self) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = x.reshape(x.shape[0], -1)[:, :1]
        return torch.cat([torch.zeros_like(v), v], dim=1) + self.dummy


def dots(positions: list[tuple[int, int]]) -> torch.Tensor:
    """One 1 x SIDE x SIDE image per (row, col) with a single pixel of value 1."""
    x = torch.zeros(len(positions), 1, SIDE, SIDE)
    for i, (r, c) in enumerate(positions):
        x[i, 0, r, c] = 1.0
    return x


# ------------------------------------------------------------------ query construction
def test_shift_moves_content_by_one_position_and_pads_with_zeros():
    x = torch.arange(1.0, 26.0).reshape(1, 1, SIDE, SIDE)
    right = shift_images(x, 1, 0)
    assert torch.equal(right[..., :, 1:], x[..., :, :-1])
    assert torch.equal(right[..., :, 0], torch.zeros(1, 1, SIDE))
    down = shift_images(x, 0, 1)
    assert torch.equal(down[..., 1:, :], x[..., :-1, :])
    assert torch.equal(down[..., 0, :], torch.zeros(1, 1, SIDE))
    up_left = shift_images(x, -2, -1)
    assert torch.equal(up_left[..., :-1, :-2], x[..., 1:, 2:])
    assert up_left[..., -1, :].abs().sum() == 0 and up_left[..., :, -2:].abs().sum() == 0


def test_shift_has_no_wrap_around():
    x = torch.zeros(1, 1, SIDE, SIDE)
    x[..., :, -1] = 7.0  # content only in the last column
    assert shift_images(x, 1, 0).abs().sum() == 0  # it leaves the image instead of wrapping
    x = torch.zeros(1, 1, SIDE, SIDE)
    x[..., 0, :] = 7.0  # first row, shifted up
    assert shift_images(x, 0, -1).abs().sum() == 0


def test_replicate_padding_repeats_the_edge():
    x = torch.arange(1.0, 26.0).reshape(1, 1, SIDE, SIDE)
    out = shift_images(x, 1, 0, padding="replicate")
    assert torch.equal(out[..., :, 0], x[..., :, 0])
    assert torch.equal(out[..., :, 1:], x[..., :, :-1])


def test_flip_twice_is_identity_and_mirrors_columns():
    x = torch.randn(3, 2, 4, 6)
    assert torch.equal(flip_images(flip_images(x)), x)
    f = flip_images(x)
    for j in range(6):
        assert torch.equal(f[..., j], x[..., 5 - j])


def test_augmentations_shape_order_and_clean_query():
    x = torch.randn(2, 3, SIDE, SIDE)
    q = augmentations(x, max_shift=1, flips=True)
    assert q.shape == (18, 2, 3, SIDE, SIDE)
    grid = augmentation_grid(1, True)
    assert len(grid) == 18 and len(set(grid)) == 18
    for k, (dx, dy, f) in enumerate(grid):
        src = torch.flip(x, dims=(-1,)) if f else x
        assert torch.equal(q[k], shift_images(src, dx, dy))
    assert torch.equal(q[grid.index((0, 0, False))], x)
    assert augmentations(x, max_shift=2, flips=False).shape == (25, 2, 3, SIDE, SIDE)
    assert augmentations(x, max_shift=0, flips=False).shape == (1, 2, 3, SIDE, SIDE)


def test_noisy_copies_are_seeded():
    x = torch.zeros(4, 1, 2, 2)
    a = noisy_copies(x, 0.3, 5, torch.Generator().manual_seed(1))
    b = noisy_copies(x, 0.3, 5, torch.Generator().manual_seed(1))
    assert a.shape == (5, 4, 1, 2, 2) and torch.equal(a, b)
    assert not torch.equal(a, noisy_copies(x, 0.3, 5, torch.Generator().manual_seed(2)))


# ------------------------------------------------------------------ hand-counted scores
@pytest.mark.parametrize(
    "row,col,correct",
    [
        # un-flipped: correct only for dx = 0 and a row that stays inside (3, or 2 at an edge);
        # flipped: column 4 - col + dx equals col only for col = 2 (dx = 0)
        (2, 2, 3 + 3),
        (0, 0, 2 + 0),  # torch.roll would wrap the row -1 -> 4 and count 3
        (2, 4, 3 + 0),
        (4, 1, 2 + 0),
        (0, 2, 2 + 2),
    ],
)
def test_augmentation_score_matches_hand_count(row, col, correct):
    model = BrightColumn()
    attack = AugmentationAttack(1, True)
    score = attack.membership_score(model, dots([(row, col)]), torch.tensor([col]))
    assert score.dtype == np.float64
    assert score[0] == pytest.approx(correct / 18, abs=1e-15)


def test_augmentation_score_counts_the_given_label():
    # label 3 for a pixel in column 2: un-flipped dx = +1 (3 rows), flipped 2 + dx = 3 (3 rows)
    score = AugmentationAttack(1, True).membership_score(BrightColumn(), dots([(2, 2)]), [3])
    assert score[0] == pytest.approx(6 / 18)
    # only the clean query and a wrong label: the gap attack gives 0
    gap = AugmentationAttack(0, False).membership_score(BrightColumn(), dots([(2, 2)]), [3])
    assert gap[0] == 0.0


def test_forward_passes_are_batched_and_chunks_do_not_change_scores():
    model = BrightColumn()
    x = dots([(1, 1), (2, 3), (4, 4), (0, 2)])
    y = torch.tensor([1, 3, 0, 2])
    big = AugmentationAttack(1, True, chunk_size=256).membership_score(model, x, y)
    assert model.calls == 1  # 4 inputs x 18 queries in one batch of <= 512
    small = AugmentationAttack(1, True, chunk_size=1).membership_score(model, x, y)
    np.testing.assert_array_equal(big, small)
    assert ((big >= 0) & (big <= 1)).all()


def test_label_free_form_equals_labelled_form_with_model_predictions():
    model = BrightColumn()
    rng = np.random.default_rng(0)
    positions = [(int(r), int(c)) for r, c in rng.integers(0, SIDE, size=(12, 2))]
    gen = torch.Generator().manual_seed(0)
    x = dots(positions) + 0.1 * torch.rand(12, 1, SIDE, SIDE, generator=gen)
    own = model(x).argmax(1)
    for attack in (AugmentationAttack(1, True), NoiseAttack(0.4, 7, seed=3)):
        free = attack.membership_score(model, x)
        np.testing.assert_array_equal(free, attack.membership_score(model, x, own))
    # the clean query is always "correct" in the label-free form
    assert (AugmentationAttack(1, True).membership_score(model, x) >= 1 / 18).all()


def test_noise_score_matches_the_seeded_draws():
    values = torch.tensor([-0.5, 0.0, 0.2, 1.0, 3.0])
    x = values.reshape(5, 1, 1, 1)
    sigma, n, seed = 0.7, 40, 11
    ones = torch.ones(5, dtype=torch.long)
    got = NoiseAttack(sigma, n, seed=seed).membership_score(Positive(), x, ones)
    noise = torch.randn((n, 5, 1, 1, 1), generator=torch.Generator().manual_seed(seed))
    expected = ((values[None, :] + sigma * noise.reshape(n, 5)) > 0).double().mean(0).numpy()
    np.testing.assert_array_equal(got, expected)
    again = NoiseAttack(sigma, n, seed=seed).membership_score(Positive(), x, ones)
    np.testing.assert_array_equal(got, again)
    assert got[-1] == 1.0 and got[0] < 0.5  # far from the boundary vs. on the wrong side


# ------------------------------------------------------------------ fitting
def test_fit_threshold_separates_synthetic_members():
    model = BrightColumn()
    # "members": pixel in the centre column (6 of 18 queries keep the label);
    # "non-members": pixel in a corner (2 of 18)
    members = dots([(2, 2)] * 5 + [(1, 2)] * 5)
    nonmembers = dots([(0, 0)] * 5 + [(4, 4)] * 5)
    ym, yn = torch.tensor([2] * 10), torch.tensor([0] * 5 + [4] * 5)
    attack = AugmentationAttack(1, True).fit(model, members, ym, nonmembers, yn)
    assert 2 / 18 < attack.threshold_ <= 6 / 18
    assert attack.shadow_tpr_ == 1.0 and attack.shadow_fpr_ == 0.0
    assert attack.predict(model, members, ym).all()
    assert not attack.predict(model, nonmembers, yn).any()


def test_noise_attack_fit_transfers_to_fresh_points():
    model = Positive()
    gen = torch.Generator().manual_seed(0)

    def sample(n: int, lo: float, hi: float) -> torch.Tensor:
        return (lo + (hi - lo) * torch.rand(n, generator=gen)).reshape(n, 1, 1, 1)

    ones = torch.ones(40, dtype=torch.long)
    attack = NoiseAttack(1.0, 50, seed=0)
    attack.fit(model, sample(40, 2.5, 4), ones, sample(40, 0, 0.3), ones)
    assert attack.predict(model, sample(40, 2.5, 4), ones).mean() >= 0.95
    assert attack.predict(model, sample(40, 0, 0.3), ones).mean() <= 0.05


# ------------------------------------------------------------------ errors
def test_predict_before_fit_raises():
    with pytest.raises(NotFittedError, match="not fitted"):
        AugmentationAttack().predict(BrightColumn(), dots([(0, 0)]), [0])


@pytest.mark.parametrize(
    "make,param",
    [
        (lambda: AugmentationAttack(max_shift=-1), "max_shift"),
        (lambda: AugmentationAttack(max_shift=1.5), "max_shift"),
        (lambda: AugmentationAttack(flips="yes"), "flips"),
        (lambda: AugmentationAttack(padding="wrap"), "padding"),
        (lambda: AugmentationAttack(batch_size=0), "batch_size"),
        (lambda: NoiseAttack(sigma=0.0), "sigma"),
        (lambda: NoiseAttack(sigma=float("nan")), "sigma"),
        (lambda: NoiseAttack(n_queries=0), "n_queries"),
        (lambda: NoiseAttack(seed=-1), "seed"),
    ],
)
def test_bad_parameters_name_the_parameter(make, param):
    with pytest.raises(ValueError, match=f"'{param}'"):
        make()


def test_bad_inputs_raise():
    attack, model = AugmentationAttack(), BrightColumn()
    with pytest.raises(ValueError, match="'x'.*4-D"):
        attack.membership_score(model, torch.zeros(2, SIDE, SIDE))
    with pytest.raises(ValueError, match="'y'"):
        attack.membership_score(model, dots([(0, 0)]), [0, 1])
    with pytest.raises(ValueError, match="'y'.*integer"):
        attack.membership_score(model, dots([(0, 0)]), torch.tensor([0.0]))
    with pytest.raises(ValueError, match="'max_shift'"):
        AugmentationAttack(max_shift=SIDE).membership_score(model, dots([(0, 0)]), [0])
    with pytest.raises(ValueError, match="'dx'"):
        shift_images(dots([(0, 0)]), SIDE, 0)
    with pytest.raises(ValueError, match="'nonmember_y'"):
        attack.fit(model, dots([(0, 0)]), [0], dots([(0, 0)]), [0, 0])
    with pytest.raises(ValueError, match="both"):
        attack.fit(model, dots([(0, 0)]), [0], dots([(0, 0)]), None)
