"""16-bit files (PNG or TIFF; grey, RGB or RGBA): told apart, read and written by OpenCV, since
Pillow would drop their low byte."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from inpaint.imageio.picture import ImageError, Picture

# EXIF orientation -> the numpy form of the Pillow transpose that ImageOps.exif_transpose applies
_ORIENT = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
           5: lambda a: a.swapaxes(0, 1), 6: lambda a: np.rot90(a, -1), 7: lambda a: np.rot90(a, 2).swapaxes(0, 1),
           8: lambda a: np.rot90(a, 1)}


def deep_samples(im: Image.Image) -> str | None:
    """How an image's samples exceed 8 bits, or None when they do not."""
    if im.mode.startswith("I;16"):
        return "16-bit"
    if im.mode == "I":
        return "32-bit integer"
    if im.mode == "F":
        return "floating-point"
    # Pillow opens 16-bit RGB(A) PNGs and TIFFs as 8-bit modes and would drop the low byte while decoding.
    if any(";16" in str(tile[3]) for tile in im.tile):
        return "16-bit"
    return None


def deep_picture(im: Image.Image, source, label: str, what: str) -> Picture:
    """A 16-bit file (PNG or TIFF, grey, RGB or RGBA) decoded at 16 bits by OpenCV, as viewers
    show it (EXIF orientation applied), with its 8-bit pixels for the model."""
    import cv2
    data = Path(source).read_bytes() if isinstance(source, (str, Path)) else source.getvalue()
    array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if array is None or array.dtype != np.uint16:
        raise ImageError(f"{what} {label}: its 16-bit samples could not be decoded; convert it to 8-bit")
    if array.ndim == 2:
        array = array[..., None]
    elif array.shape[2] in (3, 4):
        array = cv2.cvtColor(array, cv2.COLOR_BGR2RGB if array.shape[2] == 3 else cv2.COLOR_BGRA2RGBA)
    try:
        orientation = im.getexif().get(0x0112, 1)
    except (OSError, SyntaxError, ValueError, TypeError, KeyError):
        orientation = 1
    array = np.ascontiguousarray(_ORIENT.get(orientation, lambda a: a)(array))
    channels = 1 if array.shape[2] in (1, 2) else 3
    has_alpha = array.shape[2] in (2, 4)
    pixels = ((array[..., :channels].astype(np.uint32) + 128) // 257).astype(np.uint8)
    alpha = ((array[..., -1].astype(np.uint32) + 256) // 257).astype(np.uint8) if has_alpha else None
    return Picture(pixels, alpha, "L" if channels == 1 else "RGB", array)


def save_deep(deep: np.ndarray, target) -> None:
    """Write uint16 (H, W, C) samples as a 16-bit PNG (OpenCV: Pillow writes 16 bits for grey only)."""
    import cv2
    array = deep[..., 0] if deep.shape[2] == 1 else deep
    if deep.shape[2] in (3, 4):
        array = cv2.cvtColor(deep, cv2.COLOR_RGB2BGR if deep.shape[2] == 3 else cv2.COLOR_RGBA2BGRA)
    ok, encoded = cv2.imencode(".png", array)
    if not ok:
        raise OSError("OpenCV could not encode the 16-bit PNG")
    if isinstance(target, (str, Path)):
        Path(target).write_bytes(encoded.tobytes())
    else:
        target.write(encoded.tobytes())
