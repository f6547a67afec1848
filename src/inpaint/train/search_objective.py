"""The search's objective in PyTorch, differentiable through a frozen G and D: what the runtime's
loop minimises over z, written once for every torch user of it. The torch engines
(inpaint.torch_engines) take their critic from critic_terms, the latent encoder trains against
search_losses (the search amortised into E), and inpaint-bench's eager yardstick steps z on it.

contextual (importance-weighted L1 or L2 over the known pixels) + lambda * log(1 - D(G(z))), the
joint D + PD score ("joint", ours) or D's own head ("global", SE), + mu * the consistency of the
D and PD features of M * G(z) with those of M * y. The same terms as runtime.ops.CpuOps.contextual
and the exported critic graphs, per sample.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from inpaint.spec import InpaintSettings
from inpaint.train.models import Scores, crop_patches


def contextual_term(x: torch.Tensor, y: torch.Tensor, weights: torch.Tensor, norm: str) -> torch.Tensor:
    """(B,) importance-weighted L1 ("l1") or squared L2 ("l2") distance of x to y (B, 3, R, R)."""
    d_xy = x - y
    if norm == "l1":
        return (weights * d_xy.abs()).flatten(1).sum(1)
    if norm == "l2":
        return (weights * d_xy.square()).flatten(1).sum(1)
    raise ValueError(f"unknown norm {norm!r}; use 'l1' or 'l2'")


def critic_terms(d, x: torch.Tensor, known: torch.Tensor, features: Callable[[torch.Tensor], Scores],
                 target: tuple[torch.Tensor, torch.Tensor] | None, prior: str,
                 consistency_weight: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample prior loss log(1 - D(x)) and consistency loss (B,) of x (B, 3, R, R).

    features(image) -> D's scores of the image and its patch (each caller crops its own way);
    target: D's global and patch features of M * y, needed where consistency_weight is not 0
    (the consistency is zeros where it is 0). prior: "joint" scores x with the fused D + PD,
    "global" with D's own head alone.
    """
    if prior == "global":
        logit = d.global_branch(x)[1][:, 0]
    else:
        logit = features(x).joint[:, 0]
    prior_loss = -F.softplus(logit)     # log(1 - sigmoid(l)), stable for any l
    if consistency_weight:
        s = features(x * known)
        consistency = ((s.global_features - target[0]) ** 2).flatten(1).mean(1) + \
                      ((s.patch_features - target[1]) ** 2).flatten(1).mean(1)
    else:
        consistency = torch.zeros_like(prior_loss)
    return prior_loss, consistency


def search_losses(g, d, z: torch.Tensor, y: torch.Tensor, known: torch.Tensor, weights: torch.Tensor,
                  box: torch.Tensor, settings: InpaintSettings) -> dict[str, torch.Tensor]:
    """Per-sample terms (B,) of the objective at z and their weighted sum ("loss").

    y (B, 3, R, R) in [-1, 1]; known, weights (B, 1, R, R); box (B, 2) int64, the patch's top-left.
    """
    def features(image):
        return d(image, crop_patches(image, box[:, 0], box[:, 1], d.spec.patch))

    x = g(z)
    contextual = contextual_term(x, y, weights, settings.norm)
    target = None
    if settings.consistency_weight:
        with torch.no_grad():
            s = features(y * known)
        target = s.global_features, s.patch_features
    prior, consistency = critic_terms(d, x, known, features, target, settings.prior, settings.consistency_weight)
    loss = contextual + settings.prior_weight * prior + settings.consistency_weight * consistency
    return {"loss": loss, "contextual": contextual, "prior": prior, "consistency": consistency}
