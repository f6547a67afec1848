"""Backward passes written with forward ops only, so that torch.onnx.export can export them.

torch.onnx.export cannot export torch.autograd.grad, so every gradient the runtime needs is spelled
out layer by layer: the adjoint of ConvTranspose2d is Conv2d with the same weight, the adjoint of a
strided Conv2d is ConvTranspose2d (with the output_padding that restores the input size), batch
norm in eval mode is a per-channel scale, (Leaky)ReLU and tanh use their saved outputs.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

NONLINEAR = (nn.ReLU, nn.LeakyReLU, nn.Tanh)


class SequentialAdjoint(nn.Module):
    """Forward that saves what the backward needs, and the backward (a VJP) of an nn.Sequential.

    Supported layers: Conv2d, ConvTranspose2d (no groups/dilation), BatchNorm2d in eval mode,
    ReLU, LeakyReLU, Tanh. `in_size` is the spatial side of the input, so that each strided
    convolution's adjoint can restore its input size exactly.
    """

    def __init__(self, seq: nn.Sequential, in_size: int):
        super().__init__()
        self.layers = nn.ModuleList(seq)
        self.sizes = []            # spatial side of each layer's input
        size = in_size
        for layer in self.layers:
            self.sizes.append(size)
            if isinstance(layer, nn.Conv2d):
                size = (size + 2 * layer.padding[0] - layer.kernel_size[0]) // layer.stride[0] + 1
            elif isinstance(layer, nn.ConvTranspose2d):
                size = (size - 1) * layer.stride[0] - 2 * layer.padding[0] + layer.kernel_size[0]
            elif not isinstance(layer, (nn.BatchNorm2d, *NONLINEAR)):
                raise TypeError(f"no adjoint for {type(layer).__name__}")

    def forward(self, x: torch.Tensor, after_norm: Callable | None = None
                ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Output and the outputs of the nonlinear layers (their derivatives need only those).

        after_norm(k, h) -> h, where given, changes the output h of the k-th batch norm before
        the next layer sees it (search z+bn's modulation)."""
        saved, k = [], 0
        for layer in self.layers:
            x = layer(x)
            if isinstance(layer, nn.BatchNorm2d) and after_norm is not None:
                x = after_norm(k, x)
                k += 1
            if isinstance(layer, NONLINEAR):
                saved.append(x)
        return x, saved

    def backward(self, saved: list[torch.Tensor], g: torch.Tensor, after_norm: Callable | None = None
                 ) -> torch.Tensor:
        """g = dL/d(output) -> dL/d(input), through the forward that produced `saved`.

        after_norm(k, g) -> g, where given, is the adjoint of the forward's after_norm: g, the
        gradient with respect to its output, to the gradient with respect to the k-th batch
        norm's output."""
        k = len(saved)
        norm = sum(isinstance(layer, nn.BatchNorm2d) for layer in self.layers)
        for layer, size in zip(reversed(self.layers), reversed(self.sizes)):
            if isinstance(layer, nn.BatchNorm2d) and after_norm is not None:
                norm -= 1
                g = after_norm(norm, g)
            if isinstance(layer, NONLINEAR):
                k -= 1
                y = saved[k]
                if isinstance(layer, nn.Tanh):
                    g = g * (1 - y * y)
                else:
                    g = g * relu_derivative(y, layer.negative_slope if isinstance(layer, nn.LeakyReLU) else 0.0)
            elif isinstance(layer, nn.BatchNorm2d):
                scale = layer.weight / torch.sqrt(layer.running_var + layer.eps)
                g = g * scale[None, :, None, None]
            elif isinstance(layer, nn.ConvTranspose2d):
                g = F.conv2d(g, layer.weight, stride=layer.stride, padding=layer.padding)
            else:  # Conv2d: transposed convolution, padded out to the input's size
                s, p, kk = layer.stride[0], layer.padding[0], layer.kernel_size[0]
                extra = size - ((g.shape[-1] - 1) * s - 2 * p + kk)
                g = F.conv_transpose2d(g, layer.weight, stride=layer.stride, padding=layer.padding,
                                       output_padding=extra)
        return g


def relu_derivative(y: torch.Tensor, slope: float) -> torch.Tensor:
    """(Leaky)ReLU's derivative from its output: 1 where y > 0, else slope (as torch's autograd).

    Written as a select between two scalars and a product: ONNX Runtime's CPU Where between two
    tensors runs about 9x slower than Where between scalars followed by Mul (benchmarks/RESULTS.md).
    """
    one, low = torch.ones((), dtype=y.dtype), torch.full((), slope, dtype=y.dtype)
    return torch.where(y > 0, one, low)


def selector(start: torch.Tensor, length: int, size: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """One-hot rows (B, length, size): row i picks index start_b + i. Crops are S_r @ x @ S_c^T."""
    idx = start[:, None, None] + torch.arange(length, device=start.device)[None, :, None]
    return (idx == torch.arange(size, device=start.device)[None, None, :]).to(dtype)


def crop(x: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """x (B, C, H, W), selectors (B, P, H), (B, P, W) -> (B, C, P, P)."""
    return rows[:, None] @ x @ cols[:, None].transpose(-1, -2)


def uncrop(g: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """Adjoint of crop: scatter (B, C, P, P) back into zeros of (B, C, H, W)."""
    return rows[:, None].transpose(-1, -2) @ g @ cols[:, None]
