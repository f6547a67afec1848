"""Differentiable augmentation of the discriminator's inputs (Zhao et al., "Differentiable
Augmentation for Data-Efficient GAN Training", 2020).

D sees every image, real or generated, through the same random transforms, and the generator's
gradient flows back through them, so D cannot memorise the few tens of thousands of training
faces while G still learns the unaugmented distribution. The three policies of the paper:
- color: brightness (+U[-0.5, 0.5]), saturation (x U[0, 2]) and contrast (x U[0.5, 1.5]);
- translation: a shift of up to 1/8 of the side each way, zero padding;
- cutout: a zeroed square of half the side at a random place.
Images are (B, 3, H, W) in [-1, 1]; each sample draws its own parameters from torch's global
generator, so a resumed run draws what one never stopped would. Under torchrun a process holds
`rows` of a global batch of `batch`: the draws are made for the global batch and its rows taken,
so every process's random state, and each row's transform, is what one process would have.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

POLICIES = ("color", "translation", "cutout")


def parse_policy(value: str) -> tuple[str, ...]:
    """'color,translation,cutout' -> the tuple, checked; '' or 'none' -> ()."""
    items = tuple(v.strip() for v in value.split(",") if v.strip() and v.strip() != "none")
    bad = [v for v in items if v not in POLICIES]
    if bad:
        raise ValueError(f"unknown augmentation {', '.join(bad)}; choose from {', '.join(POLICIES)} (or none)")
    return items


def augment(x: torch.Tensor, policy: tuple[str, ...], batch: int | None = None,
            rows: slice = slice(None)) -> torch.Tensor:
    """x (B, C, H, W), the `rows` of a global batch of `batch` (default: x is the whole batch),
    through each transform of the policy, in the paper's order."""
    batch = x.shape[0] if batch is None else batch
    for name in policy:
        x = TRANSFORMS[name](x, batch, rows)
    return x


def _uniform(x: torch.Tensor, batch: int, rows: slice) -> torch.Tensor:
    """U[0, 1) per row, (B, 1, 1, 1)."""
    return torch.rand(batch, 1, 1, 1, device=x.device)[rows].to(x.dtype)


def _color(x: torch.Tensor, batch: int, rows: slice) -> torch.Tensor:
    x = x + (_uniform(x, batch, rows) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_uniform(x, batch, rows) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_uniform(x, batch, rows) + 0.5) + mean


def _translation(x: torch.Tensor, batch: int, rows_: slice, ratio: float = 0.125) -> torch.Tensor:
    b, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sh, sh + 1, (batch, 1, 1), device=x.device)[rows_]
    dx = torch.randint(-sw, sw + 1, (batch, 1, 1), device=x.device)[rows_]
    rows = torch.arange(h, device=x.device)[None, :, None] + dy + 1      # (B, H, 1), into the padded map
    cols = torch.arange(w, device=x.device)[None, None, :] + dx + 1      # (B, 1, W)
    rows, cols = rows.clamp(0, h + 1), cols.clamp(0, w + 1)
    padded = F.pad(x, (1, 1, 1, 1))                                       # zeros beyond the edge
    batch = torch.arange(b, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)


def _cutout(x: torch.Tensor, batch: int, rows: slice, ratio: float = 0.5) -> torch.Tensor:
    _, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    top = torch.randint(0, h + (1 - ch % 2), (batch, 1, 1), device=x.device)[rows] - ch // 2
    left = torch.randint(0, w + (1 - cw % 2), (batch, 1, 1), device=x.device)[rows] - cw // 2
    ys = torch.arange(h, device=x.device)[None, :, None]
    xs = torch.arange(w, device=x.device)[None, None, :]
    inside = (ys >= top) & (ys < top + ch) & (xs >= left) & (xs < left + cw)     # (B, H, W)
    return x * (~inside)[:, None].to(x.dtype)


TRANSFORMS = {"color": _color, "translation": _translation, "cutout": _cutout}
