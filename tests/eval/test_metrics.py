import math

import numpy as np
import pytest

from inpaint.eval.metrics import psnr, ssim


def smooth_image(h=32, w=32):
    y, x = np.mgrid[0:h, 0:w] / np.array([h - 1, w - 1])[:, None, None]
    return np.stack([x, 0.5 * (x + y), np.sin(3 * y) * 0.4 + 0.5], axis=-1)  # (H, W, 3)


def test_psnr_matches_a_hand_computed_mse():
    truth = np.full((4, 4, 3), 0.5)
    result = truth.copy()
    result[0, 0] = 0.6  # 3 of 48 values off by 0.1: MSE = 3 * 0.01 / 48
    assert psnr(result, truth) == pytest.approx(10 * math.log10(48 / 0.03), abs=1e-9)


def test_psnr_over_a_region_uses_only_its_pixels():
    truth = np.full((4, 4, 3), 0.5)
    result = truth.copy()
    result[0, 0] = 0.6
    result[3, 3] = 0.0  # outside the region: must not count
    region = np.zeros((4, 4), bool)
    region[:2, :2] = True  # 4 pixels, 12 values, 3 of them off by 0.1
    assert psnr(result, truth, region) == pytest.approx(10 * math.log10(12 / 0.03), abs=1e-9)


def test_identical_images_give_infinite_psnr():
    image = smooth_image()
    region = np.zeros(image.shape[:2], bool)
    region[5:9, 5:9] = True
    assert psnr(image, image.copy()) == math.inf
    other = image.copy()
    other[0, 0] = 0.0  # differs only outside the region
    assert psnr(other, image, region) == math.inf


def test_ssim_of_identical_images_is_one():
    image = smooth_image()
    region = np.zeros(image.shape[:2], bool)
    region[10:20, 3:30] = True
    assert ssim(image, image.copy()) == pytest.approx(1.0, abs=1e-12)
    assert ssim(image, image.copy(), region) == pytest.approx(1.0, abs=1e-12)


def test_ssim_over_a_region_is_the_mean_of_the_map_there():
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(0)
    truth = smooth_image()
    result = np.clip(truth + rng.normal(0, 0.05, truth.shape), 0, 1)
    region = np.zeros(truth.shape[:2], bool)
    region[0:12, 8:24] = True  # touches the border, where skimage's whole-image mean crops
    _, ssim_map = structural_similarity(truth, result, data_range=1.0, channel_axis=-1, full=True)
    manual = np.mean([ssim_map[i, j, c] for i, j in zip(*np.nonzero(region)) for c in range(3)])
    assert ssim(result, truth, region) == pytest.approx(manual, abs=1e-12)
    assert ssim(result, truth, region) != pytest.approx(ssim(result, truth), abs=1e-6)


def test_noise_lowers_both_scores():
    rng = np.random.default_rng(1)
    truth = smooth_image()
    light = np.clip(truth + rng.normal(0, 0.02, truth.shape), 0, 1)
    heavy = np.clip(truth + rng.normal(0, 0.1, truth.shape), 0, 1)
    region = np.zeros(truth.shape[:2], bool)
    region[8:24, 8:24] = True
    assert psnr(heavy, truth) < psnr(light, truth) < 40
    assert ssim(heavy, truth) < ssim(light, truth) < 1.0
    assert psnr(heavy, truth, region) < psnr(light, truth, region)
    assert ssim(heavy, truth, region) < ssim(light, truth, region)


@pytest.mark.parametrize("metric", [psnr, ssim])
def test_bad_inputs_are_refused(metric):
    image = smooth_image()
    with pytest.raises(ValueError, match="result and truth"):
        metric(image[:, :, :2], image[:, :, :2])
    with pytest.raises(ValueError, match="region"):
        metric(image, image, np.ones((3, 3), bool))
    with pytest.raises(ValueError, match="no True pixel"):
        metric(image, image, np.zeros(image.shape[:2], bool))
