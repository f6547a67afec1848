"""Engines run the networks: the generator, its vector-Jacobian product and the critic.

The engines of the host loop (runtime/optimise.py, written once against this interface) take
and return numpy arrays. The device search (runtime/device_search.py) uses the same calls on
DeviceArrays, with engines that keep everything on the GPU (engines/trt_device.py, and
inpaint.torch_engines.device on the torch side).
"""
from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from inpaint.errors import InpaintError
from inpaint.spec import ModelSpec


class Engine(Protocol):
    name: str
    spec: ModelSpec
    has_encoder: bool           # whether encode() is there (the model has a latent encoder)

    def encode(self, masked_y: np.ndarray, known: np.ndarray) -> np.ndarray:
        """The latent encoder: known * y (B, 3, R, R) and known (B, 1, R, R) -> z (B, z_dim) in [-1, 1]."""

    has_gl: bool                # whether complete_gl() is there (the bundle has GL's network)

    def complete_gl(self, image: np.ndarray, known: np.ndarray) -> np.ndarray:
        """GL's one-pass completion: image (B, 3, R, R), known (B, 1, R, R) -> (B, 3, R, R)."""

    def check_search(self, search: str) -> None:
        """InpaintError, naming the fix, where this engine cannot run `search` (of spec.SEARCHES;
        "z" runs everywhere). An engine without this method searches z alone."""

    def generator(self, z: np.ndarray) -> np.ndarray:
        """The search variable -> x (B, 3, R, R); remembers what generator_vjp needs. Its width says
        the search: z (B, z_dim), or v = [z, u] (B, z_dim + modulation_size(spec)) of search z+bn,
        G with a per-image scale and shift of every batch-norm channel (inpaint.train.modulated)."""

    def generator_vjp(self, g_x: np.ndarray) -> np.ndarray:
        """g_x (B, 3, R, R) -> the gradient with respect to the last generator() call's input, of
        its shape: g_z (B, z_dim), or g_v for search z+bn."""

    def target_features(self, masked_y: np.ndarray, box: np.ndarray) -> Any:
        """Discriminator features of M*y (and of its patch at box), for the consistency loss."""

    def critic(self, x: np.ndarray, known: np.ndarray, box: np.ndarray, target: Any,
               prior: str, prior_weight: float, consistency_weight: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-sample prior loss log(1 - D(x)) (B,), consistency loss (B,) and the gradient of
        prior_weight * prior + consistency_weight * consistency with respect to x (B, 3, R, R).
        prior: "joint" scores x with the fused D + PD; "global" with D's own head alone."""


def searched(engine, settings):
    """settings with search "auto" made explicit for `engine`: AUTO_SEARCH where the engine runs
    it, else z. Other searches are checked (check_search) and kept."""
    import dataclasses

    from inpaint.spec import AUTO_SEARCH
    if settings.search != "auto":
        check_search(engine, settings.search)
        return settings
    try:
        check_search(engine, AUTO_SEARCH)
        search = AUTO_SEARCH
    except InpaintError:
        search = "z"
    return dataclasses.replace(settings, search=search)


def check_search(engine, search: str) -> None:
    """InpaintError, naming the fix, where `engine` (an Engine, or the device search's engine)
    cannot run `search`: its own check_search says, and an engine without one runs search z alone."""
    if search == "z":
        return
    if not hasattr(engine, "check_search"):
        raise InpaintError(f"the {engine.name} backend searches z alone; for search {search} use "
                           "--backend ort, trt, torch, gpu or gpu-trt")
    engine.check_search(search)
