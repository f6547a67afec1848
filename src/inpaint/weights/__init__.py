"""Models that ship inside the package, each as a bundle: the ONNX graphs and, from the same
weights file, the torch state_dicts (fp16 G, D and E with their ModelSpec)."""
from __future__ import annotations

from pathlib import Path

from inpaint.errors import CheckpointError

DEFAULT_MODEL = "celeba64"
HERE = Path(__file__).resolve().parent


def shipped_bundle(name: str = DEFAULT_MODEL) -> Path:
    """Directory of a shipped bundle (the exported graphs of a shipped model)."""
    path = HERE / name
    if not (path / "manifest.json").is_file():
        known = sorted(p.name for p in HERE.iterdir() if (p / "manifest.json").is_file())
        raise CheckpointError(f"no shipped bundle named {name!r}; available: {', '.join(known) or 'none'}")
    return path


def shipped_path(name: str = DEFAULT_MODEL) -> Path:
    """The shipped model as a weights source for torch: its bundle, which inpaint.train.checkpoint's
    load, load_models and load_encoder (and so TorchEngine.from_weights, --weights) read like the
    weights file it was exported from."""
    return shipped_bundle(name)


def load_shipped(name: str = DEFAULT_MODEL):
    """(spec, G, D) of a shipped model as eval-mode fp32 torch modules (needs inpaint[train])."""
    from inpaint.train.checkpoint import load_models
    return load_models(shipped_path(name))
