"""Cut a framing square out of a photo for the model, and put its completion back.

A square may reach past the photo's edges (a face near the border): the part outside is cut as
hole, so the model fills it without it counting in any loss, and nothing of it comes back. Hole
pixels of the photo outside the square are filled by Telea's method (OpenCV) after the square's
completion is in, so they continue what the model drew.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inpaint.runtime.framing import Box


@dataclass(frozen=True)
class Square:
    """A square in whole pixels and where it meets the photo."""

    x: int
    y: int
    side: int
    shape: tuple[int, int]            # the photo's (H, W)

    @classmethod
    def of(cls, box: Box, shape: tuple[int, int]) -> "Square":
        return cls(*box.pixels(), shape)

    @property
    def in_photo(self) -> tuple[slice, slice]:
        """(rows, cols) of the photo inside the square."""
        h, w = self.shape
        return (slice(max(0, self.y), min(h, self.y + self.side)),
                slice(max(0, self.x), min(w, self.x + self.side)))

    @property
    def in_square(self) -> tuple[slice, slice]:
        """The same pixels, in the square's coordinates."""
        rows, cols = self.in_photo
        return (slice(rows.start - self.y, rows.stop - self.y), slice(cols.start - self.x, cols.stop - self.x))

    def cut(self, rgb: np.ndarray, hole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """uint8 (H, W, 3), bool (H, W) -> the square's uint8 (S, S, 3) and hole (S, S); outside
        the photo the square is black and hole."""
        pixels = np.zeros((self.side, self.side, 3), np.uint8)
        gap = np.ones((self.side, self.side), bool)
        pixels[self.in_square] = rgb[self.in_photo]
        gap[self.in_square] = hole[self.in_photo]
        return pixels, gap

    def paste(self, filled_square: np.ndarray, rgb: np.ndarray, hole: np.ndarray, blend) -> np.ndarray:
        """float (S, S, 3) completion of the square (full resolution) -> float64 (H, W, 3): the
        photo with the hole inside the square Poisson-blended from it (`blend(source, target,
        known)`), the rest of the hole filled by Telea's method, known pixels as they were."""
        out = rgb.astype(np.float64)
        rows, cols = self.in_photo
        inside_hole = hole[rows, cols]
        if inside_hole.any():
            source = filled_square[self.in_square].astype(np.float64)
            target = out[rows, cols]
            out[rows, cols] = blend(source, target, ~inside_hole) if (~inside_hole).any() else source
        outside = hole.copy()
        outside[rows, cols] = False
        if outside.any():
            import cv2
            done = np.clip(np.rint(out), 0, 255).astype(np.uint8)
            out = np.where(outside[..., None], cv2.inpaint(done, outside.astype(np.uint8) * 255, 3,
                                                           cv2.INPAINT_TELEA), out).astype(np.float64)
        return out
