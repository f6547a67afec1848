"""numpy ops: the CPU path and the reference implementation."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inpaint.runtime.blend import poisson_blend


@dataclass
class AdamState:
    """Adam's moments for a batch of latent vectors (mutable: updated in place every step)."""

    m: np.ndarray   # (B, z_dim) first moment
    v: np.ndarray   # (B, z_dim) second moment
    t: int = 0      # steps taken

    @classmethod
    def zeros_like(cls, z: np.ndarray) -> "AdamState":
        return cls(np.zeros_like(z), np.zeros_like(z))


class CpuOps:
    name = "cpu"

    @staticmethod
    def contextual(x: np.ndarray, y: np.ndarray, w: np.ndarray, norm: str):
        """Weighted contextual loss per sample and its gradient with respect to x.

        x, y: (B, C, H, W); w: (B, 1, H, W) importance weights (0 in the hole).
        l1: sum W |x - y|, gradient W sign(x - y); l2: sum W (x - y)^2, gradient 2 W (x - y).
        Returns (loss (B,), grad (B, C, H, W)).
        """
        d = x - y
        if norm == "l1":
            return (w * np.abs(d)).sum(axis=(1, 2, 3)), w * np.sign(d)
        if norm == "l2":
            wd = w * d
            return (wd * d).sum(axis=(1, 2, 3)), 2.0 * wd
        raise ValueError(f"unknown norm {norm!r}; use 'l1' or 'l2'")

    @staticmethod
    def adam(z: np.ndarray, grad: np.ndarray, state: AdamState, lr: float, beta1: float,
             beta2: float, eps: float = 1e-8) -> np.ndarray:
        """One Adam step on z (in place), then clip z to [-1, 1]; returns z."""
        state.t += 1
        state.m *= beta1
        state.m += (1 - beta1) * grad
        state.v *= beta2
        state.v += (1 - beta2) * grad * grad
        m_hat = state.m / (1 - beta1 ** state.t)
        v_hat = state.v / (1 - beta2 ** state.t)
        z -= lr * m_hat / (np.sqrt(v_hat) + eps)
        np.clip(z, -1.0, 1.0, out=z)
        return z

    @staticmethod
    def blend(source: np.ndarray, target: np.ndarray, known: np.ndarray) -> np.ndarray:
        """Poisson blending, (H, W, C) floats and bool known (H, W): see runtime.blend."""
        return poisson_blend(source, target, known)
