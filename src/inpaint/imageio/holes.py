"""Holes: a mask file (or upload) read as bool (H, W), True = hole, or an image's transparent
pixels; and the check that a hole leaves something to fill and something to fill it from."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from inpaint.imageio.decode import decode_picture, read_picture
from inpaint.imageio.picture import ImageError, Picture


def read_mask(path: str | Path, size: tuple[int, int], invert: bool = False,
              on_note: Callable[[str], None] | None = None) -> np.ndarray:
    """Read a mask as bool (H, W), True = hole: gray >= 128, or 1 in a mask of only 0 and 1 (said
    to on_note); a fully transparent pixel counts as 0."""
    path = Path(path)
    return _hole(read_picture(path, "mask"), f"mask {path}", size, invert, on_note)


def decode_mask(data: bytes, size: tuple[int, int], invert: bool = False, name: str = "upload",
                on_note: Callable[[str], None] | None = None) -> np.ndarray:
    """read_mask for the bytes of a file (an upload)."""
    return _hole(decode_picture(io.BytesIO(data), name, "mask"), f"mask {name}", size, invert, on_note)


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


def _wxh(size: tuple[int, int]) -> str:
    return f"{size[1]}x{size[0]}"
