"""Models that ship inside the package."""
from __future__ import annotations

from pathlib import Path

from inpaint.errors import CheckpointError

DEFAULT_MODEL = "celeba64"
HERE = Path(__file__).resolve().parent


def shipped_path(name: str = DEFAULT_MODEL) -> Path:
    """Path of a shipped weights file (fp16 G and D state_dicts with their ModelSpec)."""
    path = HERE / f"{name}.pt"
    if not path.is_file():
        known = sorted(p.stem for p in HERE.glob("*.pt"))
        raise CheckpointError(f"no shipped model named {name!r}; available: {', '.join(known) or 'none'}")
    return path


def shipped_bundle(name: str = DEFAULT_MODEL) -> Path:
    """Directory of a shipped bundle (the exported graphs of a shipped model)."""
    path = HERE / name
    if not (path / "manifest.json").is_file():
        known = sorted(p.name for p in HERE.iterdir() if (p / "manifest.json").is_file())
        raise CheckpointError(f"no shipped bundle named {name!r}; available: {', '.join(known) or 'none'}")
    return path


def load_shipped(name: str = DEFAULT_MODEL):
    """(spec, G, D) of a shipped model as eval-mode fp32 torch modules (needs inpaint[train])."""
    from inpaint.train.checkpoint import load_models
    return load_models(shipped_path(name))
