"""Image grids for sample sheets and comparison figures (numpy + Pillow, no torch)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from inpaint.atomic import write_atomic


def to_uint8(images: np.ndarray) -> np.ndarray:
    """[-1, 1] float (N, C, H, W) -> uint8 (N, H, W, C)."""
    x = np.clip((np.asarray(images, np.float32) + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)
    return x.transpose(0, 2, 3, 1)


def make_grid(images: np.ndarray, ncol: int = 8, pad: int = 2, fill: int = 255) -> np.ndarray:
    """uint8 (N, H, W, C) -> one uint8 (rows*(H+pad)+pad, ncol*(W+pad)+pad, C) picture."""
    n, h, w, c = images.shape
    nrow = -(-n // ncol)
    out = np.full((nrow * (h + pad) + pad, ncol * (w + pad) + pad, c), fill, np.uint8)
    for i, im in enumerate(images):
        r, k = divmod(i, ncol)
        out[pad + r * (h + pad):pad + r * (h + pad) + h, pad + k * (w + pad):pad + k * (w + pad) + w] = im
    return out


def save_grid(images: np.ndarray, path: str | Path, ncol: int = 8, scale: int = 1) -> None:
    """Write uint8 (N, H, W, C) images as one PNG grid, atomically; `scale` enlarges it (nearest)."""
    grid = make_grid(images, ncol)
    im = Image.fromarray(grid.squeeze(-1) if grid.shape[-1] == 1 else grid)
    if scale > 1:
        im = im.resize((im.width * scale, im.height * scale), Image.NEAREST)
    write_atomic(path, lambda tmp: im.save(tmp, format="PNG"))
