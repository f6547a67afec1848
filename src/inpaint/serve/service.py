"""Builds what the service runs: one Inpainter's engine, shared by the batcher's searches."""
from __future__ import annotations

from dataclasses import replace

from inpaint.runtime.complete import Inpainter
from inpaint.serve.batcher import PATIENCE_OFF, Batcher, SearchKey
from inpaint.spec import InpaintSettings


def batcher_for(base: Inpainter, max_batch: int = 16, max_wait_ms: float = 20, max_queue: int = 64) -> Batcher:
    """A Batcher whose searches run on `base`'s engine, ops and search loop, one Inpainter per
    SearchKey (the key's iterations and restarts, else the model's defaults; base's start and
    search; no early stopping)."""
    def make(key: SearchKey) -> Inpainter:
        return base.with_settings(InpaintSettings(iterations=key.iterations, restarts=key.restarts,
                                                  init=base.settings.init, search=base.settings.search,
                                                  patience=PATIENCE_OFF))
    return Batcher(make, max_batch, max_wait_ms, max_queue)


def model_info(base: Inpainter, backend: str) -> dict:
    """What GET /v1/model tells: the model's spec, the backend and the default search."""
    from inpaint import __version__
    spec = base.engine.spec
    defaults = replace(base.settings, patience=PATIENCE_OFF)
    return {"version": __version__, "backend": backend, "engine": base.engine.name,
            "resolution": spec.resolution, "z_dim": spec.z_dim, "has_encoder": base.engine.has_encoder,
            "defaults": {"init": defaults.init, "search": defaults.search, "iterations": defaults.iteration_limit,
                         "restarts": defaults.restart_count, "lr": defaults.step_size, "seed": 0,
                         "framing": "auto"}}
