"""An exponential moving average of the generator's weights: the generator that ships.

After every G step each parameter of the copy moves (1 - decay) of the way to the trained one.
Batch norm's running statistics belong to the weights they were measured with, so the average's
are measured anew (standing_statistics) before it is sampled or saved: batches of z through the
average in train mode, the statistics averaged over them with equal weight.
"""
from __future__ import annotations

import copy

import torch

STANDING_BATCHES = 8           # batches of z for the standing statistics (1,024 samples)
STANDING_BATCH_SIZE = 128


class EMA:
    def __init__(self, model: torch.nn.Module, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"the EMA decay must lie in (0, 1), got {decay}")
        self.decay = decay
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        for mine, theirs in zip(self.model.parameters(), model.parameters()):
            mine.lerp_(theirs.detach(), 1.0 - self.decay)

    def state_dict(self) -> dict:
        return self.model.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state)


@torch.no_grad()
def standing_statistics(g: torch.nn.Module, z_dim: int, seed: int, batches: int = STANDING_BATCHES,
                        batch_size: int = STANDING_BATCH_SIZE) -> None:
    """Measure g's batch-norm running statistics anew from `batches` batches of seeded z (a
    cumulative average: momentum None), leaving g in eval mode and torch's random state as it was."""
    norms = [m for m in g.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    device = next(g.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    g.train()
    for _ in range(batches):
        g((torch.rand(batch_size, z_dim, generator=gen) * 2 - 1).to(device))
    for m, momentum in zip(norms, saved):
        m.momentum = momentum
    g.eval()
