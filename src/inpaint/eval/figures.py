"""Comparison grids: one row per image; columns input (hole shown grey), each method, truth."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from inpaint.grid import make_grid
from inpaint.atomic import write_atomic

HOLE_GREY = 128


def comparison_grid(path: Path, truth: np.ndarray, known: np.ndarray, filled: dict[str, np.ndarray],
                    scale: int = 2) -> None:
    """truth uint8 (N, R, R, 3), known (N, R, R) 1 = known, filled {method: uint8 (N, R, R, 3)}."""
    masked = np.where(known[..., None] > 0.5, truth, np.uint8(HOLE_GREY))
    columns = [masked, *filled.values(), truth]
    tiles = np.stack([col[i] for i in range(len(truth)) for col in columns])
    grid = Image.fromarray(make_grid(tiles, ncol=len(columns)))
    grid = grid.resize((grid.width * scale, grid.height * scale), Image.NEAREST)
    # a header row naming the columns
    names = ["input", *filled.keys(), "truth"]
    header = Image.new("RGB", (grid.width, 16), "white")
    draw = ImageDraw.Draw(header)
    tile = grid.width / len(columns)
    for c, name in enumerate(names):
        draw.text((c * tile + 4, 2), name, fill="black")
    sheet = Image.new("RGB", (grid.width, grid.height + 16), "white")
    sheet.paste(header, (0, 0))
    sheet.paste(grid, (0, 16))
    write_atomic(path, lambda tmp: sheet.save(tmp, format="PNG"))
