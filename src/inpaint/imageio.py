"""Read and check the images and masks a user gives to an inpainting command; write results atomically.

Pixels stay uint8 from file to file, so known pixels come back byte-identical. A 16-bit image
(grey, RGB or RGBA; PNG or TIFF) is completed at 8 bits and written back at 16 (as PNG), its
known samples unchanged.
In a mask file white (non-zero) marks a hole to fill; in an image alpha = 0 also marks a hole.
A mask whose values are only 0 and 1 (an array saved as it is) takes 1 as the hole.
Images and masks are read as viewers show them: the EXIF orientation is applied, and what is
written is upright, without the tag. HEIC/HEIF files (what phones save) are read where
pillow-heif is installed (the `heic` extra).
"""
from __future__ import annotations

import contextlib
import functools
import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from inpaint.atomic import atomic_path
from inpaint.errors import InpaintError, OutputError

MAX_PIXELS = 80_000_000
WRITE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}
JPEG_QUALITY = 95


class ImageError(InpaintError):
    """An input image or mask is missing, unreadable, of an unsupported kind or of the wrong size."""


@dataclass(frozen=True)
class Picture:
    """The pixels of one image and how to write them back."""

    pixels: np.ndarray  # uint8 (H, W, C); C = 3 for RGB, 1 for grayscale
    alpha: np.ndarray | None  # uint8 (H, W) when the file had alpha
    mode: str  # "RGB" or "L"
    deep: np.ndarray | None = None  # uint16 (H, W, C [+ 1 alpha]): a 16-bit file's own samples

    def __post_init__(self) -> None:
        channels = {"RGB": 3, "L": 1}.get(self.mode)
        if channels is None:
            raise ValueError(f"mode must be 'RGB' or 'L', got {self.mode!r}")
        p = self.pixels
        if p.dtype != np.uint8 or p.ndim != 3 or p.shape[2] != channels:
            raise ValueError(f"pixels for mode {self.mode} must be uint8 (H, W, {channels}), "
                             f"got {p.dtype} {p.shape}")
        a = self.alpha
        if a is not None and (a.dtype != np.uint8 or a.shape != self.size):
            raise ValueError(f"alpha must be uint8 {self.size}, got {a.dtype} {a.shape}")
        d = self.deep
        want = (*self.size, channels + (a is not None))
        if d is not None and (d.dtype != np.uint16 or d.shape != want):
            raise ValueError(f"deep must be uint16 {want}, got {d.dtype} {d.shape}")

    @property
    def size(self) -> tuple[int, int]:
        """(H, W)."""
        return self.pixels.shape[0], self.pixels.shape[1]


def read_image(path: str | Path) -> Picture:
    """Read an image as uint8 RGB or grayscale pixels, with its alpha if it has any."""
    return _read(Path(path), "image")


def read_mask(path: str | Path, size: tuple[int, int], invert: bool = False,
              on_note: Callable[[str], None] | None = None) -> np.ndarray:
    """Read a mask as bool (H, W), True = hole: gray >= 128, or 1 in a mask of only 0 and 1 (said
    to on_note); a fully transparent pixel counts as 0."""
    path = Path(path)
    return _hole(_read(path, "mask"), f"mask {path}", size, invert, on_note)


def decode_image(data: bytes, name: str = "upload") -> Picture:
    """read_image for the bytes of a file (an upload); `name` stands for it in error messages."""
    return _decode(io.BytesIO(data), name, "image")


def decode_mask(data: bytes, size: tuple[int, int], invert: bool = False, name: str = "upload",
                on_note: Callable[[str], None] | None = None) -> np.ndarray:
    """read_mask for the bytes of a file (an upload)."""
    return _hole(_decode(io.BytesIO(data), name, "mask"), f"mask {name}", size, invert, on_note)


def _hole(picture: Picture, label: str, size: tuple[int, int], invert: bool,
          on_note: Callable[[str], None] | None = None) -> np.ndarray:
    if picture.size != tuple(size):
        raise ImageError(f"{label} is {_wxh(picture.size)} but the image is {_wxh(size)} "
                         "(width x height); give a mask of the same size as the image")
    if picture.mode == "L":
        gray = picture.pixels[..., 0]
    else:
        gray = np.asarray(Image.fromarray(picture.pixels).convert("L"))
    if picture.alpha is not None:
        gray = np.where(picture.alpha == 0, 0, gray)
    if picture.deep is not None and gray.max() == 0 and picture.deep[..., 0].max() == 1:
        gray = picture.deep[..., 0].astype(np.uint8)    # a 16-bit array of 0 and 1
    if gray.max() == 1:            # an array of 0 and 1 saved as it is
        hole = gray == 1
        if on_note is not None:
            on_note(f"{label} holds only the values 0 and 1: taking 1 as the hole")
    else:
        hole = gray >= 128
    return ~hole if invert else hole


def hole_from_alpha(picture: Picture) -> np.ndarray | None:
    """The bool (H, W) hole where alpha == 0; None when the picture has no alpha."""
    return None if picture.alpha is None else picture.alpha == 0


def hole_of(picture: Picture, mask_hole: np.ndarray | None, invert: bool, name: str,
            invert_hint: str = "pass --invert-mask") -> np.ndarray:
    """The checked hole of `picture`: its mask's (already read, inverted as asked) or, without one,
    its transparent pixels (inverted where `invert`); `name` names the image in the error."""
    hole = mask_hole
    if hole is None:
        hole = hole_from_alpha(picture)
        if hole is None:
            raise ImageError(f"no mask given and {name} has no alpha channel; give a mask (white = hole) "
                             "or an RGBA image whose transparent pixels are the hole")
        if invert:
            hole = ~hole
    check_hole(hole, invert_hint)
    return hole


def check_hole(hole: np.ndarray, invert: str = "pass --invert-mask") -> None:
    """Refuse a hole that leaves nothing to fill or nothing known to fill it from; `invert` says
    how the caller's user inverts a mask."""
    if not hole.any():
        raise ImageError(f"the mask marks no pixel to fill; white = hole, or {invert}")
    if hole.all():
        raise ImageError("the mask marks every pixel to fill, so nothing is known to fill it from; "
                         f"black = known, or {invert}")


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
        _save_deep(picture.deep, target)
        return
    array = picture.pixels
    if picture.alpha is not None and fmt == "PNG":
        array = np.concatenate([array, picture.alpha[..., None]], axis=2)
    if array.shape[2] == 1:
        array = array[..., 0]
    options = {"quality": JPEG_QUALITY} if fmt == "JPEG" else {}
    Image.fromarray(array).save(target, format=fmt, **options)


def _read(path: Path, what: str) -> Picture:
    """Open, check and fully decode `path`; every way it can fail becomes one ImageError line."""
    if path.is_dir():
        raise ImageError(f"{what} {path} is a directory; give an image file")
    if not path.exists():
        raise ImageError(f"{what} {path} not found; check the path")
    return _decode(path, str(path), what)


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


def _decode(source, label: str, what: str) -> Picture:
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
            depth = _deep_samples(im)
            if depth == "16-bit":
                return _deep_picture(im, source, label, what)
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


def _deep_samples(im: Image.Image) -> str | None:
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


# EXIF orientation -> the numpy form of the Pillow transpose that ImageOps.exif_transpose applies
_ORIENT = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
           5: lambda a: a.swapaxes(0, 1), 6: lambda a: np.rot90(a, -1), 7: lambda a: np.rot90(a, 2).swapaxes(0, 1),
           8: lambda a: np.rot90(a, 1)}


def _deep_picture(im: Image.Image, source, label: str, what: str) -> Picture:
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


def _save_deep(deep: np.ndarray, target) -> None:
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


def _wxh(size: tuple[int, int]) -> str:
    return f"{size[1]}x{size[0]}"


def check_output_path(path: str | Path) -> Path:
    """Refuse an output path before any work is done: a directory, or a suffix we cannot write."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"output path {path} is a directory; give a file name such as {path / 'filled.png'}")
    if path.suffix.lower() not in WRITE_FORMATS:
        raise ImageError(f"cannot write {path}: unsupported suffix {path.suffix!r}; "
                         f"use one of {', '.join(WRITE_FORMATS)}")
    return path
