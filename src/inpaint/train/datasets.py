"""Training images: CelebA (raw img_align_celeba or ready crops), SVHN (.mat / .npz), any images.

Every loader returns the whole set decoded once as uint8 (N, R, R, 3): a 64x64 CelebA split is
~0.5 GB, and decoding it once is far cheaper than decoding JPEGs every epoch on a small CPU.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from inpaint.errors import DatasetError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
DATASETS = ("celeba", "svhn", "images")
DEFAULT_RESOLUTION = {"celeba": 64, "svhn": 32, "images": 64}

# Raw img_align_celeba files are 178x218; the usual DCGAN crop is the central 108x108 square.
CELEBA_RAW_SIZE = (178, 218)
CELEBA_CROP_BOX = (35, 55, 35 + 108, 55 + 108)   # left, top, right, bottom


def load_dataset(kind: str, path: str | Path, resolution: int, progress: bool = True) -> np.ndarray:
    """Decode a dataset into uint8 (N, resolution, resolution, 3)."""
    if kind not in DATASETS:
        raise DatasetError(f"unknown dataset kind {kind!r}; use one of {', '.join(DATASETS)}")
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"dataset not found: {path}; check the --data path")
    if kind == "svhn" and path.suffix.lower() in (".mat", ".npz"):
        images = load_svhn(path)
        if images.shape[1] != resolution:
            images = np.stack([_resize(Image.fromarray(a), resolution) for a in images])
        return images
    prepare = celeba_square if kind == "celeba" else center_square
    members = list(image_sources(path))
    if not members:
        raise DatasetError(f"no images found in {path} (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    out = np.empty((len(members), resolution, resolution, 3), np.uint8)
    for i, (name, read) in enumerate(tqdm(members, desc=f"decoding {path.name}", unit="img",
                                          disable=not progress, leave=False)):
        try:
            with Image.open(io.BytesIO(read())) as im:
                out[i] = _resize(prepare(im.convert("RGB")), resolution)
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
            raise DatasetError(f"corrupt image {name} in {path}: {e}; remove or replace it") from None
    return out


def image_sources(path: Path) -> Iterator[tuple[str, Callable[[], bytes]]]:
    """(name, reader) for every image file in a directory tree or a zip, in sorted order."""
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file():
                yield str(p.relative_to(path)), p.read_bytes
        return
    if path.suffix.lower() != ".zip":
        raise DatasetError(f"{path} is neither a directory nor a .zip of images")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise DatasetError(f"cannot open {path} as a zip ({e}); the file is corrupt or truncated") from None
    for name in sorted(archive.namelist()):
        if not name.endswith("/") and Path(name).suffix.lower() in IMAGE_SUFFIXES:
            yield name, (lambda n=name: _read_member(archive, path, n))


def _read_member(archive: zipfile.ZipFile, path: Path, name: str) -> bytes:
    try:
        return archive.read(name)
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise DatasetError(f"cannot read {name} from {path} ({e}); the zip is corrupt") from None


def celeba_square(im: Image.Image) -> Image.Image:
    """The DCGAN CelebA crop for raw 178x218 files; other sizes get a plain center square."""
    if im.size == CELEBA_RAW_SIZE:
        return im.crop(CELEBA_CROP_BOX)
    return center_square(im)


def center_square(im: Image.Image) -> Image.Image:
    w, h = im.size
    s = min(w, h)
    left, top = (w - s) // 2, (h - s) // 2
    return im.crop((left, top, left + s, top + s))


def _resize(im: Image.Image, resolution: int) -> np.ndarray:
    if im.size != (resolution, resolution):
        im = im.resize((resolution, resolution), Image.BICUBIC)
    return np.asarray(im, dtype=np.uint8)


def load_svhn(path: Path) -> np.ndarray:
    """SVHN cropped digits from the official *_32x32.mat (X: 32x32x3xN) or an .npz (X: Nx32x32x3)."""
    try:
        if path.suffix.lower() == ".mat":
            import scipy.io
            x = scipy.io.loadmat(path, variable_names=["X"]).get("X")
            x = None if x is None else np.moveaxis(x, 3, 0)
        else:
            with np.load(path) as f:
                x = f["X"] if "X" in f.files else None
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
        raise DatasetError(f"cannot read SVHN file {path} ({e}); the file is corrupt or not SVHN") from None
    if x is None or x.ndim != 4 or x.shape[1:] != (32, 32, 3):
        raise DatasetError(f"{path} has no array X of 32x32 RGB images; expected the official "
                           "SVHN *_32x32.mat (X: 32x32x3xN) or an .npz with X: Nx32x32x3")
    if len(x) == 0:
        raise DatasetError(f"{path} holds no images")
    return np.ascontiguousarray(x, dtype=np.uint8)
