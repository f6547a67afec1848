"""Frozen configuration shared by every stage: training, export and the runtime."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from inpaint.errors import CheckpointError

# Bumped whenever the layout of a checkpoint or weights file changes incompatibly.
CHECKPOINT_FORMAT = 1

RESOLUTIONS = (32, 64)


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to rebuild the networks: stored in every checkpoint and bundle."""

    resolution: int = 64   # H = W of generated images
    z_dim: int = 100       # latent size; z lives in [-1, 1]^z_dim
    channels: int = 3      # RGB
    ngf: int = 64          # generator width (channels of its last hidden layer)
    ndf: int = 64          # discriminator width (channels of its first layer)
    fuse_channels: int = 16  # each branch's 4x4 features are reduced to this many channels before fusion
    fuse_units: int = 2048   # hidden units of the fully connected fusion layer

    def __post_init__(self) -> None:
        if self.resolution not in RESOLUTIONS:
            raise ValueError(f"resolution must be one of {RESOLUTIONS}, got {self.resolution}")

    @property
    def patch(self) -> int:
        """Side of the square crop the patch discriminator sees (half the image side)."""
        return self.resolution // 2

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelSpec":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise CheckpointError(f"model spec has unknown fields {sorted(unknown)}; "
                                  "the file was written by a newer inpaint: upgrade inpaint")
        return cls(**d)
