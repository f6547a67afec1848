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


@dataclass(frozen=True)
class InpaintSettings:
    """How one completion searches the latent space (defaults: the method's published settings)."""

    iterations: int = 1000     # Adam steps on z at most
    restarts: int = 4          # random starts per image, solved in one batch; the best final loss wins
    lr: float = 0.01           # Adam step size on z (public ports of Yeh et al. use 0.01-0.03)
    beta1: float = 0.9
    beta2: float = 0.999
    prior_weight: float = 0.003     # lambda on the prior loss log(1 - D(G(z)))
    consistency_weight: float = 30.0  # mu on the feature consistency loss between M*G(z) and M*y (tuned on val)
    prior: str = "joint"       # "joint": fused D + PD score (ours); "global": D's own head (SE)
    norm: str = "l1"           # contextual loss: "l1" (Yeh et al.) or "l2" (the paper)
    window: int = 7            # importance-weight window
    patience: int = 50         # early stop when the loss improved less than rel_tol over this many steps
    rel_tol: float = 1e-4
    seed: int = 0

    def __post_init__(self) -> None:
        if self.prior not in ("joint", "global"):
            raise ValueError(f"prior must be 'joint' or 'global', got {self.prior!r}")
        if self.norm not in ("l1", "l2"):
            raise ValueError(f"norm must be 'l1' or 'l2', got {self.norm!r}")
        if self.iterations < 1 or self.restarts < 1:
            raise ValueError("iterations and restarts must be at least 1")
