"""The --framing option: its text parsed, and a square the user gives checked."""
from __future__ import annotations

import numpy as np

from inpaint.errors import InpaintError
from inpaint.runtime.framing.geometry import Box, hole_inside, known_share
from inpaint.runtime.framing.result import Framing
from inpaint.runtime.framing.settings import DEFAULT, FramingSettings


def parse_framing(text: str) -> str | Box:
    """"auto", "whole" or "X,Y,SIZE" (a square's top-left corner and side, in pixels)."""
    text = text.strip().lower()
    if text in ("auto", "whole"):
        return text
    parts = text.split(",")
    try:
        x, y, size = (float(p) for p in parts)
    except ValueError:
        raise InpaintError(f"framing {text!r}: give auto, whole, or X,Y,SIZE (three numbers, "
                           "e.g. 35,55,108)") from None
    if not size > 0 or not all(np.isfinite([x, y, size])):
        raise InpaintError(f"framing {text!r}: in X,Y,SIZE the SIZE must be a positive number of pixels")
    return Box(x, y, size)


def given(box: Box, shape: tuple[int, int], hole: np.ndarray, settings: FramingSettings = DEFAULT) -> Framing:
    """A square the user chose: checked to overlap the image and hold known pixels."""
    h, w = shape
    x, y, s = box.pixels()
    if x >= w or y >= h or x + s <= 0 or y + s <= 0:
        raise InpaintError(f"framing square {x},{y},{s} lies outside the {w}x{h} image; "
                           "give X,Y inside it")
    if known_share(box, hole) < settings.min_known_given:
        raise InpaintError(f"framing square {x},{y},{s} holds too few known pixels (under "
                           f"{settings.min_known_given:.0%} of it); give a larger square around the hole")
    return Framing(box, "given", hole_inside=hole_inside(box, hole))
