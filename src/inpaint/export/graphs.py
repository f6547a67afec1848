"""The modules that become the exported graphs: generator, generator_vjp and the critics.

Each takes and returns plain tensors (no autograd inside), so torch.onnx.export can trace them.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from inpaint.export.adjoint import SequentialAdjoint, crop, relu_derivative, selector, uncrop
from inpaint.train.models import Generator, JointDiscriminator


class GeneratorGraph(nn.Module):
    """z (B, z_dim) -> x (B, 3, R, R) and the activations generator_vjp needs."""

    def __init__(self, g: Generator):
        super().__init__()
        self.net = SequentialAdjoint(g.net, 1)

    def forward(self, z: torch.Tensor):
        x, saved = self.net(z[:, :, None, None])
        return (x, *saved[:-1])        # the last saved activation is x itself


class GeneratorVJPGraph(nn.Module):
    """(saved activations..., x, g_x) -> g_z (B, z_dim) through the generator."""

    def __init__(self, g: Generator):
        super().__init__()
        self.net = SequentialAdjoint(g.net, 1)

    def forward(self, *args: torch.Tensor):
        *saved, x, g_x = args
        return self.net.backward([*saved, x], g_x).flatten(1)


class CriticGraph(nn.Module):
    """(x, known, box, target features, weights) -> prior (B,), consistency (B,), g_x.

    prior = log(1 - D(x)) = -softplus(logit); "joint" scores x with the fused D + PD (the patch at
    box), "global" with D's own head (SE). consistency = mean squared difference of the D and PD
    feature maps of known*x and of known*y (given as targets). weights = (lambda, mu): g_x is the
    gradient of lambda * prior + mu * consistency. With consistency=False that term is left out
    of the graph (its output is zeros).
    """

    def __init__(self, d: JointDiscriminator, prior: str = "joint", consistency: bool = True):
        super().__init__()
        if prior not in ("joint", "global"):
            raise ValueError(f"prior must be 'joint' or 'global', got {prior!r}")
        spec = d.spec
        self.prior, self.consistency = prior, consistency
        self.size, self.patch = spec.resolution, spec.patch
        self.g_trunk = SequentialAdjoint(d.global_branch.trunk, spec.resolution)
        self.p_trunk = SequentialAdjoint(d.patch_branch.trunk, spec.patch)
        self.g_reduce = SequentialAdjoint(d.global_branch.reduce, 4)
        self.p_reduce = SequentialAdjoint(d.patch_branch.reduce, 4)
        self.head = d.global_branch.head
        self.fc1, self.fc_act, self.fc2 = d.fuse

    def _prior(self, x, rows, cols, lam):
        """logit of x and d(lam * prior)/dx."""
        gf, gs = self.g_trunk(x)
        if self.prior == "global":
            logit = self.head(gf).flatten(1)[:, 0]
            g_logit = -torch.sigmoid(logit) * lam                         # (B,)
            g_gf = F.conv_transpose2d(g_logit[:, None, None, None], self.head.weight)
            return logit, self.g_trunk.backward(gs, g_gf)
        pf, ps = self.p_trunk(crop(x, rows, cols))
        rg, rgs = self.g_reduce(gf)
        rp, rps = self.p_reduce(pf)
        n = rg[0].numel()
        h = torch.cat([rg.flatten(1), rp.flatten(1)], dim=1)                # (B, 512)
        a = self.fc_act(self.fc1(h))                                       # (B, 2048)
        logit = self.fc2(a)[:, 0]
        g_logit = -torch.sigmoid(logit) * lam
        g_a = g_logit[:, None] * self.fc2.weight                           # (B, 2048)
        g_a = g_a * relu_derivative(a, self.fc_act.negative_slope)
        g_h = g_a @ self.fc1.weight                                        # (B, 512)
        g_gf = self.g_reduce.backward(rgs, g_h[:, :n].reshape(rg.shape))
        g_pf = self.p_reduce.backward(rps, g_h[:, n:].reshape(rp.shape))
        g_x = self.g_trunk.backward(gs, g_gf) + uncrop(self.p_trunk.backward(ps, g_pf), rows, cols)
        return logit, g_x

    def forward(self, x, known, box, target_global, target_patch, weights):
        lam, mu = weights[0], weights[1]
        rows = selector(box[:, 0], self.patch, self.size, x.dtype)
        cols = selector(box[:, 1], self.patch, self.size, x.dtype)
        logit, g_x = self._prior(x, rows, cols, lam)
        prior = -F.softplus(logit)
        if not self.consistency:
            return prior, torch.zeros_like(prior), g_x
        xm = known * x
        gf, gs = self.g_trunk(xm)
        pf, ps = self.p_trunk(crop(xm, rows, cols))
        dg, dp = gf - target_global, pf - target_patch
        # the sums of squares in fp32 even in an fp16 graph: thousands of terms overflow half precision
        consistency = dg.float().square().flatten(1).mean(1) + dp.float().square().flatten(1).mean(1)
        g_xm = self.g_trunk.backward(gs, dg * (2 * mu / dg[0].numel())) + \
            uncrop(self.p_trunk.backward(ps, dp * (2 * mu / dp[0].numel())), rows, cols)
        return prior, consistency, g_x + known * g_xm


class FeaturesGraph(nn.Module):
    """(known * y, box) -> the D and PD feature maps the consistency loss compares against."""

    def __init__(self, d: JointDiscriminator):
        super().__init__()
        self.size, self.patch = d.spec.resolution, d.spec.patch
        self.g_trunk, self.p_trunk = d.global_branch.trunk, d.patch_branch.trunk

    def forward(self, masked_y, box):
        rows = selector(box[:, 0], self.patch, self.size, masked_y.dtype)
        cols = selector(box[:, 1], self.patch, self.size, masked_y.dtype)
        return self.g_trunk(masked_y), self.p_trunk(crop(masked_y, rows, cols))
