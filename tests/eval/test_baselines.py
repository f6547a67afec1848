import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from inpaint.eval.baselines import BASELINES
from inpaint.eval.metrics import psnr
from inpaint.masks import center_mask, random_pixels_mask


def ramp(size=32):
    """A smooth colour image, every channel affine in (y, x): (size, size, 3) in [0.1, 0.9]."""
    y, x = np.mgrid[0:size, 0:size] / (size - 1)
    return np.stack([0.1 + 0.8 * x, 0.2 + 0.3 * x + 0.4 * y, 0.9 - 0.7 * y], axis=-1)


def two_halves(size=32):
    """Two flat colours, left and right, with a vertical edge between columns size//2 - 1 and size//2."""
    image = np.empty((size, size, 3))
    image[:, : size // 2] = (0.2, 0.4, 0.6)
    image[:, size // 2:] = (0.9, 0.7, 0.1)
    return image


def hole_rmse(result, truth, known):
    return float(np.sqrt(np.mean((result - truth)[~known] ** 2)))


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_known_pixels_shape_dtype_range_and_determinism(name):
    rng = np.random.default_rng(0)
    image = rng.uniform(size=(20, 24, 3)).astype(np.float32)  # irregular size, float32 input
    known = rng.uniform(size=(20, 24)) > 0.4
    known[8:14, 5:15] = False  # a block as well as scattered holes, some on the border
    before = image.copy()
    out = BASELINES[name](image, known)
    assert out.shape == (20, 24, 3) and out.dtype == np.float64
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert np.array_equal(out[known], image[known].astype(np.float64))
    assert np.array_equal(image, before)  # the input is left alone
    assert np.array_equal(BASELINES[name](image, known), out)


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_bad_inputs_are_refused(name):
    image = np.zeros((8, 8, 3))
    with pytest.raises(ValueError, match="no True pixel"):
        BASELINES[name](image, np.zeros((8, 8), bool))
    with pytest.raises(ValueError, match="known must be"):
        BASELINES[name](image, np.ones((8, 8)))  # float, not bool
    with pytest.raises(ValueError, match="image must be"):
        BASELINES[name](image[:, :, 0], np.ones((8, 8), bool))


# Hole RMSE measured on the 32x32 ramp with its 16x16 center hole: tv and biharmonic 0 (< 1e-6),
# ns 0.042, telea 0.051, mean 0.101. Bounds leave some margin.
@pytest.mark.parametrize("name, bound", [("tv", 1e-3), ("biharmonic", 1e-3), ("ns", 0.055),
                                         ("telea", 0.065)])
def test_smooth_image_is_reconstructed_better_than_the_mean(name, bound):
    image, known = ramp(), center_mask(32).astype(bool)
    error = hole_rmse(BASELINES[name](image, known), image, known)
    assert error < bound
    assert error < 0.6 * hole_rmse(BASELINES["mean"](image, known), image, known)


def test_tv_keeps_an_edge_through_the_hole_sharp():
    # TV's minimiser continues the jump as a straight line across the hole and keeps both sides
    # flat; biharmonic (like any smooth interpolant) blurs it into a ramp.
    image, known = two_halves(), center_mask(32).astype(bool)
    tv = BASELINES["tv"](image, known)
    smooth = BASELINES["biharmonic"](image, known)
    away = np.ones(32, bool)
    away[14:18] = False  # columns more than two pixels from the edge
    tv_error = np.abs(tv - image).max(axis=-1)  # (H, W)
    smooth_error = np.abs(smooth - image).max(axis=-1)
    assert tv_error[:, away].max() < 1e-3  # measured 2e-4
    assert smooth_error[:, away].max() > 0.1  # measured 0.18
    jump = tv[8:24, 16] - tv[8:24, 15]  # across the edge, in the hole rows: (16, 3)
    assert np.abs(jump - (0.7, 0.3, -0.5)).max() < 0.1  # measured 0.05
    assert hole_rmse(tv, image, known) < 0.2 * hole_rmse(smooth, image, known)


def test_lr_recovers_a_low_rank_image_from_half_its_pixels():
    rng = np.random.default_rng(0)
    left, right = rng.uniform(size=(2, 3, 32, 2))  # two rank-2 factors per channel
    image = np.moveaxis(left @ right.transpose(0, 2, 1), 0, -1)  # (32, 32, 3), rank 2 per channel
    image /= image.max()
    known = random_pixels_mask(32, np.random.default_rng(1), missing=0.5).astype(bool)
    error = hole_rmse(BASELINES["lr"](image, known), image, known)
    assert error < 0.01  # measured 0.0018
    assert error < 0.05 * hole_rmse(BASELINES["mean"](image, known), image, known)


def read_faces(path, count):
    with zipfile.ZipFile(path) as archive:
        names = sorted(n for n in archive.namelist() if n.startswith("val/") and n.endswith(".jpg"))
        return [np.asarray(Image.open(io.BytesIO(archive.read(n))).convert("RGB"), np.float64) / 255.0
                for n in names[:count]]


def test_telea_beats_the_mean_colour_on_real_faces(shared_data):
    # Measured on these 20 faces (whole-image PSNR, 32x32 center hole): telea 24.1 dB, mean 18.8.
    faces = read_faces(shared_data / "celeba64" / "val.zip", 20)
    assert len(faces) == 20 and faces[0].shape == (64, 64, 3)
    known = center_mask(64).astype(bool)
    scores = {name: np.mean([psnr(BASELINES[name](face, known), face) for face in faces])
              for name in ("telea", "mean")}
    assert scores["telea"] > 20.0
    assert scores["telea"] > scores["mean"] + 3.0
