import numpy as np
import pytest

from inpaint.runtime.blend import poisson_blend


def grid(h, w):
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    return y, x


def blob_hole(h, w, seed=0, border=True):
    """An irregular bool known-mask; the hole avoids the image border unless border=True."""
    rng = np.random.default_rng(seed)
    known = rng.uniform(size=(h, w)) > 0.5
    known[: h // 3, : w // 3] = True
    if not border:
        known[0, :] = known[-1, :] = known[:, 0] = known[:, -1] = True
    return known


def test_known_pixels_are_exactly_the_target():
    rng = np.random.default_rng(0)
    source, target = rng.normal(size=(2, 9, 11, 3))
    known = blob_hole(9, 11)
    out = poisson_blend(source, target, known)
    assert out.dtype == np.float64 and out.shape == target.shape
    assert np.array_equal(out[known], target[known])
    assert not np.allclose(out[~known], target[~known])  # the hole really was re-solved


def test_source_equal_to_target_gives_target():
    target = np.random.default_rng(1).normal(size=(10, 10, 3))
    out = poisson_blend(target, target, blob_hole(10, 10, seed=1))
    np.testing.assert_allclose(out, target, rtol=0, atol=1e-9)


@pytest.mark.parametrize("border", [False, True])
def test_ramp_plus_offset_source_reproduces_the_ramp(border):
    y, x = grid(12, 14)
    ramp = 0.7 * x - 1.3 * y + 2.0
    known = blob_hole(12, 14, seed=2, border=border)
    out = poisson_blend(ramp + 5.0, ramp, known)
    np.testing.assert_allclose(out, ramp, rtol=0, atol=1e-9)


@pytest.mark.parametrize("harmonic", [lambda y, x: x * y, lambda y, x: x ** 2 - y ** 2])
def test_constant_source_gives_the_harmonic_interpolant(harmonic):
    y, x = grid(12, 12)
    h = harmonic(y - 4.0, x - 6.0)
    target = h.copy()
    known = np.ones((12, 12), bool)
    known[2:9, 3:10] = False
    known[5, 1:3] = False  # an irregular arm, still inside the border
    target[~known] = 123.0  # the hole's target values must not matter
    out = poisson_blend(np.full((12, 12), 4.0), target, known)
    np.testing.assert_allclose(out[~known], h[~known], rtol=0, atol=1e-9)


def test_hole_touching_the_border():
    rng = np.random.default_rng(3)
    source, target = rng.normal(size=(2, 8, 8, 2))
    known = np.ones((8, 8), bool)
    known[:, 5:] = False  # right edge, top and bottom rows of the hole are on the border
    out = poisson_blend(source, target, known)
    assert np.isfinite(out).all()
    assert np.array_equal(out[known], target[known])


def test_multichannel_equals_per_channel():
    rng = np.random.default_rng(4)
    source, target = rng.normal(size=(2, 9, 7, 3))
    known = blob_hole(9, 7, seed=4)
    out = poisson_blend(source, target, known)
    for c in range(3):
        single = poisson_blend(source[..., c], target[..., c], known)
        assert single.shape == (9, 7)
        np.testing.assert_allclose(out[..., c], single, rtol=0, atol=1e-12)


def test_all_known_returns_target():
    target = np.random.default_rng(5).normal(size=(4, 4, 3))
    assert np.array_equal(poisson_blend(np.zeros_like(target), target, np.ones((4, 4), bool)), target)


def test_no_known_pixel_raises():
    with pytest.raises(ValueError, match="known pixel"):
        poisson_blend(np.zeros((4, 4)), np.zeros((4, 4)), np.zeros((4, 4), bool))


def test_bad_shapes_raise():
    with pytest.raises(ValueError):
        poisson_blend(np.zeros((4, 4, 3)), np.zeros((4, 5, 3)), np.ones((4, 4), bool))
    with pytest.raises(ValueError):
        poisson_blend(np.zeros((4, 4)), np.zeros((4, 4)), np.ones((4, 4)))  # not bool
