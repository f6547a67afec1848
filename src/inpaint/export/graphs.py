"""The modules that become the exported graphs: generator, generator_vjp (and their forms for
search z+bn, generator_bn and generator_bn_vjp) and the critics.

Each takes and returns plain tensors (no autograd inside), so torch.onnx.export can trace them.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from inpaint.export.adjoint import SequentialAdjoint, crop, relu_derivative, selector, uncrop
from inpaint.spec import generator_norms
from inpaint.train.models import Generator, JointDiscriminator
from inpaint.train.modulated import MODULATION_SCALE, split_modulation


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


class GeneratorBNGraph(nn.Module):
    """Search z+bn's generator (train.modulated): v (B, z_dim + 2C) -> x (B, 3, R, R), the
    activations and each batch norm's output n_k before its scale and shift, for generator_bn_vjp."""

    def __init__(self, g: Generator):
        super().__init__()
        self.spec = g.spec
        self.net = SequentialAdjoint(g.net, 1)

    def forward(self, v: torch.Tensor):
        z, scales, shifts = split_modulation(v, self.spec)
        norms = []

        def modulate(k, h):
            norms.append(h)
            return h * scales[k] + shifts[k]
        x, saved = self.net(z[:, :, None, None], modulate)
        return (x, *saved[:-1], *norms)


class GeneratorBNVJPGraph(nn.Module):
    """(saved activations..., n_k..., v, x, g_x) -> g_v (B, z_dim + 2C) through search z+bn's
    generator: where the forward made h = n_k * (1 + a_k) + b_k, with a = 0.5 u_a and b = 0.5 u_b,
    g_u_a = 0.5 * sum over H, W of g * n_k, g_u_b = 0.5 * sum over H, W of g, and g goes on as
    g * (1 + a_k). The sums are taken in fp32, also in an fp16 graph."""

    def __init__(self, g: Generator):
        super().__init__()
        self.spec = g.spec
        self.net = SequentialAdjoint(g.net, 1)
        self.n_norms = len(generator_norms(g.spec))

    def forward(self, *args: torch.Tensor):
        *rest, v, x, g_x = args
        saved, norms = rest[:-self.n_norms], rest[-self.n_norms:]
        _, scales, _ = split_modulation(v, self.spec)
        g_a, g_b = [None] * self.n_norms, [None] * self.n_norms

        def unmodulate(k, g):
            g_a[k] = MODULATION_SCALE * (g * norms[k]).float().sum((2, 3))
            g_b[k] = MODULATION_SCALE * g.float().sum((2, 3))
            return g * scales[k]
        g_z = self.net.backward([*saved, x], g_x, unmodulate).flatten(1)
        return torch.cat([g_z.float(), *g_a, *g_b], 1)


class CriticGraph(nn.Module):
    """(x, known, box, target features, weights) -> prior (B,), consistency (B,), g_x.

    prior = log(1 - D(x)) = -softplus(logit); "joint" scores x with the fused D + PD (the patch at
    box), "global" with D's own head (SE). consistency = mean squared difference of the D and PD
    feature maps of known*x and of known*y (given as targets). weights = (lambda, mu): g_x is the
    gradient of lambda * prior + mu * consistency. With consistency=False that term is left out
    of the graph (its output is zeros).

    stacked: x and known * x go through each trunk as one batch of 2B, forward and back (the same
    numbers: every layer is per sample); on the CPU a batch of two runs faster than two of one
    (benchmarks/RESULTS.md). The fp16 graphs keep the two passes (export_graph): ONNX Runtime's
    CPU provider, which measures their error at export, computes more of the stacked form in
    half precision, which hides nothing on a GPU but makes the measured error that of fp16
    throughout.
    """

    def __init__(self, d: JointDiscriminator, prior: str = "joint", consistency: bool = True,
                 stacked: bool = True):
        super().__init__()
        if prior not in ("joint", "global"):
            raise ValueError(f"prior must be 'joint' or 'global', got {prior!r}")
        spec = d.spec
        self.prior, self.consistency, self.stacked = prior, consistency, stacked
        self.size, self.patch = spec.resolution, spec.patch
        self.g_trunk = SequentialAdjoint(d.global_branch.trunk, spec.resolution)
        self.p_trunk = SequentialAdjoint(d.patch_branch.trunk, spec.patch)
        self.g_reduce = SequentialAdjoint(d.global_branch.reduce, 4)
        self.p_reduce = SequentialAdjoint(d.patch_branch.reduce, 4)
        self.head = d.global_branch.head
        self.fc1, self.fc_act, self.fc2 = d.fuse

    def _prior(self, x, rows, cols, lam, trunks=None):
        """logit of x and d(lam * prior)/dx; trunks: the trunks' forward on x, where already run
        ((gf, gs), (pf, ps)): the gradient then comes back as (into the global trunk's output,
        into the patch trunk's output) for the caller to take through the trunks."""
        gf, gs = trunks[0] if trunks else self.g_trunk(x)
        if self.prior == "global":
            logit = self.head(gf).flatten(1)[:, 0]
            g_logit = -torch.sigmoid(logit) * lam                         # (B,)
            g_gf = F.conv_transpose2d(g_logit[:, None, None, None], self.head.weight)
            return logit, self.g_trunk.backward(gs, g_gf)
        pf, ps = trunks[1] if trunks else self.p_trunk(crop(x, rows, cols))
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
        if trunks:
            return logit, (g_gf, g_pf)
        g_x = self.g_trunk.backward(gs, g_gf) + uncrop(self.p_trunk.backward(ps, g_pf), rows, cols)
        return logit, g_x

    def forward(self, x, known, box, target_global, target_patch, weights):
        lam, mu = weights[0], weights[1]
        rows = selector(box[:, 0], self.patch, self.size, x.dtype)
        cols = selector(box[:, 1], self.patch, self.size, x.dtype)
        if not self.consistency or not self.stacked:
            logit, g_x = self._prior(x, rows, cols, lam)
            prior = -F.softplus(logit)
            if not self.consistency:
                return prior, torch.zeros_like(prior), g_x
            consistency, g_xm = self._consistency(known * x, rows, cols, target_global, target_patch, mu)
            return prior, consistency, g_x + known * g_xm
        b = x.shape[0]
        rows2, cols2 = torch.cat([rows, rows]), torch.cat([cols, cols])
        both = torch.cat([x, known * x])
        gf, gs = self.g_trunk(both)
        pf, ps = self.p_trunk(crop(both, rows2, cols2))
        logit, (g_gf, g_pf) = self._prior(x, rows, cols, lam, ((gf[:b], [s[:b] for s in gs]),
                                                                (pf[:b], [s[:b] for s in ps])))
        consistency, g_fm = self._feature_loss(gf[b:], pf[b:], target_global, target_patch, mu)
        g_both = self.g_trunk.backward(gs, torch.cat([g_gf, g_fm[0]])) + \
            uncrop(self.p_trunk.backward(ps, torch.cat([g_pf, g_fm[1]])), rows2, cols2)
        return -F.softplus(logit), consistency, g_both[:b] + known * g_both[b:]

    def _feature_loss(self, gf, pf, target_global, target_patch, mu):
        """consistency (B,) from the trunks' features of known * x, and its gradient into them."""
        dg, dp = gf - target_global, pf - target_patch
        # the sums of squares in fp32 even in an fp16 graph: thousands of terms overflow half precision
        consistency = dg.float().square().flatten(1).mean(1) + dp.float().square().flatten(1).mean(1)
        return consistency, (dg * (2 * mu / dg[0].numel()), dp * (2 * mu / dp[0].numel()))

    def _consistency(self, xm, rows, cols, target_global, target_patch, mu):
        """consistency (B,) and its gradient with respect to xm = known * x, in passes of their own."""
        gf, gs = self.g_trunk(xm)
        pf, ps = self.p_trunk(crop(xm, rows, cols))
        consistency, (g_gf, g_pf) = self._feature_loss(gf, pf, target_global, target_patch, mu)
        return consistency, self.g_trunk.backward(gs, g_gf) + uncrop(self.p_trunk.backward(ps, g_pf), rows, cols)


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
