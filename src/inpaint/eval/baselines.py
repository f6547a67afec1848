"""Classical inpainting baselines for the evaluation harness.

Every baseline is `fn(image, known) -> completed`: image float (H, W, 3) in [0, 1], known bool
(H, W) with True = known pixel (M = 1 in masks.py). The result is float64 (H, W, 3) in [0, 1],
equal to the input on known pixels exactly, and deterministic.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

# Total variation (Chambolle & Pock 2011, algorithm 1). The steps satisfy tau * sigma * L^2 <= 1
# with L^2 = 8 the bound on ||grad||^2. A small primal step with a large dual step converged
# fastest on 64x64 faces with a center hole: after 500 steps the TV is within 0.02% of its value
# after 3000 (tau = sigma = 1/sqrt(8) is 10x further off).
TV_ITERATIONS = 500
TV_TAU = 0.1
TV_SIGMA = 1.0 / (8.0 * TV_TAU)

# Singular value thresholding (Cai, Candes & Shen 2010). Their tau = 5 * sqrt(n1 * n2) assumes
# entries of order one; here it is scaled by the RMS of the (mean-removed) known entries, so it does
# not depend on the image's contrast. Their step delta = 1.2 / (known fraction) diverged on faces
# with 80% of the pixels missing, so it is capped below 2, the bound of their convergence proof.
# On 64x64 faces the hole stops changing long before the residual reaches LR_TOLERANCE, so
# LR_MAX_ITERATIONS ends most runs there (about 0.7 s per image).
LR_TAU_FACTOR = 5.0
LR_DELTA_FACTOR = 1.2
LR_DELTA_MAX = 1.9
LR_MAX_ITERATIONS = 500
LR_TOLERANCE = 1e-3  # relative residual on the known entries: their stopping rule

OPENCV_RADIUS = 3


def _check(image: np.ndarray, known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    image = np.asarray(image)
    known = np.asarray(known)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be (H, W, 3), got shape {image.shape}")
    if known.shape != image.shape[:2] or known.dtype != np.bool_:
        raise ValueError(f"known must be a bool (H, W) = {image.shape[:2]} array, "
                         f"got {known.dtype} {known.shape}")
    if not known.any():
        raise ValueError("known has no True pixel: nothing to complete the image from")
    return image.astype(np.float64), known


def _finish(filled: np.ndarray, image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Clip to [0, 1] and paste the known pixels back, so they are exactly the input."""
    out = np.clip(filled, 0.0, 1.0)
    out[known] = image[known]
    return out


def mean_fill(image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """The mean colour of the known pixels everywhere in the hole."""
    image, known = _check(image, known)
    out = image.copy()
    out[~known] = image[known].mean(axis=0)
    return out


def _grad(u: np.ndarray) -> np.ndarray:
    """Forward differences with Neumann boundary: (H, W, C) -> (H, W, C, 2) as (d/dy, d/dx)."""
    g = np.zeros(u.shape + (2,))
    g[:-1, :, :, 0] = u[1:] - u[:-1]
    g[:, :-1, :, 1] = u[:, 1:] - u[:, :-1]
    return g


def _div(p: np.ndarray) -> np.ndarray:
    """Discrete divergence, the negative adjoint of _grad: (H, W, C, 2) -> (H, W, C)."""
    py, px = p[..., 0], p[..., 1]
    d = np.zeros(p.shape[:-1])
    d[:-1] += py[:-1]
    d[1:] -= py[:-1]
    d[:, :-1] += px[:, :-1]
    d[:, 1:] -= px[:, :-1]
    return d


def tv_inpaint(image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Minimise the vectorial isotropic TV, sum over pixels of the 2-norm of all three channels'
    gradients together, with the known pixels fixed; primal-dual (Chambolle-Pock), TV_ITERATIONS steps.

    Handling the channels jointly makes colour edges in the hole line up across R, G and B.
    """
    image, known = _check(image, known)
    u = image.copy()
    u[~known] = image[known].mean(axis=0)  # (H, W, 3)
    u_bar = u.copy()
    p = np.zeros(u.shape + (2,))  # (H, W, 3, 2) dual variable
    for _ in range(TV_ITERATIONS):
        p += TV_SIGMA * _grad(u_bar)
        # prox of the dual: project each pixel's (3, 2) block onto the unit Frobenius ball
        p /= np.maximum(1.0, np.sqrt((p * p).sum(axis=(2, 3))))[:, :, None, None]
        u_old = u
        u = u + TV_TAU * _div(p)
        u[known] = image[known]  # prox of the constraint: projection
        u_bar = 2.0 * u - u_old
    return _finish(u, image, known)


def lr_inpaint(image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Low-rank matrix completion of each colour channel by singular value thresholding.

    Y <- Y + delta * P(X - Z), Z = D_tau(Y), the three channels as one batched SVD; stops when the
    relative residual on the known pixels is below LR_TOLERANCE for every channel, or after
    LR_MAX_ITERATIONS. Each channel is completed after subtracting its known mean: the nuclear norm
    pulls the fill of a large hole towards zero, and so towards the mean colour rather than black
    (+3 to +5 dB on faces with a center hole).
    """
    image, known = _check(image, known)
    h, w = known.shape
    offset = image[known].mean(axis=0)  # (3,)
    x = np.moveaxis(image - offset, -1, 0)  # (3, H, W)
    p = known.astype(np.float64)  # (H, W)
    px = p * x
    rms = np.sqrt((px * px).sum() / (3 * p.sum()))
    tau = LR_TAU_FACTOR * np.sqrt(h * w) * rms
    delta = min(LR_DELTA_FACTOR * h * w / p.sum(), LR_DELTA_MAX)
    norm_px = np.linalg.norm(px, axis=(1, 2))  # (3,) Frobenius
    # Cai et al.'s warm start: skip the first iterations, in which D_tau(Y) would still be zero.
    spectral = np.linalg.norm(px, ord=2, axis=(1, 2))  # (3,)
    k0 = np.ceil(tau / (delta * np.maximum(spectral, 1e-12)))  # (3,)
    y = (k0 * delta)[:, None, None] * px  # (3, H, W)
    z = np.zeros_like(x)
    for _ in range(LR_MAX_ITERATIONS):
        u, s, vt = np.linalg.svd(y, full_matrices=False)
        z = (u * np.maximum(s - tau, 0.0)[:, None, :]) @ vt  # (3, H, W)
        residual = p * (x - z)
        relative = np.linalg.norm(residual, axis=(1, 2)) / np.maximum(norm_px, 1e-12)
        if (relative < LR_TOLERANCE).all():
            break
        y += delta * residual
    return _finish(np.moveaxis(z, 0, -1) + offset, image, known)


def _opencv(image: np.ndarray, known: np.ndarray, flag_name: str) -> np.ndarray:
    import cv2

    image, known = _check(image, known)
    src = np.round(image * 255.0).astype(np.uint8)
    hole = np.where(known, 0, 255).astype(np.uint8)  # OpenCV: non-zero = fill
    filled = cv2.inpaint(src, hole, OPENCV_RADIUS, getattr(cv2, flag_name))
    return _finish(filled / 255.0, image, known)


def telea_inpaint(image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """OpenCV's fast marching method (Telea 2004), radius OPENCV_RADIUS, on the image rounded to uint8."""
    return _opencv(image, known, "INPAINT_TELEA")


def ns_inpaint(image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """OpenCV's Navier-Stokes method (Bertalmio et al. 2001), radius OPENCV_RADIUS, on uint8."""
    return _opencv(image, known, "INPAINT_NS")


def biharmonic_inpaint(image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """scikit-image's biharmonic inpainting, each channel solved separately."""
    from skimage.restoration import inpaint_biharmonic

    image, known = _check(image, known)
    filled = inpaint_biharmonic(image, ~known, channel_axis=-1)
    return _finish(filled, image, known)


Baseline = Callable[[np.ndarray, np.ndarray], np.ndarray]

BASELINES: dict[str, Baseline] = {
    "tv": tv_inpaint,
    "lr": lr_inpaint,
    "telea": telea_inpaint,
    "ns": ns_inpaint,
    "biharmonic": biharmonic_inpaint,
    "mean": mean_fill,
}
