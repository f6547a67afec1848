"""The problems of the photo evaluation: aligned CelebA photos, holes on and off the face, and
random reframings of both.

The model learnt faces from one square of the aligned photos (x 35, y 55, side 108 of the 178x218
img_align_celeba files), so that square is each photo's true framing. Holes are placed in the
same aligned-photo coordinates. A photo of another size must be an aligned photo scaled (same
shape): the square and the holes scale with its width / 178.

A reframed photo is the aligned one scaled, shifted and cropped or edge-padded at random, so its
face (and true square) lies anywhere near the middle of a canvas at any size, as in a user's photo.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from inpaint.errors import DatasetError, InpaintError
from inpaint.runtime.framing.geometry import Box

ALIGNED_SIZE = (178, 218)                 # (W, H) of img_align_celeba
TRUE_SQUARE = (35, 55, 108)               # x, y, side: the DCGAN CelebA crop
ASPECT_TOLERANCE = 0.02                   # relative; more than this is not an aligned photo

# Holes in aligned-photo pixels, (x, y, width, height). face: the middle quarter (by area) of
# the true square; hair: mostly above the square; background: beside the head.
# upper_face: 40% of the true square, over both eyes and brows and the nose.
BLOCKS = {"face": (62, 82, 54, 54), "eyes": (55, 100, 68, 24), "mouth": (69, 140, 40, 24),
          "hair": (50, 10, 78, 40), "background": (0, 60, 30, 80), "upper_face": (55, 85, 68, 68)}
STROKE_AREA = (50, 75, 128, 160)          # x0, y0, x1, y1 the strokes' points lie in
STROKE_COUNT, STROKE_WIDTH, STROKE_POINTS = (2, 4), (6, 10), (3, 6)   # inclusive ranges
# eyes_brows: two brush strokes across both eyes and brows, as a person paints them on the page
BROW_STROKES = ((52, 126), (98, 112), 12)  # (x from, to), (the strokes' y), width
JITTER = 3                                # a block or stroke moves by up to this many pixels each way
HOLES = ("face", "eyes", "mouth", "strokes", "hair", "background", "eyes_brows", "upper_face")
FACE_HOLES = ("face", "eyes", "mouth", "strokes", "eyes_brows", "upper_face")
OFF_FACE_HOLES = ("hair", "background")

SETS = ("aligned", "reframed")
SCALE = (0.6, 1.6)                        # a reframed photo's scale
CANVAS = (0.8, 1.3)                       # the canvas's width and height over the scaled photo's
MIDDLE = (0.2, 0.8)                       # where the true square's center lands, in canvas fractions
OFFSET_TRIES = 100                        # redraws of the offset while the hole is cropped away
REFRAME_STREAM = 1000                     # keeps the reframing's random stream apart from the holes'


@dataclass(frozen=True)
class Photo:
    name: str                             # the file's name in the zip or folder
    index: int                            # its position there (seeds its holes and reframing)
    rgb: np.ndarray                       # uint8 (H, W, 3)


@dataclass(frozen=True, eq=False)
class Problem:
    """One photo of one set with one hole, and where its true framing lies."""

    photo: str
    index: int
    set: str
    hole_kind: str
    rgb: np.ndarray                       # uint8 (H, W, 3), the truth
    hole: np.ndarray                      # bool (H, W), True = to fill
    box: Box                              # the true square (may reach past the edges)
    scale: float = 1.0                    # the photo's size over the set's (scaled)


def read_photos(path: str | Path, n: int | None, seed: int) -> list[Photo]:
    """n photos (all where n is None) of a seeded draw from a zip or folder, in listing order."""
    from inpaint.eval.harness import _draw
    from inpaint.train.datasets import image_sources
    sources = list(image_sources(Path(path)))
    if not sources:
        raise DatasetError(f"{path} holds no image files; give a zip or folder of img_align_celeba photos")
    idx = np.arange(len(sources)) if n is None else _draw(len(sources), n, seed, 0, str(path))
    return [Photo(sources[i][0], int(i), _decode(sources[i][0], sources[i][1]())) for i in idx]


def _decode(name: str, data: bytes) -> np.ndarray:
    try:
        im = Image.open(io.BytesIO(data)).convert("RGB")
    except OSError as e:
        raise DatasetError(f"cannot read photo {name} ({e}); remove or replace it") from None
    w, h = im.size
    want = ALIGNED_SIZE[1] / ALIGNED_SIZE[0]
    if abs(h / w - want) > ASPECT_TOLERANCE * want:
        raise DatasetError(f"photo {name} is {w}x{h}; the photo evaluation needs aligned CelebA photos "
                           f"({ALIGNED_SIZE[0]}x{ALIGNED_SIZE[1]}, or that shape scaled)")
    return np.asarray(im, np.uint8)


def true_box(shape: tuple[int, int]) -> Box:
    """The training square of an aligned photo of this (H, W)."""
    f = shape[1] / ALIGNED_SIZE[0]
    x, y, side = TRUE_SQUARE
    return Box(x * f, y * f, side * f)


def make_hole(kind: str, shape: tuple[int, int], seed: int, index: int) -> np.ndarray:
    """bool (H, W) hole of one kind for the photo at `index`: the same for every method and set."""
    rng = np.random.default_rng([seed, index, HOLES.index(kind)])
    h, w = shape
    f = w / ALIGNED_SIZE[0]
    if kind == "strokes":
        return _strokes(rng, (h, w), f)
    if kind == "eyes_brows":
        return _brow_strokes(rng, (h, w), f)
    x, y, bw, bh = (round(v * f) for v in BLOCKS[kind])
    jitter = round(JITTER * f)
    # the shift is clamped so that a block at the photo's edge (background) keeps its size
    x = int(np.clip(x + rng.integers(-jitter, jitter + 1), 0, w - bw))
    y = int(np.clip(y + rng.integers(-jitter, jitter + 1), 0, h - bh))
    hole = np.zeros((h, w), bool)
    hole[y:y + bh, x:x + bw] = True
    return hole


def _strokes(rng: np.random.Generator, shape: tuple[int, int], f: float) -> np.ndarray:
    canvas = Image.new("L", (shape[1], shape[0]), 0)
    draw = ImageDraw.Draw(canvas)
    x0, y0, x1, y1 = STROKE_AREA
    for _ in range(rng.integers(STROKE_COUNT[0], STROKE_COUNT[1] + 1)):
        count = rng.integers(STROKE_POINTS[0], STROKE_POINTS[1] + 1)
        points = [(float(x * f), float(y * f))
                  for x, y in zip(rng.uniform(x0, x1, count), rng.uniform(y0, y1, count))]
        width = max(1, round(rng.integers(STROKE_WIDTH[0], STROKE_WIDTH[1] + 1) * f))
        draw.line(points, fill=255, width=width, joint="curve")
    return np.asarray(canvas) > 0


def _brow_strokes(rng: np.random.Generator, shape: tuple[int, int], f: float) -> np.ndarray:
    canvas = Image.new("L", (shape[1], shape[0]), 0)
    draw = ImageDraw.Draw(canvas)
    (x0, x1), ys, width = BROW_STROKES
    for y in ys:
        dx, dy = rng.integers(-JITTER, JITTER + 1, 2)
        draw.line([((x0 + dx) * f, (y + dy) * f), ((x1 + dx) * f, (y + dy) * f)], fill=255,
                  width=max(1, round(width * f)))
    return np.asarray(canvas) > 0


def scaled(p: Problem, s: float, rgb: np.ndarray | None = None) -> Problem:
    """The problem at s times its size: the photo bicubic (area average when shrinking; `rgb`
    where it was scaled already), the hole where at least half of a pixel is (nearest when
    upscaling), the square with it."""
    if s == 1:
        return p
    h, w = p.hole.shape
    sw, sh = max(1, round(w * s)), max(1, round(h * s))
    shrink = s < 1
    if rgb is None:
        rgb = np.asarray(Image.fromarray(p.rgb).resize((sw, sh), Image.BOX if shrink else Image.BICUBIC))
    gap = Image.fromarray(p.hole.astype(np.uint8) * 255).resize((sw, sh), Image.BOX if shrink else Image.NEAREST)
    fx, fy = sw / w, sh / h
    box = Box(p.box.x * fx, p.box.y * fy, p.box.size * (fx + fy) / 2)
    return Problem(p.photo, p.index, p.set, p.hole_kind, rgb, np.asarray(gap) >= 128, box, s)


def reframe(rgb: np.ndarray, hole: np.ndarray, box: Box, rng: np.random.Generator
            ) -> tuple[np.ndarray, np.ndarray, Box]:
    """The photo, its hole and its true square scaled by s ~ U(SCALE) (bicubic; the hole nearest)
    and placed on a canvas of U(CANVAS) times the scaled size each way, the square's center in
    the middle 60% of the canvas each way. The canvas past the photo repeats its edge pixels; a
    canvas pixel repeated from a hole pixel is hole too, so no true pixel of the hole shows. The
    offset is redrawn (same stream) while the hole falls wholly off the canvas."""
    h, w = hole.shape
    s = rng.uniform(*SCALE)
    sw, sh = max(1, round(w * s)), max(1, round(h * s))
    image = np.asarray(Image.fromarray(rgb).resize((sw, sh), Image.BICUBIC))
    gap = np.asarray(Image.fromarray(hole.astype(np.uint8) * 255).resize((sw, sh), Image.NEAREST)) > 127
    fx, fy = sw / w, sh / h
    scaled = Box(box.x * fx, box.y * fy, box.size * (fx + fy) / 2)
    cw = max(1, round(sw * rng.uniform(*CANVAS)))
    ch = max(1, round(sh * rng.uniform(*CANVAS)))
    cx, cy = scaled.center
    for _ in range(OFFSET_TRIES):
        # whole-pixel offsets of the photo on the canvas that keep the center in the middle
        ox = int(rng.integers(np.ceil(MIDDLE[0] * cw - cx), np.floor(MIDDLE[1] * cw - cx) + 1))
        oy = int(rng.integers(np.ceil(MIDDLE[0] * ch - cy), np.floor(MIDDLE[1] * ch - cy) + 1))
        rows = np.clip(np.arange(ch) - oy, 0, sh - 1)
        cols = np.clip(np.arange(cw) - ox, 0, sw - 1)
        moved_hole = gap[np.ix_(rows, cols)]
        if moved_hole.any():
            return image[np.ix_(rows, cols)], moved_hole, Box(scaled.x + ox, scaled.y + oy, scaled.size)
    raise InpaintError(f"no offset of a {cw}x{ch} canvas kept any of the hole in {OFFSET_TRIES} draws")


def problems(photos: list[Photo], set_name: str, kind: str, seed: int) -> list[Problem]:
    """Every photo with its hole of `kind`, as it is (aligned) or reframed."""
    out = []
    for p in photos:
        hole, box, rgb = make_hole(kind, p.rgb.shape[:2], seed, p.index), true_box(p.rgb.shape[:2]), p.rgb
        if set_name == "reframed":
            # one stream per photo: every hole kind sees the same reframing unless its hole was cut off
            rgb, hole, box = reframe(rgb, hole, box, np.random.default_rng([seed, p.index, REFRAME_STREAM]))
        elif set_name != "aligned":
            raise ValueError(f"set must be one of {', '.join(SETS)}, got {set_name!r}")
        out.append(Problem(p.name, p.index, set_name, kind, rgb, hole, box))
    return out
