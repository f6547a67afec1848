"""Eager PyTorch engine: autograd through G and D. The reference the exported graphs must match."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from inpaint.spec import ModelSpec, search_of_size, search_size
from inpaint.train.modulated import modulated_generator_forward
from inpaint.train.search_objective import critic_terms


class TorchEngine:
    name = "torch"

    def __init__(self, spec: ModelSpec, generator, discriminator, device: str = "cpu", encoder=None, gl=None):
        import torch
        self._torch = torch
        self.spec = spec
        self.device = torch.device(device)
        self.g = generator.to(self.device).eval().requires_grad_(False)
        self.d = discriminator.to(self.device).eval().requires_grad_(False)
        self.e = None if encoder is None else encoder.to(self.device).eval().requires_grad_(False)
        self.gl = None if gl is None else gl.to(self.device).eval().requires_grad_(False)
        self._z = self._x = None

    @property
    def has_gl(self) -> bool:
        return self.gl is not None

    def complete_gl(self, image: np.ndarray, known: np.ndarray) -> np.ndarray:
        if self.gl is None:
            from inpaint.errors import CheckpointError
            raise CheckpointError("this model has no GL completion network; export one with inpaint-export --gl")
        with self._torch.no_grad():
            return self.gl(self._t(image), self._t(known)).cpu().numpy()

    @property
    def has_encoder(self) -> bool:
        return self.e is not None

    @classmethod
    def from_weights(cls, path: str | Path, device: str = "cpu") -> "TorchEngine":
        from inpaint.train.checkpoint import load_encoder, load_models
        spec, g, d = load_models(path)
        return cls(spec, g, d, device, load_encoder(path), _bundle_gl(path))

    def _t(self, a: np.ndarray):
        return self._torch.from_numpy(np.ascontiguousarray(a)).to(self.device)

    def encode(self, masked_y: np.ndarray, known: np.ndarray) -> np.ndarray:
        if self.e is None:
            from inpaint.errors import CheckpointError
            raise CheckpointError("this model has no latent encoder; use one trained with "
                                  "inpaint-train --encoder, or start from random z")
        with self._torch.no_grad():
            return self.e(self._t(masked_y), self._t(known)).cpu().numpy()

    def check_search(self, search: str) -> None:
        """Every search runs here (search_size refuses an unknown one)."""
        search_size(self.spec, search)

    def generator(self, z: np.ndarray) -> np.ndarray:
        """z (B, z_dim), or v (B, z_dim + 2C) of search z+bn (train.modulated) -> x (B, 3, R, R)."""
        modulated = search_of_size(self.spec, z.shape[1]) == "z+bn"
        self._z = self._t(z).requires_grad_(True)
        with self._torch.enable_grad():
            self._x = modulated_generator_forward(self.g, self._z) if modulated else self.g(self._z)
        return self._x.detach().cpu().numpy()

    def generator_vjp(self, g_x: np.ndarray) -> np.ndarray:
        (g_z,) = self._torch.autograd.grad(self._x, self._z, self._t(g_x))
        return g_z.cpu().numpy()

    def _features(self, image, box):
        from inpaint.train.models import crop_patches
        patch = crop_patches(image, box[:, 0], box[:, 1], self.spec.patch)
        return self.d(image, patch)

    def target_features(self, masked_y: np.ndarray, box: np.ndarray):
        with self._torch.no_grad():
            s = self._features(self._t(masked_y), self._t(box))
        return s.global_features, s.patch_features

    def critic(self, x, known, box, target, prior, prior_weight, consistency_weight):
        xt, m, bt = self._t(x).requires_grad_(True), self._t(known), self._t(box)
        with self._torch.enable_grad():
            prior_loss, consistency = critic_terms(self.d, xt, m, lambda image: self._features(image, bt),
                                                   target, prior, consistency_weight)
            total = (prior_weight * prior_loss + consistency_weight * consistency).sum()
            (g_x,) = self._torch.autograd.grad(total, xt)
        return (prior_loss.detach().cpu().numpy(), consistency.detach().cpu().numpy(),
                g_x.cpu().numpy())

def _bundle_gl(path: str | Path):
    """GL's completion network where `path` is a bundle that has one (built from its graph's own
    weights: export.gl_graph), else None."""
    path = Path(path)
    if not (path / "manifest.json").is_file():
        return None
    from inpaint.runtime.bundle import load_bundle
    bundle = load_bundle(path)
    if "gl" not in bundle.manifest["graphs"]:
        return None
    from inpaint.export.gl_graph import load_gl_module
    return load_gl_module(bundle.graph_path("gl"))
