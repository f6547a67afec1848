"""Picture: the pixels of one image as read, and ImageError for inputs that cannot be."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inpaint.errors import InpaintError


class ImageError(InpaintError):
    """An input image or mask is missing, unreadable, of an unsupported kind or of the wrong size."""


@dataclass(frozen=True)
class Picture:
    """The pixels of one image and how to write them back."""

    pixels: np.ndarray  # uint8 (H, W, C); C = 3 for RGB, 1 for grayscale
    alpha: np.ndarray | None  # uint8 (H, W) when the file had alpha
    mode: str  # "RGB" or "L"
    deep: np.ndarray | None = None  # uint16 (H, W, C [+ 1 alpha]): a 16-bit file's own samples

    def __post_init__(self) -> None:
        channels = {"RGB": 3, "L": 1}.get(self.mode)
        if channels is None:
            raise ValueError(f"mode must be 'RGB' or 'L', got {self.mode!r}")
        p = self.pixels
        if p.dtype != np.uint8 or p.ndim != 3 or p.shape[2] != channels:
            raise ValueError(f"pixels for mode {self.mode} must be uint8 (H, W, {channels}), "
                             f"got {p.dtype} {p.shape}")
        a = self.alpha
        if a is not None and (a.dtype != np.uint8 or a.shape != self.size):
            raise ValueError(f"alpha must be uint8 {self.size}, got {a.dtype} {a.shape}")
        d = self.deep
        want = (*self.size, channels + (a is not None))
        if d is not None and (d.dtype != np.uint16 or d.shape != want):
            raise ValueError(f"deep must be uint16 {want}, got {d.dtype} {d.shape}")

    @property
    def size(self) -> tuple[int, int]:
        """(H, W)."""
        return self.pixels.shape[0], self.pixels.shape[1]
