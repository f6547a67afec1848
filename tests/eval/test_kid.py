import numpy as np
import pytest

from inpaint.eval import kid as kid_module
from inpaint.eval.kid import kid


def unit_rows(rng, n, d=16, shift=0.0):
    x = rng.normal(size=(n, d))
    x[:, 0] += shift
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_kid_is_the_unbiased_mmd_of_the_cubic_kernel():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(7, 5)), rng.normal(size=(11, 5))
    xs, ys = x * np.sqrt(5), y * np.sqrt(5)          # the descriptors are scaled by sqrt(d)
    k = lambda a, b: (a @ b.T / 5 + 1) ** 3
    kxx, kyy = k(xs, xs), k(ys, ys)
    brute = ((kxx.sum() - np.trace(kxx)) / (7 * 6) + (kyy.sum() - np.trace(kyy)) / (11 * 10)
             - 2 * k(xs, ys).mean())
    assert kid(x, y)["value"] == pytest.approx(brute, rel=1e-12)


def test_bootstrap_counts_leave_out_pairs_of_copies():
    """A draw that takes image 0 twice must not count the pair of its two copies."""
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(4, 3)), rng.normal(size=(5, 3))
    k = lambda a, b: (a @ b.T / 3 + 1) ** 3
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    cx, cy = np.array([2.0, 1, 1, 0]), np.ones(5)
    ix = [0, 0, 1, 2]
    within = np.mean([kxx[a, b] for p, a in enumerate(ix) for q, b in enumerate(ix) if a != b])
    expected = within + (kyy.sum() - np.trace(kyy)) / 20 - 2 * np.mean([kxy[a, j] for a in ix for j in range(5)])
    assert kid_module._mmd2(kxx, kyy, kxy, cx, cy) == pytest.approx(expected, rel=1e-12)


def test_same_distribution_gives_about_zero_and_a_shifted_one_more():
    rng = np.random.default_rng(2)
    same = kid(unit_rows(rng, 300), unit_rows(rng, 600))
    apart = kid(unit_rows(rng, 300, shift=0.5), unit_rows(rng, 600))
    assert same["low"] <= 0.0 <= same["high"]
    assert apart["low"] > same["high"]
    assert apart["low"] <= apart["value"] <= apart["high"]


def test_kid_refuses_what_it_cannot_measure():
    with pytest.raises(ValueError, match="two or more"):
        kid(np.zeros((1, 4)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="different lengths"):
        kid(np.zeros((3, 4)), np.zeros((3, 5)))
