"""One batch of inpainting problems at the model resolution, as the optimisation loop sees it."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inpaint.masks import importance_weights


@dataclass(frozen=True)
class Problem:
    y: np.ndarray        # float32 (B, 3, R, R) image in [-1, 1] (hole pixels are ignored)
    known: np.ndarray    # float32 (B, 1, R, R) M: 1 = known pixel, 0 = hole
    weights: np.ndarray  # float32 (B, 1, R, R) W: importance weights of the contextual loss
    box: np.ndarray      # int64 (B, 2) top, left of the patch discriminator's crop

    @property
    def batch(self) -> int:
        return self.y.shape[0]

    def repeat(self, k: int) -> "Problem":
        """Each problem k times in a row (image-major): the restarts of one image are adjacent."""
        return Problem(*(np.repeat(a, k, axis=0) for a in (self.y, self.known, self.weights, self.box)))


def patch_box(known: np.ndarray, patch: int) -> tuple[int, int]:
    """Top-left of the patch x patch crop centred on the hole's bounding box, kept inside the image.

    known: (R, R), 1 = known. The patch discriminator judges this crop, so it should hold the hole.
    """
    size = known.shape[-1]
    rows, cols = np.nonzero(known < 0.5)
    if rows.size == 0:
        cy = cx = size / 2
    else:
        cy, cx = (rows.min() + rows.max() + 1) / 2, (cols.min() + cols.max() + 1) / 2
    top = int(np.clip(round(cy - patch / 2), 0, size - patch))
    left = int(np.clip(round(cx - patch / 2), 0, size - patch))
    return top, left


def make_problem(y: np.ndarray, known: np.ndarray, patch: int, window: int = 7) -> Problem:
    """y: float (B, 3, R, R) in [-1, 1]; known: (B, R, R) or (B, 1, R, R), 1 = known."""
    known = np.asarray(known, np.float32).reshape(y.shape[0], 1, *y.shape[2:])
    weights = importance_weights(known[:, 0], window)[:, None]
    box = np.array([patch_box(k[0], patch) for k in known], np.int64).reshape(-1, 2)
    return Problem(np.ascontiguousarray(y, np.float32), known, weights, box)
