"""Globally and Locally Consistent completion (GL, Iizuka et al., SIGGRAPH 2017) at 64x64: the
completion network and its global + local discriminator, scaled to what a small CPU trains.

The completion network follows the paper's layout at a quarter of its resolution: strided
convolutions down to 16x16, dilated 3x3 convolutions at rates 2, 4 and 8 (the largest that fit a
16x16 map), transposed convolutions back up. Its input is the image with the hole filled by the
mean colour of the known pixels, and the mask (4 channels); its output is the whole image in
[-1, 1] (tanh), of which only the hole is kept. The discriminator scores the whole image (global
branch, 64x64 down to 4x4) and a 32x32 patch around the hole (local branch, 32x32 down to 4x4);
each branch ends in a fully connected layer, and the two are joined by one more into a logit.
`width` scales every channel count (the paper's first layer has 64 channels at 256x256).
"""
from __future__ import annotations

import torch
import torch.nn as nn


def _conv(cin: int, cout: int, k: int, stride: int = 1, dilation: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, k, stride, dilation * (k // 2), dilation=dilation, bias=False),
            nn.BatchNorm2d(cout), nn.ReLU(True)]


class CompletionNet(nn.Module):
    """(image with the hole filled by its mean colour (B, 3, 64, 64), known (B, 1, 64, 64)) ->
    the completed image (B, 3, 64, 64) in [-1, 1]."""

    RATES = (2, 4, 8)

    def __init__(self, width: int = 32):
        super().__init__()
        c = width
        layers = _conv(4, c, 5)                                       # 64x64
        layers += _conv(c, 2 * c, 3, 2) + _conv(2 * c, 2 * c, 3)     # 32x32
        layers += _conv(2 * c, 4 * c, 3, 2) + _conv(4 * c, 4 * c, 3) + _conv(4 * c, 4 * c, 3)   # 16x16
        for rate in self.RATES:
            layers += _conv(4 * c, 4 * c, 3, dilation=rate)
        layers += _conv(4 * c, 4 * c, 3) + _conv(4 * c, 4 * c, 3)
        layers += [nn.ConvTranspose2d(4 * c, 2 * c, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * c), nn.ReLU(True)]
        layers += _conv(2 * c, 2 * c, 3)                              # 32x32
        layers += [nn.ConvTranspose2d(2 * c, c, 4, 2, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(True)]
        layers += _conv(c, c // 2, 3)                                 # 64x64
        layers += [nn.Conv2d(c // 2, 3, 3, 1, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, filled: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([filled, known], dim=1))


def mean_filled(image: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """The image with its hole set to the mean colour of its known pixels, per image and channel."""
    mean = (image * known).sum((2, 3), keepdim=True) / known.sum((2, 3), keepdim=True).clamp_min(1)
    return image * known + mean * (1 - known)


def _trunk(size: int, c: int) -> nn.Sequential:
    """5x5 convolutions of stride 2 from size x size down to 4x4, channels c, 2c, 4c, ..."""
    layers, cin, ch = [], 3, c
    while size > 4:
        layers += [nn.Conv2d(cin, ch, 5, 2, 2, bias=False), nn.BatchNorm2d(ch), nn.ReLU(True)]
        cin, ch, size = ch, 2 * ch, size // 2
    return nn.Sequential(*layers, nn.Flatten())


class ContextDiscriminator(nn.Module):
    """(image (B, 3, 64, 64), its 32x32 patch around the hole (B, 3, 32, 32)) -> logit (B,)."""

    def __init__(self, width: int = 32, hidden: int = 256):
        super().__init__()
        self.global_branch = nn.Sequential(_trunk(64, width), nn.Linear(8 * width * 16, hidden), nn.ReLU(True))
        self.local_branch = nn.Sequential(_trunk(32, width), nn.Linear(4 * width * 16, hidden), nn.ReLU(True))
        self.join = nn.Linear(2 * hidden, 1)

    def forward(self, image: torch.Tensor, patch: torch.Tensor) -> torch.Tensor:
        return self.join(torch.cat([self.global_branch(image), self.local_branch(patch)], dim=1))[:, 0]


def conv_flops(module: nn.Module, *inputs: torch.Tensor) -> int:
    """Multiply-adds x 2 of the convolutions, transposed convolutions and linear layers of one
    forward pass on `inputs` (counted from the shapes their hooks see)."""
    total = 0

    def count(layer, args, output):
        nonlocal total
        if isinstance(layer, nn.Conv2d):
            total += 2 * output.numel() * layer.in_channels * layer.kernel_size[0] * layer.kernel_size[1]
        elif isinstance(layer, nn.ConvTranspose2d):
            total += 2 * args[0].numel() * layer.out_channels * layer.kernel_size[0] * layer.kernel_size[1]
        elif isinstance(layer, nn.Linear):
            total += 2 * output.numel() * layer.in_features
    hooks = [m.register_forward_hook(count) for m in module.modules()
             if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    try:
        with torch.no_grad():
            module(*inputs)
    finally:
        for h in hooks:
            h.remove()
    return total // inputs[0].shape[0]


class GLInpainter(nn.Module):
    """The whole of GL's completion as one graph: (image (B, 3, 64, 64) in [-1, 1], known
    (B, 1, 64, 64), 1 = known) -> the image with its hole filled by the completion network and its
    known pixels unchanged. This is what is exported; Poisson blending follows outside it."""

    def __init__(self, net: CompletionNet):
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        out = self.net(mean_filled(image, known), known)
        return image * known + out * (1 - known)


def hole_windows(known: torch.Tensor, size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """(top, left) int64 (B,) of the size x size window centred on each hole's bounding box,
    moved inside the image (the whole image's centre where nothing is missing)."""
    hole = known[:, 0] < 0.5
    side = known.shape[-1]
    idx = torch.arange(side, device=known.device)

    def centre(present: torch.Tensor) -> torch.Tensor:       # (B, side) bool -> (B,) bbox centres
        lo = torch.where(present, idx, side).min(1).values
        hi = torch.where(present, idx, -1).max(1).values
        return torch.where(hi >= lo, (lo + hi + 1) // 2, torch.full_like(lo, side // 2))
    rows, cols = centre(hole.any(2)), centre(hole.any(1))
    top = (rows - size // 2).clamp(0, side - size)
    left = (cols - size // 2).clamp(0, side - size)
    return top.long(), left.long()
