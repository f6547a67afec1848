"""Kernel Inception Distance (Bińkowski et al., 2018) over any descriptors, with a bootstrap interval.

KID is the squared maximum mean discrepancy between two sets of descriptors under the cubic
polynomial kernel k(x, y) = (x.y / d + 1)^3, estimated without bias (a U-statistic: each set's
pairs of distinct images). A set against a disjoint draw of the same distribution gives about 0
(negative values are estimation noise). Here the descriptors are dlib's 128-d face descriptors,
scaled by sqrt(d) so that x.y / d is their plain dot product: they lie near the unit sphere, and
without the scale the kernel would be nearly linear (every x.y / d close to 0).
"""
from __future__ import annotations

import numpy as np

BOOTSTRAP = 200                 # resamples for the interval
DESCRIPTOR_SCALE = True         # multiply by sqrt(d) (see the module's docstring)


def _kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a @ b.T / a.shape[1] + 1.0) ** 3


def _prepared(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"KID needs two or more descriptors as (N, D), got {x.shape}")
    return x * np.sqrt(x.shape[1]) if DESCRIPTOR_SCALE else x


def _mmd2(kxx: np.ndarray, kyy: np.ndarray, kxy: np.ndarray, cx: np.ndarray, cy: np.ndarray) -> float:
    """The unbiased MMD^2 of sets that hold image i of x cx[i] times and image j of y cy[j] times
    (all ones: the sets themselves; a bootstrap draw otherwise). Within each set only pairs of two
    different source images count: a pair of copies would be the diagonal's k(x, x) again."""
    def within(k: np.ndarray, c: np.ndarray) -> float:
        pairs = c @ k @ c - np.sum(c * c * np.diag(k))
        return float(pairs / (c.sum() ** 2 - np.sum(c * c)))
    return float(within(kxx, cx) + within(kyy, cy) - 2.0 * (cx @ kxy @ cy) / (cx.sum() * cy.sum()))


def kid(x: np.ndarray, y: np.ndarray, seed: int = 0, resamples: int = BOOTSTRAP) -> dict[str, float]:
    """KID of descriptors x (N, D) against y (M, D): the estimate on the whole sets and a 95%
    percentile interval from `resamples` bootstrap draws of both sets' images."""
    x, y = _prepared(x), _prepared(y)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"descriptors of different lengths: {x.shape[1]} and {y.shape[1]}")
    kxx, kyy, kxy = _kernel(x, x), _kernel(y, y), _kernel(x, y)
    value = _mmd2(kxx, kyy, kxy, np.ones(len(x)), np.ones(len(y)))
    rng = np.random.default_rng(seed)

    def counts(n: int) -> np.ndarray:        # how often a bootstrap draw of n images takes each
        return np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64)
    draws = [_mmd2(kxx, kyy, kxy, counts(len(x)), counts(len(y))) for _ in range(resamples)]
    low, high = np.percentile(draws, [2.5, 97.5])
    return {"value": value, "low": float(low), "high": float(high), "n": len(x), "reference_n": len(y)}
