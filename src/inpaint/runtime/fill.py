"""Put the generator's completion into the hole of a photo at a cost set by the hole, not the photo.

The generator draws the frame it saw (the framing square, or the whole image) at its own 64x64
resolution. At full resolution only the hole's bounding box is touched: the completion is
upsampled there (bicubic), and the Poisson correction that matches it to the known pixels around
the hole is solved on a grid of at most FINE_SIDE pixels a side. Where the box is that small or
smaller the grid is the photo's own and the result is the exact full-resolution blend; where it
is larger the correction, a smooth membrane, is solved on the box scaled down and upsampled
(bilinear): the generator's detail is 64 pixels across the frame, so 128 grid pixels across
the hole (two or more for each pixel the generator draws there) resolve every change the
correction can carry.
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image

from inpaint.runtime.frame import Frame

FINE_SIDE = 128        # the Poisson grid's longest side; a larger hole's box is solved scaled down
BAND_ROWS = 1024       # rows of the box upsampled at a time (bounds the memory of a large box)
TELEA_RADIUS = 3       # OpenCV's Telea neighbourhood, for hole pixels past the framing square


def hole_box(hole: np.ndarray, margin: int) -> tuple[slice, slice] | None:
    """(rows, cols) of the hole's bounding box grown by `margin` pixels (clipped); None without a hole."""
    rows, cols = np.flatnonzero(hole.any(axis=1)), np.flatnonzero(hole.any(axis=0))
    if rows.size == 0:
        return None
    h, w = hole.shape
    return (slice(max(0, rows[0] - margin), min(h, rows[-1] + 1 + margin)),
            slice(max(0, cols[0] - margin), min(w, cols[-1] + 1 + margin)))


def upsample_part(low: np.ndarray, frame: Frame, box: tuple[float, float, float, float],
                  size: tuple[int, int], resample=Image.BICUBIC) -> np.ndarray:
    """float (r, c, C) drawn over `frame` -> float32 (h, w, C) = `size`: the photo's part `box`
    (y0, x0, y1, x1 in photo pixels) of `low` resized over the frame, sampled on an h x w grid.
    Inside the frame, with a box of whole pixels and its own size, this equals resizing `low` to
    the frame's pixels and slicing (Pillow reads the pixels around the part as the whole resize
    does); past the frame's edges `low` is continued by its edge pixels."""
    r, c = low.shape[:2]
    y0, x0, y1, x1 = box
    sy, sx = r / frame.height, c / frame.width
    part = [(x0 - frame.x) * sx, (y0 - frame.y) * sy, (x1 - frame.x) * sx, (y1 - frame.y) * sy]
    over = max(0.0, -part[0], -part[1], part[2] - c, part[3] - r)
    if over > 0:                     # a box reaching past the frame: continue low by its edges
        pad = math.ceil(over) + 2
        low = np.pad(low, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
        part = [v + pad for v in part]
    return np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(low[..., k], np.float32))
                                .resize((size[1], size[0]), resample, box=tuple(part)))
                     for k in range(low.shape[2])], axis=-1)


def _shrink(a: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """float32 (H, W[, C]) -> (h, w[, C]), each pixel the mean of its footprint."""
    import cv2
    return cv2.resize(np.ascontiguousarray(a, np.float32), (size[1], size[0]), interpolation=cv2.INTER_AREA)


def fill_hole(low: np.ndarray, frame: Frame, rgb: np.ndarray, hole: np.ndarray, blend,
              fine_side: int = FINE_SIDE) -> tuple[tuple[slice, slice], np.ndarray, np.ndarray] | None:
    """The completion `low` (float (r, c, 3) in [0, 255], drawn over `frame`) blended into the
    part of the hole of `rgb` (uint8 (H, W, 3)) that the frame covers.

    Returns (rows, cols) of a box of the photo, the bool (h, w) part of the hole the frame covers
    there and float32 (h, w, 3) of the box's blended pixels (known pixels as they are); None where
    the frame covers no hole. `blend(source,
    target, known)` solves the Poisson problem (runtime.blend.poisson_blend or a device's).
    """
    covered = frame.covered
    tight = hole_box(hole[covered], 0)                  # in the covered part's coordinates
    if tight is None:
        return None
    extent = max(tight[0].stop - tight[0].start, tight[1].stop - tight[1].start) + 2
    # one pixel around the hole, more where the coarse grid needs known cells around it
    margin = 1 if extent <= fine_side else 2 * math.ceil(extent / fine_side) + 1
    # within the frame's part of the photo: its edges are the problem's (Neumann) edges, so hole
    # pixels past it (filled later, by Telea or another square) never act as known
    (top, bottom), (left, right) = (covered[0].start, covered[0].stop), (covered[1].start, covered[1].stop)
    rows = slice(max(top, top + tight[0].start - margin), min(bottom, top + tight[0].stop + margin))
    cols = slice(max(left, left + tight[1].start - margin), min(right, left + tight[1].stop + margin))
    box = (rows, cols)
    bh, bw = rows.stop - rows.start, cols.stop - cols.start
    where = (rows.start, cols.start, rows.stop, cols.stop)
    gap, known_pixels = hole[rows, cols], rgb[rows, cols]
    if max(bh, bw) <= fine_side:
        source = upsample_part(low, frame, where, (bh, bw))
        if not (~gap).any():             # nothing known around it: the completion as drawn
            return box, gap, source
        out = blend(source, known_pixels.astype(np.float64), ~gap)
        return box, gap, np.asarray(out, np.float32)
    f = fine_side / max(bh, bw)
    size = (max(1, round(bh * f)), max(1, round(bw * f)))
    # the coarse problem: a cell is known where most of its footprint is, with the mean of its
    # known pixels; the source is the completion drawn at the coarse grid's own pixels
    known_share = _shrink(~gap, size)
    sums = _shrink(known_pixels.astype(np.float32) * (~gap)[..., None], size)
    coarse_target = sums / np.maximum(known_share, 1e-6)[..., None]
    coarse_known = known_share >= 0.5
    if not coarse_known.any():
        coarse_known = known_share > 0
    coarse_source = upsample_part(low, frame, where, size)
    correction = (np.asarray(blend(coarse_source, coarse_target, coarse_known), np.float32) - coarse_source
                  if coarse_known.any() else np.zeros_like(coarse_source))
    out = np.empty((bh, bw, 3), np.float32)
    for r0 in range(0, bh, BAND_ROWS):
        band = slice(r0, min(bh, r0 + BAND_ROWS))
        fine = upsample_part(low, frame, (rows.start + band.start, cols.start, rows.start + band.stop, cols.stop),
                             (band.stop - band.start, bw))
        fine += _stretch(correction, (bh, bw), band)
        out[band] = np.where(gap[band, :, None], fine, known_pixels[band])
    return box, gap, out


def _stretch(coarse: np.ndarray, full: tuple[int, int], band: slice) -> np.ndarray:
    """The rows `band` of float (h, w, C) resized (bilinear) to (H, W)."""
    h, w = coarse.shape[:2]
    box = (0.0, band.start * h / full[0], float(w), band.stop * h / full[0])
    size = (full[1], band.stop - band.start)
    return np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(coarse[..., k]))
                                .resize(size, Image.BILINEAR, box=box)) for k in range(coarse.shape[2])], axis=-1)


def telea_fill(pixels: np.ndarray, hole: np.ndarray, fine_side: int = 4 * FINE_SIDE) -> None:
    """Fill `hole` of uint8 (H, W, 3) `pixels` in place by Telea's method (OpenCV), on the hole's
    bounding box only; a box larger than `fine_side` is filled scaled down and its fill upsampled."""
    import cv2
    box = hole_box(hole, 2 * TELEA_RADIUS)
    if box is None:
        return
    part, gap = pixels[box], hole[box]
    bh, bw = gap.shape
    if max(bh, bw) <= fine_side:
        done = cv2.inpaint(np.ascontiguousarray(part), gap.astype(np.uint8) * 255, TELEA_RADIUS, cv2.INPAINT_TELEA)
    else:
        f = fine_side / max(bh, bw)
        size = (max(1, round(bw * f)), max(1, round(bh * f)))
        small = cv2.resize(np.ascontiguousarray(part), size, interpolation=cv2.INTER_AREA)
        small_gap = cv2.resize(gap.astype(np.uint8) * 255, size, interpolation=cv2.INTER_AREA) > 0
        filled = cv2.inpaint(small, small_gap.astype(np.uint8) * 255, TELEA_RADIUS, cv2.INPAINT_TELEA)
        done = cv2.resize(filled, (bw, bh), interpolation=cv2.INTER_LINEAR)
    part[gap] = done[gap]


def paste_completion(low: np.ndarray, frame: Frame, rgb: np.ndarray, hole: np.ndarray, blend) -> np.ndarray:
    """uint8 (H, W, 3): `rgb` with its hole filled from the completion `low` (float (r, c, 3) in
    [0, 255]) drawn over `frame`. Where the frame covers the hole the completion is
    Poisson-blended in (fill_hole); hole pixels past it are filled by Telea's method after that,
    so they continue what the model drew. Known pixels are unchanged."""
    out = rgb.copy()
    h, w = hole.shape
    if low.shape[:2] == (h, w) and frame == Frame.of(None, (h, w)):
        out[hole] = _to_uint8(np.array(low[hole]))   # the model's own resolution: nothing to blend
        return out
    got = fill_hole(low, frame, rgb, hole, blend)
    if got is not None:
        box, _, values = got
        out[box] = _to_uint8(values)                 # its known pixels are the photo's own values
    rows, cols = frame.covered
    if (rows.stop - rows.start, cols.stop - cols.start) != (h, w) and hole.sum() > hole[rows, cols].sum():
        outside = hole.copy()
        outside[rows, cols] = False
        telea_fill(out, outside)
    return out


def _to_uint8(values: np.ndarray) -> np.ndarray:
    """Rounded and clipped to uint8 (`values` is overwritten)."""
    np.rint(values, out=values)
    np.clip(values, 0, 255, out=values)
    return values.astype(np.uint8)
