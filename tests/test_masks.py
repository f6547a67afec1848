import numpy as np
import pytest

from inpaint.masks import (
    MASK_KINDS, center_mask, half_mask, importance_weights, make_mask, pattern_mask, random_pixels_mask,
)


def boundary_edges(m: np.ndarray) -> int:
    """Number of 4-neighbour pixel pairs with one known and one hole pixel."""
    return int((m[1:, :] != m[:-1, :]).sum() + (m[:, 1:] != m[:, :-1]).sum())


def test_center_mask_is_a_centered_quarter():
    m = center_mask(64)
    assert m.dtype == np.float32 and m.shape == (64, 64)
    assert (m == 0).sum() == 64 * 64 // 4
    ys, xs = np.nonzero(m == 0)
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (16, 47, 16, 47)
    assert np.array_equal(m, m[::-1, ::-1])  # symmetric about the centre
    assert set(np.unique(m)) == {0.0, 1.0}


@pytest.mark.parametrize("seed", range(6))
def test_pattern_mask_removes_about_a_quarter(seed):
    m = pattern_mask(64, np.random.default_rng(seed))
    assert m.dtype == np.float32 and m.shape == (64, 64)
    assert set(np.unique(m)) == {0.0, 1.0}
    assert 0.20 <= (m == 0).mean() <= 0.30


def test_pattern_mask_deterministic_per_seed_and_varies_across_seeds():
    a = pattern_mask(64, np.random.default_rng(3))
    b = pattern_mask(64, np.random.default_rng(3))
    c = pattern_mask(64, np.random.default_rng(4))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.array_equal(make_mask("pattern", 64, 3), a)


@pytest.mark.parametrize("size", [2, 5, 30, 64])
def test_pattern_mask_has_known_and_hole_pixels_at_any_size(size):
    m = pattern_mask(size, np.random.default_rng(0))
    assert m.shape == (size, size)
    assert (m == 0).any() and (m == 1).any()


def test_pattern_mask_is_blob_like():
    for seed in range(4):
        blobs = pattern_mask(64, np.random.default_rng(seed))
        scattered = random_pixels_mask(64, np.random.default_rng(seed), missing=float((blobs == 0).mean()))
        assert boundary_edges(blobs) < boundary_edges(scattered) / 5


@pytest.mark.parametrize("missing", [0.0, 0.33, 0.8, 1.0])
def test_random_pixels_mask_exact_fraction(missing):
    m = random_pixels_mask(17, np.random.default_rng(1), missing=missing)
    assert m.dtype == np.float32 and m.shape == (17, 17)
    assert (m == 0).sum() == round(missing * 17 * 17)
    assert np.array_equal(m, random_pixels_mask(17, np.random.default_rng(1), missing=missing))


def test_random_pixels_mask_rejects_bad_fraction():
    with pytest.raises(ValueError):
        random_pixels_mask(8, np.random.default_rng(0), missing=1.5)


def test_half_mask_holes_the_right_half():
    m = half_mask(6)
    expected = np.array([[1, 1, 1, 0, 0, 0]] * 6, np.float32)
    assert m.dtype == np.float32 and np.array_equal(m, expected)


def test_make_mask_dispatches_every_kind():
    assert np.array_equal(make_mask("center", 32, 0), center_mask(32))
    assert np.array_equal(make_mask("half", 32, 0), half_mask(32))
    assert np.array_equal(make_mask("random", 32, 5), random_pixels_mask(32, np.random.default_rng(5)))
    for kind in MASK_KINDS:
        assert make_mask(kind, 32, 0).shape == (32, 32)


def test_make_mask_unknown_kind():
    with pytest.raises(ValueError, match="center, pattern, random, half"):
        make_mask("circle", 32, 0)


def test_importance_weights_single_hole_pixel():
    M = np.ones((5, 5), np.float32)
    M[2, 2] = 0
    W = importance_weights(M, window=3)
    expected = np.zeros((5, 5), np.float32)
    expected[1:4, 1:4] = 1 / 9
    expected[2, 2] = 0
    assert W.dtype == np.float32 and W.shape == (5, 5)
    np.testing.assert_allclose(W, expected, rtol=0, atol=1e-7)


def test_importance_weights_at_the_border_count_outside_as_known():
    M = np.ones((4, 4), np.float32)
    M[0, 0] = 0
    M[0, 1] = 0
    W = importance_weights(M, window=3)
    expected = np.zeros((4, 4), np.float32)
    expected[1, 0] = 2 / 9  # sees both hole pixels; its out-of-image neighbours add nothing
    expected[1, 1] = 2 / 9
    expected[1, 2] = 1 / 9
    expected[0, 2] = 1 / 9
    np.testing.assert_allclose(W, expected, rtol=0, atol=1e-7)


def test_importance_weights_default_window_and_no_negatives():
    M = make_mask("random", 32, 0)
    W = importance_weights(M)
    assert W.min() >= 0
    assert np.all(W[M == 0] == 0)
    # a known pixel's weight is the hole count of its 7x7 window over 49
    y, x = np.argwhere(M[3:-3, 3:-3] == 1)[0] + 3
    assert W[y, x] == pytest.approx((1 - M[y - 3:y + 4, x - 3:x + 4]).sum() / 49, abs=1e-7)


def test_importance_weights_batched_equals_per_image():
    Ms = np.stack([make_mask(k, 16, i) for i, k in enumerate(MASK_KINDS)])  # (4, 16, 16)
    W = importance_weights(Ms, window=5)
    assert W.shape == Ms.shape
    for b in range(len(Ms)):
        assert np.array_equal(W[b], importance_weights(Ms[b], window=5))


@pytest.mark.parametrize("window", [0, 4, 2.5])
def test_importance_weights_rejects_even_or_bad_window(window):
    with pytest.raises(ValueError):
        importance_weights(np.ones((5, 5)), window=window)


def test_importance_weights_keep_a_nan_in_every_window_that_holds_it():
    """The reference the importance_weights kernel follows: a NaN in the mask is not clipped to 0."""
    known = np.ones((9, 12))
    known[2:5, 3:6] = 0
    known[6, 10] = np.nan
    weights = importance_weights(known, 3)
    expected = np.zeros((9, 12), bool)
    expected[5:8, 9:12] = True                       # the 3x3 windows around (6, 10), in the image
    np.testing.assert_array_equal(np.isnan(weights), expected)
    assert (weights[~expected] >= 0).all()
