"""The frame: the part of a photo the model sees, and its pixels at the model's resolution.

A frame is the framing square (which may reach past the photo's edges: a face near the border)
or the whole image, in continuous photo coordinates: pixel (i, j) covers [j, j + 1) x [i, i + 1),
and a frame's corner and side need not be whole pixels. The model's pixel values are averages of
the photo over each model pixel's footprint, taken on the photo's bicubic interpolant wherever a
model pixel spans fewer than FINE photo pixels, so that the same scene at any size (and a frame
at any sub-pixel position) gives the model the same input: a photo and its copy scaled 25x
differ by a tenth of a grey level there. Past the photo's edges the frame counts as hole, so the
model fills it without it counting in any loss, and nothing of it comes back.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

FINE = 8           # photo pixels per model pixel below which the photo is upsampled (bicubic) first
MARGIN = 2         # photo pixels read around the frame: the bicubic kernel's reach
BAND_PIXELS = 1 << 22   # photo pixels read at a time while a large frame is averaged down


@dataclass(frozen=True)
class Frame:
    x: float
    y: float
    width: float
    height: float
    shape: tuple[int, int]            # the photo's (H, W)

    @classmethod
    def of(cls, box, shape: tuple[int, int]) -> "Frame":
        """The frame of a framing square (a framing.Box), or of the whole image where box is None."""
        if box is None:
            return cls(0.0, 0.0, float(shape[1]), float(shape[0]), tuple(shape))
        return cls(float(box.x), float(box.y), float(box.size), float(box.size), tuple(shape))

    @property
    def covered(self) -> tuple[slice, slice]:
        """(rows, cols) of the photo's pixels the frame overlaps."""
        h, w = self.shape
        return (slice(max(0, math.floor(self.y)), min(h, math.ceil(self.y + self.height))),
                slice(max(0, math.floor(self.x)), min(w, math.ceil(self.x + self.width))))

    def model_input(self, rgb: np.ndarray, hole: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray]:
        """uint8 (H, W, 3) and bool hole (H, W) -> y float32 (3, r, r) in [-1, 1], known float32 (r, r).

        A model pixel is known when at least half of its footprint is known photo; its value is
        the average of the known photo only, so whatever the hole held in the file never leaks in.
        """
        import cv2
        if (self.x, self.y, self.width, self.height) == (0, 0, r, r) and self.shape == (r, r):
            return rgb.transpose(2, 0, 1).astype(np.float32) / 127.5 - 1, (~hole).astype(np.float32)
        # the photo around the frame, on a canvas whose pixels past the photo are unknown; where a
        # model pixel spans many photo pixels the canvas holds blocks of `shrink` x `shrink`
        # averaged, built band by band, so its memory is bounded by the model's resolution
        x0, y0 = math.floor(self.x) - MARGIN, math.floor(self.y) - MARGIN
        x1, y1 = math.ceil(self.x + self.width) + MARGIN, math.ceil(self.y + self.height) + MARGIN
        step = max(self.width, self.height) / r             # photo pixels per model pixel
        shrink = max(1, int(step // FINE))
        canvas = np.zeros((-(-(y1 - y0) // shrink), -(-(x1 - x0) // shrink), 4), np.float32)   # RGB x known, known
        h, w = self.shape
        # the photo's part, in whole blocks of the canvas
        bx0, by0 = max(0, (0 - x0) // shrink), max(0, (0 - y0) // shrink)
        bx1, by1 = min(canvas.shape[1], -(-(w - x0) // shrink)), min(canvas.shape[0], -(-(h - y0) // shrink))
        band = max(1, BAND_PIXELS // (shrink * shrink * max(1, bx1 - bx0)))      # canvas rows per band
        for r0 in range(by0, by1, band):
            r1 = min(by1, r0 + band)
            py0, py1 = y0 + r0 * shrink, y0 + r1 * shrink          # photo rows of these blocks
            px0, px1 = x0 + bx0 * shrink, x0 + bx1 * shrink
            iy0, iy1, ix0, ix1 = max(0, py0), min(h, py1), max(0, px0), min(w, px1)
            known = ~hole[iy0:iy1, ix0:ix1]
            part = np.zeros((py1 - py0, px1 - px0, 4), np.uint8)       # RGB x known, 255 x known
            inside = part[iy0 - py0:iy1 - py0, ix0 - px0:ix1 - px0]
            np.multiply(rgb[iy0:iy1, ix0:ix1], known[..., None], out=inside[..., :3])
            np.multiply(known, 255, out=inside[..., 3], dtype=np.uint8)
            if shrink > 1:
                # whole blocks: OpenCV's area average of uint8 is their mean rounded to a level,
                # an error that the averaging below brings to a few hundredths of one
                part = cv2.resize(part, (bx1 - bx0, r1 - r0), interpolation=cv2.INTER_AREA)
            canvas[r0:r1, bx0:bx1] = part
        canvas[..., 3] *= 1 / 255
        up = max(1, math.ceil(FINE / step))                 # upsample where a model pixel spans few
        scale = up / shrink
        box = ((self.x - x0) * scale, (self.y - y0) * scale,
               (self.x + self.width - x0) * scale, (self.y + self.height - y0) * scale)
        channels = []
        for k in range(4):
            im = Image.fromarray(np.ascontiguousarray(canvas[..., k]))
            if up > 1:
                im = im.resize((im.width * up, im.height * up), Image.BICUBIC)
            channels.append(np.asarray(im.resize((r, r), Image.BOX, box=box), np.float32))
        sums, k = np.stack(channels[:3]), np.clip(channels[3], 0.0, 1.0)
        y = np.where(k > 1e-3, sums / np.maximum(k, 1e-3), 0.0) / 127.5 - 1
        return np.clip(y, -1.0, 1.0).astype(np.float32), (k >= 0.5).astype(np.float32)
