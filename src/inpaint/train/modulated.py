"""G with a per-image scale and shift of every batch-norm channel: the model of search "z+bn".

The search variable is v = [z, u_a, u_b] (B, z_dim + 2C), every element in [-1, 1] (the search
clips all of it). After G's k-th batch norm, h = BN_k(h) * (1 + a_k) + b_k with a = 0.5 * u_a and
b = 0.5 * u_b, per image and channel: the same Adam step size serves z and the modulation (Adam is
invariant to the gradient's scale; the 0.5 halves the step in a and b) and the clip bounds a and b
to +-0.5. u = 0 gives G(z) exactly. This is the autograd reference the exported graphs
(export.graphs: GeneratorBNGraph, GeneratorBNVJPGraph) are checked against.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from inpaint.spec import ModelSpec, generator_norms, search_size

MODULATION_SCALE = 0.5   # a = 0.5 * u_a, b = 0.5 * u_b


def split_modulation(v: torch.Tensor, spec: ModelSpec) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
    """v (B, z_dim + 2C) -> z (B, z_dim), and per batch norm its scale 1 + a_k and shift b_k,
    each (B, C_k, 1, 1)."""
    if v.shape[1] != search_size(spec, "z+bn"):
        raise ValueError(f"v must have {search_size(spec, 'z+bn')} columns for this model, got {v.shape[1]}")
    channels = generator_norms(spec)
    c = sum(channels)
    u_a, u_b = v[:, spec.z_dim:spec.z_dim + c], v[:, spec.z_dim + c:]
    scales, shifts, start = [], [], 0
    for ck in channels:
        scales.append(1 + MODULATION_SCALE * u_a[:, start:start + ck, None, None])
        shifts.append(MODULATION_SCALE * u_b[:, start:start + ck, None, None])
        start += ck
    return v[:, :spec.z_dim], scales, shifts


def modulated_generator_forward(g: nn.Module, v: torch.Tensor) -> torch.Tensor:
    """G(z) with every batch norm's output scaled and shifted per image: v (B, z_dim + 2C) ->
    image (B, 3, R, R). g is a train.models.Generator."""
    z, scales, shifts = split_modulation(v, g.spec)
    h, k = z[:, :, None, None], 0
    for layer in g.net:
        h = layer(h)
        if isinstance(layer, nn.BatchNorm2d):
            h = h * scales[k] + shifts[k]
            k += 1
    return h


class ModulatedGenerator(nn.Module):
    """modulated_generator_forward as a module around a Generator (its layers shared)."""

    def __init__(self, g: nn.Module):
        super().__init__()
        self.g = g

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return modulated_generator_forward(self.g, v)
