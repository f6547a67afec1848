import io
import zipfile

import numpy as np
import pytest
import scipy.io
from PIL import Image

from inpaint.errors import DatasetError
from inpaint.train.datasets import CELEBA_CROP_BOX, load_dataset


def test_raw_celeba_files_are_cropped_and_resized(shared_data):
    path = shared_data / "celeba_aligned_sample" / "img_align_celeba_sample.zip"
    images = load_dataset("celeba", path, 64, progress=False)
    assert images.shape == (300, 64, 64, 3) and images.dtype == np.uint8
    with zipfile.ZipFile(path) as z:
        first = sorted(n for n in z.namelist() if n.endswith(".jpg"))[0]
        raw = Image.open(io.BytesIO(z.read(first))).convert("RGB")
    assert raw.size == (178, 218)
    expected = np.asarray(raw.crop(CELEBA_CROP_BOX).resize((64, 64), Image.BICUBIC))
    np.testing.assert_array_equal(images[0], expected)
    # the crop keeps the face: the center is far from the mean of the discarded border
    assert images.std() > 30


def test_ready_64_crops_zip(shared_data):
    path = shared_data / "celeba64" / "val.zip"
    images = load_dataset("celeba", path, 64, progress=False)
    with zipfile.ZipFile(path) as z:
        names = sorted(n for n in z.namelist() if n.endswith(".jpg"))
        direct = np.asarray(Image.open(io.BytesIO(z.read(names[-1]))).convert("RGB"))
    manifest = (shared_data / "celeba64" / "manifest.csv").read_text().splitlines()
    assert len(images) == sum(",val" in row for row in manifest) == len(names)
    np.testing.assert_array_equal(images[-1], direct)   # already 64x64: no resampling


def test_svhn_npz(shared_data):
    path = shared_data / "svhn" / "svhn_train_first1083.npz"
    images = load_dataset("svhn", path, 32, progress=False)
    with np.load(path) as f:
        np.testing.assert_array_equal(images, f["X"])
    assert load_dataset("svhn", path, 64, progress=False).shape == (1083, 64, 64, 3)


def test_svhn_mat_in_official_layout(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (7, 32, 32, 3), dtype=np.uint8)
    # official train_32x32.mat: X is 32x32x3xN, y is Nx1
    scipy.io.savemat(tmp_path / "train_32x32.mat", {"X": np.moveaxis(x, 0, 3), "y": np.ones((7, 1))})
    np.testing.assert_array_equal(load_dataset("svhn", tmp_path / "train_32x32.mat", 32), x)


def test_generic_folder_center_crops(tmp_path):
    im = np.zeros((40, 80, 3), np.uint8)
    im[:, 20:60] = 255                      # the central 40x40 square is white
    Image.fromarray(im).save(tmp_path / "a.png")
    (tmp_path / "notes.txt").write_text("ignored")
    images = load_dataset("images", tmp_path, 32, progress=False)
    assert images.shape == (1, 32, 32, 3)
    assert images.min() == 255


def test_missing_dataset(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        load_dataset("celeba", tmp_path / "nope.zip", 64)


def test_empty_folder(tmp_path):
    with pytest.raises(DatasetError, match="no images found"):
        load_dataset("images", tmp_path, 64)


def test_corrupt_zip(tmp_path):
    (tmp_path / "train.zip").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DatasetError, match="corrupt"):
        load_dataset("celeba", tmp_path / "train.zip", 64)


def test_corrupt_image_is_named(tmp_path):
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "good.png")
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    with pytest.raises(DatasetError, match="bad.jpg"):
        load_dataset("images", tmp_path, 32)


def test_mat_without_images(tmp_path):
    scipy.io.savemat(tmp_path / "x.mat", {"y": np.ones(3)})
    with pytest.raises(DatasetError, match="no array X"):
        load_dataset("svhn", tmp_path / "x.mat", 32)
