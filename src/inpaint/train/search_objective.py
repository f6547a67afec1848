"""The search's objective in PyTorch, differentiable through a frozen G and D: what the runtime's
loop minimises over z, here to train the latent encoder against it (the search amortised into E).

contextual (importance-weighted L1 or L2 over the known pixels) + lambda * log(1 - D(G(z))), the
joint D + PD score ("joint", ours) or D's own head ("global", SE), + mu * the consistency of the
D and PD features of M * G(z) with those of M * y. The same terms as runtime.ops.CpuOps.contextual
and runtime.engines.torch.TorchEngine.critic, per sample.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from inpaint.spec import InpaintSettings
from inpaint.train.models import crop_patches


def search_losses(g, d, z: torch.Tensor, y: torch.Tensor, known: torch.Tensor, weights: torch.Tensor,
                  box: torch.Tensor, settings: InpaintSettings) -> dict[str, torch.Tensor]:
    """Per-sample terms (B,) of the objective at z and their weighted sum ("loss").

    y (B, 3, R, R) in [-1, 1]; known, weights (B, 1, R, R); box (B, 2) int64, the patch's top-left.
    """
    x = g(z)
    d_xy = x - y
    if settings.norm == "l1":
        contextual = (weights * d_xy.abs()).flatten(1).sum(1)
    else:
        contextual = (weights * d_xy.square()).flatten(1).sum(1)
    if settings.prior == "global":
        logit = d.global_branch(x)[1][:, 0]
    else:
        logit = d(x, crop_patches(x, box[:, 0], box[:, 1], d.spec.patch)).joint[:, 0]
    prior = -F.softplus(logit)                      # log(1 - sigmoid(logit))
    consistency = torch.zeros_like(prior)
    if settings.consistency_weight:
        def features(image):
            s = d(image, crop_patches(image, box[:, 0], box[:, 1], d.spec.patch))
            return s.global_features, s.patch_features
        with torch.no_grad():
            target = features(y * known)
        own = features(x * known)
        consistency = sum((a - t).square().flatten(1).mean(1) for a, t in zip(own, target))
    loss = contextual + settings.prior_weight * prior + settings.consistency_weight * consistency
    return {"loss": loss, "contextual": contextual, "prior": prior, "consistency": consistency}


def method_settings(objective: str) -> InpaintSettings:
    """The search settings an encoder objective stands for: "ours" (joint prior and consistency at
    the defaults) or "se" (D's own prior, no consistency)."""
    if objective == "ours":
        return InpaintSettings()
    if objective == "se":
        return InpaintSettings(prior="global", consistency_weight=0.0)
    raise ValueError(f"objective must be 'ours' or 'se', got {objective!r}")
