"""One step of the GAN's training: D on real and generated images, then G (non-saturating).

Shared by the training loop and the throughput benchmark. Options that change the arithmetic:
- precision "bf16": the networks' forward and backward under CPU/CUDA autocast to bfloat16
  (the weights, gradients and Adam's state stay fp32; the losses are computed in fp32);
- augment: DiffAugment's transforms applied to every image D sees (train/augment.py);
- channels_last: the images in channels-last memory order (the modules are converted by the caller).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F

from inpaint.train.augment import augment
from inpaint.train.models import crop_patches

PRECISIONS = ("fp32", "bf16")


@dataclass(frozen=True)
class StepOptions:
    precision: str = "fp32"
    augment: tuple[str, ...] = ()
    channels_last: bool = False

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")


class StepResult(NamedTuple):
    loss_d: torch.Tensor
    loss_g: torch.Tensor
    d_real: torch.Tensor           # mean sigmoid of the fused score on real images
    d_fake: torch.Tensor           # ... on generated ones (D step)


def autocast(device: str, precision: str):
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast("cuda" if device.startswith("cuda") else "cpu", dtype=torch.bfloat16)


def random_crops(x: torch.Tensor, size: int, batch: int, rows: slice) -> torch.Tensor:
    """Random size x size crops of x, this rank's `rows` of a global batch of `batch` (the draws
    are made for the global batch, so every rank's random state stays the same)."""
    hi = x.shape[-1] - size + 1
    top = torch.randint(0, hi, (batch,), device=x.device)[rows]
    left = torch.randint(0, hi, (batch,), device=x.device)[rows]
    return crop_patches(x, top, left, size)


def bce(scores, target: float) -> torch.Tensor:
    """Summed BCE of the fused, global and patch logits against one target, in fp32."""
    return sum(F.binary_cross_entropy_with_logits(s.float(), torch.full_like(s, target, dtype=torch.float32))
               for s in scores[:3])


def gan_step(g_train, d_train, d, opt_g, opt_d, real: torch.Tensor, z: torch.Tensor, patch: int,
             rows: slice, options: StepOptions) -> StepResult:
    """One D step and one G step. real: the global batch (B, 3, R, R), of which this process
    trains `rows`; z: its rows' latent vectors; g_train/d_train: the modules as trained
    (DDP-wrapped under torchrun), d: D itself. Crops and augmentations are drawn for the global
    batch, so every process draws what one process would."""
    batch = real.shape[0]
    see = (lambda x: augment(x, options.augment, batch, rows)) if options.augment else (lambda x: x)
    if options.augment:         # PD's crop of a real image is cut from its augmented copy, as for a fake
        real = augment(real, options.augment)
    crops = random_crops(real, patch, batch, slice(None))[rows]
    real = real[rows]
    if options.channels_last:
        real = real.contiguous(memory_format=torch.channels_last)
        crops = crops.contiguous(memory_format=torch.channels_last)
    with autocast(str(real.device), options.precision):
        fake = g_train(z)
        # D step: real -> 1, fake -> 0, for the fused score and each branch's own head.
        s_real = d_train(real, crops)
        fake_d = see(fake.detach())
        s_fake = d_train(fake_d, random_crops(fake_d, patch, batch, rows))
    loss_d = bce(s_real, 1.0) + bce(s_fake, 0.0)
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()

    # G step (non-saturating): make every head call the fakes real.
    d.requires_grad_(False)
    with autocast(str(real.device), options.precision):
        seen = see(fake)
        s_gen = d(seen, random_crops(seen, patch, batch, rows))          # D is not trained here
    loss_g = bce(s_gen, 1.0)
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    d.requires_grad_(True)
    return StepResult(loss_d.detach(), loss_g.detach(), torch.sigmoid(s_real.joint.float()).mean().detach(),
                      torch.sigmoid(s_fake.joint.float()).mean().detach())
