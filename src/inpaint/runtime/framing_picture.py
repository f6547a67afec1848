"""The framing drawn on the input: what --debug-framing writes."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from inpaint.imageio import Picture
from inpaint.runtime.framing.geometry import Box
from inpaint.runtime.framing.result import Framing

HOLE_TINT = np.array([255, 0, 64], np.float32)   # the hole, half-tinted
SQUARE = (0, 230, 64)                            # the square the model sees
DETECTED = (255, 200, 0)                         # the face detector's boxes


def framing_picture(picture: Picture, hole: np.ndarray, framing: Framing, path: Path) -> None:
    """Write a PNG of the picture with the hole tinted, the detector's faces in yellow and the
    framing squares in green, with a caption saying how it was found."""
    from inpaint.atomic import write_atomic
    rgb = picture.pixels if picture.mode == "RGB" else np.repeat(picture.pixels, 3, axis=2)
    tinted = np.where(hole[..., None], 0.5 * rgb + 0.5 * HOLE_TINT, rgb)
    im = Image.fromarray(np.clip(tinted, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(im)
    width = max(1, round(max(im.size) / 200))
    for box in framing.detections:
        _square(draw, box, DETECTED, width)
    if framing.box is not None:
        for box in (framing.box, *framing.more):
            _square(draw, box, SQUARE, width)
    else:                       # the model sees the whole image
        draw.rectangle([0, 0, im.size[0] - 1, im.size[1] - 1], outline=SQUARE, width=width)
    caption = framing.how if not framing.reason else f"{framing.how}: {framing.reason}"
    draw.text((3, 3), caption, fill=SQUARE if framing.box else (255, 255, 255))
    write_atomic(Path(path), lambda tmp: im.save(tmp, format="PNG"))


def _square(draw: ImageDraw.ImageDraw, box: Box, colour, width: int) -> None:
    draw.rectangle([box.x, box.y, box.x + box.size - 1, box.y + box.size - 1], outline=colour, width=width)
