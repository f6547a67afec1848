"""Models that ship inside the package, each as a bundle: the ONNX graphs and, from the same
weights file, the torch state_dicts (fp16 G, D and E with their ModelSpec), which
inpaint.train.checkpoint's load, load_models and load_encoder read from the bundle's directory
as from the weights file it was exported from."""
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
