"""Writing pictures: to a file atomically (PNG or JPEG by suffix), or to bytes (an HTTP answer)."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from inpaint.atomic import atomic_path
from inpaint.errors import OutputError
from inpaint.imageio.deep import save_deep
from inpaint.imageio.picture import ImageError, Picture

WRITE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}
JPEG_QUALITY = 95


def write_image(path: str | Path, picture: Picture) -> None:
    """Write `picture` atomically, by suffix: PNG with its alpha (at 16 bits where it was read
    from 16), or JPEG (quality 95, 8 bits) without."""
    path = Path(path)
    with atomic_path(path) as tmp:
        # Checked inside atomic_path so that a directory target gets its OutputError first.
        fmt = WRITE_FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise ImageError(f"cannot write {path}: unsupported suffix {path.suffix!r}; "
                             f"use one of {', '.join(WRITE_FORMATS)}")
        try:
            _save(picture, tmp, fmt)
        except OSError as e:
            raise OutputError(f"cannot write {path} ({e}); check free space and permissions") from None


def encode_image(picture: Picture, fmt: str = "PNG") -> bytes:
    """The bytes write_image would write: PNG with alpha, or JPEG (quality 95) without."""
    out = io.BytesIO()
    _save(picture, out, fmt)
    return out.getvalue()


def _save(picture: Picture, target, fmt: str) -> None:
    if picture.deep is not None and fmt == "PNG":
        save_deep(picture.deep, target)
        return
    array = picture.pixels
    if picture.alpha is not None and fmt == "PNG":
        array = np.concatenate([array, picture.alpha[..., None]], axis=2)
    if array.shape[2] == 1:
        array = array[..., 0]
    options = {"quality": JPEG_QUALITY} if fmt == "JPEG" else {}
    Image.fromarray(array).save(target, format=fmt, **options)


def check_output_path(path: str | Path) -> Path:
    """Refuse an output path before any work is done: a directory, or a suffix we cannot write."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"output path {path} is a directory; give a file name such as {path / 'filled.png'}")
    if path.suffix.lower() not in WRITE_FORMATS:
        raise ImageError(f"cannot write {path}: unsupported suffix {path.suffix!r}; "
                         f"use one of {', '.join(WRITE_FORMATS)}")
    return path
