"""The user's yardstick: the same search written the way a PyTorch user would, eager or compiled.

One loss over the whole batch (contextual + lambda * prior + mu * consistency, per-sample sums
added up), one backward through G, D and PD with autograd, torch.optim.Adam on z, then z clipped
to [-1, 1]. It is what inpaint-bench compares every runtime against; a test holds its losses and
steps to the runtime's own on the same problem.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from inpaint.runtime.problem import Problem
from inpaint.spec import InpaintSettings


class EagerSearch:
    """z for every row of `problem`, stepped by `step()`; `compile=True` wraps the loss in torch.compile."""

    def __init__(self, generator, discriminator, problem: Problem, settings: InpaintSettings,
                 z: np.ndarray, device: str = "cpu", compile: bool = False):
        import torch

        from inpaint.train.models import crop_patches
        from inpaint.train.search_objective import contextual_term, critic_terms
        self._torch, self.device = torch, torch.device(device)
        self.g = generator.to(self.device).eval().requires_grad_(False)
        self.d = discriminator.to(self.device).eval().requires_grad_(False)
        patch = discriminator.spec.patch
        t = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(self.device)   # noqa: E731
        y, known, w, box = t(problem.y), t(problem.known), t(problem.weights), t(problem.box)
        top, left = box[:, 0], box[:, 1]
        lam, mu = settings.prior_weight, settings.consistency_weight

        def features(image: torch.Tensor):
            return self.d(image, crop_patches(image, top, left, patch))

        with torch.no_grad():
            s = features(y * known)
        target = s.global_features, s.patch_features

        def losses(z: torch.Tensor) -> torch.Tensor:
            """(B,) total loss per row at z."""
            x = self.g(z)
            prior, consistency = critic_terms(self.d, x, known, features, target, settings.prior, mu)
            return contextual_term(x, y, w, settings.norm) + lam * prior + mu * consistency

        self.losses: Callable = torch.compile(losses) if compile else losses
        self._settings = settings
        self.reset(z)

    def reset(self, z: np.ndarray) -> None:
        """Start again from z with fresh Adam moments (a compiled loss stays compiled)."""
        self.z = self._torch.nn.Parameter(self._torch.from_numpy(z.astype(np.float32)).to(self.device))
        self.optimiser = self._torch.optim.Adam([self.z], lr=self._settings.step_size,
                                                betas=(self._settings.beta1, self._settings.beta2))

    def step(self) -> None:
        """One Adam step on the loss at the current z, then the clip."""
        self.optimiser.zero_grad(set_to_none=True)
        self.losses(self.z).sum().backward()
        self.optimiser.step()
        with self._torch.no_grad():
            self.z.clamp_(-1.0, 1.0)

    def loss(self) -> np.ndarray:
        """(B,) total loss at the current z."""
        with self._torch.no_grad():
            return self.losses(self.z).cpu().numpy()

    def synchronize(self) -> None:
        if self.device.type == "cuda":
            self._torch.cuda.synchronize(self.device)
