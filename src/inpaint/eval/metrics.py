"""Image quality metrics for completions: PSNR and SSIM, over the whole image or a region.

Images are float (H, W, 3) in [0, 1]; data_range is 1. SSIM is scikit-image's with its default
window, 7x7 uniform (not Gaussian) weights and K1 = 0.01, K2 = 0.03: at 64x64 a window still sees
local structure, while an 11x11 Gaussian window would cover a sixth of the image's side.
"""
from __future__ import annotations

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

DATA_RANGE = 1.0


def _check(result: np.ndarray, truth: np.ndarray, region: np.ndarray | None):
    result = np.asarray(result, np.float64)
    truth = np.asarray(truth, np.float64)
    if truth.ndim != 3 or truth.shape[2] != 3 or result.shape != truth.shape:
        raise ValueError(f"result and truth must both be (H, W, 3), got {result.shape} and {truth.shape}")
    if region is not None:
        region = np.asarray(region)
        if region.dtype != np.bool_ or region.shape != truth.shape[:2]:
            raise ValueError(f"region must be a bool (H, W) = {truth.shape[:2]} array, "
                             f"got {region.dtype} {region.shape}")
        if not region.any():
            raise ValueError("region has no True pixel: there is nothing to measure")
    return result, truth, region


def psnr(result: np.ndarray, truth: np.ndarray, region: np.ndarray | None = None) -> float:
    """Peak signal-to-noise ratio in dB, 10 log10(1 / MSE); the MSE is over all channels of the
    region's pixels when region (bool (H, W)) is given. Identical inputs give inf."""
    result, truth, region = _check(result, truth, region)
    if region is not None:
        result, truth = result[region], truth[region]  # (N, 3)
    if np.array_equal(result, truth):
        return float("inf")  # skimage would divide by zero
    return float(peak_signal_noise_ratio(truth, result, data_range=DATA_RANGE))


def ssim(result: np.ndarray, truth: np.ndarray, region: np.ndarray | None = None) -> float:
    """Structural similarity, channels handled separately and averaged.

    Without region: scikit-image's mean SSIM, which leaves out the 3-pixel border where the 7x7
    window does not fit. With region (bool (H, W)): the mean of the full SSIM map (all channels)
    over the region's pixels, border pixels included (the map there uses reflected padding).
    """
    result, truth, region = _check(result, truth, region)
    mean, ssim_map = structural_similarity(truth, result, data_range=DATA_RANGE,
                                           channel_axis=-1, full=True)  # map: (H, W, 3)
    if region is None:
        return float(mean)
    return float(ssim_map[region].mean())
