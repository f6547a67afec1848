"""Mask generators for training/evaluation and the numpy reference of Yeh et al.'s importance weights.

Convention: M = 1 marks a KNOWN pixel, M = 0 marks the hole to fill (mask *files* use the
opposite, white = hole; imageio converts).
"""
from __future__ import annotations

import numpy as np

MASK_KINDS = ("center", "pattern", "random", "half")

PATTERN_MISSING = 0.25  # fraction of pixels a pattern mask removes, as for Pathak et al.'s regions
PATTERN_CELL = 8  # pixels per cell of the coarse random field: sets the blob size


def _check_size(size: int, minimum: int = 1) -> int:
    if int(size) != size or size < minimum:
        raise ValueError(f"mask size must be an integer >= {minimum}, got {size!r}")
    return int(size)


def center_mask(size: int) -> np.ndarray:
    """A centered square hole of side size//2 (25% of the area when size is even): float32 (size, size)."""
    size = _check_size(size)
    side = size // 2
    start = (size - side) // 2
    m = np.ones((size, size), np.float32)
    m[start:start + side, start:start + side] = 0.0
    return m


def pattern_mask(size: int, rng: np.random.Generator) -> np.ndarray:
    """A random blob-like hole ("random region" mask in the spirit of Pathak et al.'s context encoder).

    Uniform noise on a coarse grid (one value per PATTERN_CELL pixels) is smoothed, upsampled with
    cubic splines, and the round(25%) highest-valued pixels become the hole; so the missing fraction
    is 25% up to rounding, with at least one known and one hole pixel. Deterministic for a given rng.
    Returns float32 (size, size).
    """
    from scipy import ndimage    # here, not at import: the runtime needs no scipy.ndimage

    size = _check_size(size, minimum=2)
    n = max(2, -(-size // PATTERN_CELL))  # coarse grid side
    coarse = ndimage.gaussian_filter(rng.uniform(size=(n, n)), sigma=1.0, mode="reflect")  # (n, n)
    k = -(-size // n)  # integer zoom factor, so the upsampled field covers (size, size)
    field = ndimage.zoom(coarse, k, order=3, mode="reflect")[:size, :size]  # (size, size)
    n_hole = min(max(round(PATTERN_MISSING * size * size), 1), size * size - 1)
    order = np.argsort(-field.ravel(), kind="stable")  # ties (unlikely) broken by position
    m = np.ones(size * size, np.float32)
    m[order[:n_hole]] = 0.0
    return m.reshape(size, size)


def random_pixels_mask(size: int, rng: np.random.Generator, missing: float = 0.8) -> np.ndarray:
    """Independent missing pixels: exactly round(missing * size**2) of them. float32 (size, size)."""
    size = _check_size(size)
    if not 0.0 <= missing <= 1.0:
        raise ValueError(f"missing must be a fraction in [0, 1], got {missing!r}")
    n_hole = round(missing * size * size)
    m = np.ones(size * size, np.float32)
    m[rng.permutation(size * size)[:n_hole]] = 0.0
    return m.reshape(size, size)


def half_mask(size: int) -> np.ndarray:
    """The RIGHT half is the hole (columns size//2 .. size-1); the left half is known. float32 (size, size)."""
    size = _check_size(size)
    m = np.ones((size, size), np.float32)
    m[:, size // 2:] = 0.0
    return m


def box_mask(size: int, rng: np.random.Generator, low: float = 0.25, high: float = 0.6) -> np.ndarray:
    """One rectangular hole anywhere in the image, each side a random fraction in [low, high] of
    the image side. float32 (size, size)."""
    size = _check_size(size, minimum=2)
    h, w = (int(round(rng.uniform(low, high) * size)) for _ in range(2))
    h, w = min(max(h, 1), size - 1), min(max(w, 1), size - 1)
    top, left = int(rng.integers(0, size - h + 1)), int(rng.integers(0, size - w + 1))
    m = np.ones((size, size), np.float32)
    m[top:top + h, left:left + w] = 0.0
    return m


def make_mask(kind: str, size: int, seed: int) -> np.ndarray:
    """The mask of one of MASK_KINDS, drawn with np.random.default_rng(seed) (center/half ignore it)."""
    rng = np.random.default_rng(seed)
    if kind == "center":
        return center_mask(size)
    if kind == "pattern":
        return pattern_mask(size, rng)
    if kind == "random":
        return random_pixels_mask(size, rng)
    if kind == "half":
        return half_mask(size)
    raise ValueError(f"unknown mask kind {kind!r}; choose one of: {', '.join(MASK_KINDS)}")


def importance_weights(M: np.ndarray, window: int = 7) -> np.ndarray:
    """Yeh et al.'s importance weights: how much hole surrounds each known pixel.

    W_i = sum_{j in N(i)} (1 - M_j) / |N(i)| where M_i = 1 (known), and W_i = 0 in the hole, with
    N(i) the window x window neighbourhood of i. |N(i)| = window**2 everywhere: pixels outside the
    image count as known (they add 0 to the sum), so weights near the border are not inflated.
    M: (H, W) or batched (B, H, W), 1 = known. Returns float32 of M's shape, >= 0.
    """
    if int(window) != window or window < 1 or window % 2 == 0:
        raise ValueError(f"window must be a positive odd integer, got {window!r}")
    M = np.asarray(M, np.float64)
    if M.ndim not in (2, 3):
        raise ValueError(f"M must be (H, W) or (B, H, W), got shape {M.shape}")
    hole = 1.0 - M  # (..., H, W)
    box = _box_sum(_box_sum(hole, int(window), -1), int(window), -2)  # (..., H, W)
    W = box / float(window * window) * M
    return np.clip(W, 0.0, None).astype(np.float32)


def _box_sum(a: np.ndarray, window: int, axis: int) -> np.ndarray:
    """Sums over a centred window along one axis, zeros beyond the edges: each output adds the
    `window` values around it (exact integers for a 0/1 mask; a NaN reaches only the windows that
    hold it, as in the CUDA kernel)."""
    r = window // 2
    pad = [(0, 0)] * a.ndim
    pad[axis] = (r, r)
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(a, pad), window, axis=axis)
    return windows.sum(axis=-1)
