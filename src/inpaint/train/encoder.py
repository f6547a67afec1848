"""The latent encoder E: a masked image and its mask -> a starting z for the search.

E reads known * y (the known pixels, zero in the hole) and the mask itself, so it can tell a
black known pixel from a missing one, and answers z = tanh(...) in [-1, 1]^z_dim, the box the
search keeps z in. Shapes are written for the 64x64 model; the 32x32 model drops one stage.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from inpaint.spec import ModelSpec
from inpaint.train.models import _stages, init_weights

ENCODER_WIDTH = 32   # channels of the first convolution; doubled at every stage


class Encoder(nn.Module):
    """(known * y (B, 3, R, R), known (B, 1, R, R)) -> z (B, z_dim) in [-1, 1]."""

    def __init__(self, spec: ModelSpec, width: int = ENCODER_WIDTH):
        super().__init__()
        self.spec, self.width = spec, width
        n = _stages(spec.resolution)            # 4 at 64x64
        ch = width
        layers = [nn.Conv2d(spec.channels + 1, ch, 4, 2, 1), nn.LeakyReLU(0.2, True)]  # (B, 32, 32, 32)
        for _ in range(n - 1):                  # (B, 64, 16, 16) (B, 128, 8, 8) (B, 256, 4, 4)
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch * 2),
                       nn.LeakyReLU(0.2, True)]
            ch *= 2
        self.trunk = nn.Sequential(*layers)
        self.head = nn.Linear(ch * 4 * 4, spec.z_dim)                   # (B, 100)

    def forward(self, masked_y: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        h = self.trunk(torch.cat([masked_y, known], dim=1))
        return torch.tanh(self.head(h.flatten(1)))


def build_encoder(spec: ModelSpec, width: int = ENCODER_WIDTH) -> Encoder:
    e = Encoder(spec, width)
    e.apply(init_weights)
    return e
