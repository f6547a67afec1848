"""DCGAN generator, global discriminator D, patch discriminator PD and the joint discriminator.

Shapes are written for the 64x64 model; the 32x32 model drops one stage everywhere.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn as nn

from inpaint.spec import ModelSpec


def _stages(size: int) -> int:
    """Number of stride-2 stages between a size x size map and 4x4."""
    n = int(math.log2(size // 4))
    assert 4 * 2 ** n == size, size
    return n


class Generator(nn.Module):
    """z (B, z_dim) in [-1, 1] -> image (B, 3, R, R) in [-1, 1]."""

    def __init__(self, spec: ModelSpec):
        super().__init__()
        self.spec = spec
        n = _stages(spec.resolution)           # 4 at 64x64, 3 at 32x32
        ch = spec.ngf * 2 ** (n - 1)            # 512 at 64x64
        layers = [nn.ConvTranspose2d(spec.z_dim, ch, 4, 1, 0, bias=False),  # (B, 512, 4, 4)
                  nn.BatchNorm2d(ch), nn.ReLU(True)]
        for _ in range(n - 1):                  # (B, 256, 8, 8) (B, 128, 16, 16) (B, 64, 32, 32)
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, spec.channels, 4, 2, 1, bias=False),  # (B, 3, 64, 64)
                   nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, :, None, None])


class Branch(nn.Module):
    """Convolutional discriminator trunk for a size x size input, with its own logit head.

    features: (B, C, 4, 4) maps used by the fusion layer and the consistency loss;
    logit: this branch's own real/fake score (the global branch's alone is the SE prior).
    """

    def __init__(self, spec: ModelSpec, size: int):
        super().__init__()
        n = _stages(size)                       # 4 for the 64x64 image, 3 for its 32x32 patch
        ch = spec.ndf
        layers = [nn.Conv2d(spec.channels, ch, 4, 2, 1, bias=False),     # (B, 64, 32, 32)
                  nn.LeakyReLU(0.2, True)]
        for _ in range(n - 1):                  # (B, 128, 16, 16) (B, 256, 8, 8) (B, 512, 4, 4)
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(ch * 2), nn.LeakyReLU(0.2, True)]
            ch *= 2
        self.trunk = nn.Sequential(*layers)
        self.head = nn.Conv2d(ch, 1, 4, 1, 0, bias=False)                # (B, 1, 1, 1)
        self.reduce = nn.Sequential(nn.Conv2d(ch, spec.fuse_channels, 1),  # (B, 16, 4, 4)
                                    nn.LeakyReLU(0.2, True))
        self.out_channels = ch

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.trunk(x)
        return f, self.head(f).flatten(1)


class Scores(NamedTuple):
    joint: torch.Tensor           # (B, 1) logit of the fused discriminator
    global_: torch.Tensor         # (B, 1) logit of the global branch alone
    patch: torch.Tensor           # (B, 1) logit of the patch branch alone
    global_features: torch.Tensor  # (B, 8 * ndf, 4, 4)
    patch_features: torch.Tensor   # (B, 4 * ndf, 4, 4)


class JointDiscriminator(nn.Module):
    """Global D on the whole image and PD on a crop, fused by a 2048-unit fully connected layer."""

    def __init__(self, spec: ModelSpec):
        super().__init__()
        self.spec = spec
        self.global_branch = Branch(spec, spec.resolution)
        self.patch_branch = Branch(spec, spec.patch)
        fused = 2 * spec.fuse_channels * 4 * 4                           # 512
        self.fuse = nn.Sequential(nn.Linear(fused, spec.fuse_units),      # (B, 2048)
                                  nn.LeakyReLU(0.2, True),
                                  nn.Linear(spec.fuse_units, 1))          # (B, 1)

    def forward(self, image: torch.Tensor, patch: torch.Tensor) -> Scores:
        gf, g_logit = self.global_branch(image)
        pf, p_logit = self.patch_branch(patch)
        fused = torch.cat([self.global_branch.reduce(gf).flatten(1),
                           self.patch_branch.reduce(pf).flatten(1)], dim=1)
        return Scores(self.fuse(fused), g_logit, p_logit, gf, pf)


def crop_patches(x: torch.Tensor, top: torch.Tensor, left: torch.Tensor, size: int) -> torch.Tensor:
    """Per-sample square crops: x (B, C, H, W), top/left (B,) int64 -> (B, C, size, size)."""
    ar = torch.arange(size, device=x.device)
    rows = (top[:, None] + ar)[:, :, None]      # (B, size, 1)
    cols = (left[:, None] + ar)[:, None, :]     # (B, 1, size)
    b = torch.arange(x.shape[0], device=x.device)[:, None, None]
    return x.permute(0, 2, 3, 1)[b, rows, cols].permute(0, 3, 1, 2)


def init_weights(module: nn.Module) -> None:
    """DCGAN initialisation: conv weights N(0, 0.02), batch-norm scales N(1, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def build_models(spec: ModelSpec) -> tuple[Generator, JointDiscriminator]:
    g, d = Generator(spec), JointDiscriminator(spec)
    g.apply(init_weights)
    d.apply(init_weights)
    return g, d
