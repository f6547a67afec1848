"""Pictures without faces for the framing network's face logit, drawn from scratch.

The runtime proposes squares around the hole where the face detector found nothing, and keeps
one only if the network takes its views for a framed face; so the logit must say no to what such
squares show when there is no face: walls, skies, objects, textures. Digits (SVHN) alone taught
it too little (it called smooth colour fields and a cup of coffee faces). Two kinds are drawn:
- dead leaves: opaque discs, ellipses and rectangles of random colours, sizes spread as in
  natural images (a density of about 1/size^3), each drawn over the last; the classic model of
  occlusion in natural scenes, with edges and flat regions at every scale;
- smooth fields: a few random colours on a coarse grid, scaled up bicubically, some with noise.
"""
from __future__ import annotations

import numpy as np


def colors(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 3) colours as photos have them: mostly greyish (a grey level plus a little chroma),
    a few saturated."""
    grey = rng.uniform(15, 240, (n, 1))
    chroma = rng.normal(0, np.where(rng.random((n, 1)) < 0.85, 18, 60), (n, 3))
    return np.clip(grey + chroma, 0, 255)


def dead_leaves(n: int, side: int, rng: np.random.Generator, shapes: int = 50) -> np.ndarray:
    """uint8 (n, side, side, 3) dead-leaves pictures."""
    import cv2
    out = np.empty((n, side, side, 3), np.uint8)
    for i in range(n):
        img = np.full((side, side, 3), colors(1, rng)[0], np.uint8)
        # sizes from a truncated power law, density ~ 1/r^3 between 2 px and the side
        lo, hi = 2.0, float(side)
        radii = 1 / np.sqrt(rng.uniform(1 / hi ** 2, 1 / lo ** 2, shapes))
        for r, c in zip(radii, colors(shapes, rng)):
            color = tuple(int(v) for v in c)
            cx, cy = (int(v) for v in rng.integers(-side // 4, side + side // 4, 2))
            kind = rng.integers(0, 3)
            if kind == 0:
                cv2.circle(img, (cx, cy), max(1, int(r)), color, -1, cv2.LINE_AA)
            elif kind == 1:
                axes = (max(1, int(r)), max(1, int(r * rng.uniform(0.3, 1))))
                cv2.ellipse(img, (cx, cy), axes, float(rng.uniform(0, 180)), 0, 360, color, -1, cv2.LINE_AA)
            else:
                w, h = (max(1, int(r * v)) for v in rng.uniform(0.5, 1.5, 2))
                cv2.rectangle(img, (cx - w, cy - h), (cx + w, cy + h), color, -1)
        out[i] = img
    return out


def smooth_fields(n: int, side: int, rng: np.random.Generator) -> np.ndarray:
    """uint8 (n, side, side, 3) smooth colour fields, a third with pixel noise on top."""
    import cv2
    out = np.empty((n, side, side, 3), np.uint8)
    for i in range(n):
        grid = int(rng.integers(2, 7))
        coarse = colors(grid * grid, rng).reshape(grid, grid, 3).astype(np.float32)
        img = cv2.resize(coarse, (side, side), interpolation=cv2.INTER_CUBIC)
        if rng.random() < 1 / 3:
            img = img + rng.normal(0, rng.uniform(3, 20), img.shape)
        out[i] = np.clip(img, 0, 255).astype(np.uint8)
    return out


def drawn_negatives(n: int, side: int, rng: np.random.Generator) -> np.ndarray:
    """uint8 (n, side, side, 3): two thirds dead leaves, a third smooth fields, shuffled."""
    leaves = dead_leaves(n - n // 3, side, rng)
    fields = smooth_fields(n // 3, side, rng)
    both = np.concatenate([leaves, fields])
    return both[rng.permutation(len(both))]
