"""Reading images: a file or an upload opened, checked and decoded to a Picture as viewers show it
(EXIF orientation applied), every way it can fail one ImageError line."""
from __future__ import annotations

import contextlib
import functools
import io
import re
import warnings
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from inpaint.imageio.deep import deep_picture, deep_samples
from inpaint.imageio.picture import ImageError, Picture

MAX_PIXELS = 80_000_000


def read_image(path: str | Path) -> Picture:
    """Read an image as uint8 RGB or grayscale pixels, with its alpha if it has any."""
    return read_picture(Path(path), "image")


def decode_image(data: bytes, name: str = "upload") -> Picture:
    """read_image for the bytes of a file (an upload); `name` stands for it in error messages."""
    return decode_picture(io.BytesIO(data), name, "image")


def read_picture(path: Path, what: str) -> Picture:
    """Open, check and fully decode `path`; every way it can fail becomes one ImageError line."""
    if path.is_dir():
        raise ImageError(f"{what} {path} is a directory; give an image file")
    if not path.exists():
        raise ImageError(f"{what} {path} not found; check the path")
    return decode_picture(path, str(path), what)


@functools.cache
def _heif_readable() -> bool:
    """Registers pillow-heif's opener with Pillow where it is installed: HEIC and HEIF files."""
    try:
        import pillow_heif
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


def _is_heif(source) -> bool:
    """Whether a file or file object starts as an HEIF container does (an ftyp box of a HEIF brand)."""
    try:
        if isinstance(source, (str, Path)):
            with open(source, "rb") as f:
                head = f.read(12)
        else:
            at = source.tell()
            head = source.read(12)
            source.seek(at)
    except OSError:
        return False
    return head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1")


def decode_picture(source, label: str, what: str) -> Picture:
    """Open, check and fully decode a file or file object, named `label` in every error."""
    heif = _heif_readable()
    with _strict_pillow():
        try:
            im = Image.open(source)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            found = re.search(r"\((\d+) pixels\)", str(e))
            raise ImageError(_too_large(label, what, int(found[1]) if found else None)) from None
        except UnidentifiedImageError:
            if not heif and _is_heif(source):
                raise ImageError(f"{what} {label} is an HEIC/HEIF file: pip install 'inpaint[heic]' "
                                 "(pillow-heif) to read it, or convert it to JPEG") from None
            raise ImageError(f"{what} {label} is not an image file Pillow can read; "
                             "give a PNG or JPEG") from None
        except (OSError, SyntaxError, ValueError, EOFError) as e:
            raise ImageError(f"cannot read {what} {label} ({e}); "
                             "check that it is a readable image file") from None
        with im:
            w, h = im.size
            if w * h > MAX_PIXELS:
                raise ImageError(_too_large(label, what, w * h, f"{w}x{h} = "))
            depth = deep_samples(im)
            if depth == "16-bit":
                return deep_picture(im, source, label, what)
            if depth:
                raise ImageError(f"{what} {label} has {depth} samples; only 8 and 16 bits per channel "
                                 "are supported: convert it to 16-bit or 8-bit")
            try:
                im.load()
            except (OSError, SyntaxError, ValueError, EOFError) as e:
                raise ImageError(f"{what} {label} is truncated or corrupt ({e}); "
                                 "re-export or re-download it") from None
            return _to_picture(_upright(im))


def _upright(im: Image.Image) -> Image.Image:
    """The image as viewers show it: its EXIF orientation (phones store photos sideways with a
    tag saying so) applied, the tag dropped."""
    try:
        if im.getexif().get(0x0112, 1) == 1:
            return im      # upright already (exif_transpose would copy it)
        turned = ImageOps.exif_transpose(im)
    except (OSError, SyntaxError, ValueError, TypeError, KeyError):
        return im          # unreadable EXIF: shown as stored, as most viewers do
    return im if turned is None else turned


@contextlib.contextmanager
def _strict_pillow() -> Iterator[None]:
    """Make truncated files and decompression bombs fail, whatever another library set globally."""
    truncated = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = truncated


def _to_picture(im: Image.Image) -> Picture:
    """Convert a decoded image of any 8-bit mode to RGB or L pixels plus optional alpha."""
    gray = im.mode in ("1", "L", "LA", "La")
    has_alpha = (any(band in ("A", "a") for band in im.getbands()) or "transparency" in im.info
                 or (im.mode == "P" and im.palette is not None and im.palette.mode.endswith("A")))
    target = ("LA" if has_alpha else "L") if gray else ("RGBA" if has_alpha else "RGB")
    array = np.asarray(im if im.mode == target else im.convert(target))   # one copy, read-only
    if gray:
        array = array.reshape(*array.shape[:2], -1)  # (H, W) -> (H, W, 1) without alpha
    if not has_alpha:
        return Picture(array if array.dtype == np.uint8 else array.astype(np.uint8), None, "L" if gray else "RGB")
    pixels, alpha = np.array(array[..., :-1], dtype=np.uint8), np.array(array[..., -1], dtype=np.uint8)
    return Picture(pixels, alpha, "L" if gray else "RGB")


def _too_large(label: str, what: str, pixels: int | None, shape: str = "") -> str:
    count = f"{shape}{pixels:,} pixels" if pixels else "too many pixels"
    return (f"{what} {label} has {count}, more than the limit of {MAX_PIXELS:,}; "
            "downscale or crop it first")
