"""Putting the completion back: the hole's box only, exact where it is small, a coarse Poisson
correction where it is large, and the same scene at any size framed and completed alike."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from inpaint.runtime.blend import poisson_blend
from inpaint.runtime.fill import FINE_SIDE, fill_hole, paste_completion, upsample_part
from inpaint.runtime.frame import Frame
from inpaint.runtime.framing.geometry import Box


def smooth_photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    """uint8 (h, w, 3): a few random colours bicubically stretched, with a little noise."""
    rng = np.random.default_rng(seed)
    base = Image.fromarray(rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)).resize((w, h), Image.BICUBIC)
    noisy = np.asarray(base, np.float64) + rng.normal(0, 4, (h, w, 3))
    return np.clip(noisy, 0, 255).astype(np.uint8)


def old_paste(low: np.ndarray, rgb: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The whole-image blend as it was: G's image upsampled to the photo, one Poisson solve."""
    h, w = hole.shape
    up = np.stack([np.asarray(Image.fromarray(low[..., c].astype(np.float32)).resize((w, h), Image.BICUBIC))
                   for c in range(3)], axis=-1)
    return np.clip(np.rint(poisson_blend(up, rgb.astype(np.float64), ~hole)), 0, 255).astype(np.uint8)


def test_upsample_part_is_a_slice_of_the_whole_upsample():
    low = np.random.default_rng(1).uniform(0, 255, (16, 16, 3)).astype(np.float32)
    frame = Frame.of(None, (90, 70))
    whole = upsample_part(low, frame, (0, 0, 90, 70), (90, 70))
    part = upsample_part(low, frame, (20, 11, 61, 40), (41, 29))
    np.testing.assert_allclose(part, whole[20:61, 11:40], atol=1e-3)
    # past the frame's edges the completion is continued, not refused
    assert upsample_part(low, frame, (-5, -5, 10, 10), (15, 15)).shape == (15, 15, 3)


def test_a_small_hole_is_blended_exactly_as_by_the_whole_image_solve():
    rgb = smooth_photo(120, 100)
    hole = np.zeros((120, 100), bool)
    hole[30:70, 25:60] = True
    hole[80:90, 70:95] = True
    low = np.random.default_rng(2).uniform(0, 255, (64, 64, 3))
    new = paste_completion(low, Frame.of(None, hole.shape), rgb, hole, poisson_blend).astype(int)
    diff = np.abs(new - old_paste(low, rgb, hole))
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3      # float32 values: a rounding tie may flip


def test_a_large_hole_is_corrected_on_a_coarse_grid_close_to_the_full_solve():
    side = 3 * FINE_SIDE
    rgb = smooth_photo(side, side, seed=3)
    hole = np.zeros((side, side), bool)
    hole[side // 4:3 * side // 4, side // 5:4 * side // 5] = True
    low = np.asarray(Image.fromarray(smooth_photo(64, 64, seed=4)), np.float64)
    exact = old_paste(low, rgb, hole).astype(np.float64)
    box, gap, values = fill_hole(low, Frame.of(None, hole.shape), rgb, hole, poisson_blend)
    assert gap.shape[0] <= side and values.dtype == np.float32
    coarse = paste_completion(low, Frame.of(None, hole.shape), rgb, hole, poisson_blend).astype(np.float64)
    np.testing.assert_array_equal(coarse[~hole], rgb[~hole])
    mse = ((coarse - exact)[hole] ** 2).mean()
    assert 10 * np.log10(255 ** 2 / mse) > 40, mse


def test_a_square_reaching_past_the_photo_fills_only_the_photo():
    rgb = smooth_photo(80, 60, seed=5)
    hole = np.zeros((80, 60), bool)
    hole[50:78, 2:30] = True
    frame = Frame.of(Box(-20, 30, 70), hole.shape)
    out = paste_completion(np.full((64, 64, 3), 77.0), frame, rgb, hole, poisson_blend)
    assert out.shape == rgb.shape
    np.testing.assert_array_equal(out[~hole], rgb[~hole])
    # a flat completion takes the colours around the hole, between their extremes (Poisson)
    for c in range(3):
        assert rgb[~hole, c].min() <= out[hole, c].min() and out[hole, c].max() <= rgb[~hole, c].max()


def test_the_model_input_does_not_depend_on_the_photos_size():
    """A photo and its copy upscaled 8x (bicubic) give the model inputs a tenth of a level apart."""
    rgb = smooth_photo(109, 89, seed=6)
    hole = np.zeros((109, 89), bool)
    hole[40:70, 30:60] = True
    big = np.asarray(Image.fromarray(rgb).resize((89 * 8, 109 * 8), Image.BICUBIC))
    big_hole = np.asarray(Image.fromarray(hole).resize((89 * 8, 109 * 8), Image.NEAREST))
    box = Box(10.3, 20.6, 70.2)
    y1, k1 = Frame.of(box, hole.shape).model_input(rgb, hole, 64)
    y8, k8 = Frame.of(box.scaled(8), big_hole.shape).model_input(big, big_hole, 64)
    assert np.array_equal(k1, k8)
    assert np.abs(y1 - y8)[:, k1 > 0].mean() * 127.5 < 0.25


@pytest.mark.parametrize("side", [1, 3])
def test_known_pixels_stay_and_the_hole_is_filled(side):
    rgb = smooth_photo(50 * side, 40 * side, seed=7)
    hole = np.zeros(rgb.shape[:2], bool)
    hole[10 * side:30 * side, 5 * side:20 * side] = True
    out = paste_completion(np.full((64, 64, 3), 200.0), Frame.of(None, hole.shape), rgb, hole, poisson_blend)
    np.testing.assert_array_equal(out[~hole], rgb[~hole])
    assert not np.array_equal(out[hole], rgb[hole])
