"""Squares on a photo: Box, and what the framer measures and does with squares and holes."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inpaint.errors import InpaintError
from inpaint.runtime.framing.settings import DEFAULT


@dataclass(frozen=True)
class Box:
    """A square of a photo: top-left corner and side in pixels; may reach past the photo's edges."""

    x: float
    y: float
    size: float

    def __post_init__(self) -> None:
        if not self.size > 0:
            raise InpaintError(f"a framing square needs a positive side, got {self.size}")

    @property
    def center(self) -> tuple[float, float]:
        return self.x + self.size / 2, self.y + self.size / 2

    @classmethod
    def around(cls, cx: float, cy: float, size: float) -> "Box":
        return cls(cx - size / 2, cy - size / 2, size)

    def pixels(self) -> tuple[int, int, int]:
        """(x, y, side) rounded to whole pixels."""
        return int(round(self.x)), int(round(self.y)), max(1, int(round(self.size)))

    def iou(self, other: "Box") -> float:
        ix = max(0.0, min(self.x + self.size, other.x + other.size) - max(self.x, other.x))
        iy = max(0.0, min(self.y + self.size, other.y + other.size) - max(self.y, other.y))
        inter = ix * iy
        return inter / (self.size ** 2 + other.size ** 2 - inter)

    def scaled(self, f: float) -> "Box":
        return Box(self.x * f, self.y * f, self.size * f)

    def to_list(self) -> list[float]:
        return [round(float(self.x), 1), round(float(self.y), 1), round(float(self.size), 1)]


def hole_inside(box: Box, hole: np.ndarray) -> float:
    """Fraction of the hole's pixels that lie inside the square."""
    total = int(hole.sum())
    if total == 0:
        return 0.0
    x, y, s = box.pixels()
    return float(hole[max(0, y):max(0, y + s), max(0, x):max(0, x + s)].sum()) / total


def known_share(box: Box, hole: np.ndarray) -> float:
    """Fraction of the square's area that is known pixels of the photo."""
    x, y, s = box.pixels()
    inside = hole[max(0, y):max(0, y + s), max(0, x):max(0, x + s)]
    return float((~inside).sum()) / (s * s)


def own_square(shape: tuple[int, int], tolerance: float = DEFAULT.square_tolerance) -> Box | None:
    """The square of a square image (|H - W| within `tolerance` of the larger side): its center
    square of the shorter side; None for an image that is not square."""
    h, w = shape
    if abs(h - w) > tolerance * max(h, w):
        return None
    side = min(h, w)
    return Box((w - side) / 2, (h - side) / 2, side)


def kept_near(box: Box, shape: tuple[int, int]) -> Box:
    """A square that drifted off (squares on no face do) held to at most twice the photo's
    longest side and its centre to within one side of the photo, so that its views stay cheap; such
    a square keeps moving and is never kept."""
    longest = max(shape)
    size = float(np.clip(box.size, 4.0, 2.0 * longest))
    cx, cy = box.center
    return Box.around(float(np.clip(cx, -size, shape[1] + size)), float(np.clip(cy, -size, shape[0] + size)), size)


def average_boxes(boxes: list[Box]) -> Box:
    """The square of the mean centre and mean log side."""
    c = np.mean([[*b.center, np.log(b.size)] for b in boxes], axis=0)
    return Box.around(float(c[0]), float(c[1]), float(np.exp(c[2])))


def merge_boxes(boxes: list[Box], overlap: float) -> list[Box]:
    """One box per face: boxes that overlap another's by `overlap` IoU are averaged together."""
    groups: list[list[Box]] = []
    for b in boxes:
        for g in groups:
            if b.iou(g[0]) >= overlap:
                g.append(b)
                break
        else:
            groups.append([b])
    return [Box(*(float(v) for v in np.mean([[b.x, b.y, b.size] for b in g], axis=0))) for g in groups]


def split_hole(hole: np.ndarray, boxes: list[Box]) -> list[np.ndarray]:
    """The hole shared among squares: bool (H, W) per square, each hole pixel going to the square
    that holds it whose centre is nearest (in its side); pixels in no square are in no part."""
    h, w = hole.shape
    best = np.full(hole.shape, np.inf, np.float32)
    owner = np.full(hole.shape, -1, np.int16)
    for k, b in enumerate(boxes):
        x, y, side = b.pixels()
        rows, cols = slice(max(0, y), min(h, y + side)), slice(max(0, x), min(w, x + side))
        if rows.start >= rows.stop or cols.start >= cols.stop:
            continue
        cx, cy = b.center
        yy = ((np.arange(rows.start, rows.stop, dtype=np.float32) + 0.5 - cy) / b.size)[:, None]
        xx = ((np.arange(cols.start, cols.stop, dtype=np.float32) + 0.5 - cx) / b.size)[None, :]
        d = yy * yy + xx * xx
        closer = d < best[rows, cols]
        best[rows, cols] = np.where(closer, d, best[rows, cols])
        owner[rows, cols] = np.where(closer, k, owner[rows, cols])
    return [hole & (owner == k) for k in range(len(boxes))]


def rescaled(rgb: np.ndarray, hole: np.ndarray, f: float) -> tuple[np.ndarray, np.ndarray]:
    """The photo and its hole scaled by f: down by area average, up by bicubic interpolation; a
    pixel is hole where at least half of it is."""
    import cv2
    size = (max(1, round(rgb.shape[1] * f)), max(1, round(rgb.shape[0] * f)))
    how = cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC
    small = cv2.resize(np.ascontiguousarray(rgb), size, interpolation=how)
    share = cv2.resize(hole.astype(np.uint8) * 255, size, interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR)
    gap = share >= 128
    if not gap.any():          # a hole thinner than the reduced pixels: keep every pixel it touches
        gap = share > 0
    return small, gap
