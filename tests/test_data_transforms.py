"""Augmentation and normalisation: shapes, exact content, and probabilistic properties."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinycoat.data import mixup, normalize, random_crop, random_hflip, stats_for
from tinycoat.data.transforms import CIFAR10_MEAN, IMAGENET_STD

batches = hnp.arrays(np.uint8, st.tuples(st.integers(1, 6), st.integers(1, 3),
                                         st.integers(1, 7), st.integers(1, 7)))


@settings(max_examples=60, deadline=None)
@given(batches, st.integers(0, 4), st.integers(0, 2**32 - 1))
def test_random_crop_is_a_shifted_window_of_the_zero_padded_image(batch, padding, seed):
    out = random_crop(batch, padding, np.random.default_rng(seed))
    assert out.shape == batch.shape and out.dtype == batch.dtype
    n, _, h, w = batch.shape
    padded = np.pad(batch, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    for i in range(n):  # the test may loop; it checks each image against every allowed window
        windows = [padded[i, :, y:y + h, x:x + w] for y in range(2 * padding + 1)
                   for x in range(2 * padding + 1)]
        assert any(np.array_equal(out[i], win) for win in windows)


def test_random_crop_uses_many_offsets_and_padding_zero_is_identity():
    rng = np.random.default_rng(0)
    batch = np.arange(400 * 16, dtype=np.float32).reshape(400, 1, 4, 4) + 1  # no zeros inside
    out = random_crop(batch, 1, rng)
    # (dy, dx) in {0, 1, 2}^2 shows as which of top/bottom row, left/right column is all zero.
    signatures = {(o[0].any(), o[-1].any(), o[:, 0].any(), o[:, -1].any()) for o in out[:, 0]}
    assert len(signatures) == 9
    np.testing.assert_array_equal(random_crop(batch, 0, rng), batch)
    with pytest.raises(ValueError, match="padding"):
        random_crop(batch, -1, rng)


@settings(max_examples=40, deadline=None)
@given(batches, st.integers(0, 2**32 - 1), st.floats(0, 1))
def test_hflip_gives_original_or_mirror_and_twice_is_identity(batch, seed, p):
    once = random_hflip(batch, np.random.default_rng(seed), p)
    for orig, got in zip(batch, once):
        assert np.array_equal(got, orig) or np.array_equal(got, orig[:, :, ::-1])
    twice = random_hflip(once, np.random.default_rng(seed), p)  # same draws: same images flip
    np.testing.assert_array_equal(twice, batch)


def test_hflip_probability_extremes_and_rate():
    batch = np.arange(2000 * 2, dtype=np.uint8).reshape(2000, 1, 1, 2)
    rng = np.random.default_rng(1)
    np.testing.assert_array_equal(random_hflip(batch, rng, p=0.0), batch)
    np.testing.assert_array_equal(random_hflip(batch, rng, p=1.0), batch[..., ::-1])
    flipped = (random_hflip(batch, rng)[..., 0] != batch[..., 0]).mean()
    assert 0.45 < flipped < 0.55


def test_normalize_values():
    batch = np.array([0, 51, 255], dtype=np.uint8).reshape(1, 3, 1, 1).repeat(2, axis=2)
    mean, std = (0.0, 0.2, 0.5), (1.0, 0.5, 0.25)
    out = normalize(batch, mean, std)
    assert out.dtype == np.float32 and out.shape == batch.shape
    np.testing.assert_allclose(out[0, :, 0, 0], [0.0, (0.2 - 0.2) / 0.5, (1.0 - 0.5) / 0.25], atol=1e-6)
    with pytest.raises(TypeError, match="uint8"):
        normalize(batch.astype(np.float32), mean, std)
    with pytest.raises(ValueError, match="one value per channel"):
        normalize(batch, (0.5,), (0.5,))


def test_stats_lookup():
    assert stats_for("cifar10")[0] == CIFAR10_MEAN
    assert stats_for("folder:imagenette2-160")[1] == IMAGENET_STD
    with pytest.raises(KeyError, match="mnist"):
        stats_for("mnist")


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 8), st.integers(2, 6), st.floats(0.1, 2.0), st.integers(0, 2**32 - 1))
def test_mixup_soft_targets_sum_to_one_and_mix_consistently(n, k, alpha, seed):
    rng = np.random.default_rng(seed)
    images = rng.normal(size=(n, 2, 3, 3)).astype(np.float32)
    labels = rng.integers(0, k, size=n)
    mixed, targets = mixup(images, labels, alpha, np.random.default_rng(seed + 1), k)
    assert mixed.dtype == targets.dtype == np.float32
    assert targets.shape == (n, k)
    np.testing.assert_allclose(targets.sum(1), 1.0, rtol=1e-6)
    assert (targets >= 0).all()
    # Recompute with the same draws: lam and perm define both outputs.
    r = np.random.default_rng(seed + 1)
    lam, perm = np.float32(r.beta(alpha, alpha)), r.permutation(n)
    np.testing.assert_allclose(mixed, lam * images + (1 - lam) * images[perm], rtol=1e-5, atol=1e-6)
    # One-hot input gives the same result as int labels.
    onehot = np.eye(k, dtype=np.float32)[labels]
    _, targets2 = mixup(images, onehot, alpha, np.random.default_rng(seed + 1), k)
    np.testing.assert_allclose(targets2, targets)


def test_mixup_rejects_bad_input():
    rng = np.random.default_rng(0)
    x = np.zeros((2, 1, 2, 2), np.float32)
    with pytest.raises(ValueError, match="alpha"):
        mixup(x, np.array([0, 1]), 0.0, rng, 2)
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        mixup(x, np.array([0, 2]), 1.0, rng, 2)
