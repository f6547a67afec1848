"""Sample sheets from a generator."""
from __future__ import annotations

from pathlib import Path

import torch

from inpaint.grid import save_grid, to_uint8


def sample_z(n: int, z_dim: int, seed: int) -> torch.Tensor:
    """n latent vectors drawn from U[-1, 1]^z_dim with their own seeded generator."""
    return torch.rand(n, z_dim, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@torch.no_grad()
def save_samples(g: torch.nn.Module, z: torch.Tensor, path: str | Path, scale: int = 1) -> None:
    """Render G(z) in eval mode (batch-norm running statistics, as the runtime uses G) as a grid."""
    was_training = g.training
    g.eval()
    device = next(g.parameters()).device
    x = g(z.to(device)).float().cpu().numpy()
    g.train(was_training)
    save_grid(to_uint8(x), path, scale=scale)
