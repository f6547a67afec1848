"""Checkpoints (to resume training) and weights files (to ship a model), both self-describing.

Both are plain dicts of tensors and primitives, so they load with torch.load(weights_only=True).
A bundle directory (inpaint-export) reads as the weights file it was exported from: the shipped
model is one, its weights stored once for the ONNX graphs and for torch.
"""
from __future__ import annotations

import hashlib
import pickle
import zipfile
from pathlib import Path

import torch

from inpaint.atomic import write_atomic
from inpaint.errors import CheckpointError
from inpaint.spec import CHECKPOINT_FORMAT, ModelSpec

CHECKPOINT_KIND = "inpaint-train-checkpoint"
WEIGHTS_KIND = "inpaint-weights"
ENCODER_CHECKPOINT_KIND = "inpaint-encoder-checkpoint"
GL_CHECKPOINT_KIND = "inpaint-gl-checkpoint"


def sha256_path(path: str | Path) -> str:
    """sha256 of a checkpoint file, or of a bundle's manifest (which holds its files' hashes)."""
    path = Path(path)
    return hashlib.sha256((path / "manifest.json" if path.is_dir() else path).read_bytes()).hexdigest()


def save(path: str | Path, payload: dict) -> None:
    """Write a checkpoint or weights dict atomically (temp file + fsync + rename)."""
    write_atomic(path, lambda tmp: torch.save(payload, tmp))


def load(path: str | Path, kind: str | None = None) -> dict:
    """Load and validate a checkpoint, weights file or bundle; CheckpointError says what is wrong."""
    path = Path(path)
    if path.is_dir():
        payload = _from_bundle(path)
    elif not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    else:
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except (RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, EOFError, OSError) as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise CheckpointError(f"{path} is not a readable inpaint checkpoint ({first})") from None
    if not isinstance(payload, dict) or "format" not in payload or "kind" not in payload:
        raise CheckpointError(f"{path} is not an inpaint checkpoint (no format/kind fields)")
    if payload["format"] != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} has checkpoint format {payload['format']}, this inpaint reads "
                              f"format {CHECKPOINT_FORMAT}; use the inpaint version that wrote it")
    if kind is not None and payload["kind"] != kind:
        raise CheckpointError(f"{path} is a {payload['kind']}, expected a {kind}")
    if "spec" in payload:           # GL's checkpoints have none: its network has one fixed layout
        payload["spec"] = ModelSpec.from_dict(payload["spec"])
    return payload


def _from_bundle(path: Path) -> dict:
    """The weights file a bundle was exported from, rebuilt from its manifest and weights file."""
    from inpaint.runtime.bundle import BundleError, load_bundle
    try:
        bundle = load_bundle(path)
        parts = bundle.model_tensors()
    except BundleError as e:
        raise CheckpointError(str(e)) from None
    model = bundle.manifest["model"]
    return {"format": CHECKPOINT_FORMAT, "kind": WEIGHTS_KIND, "spec": bundle.manifest["spec"],
            "step": model["step"], "meta": model["meta"],
            **({"encoder": model["encoder"]} if "encoder" in model else {}),
            **{part: {k: torch.from_numpy(v) for k, v in state.items()} for part, state in parts.items()}}


def to_weights(checkpoint: dict, dtype: torch.dtype = torch.float16, meta: dict | None = None) -> dict:
    """The shippable part of a checkpoint: G and D state_dicts (floats cast to dtype), the spec, and
    the latent encoder E where the checkpoint has one. G is the moving average of the generator
    where the run kept one (G_ema): that is the generator a run trains for."""
    def cast(sd: dict) -> dict:
        return {k: v.to(dtype) if v.is_floating_point() else v for k, v in sd.items()}
    spec = checkpoint["spec"]
    return {"format": CHECKPOINT_FORMAT, "kind": WEIGHTS_KIND,
            "spec": spec.to_dict() if isinstance(spec, ModelSpec) else spec,
            "G": cast(checkpoint.get("G_ema", checkpoint["G"])), "D": cast(checkpoint["D"]),
            "step": checkpoint["step"], "meta": dict(meta or {}),
            **({"E": cast(checkpoint["E"]), "encoder": dict(checkpoint["encoder"])} if "E" in checkpoint else {})}


def load_models(path: str | Path):
    """Rebuild (spec, G, D) in eval mode, fp32, from a checkpoint or a weights file; G is the
    moving average of the generator where a training checkpoint keeps one."""
    from inpaint.train.models import Generator, JointDiscriminator
    payload = load(path)
    spec = payload["spec"]
    g, d = Generator(spec), JointDiscriminator(spec)
    try:
        g.load_state_dict({k: v.float() if v.is_floating_point() else v
                           for k, v in payload.get("G_ema", payload["G"]).items()})
        d.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in payload["D"].items()})
    except (RuntimeError, KeyError) as e:
        raise CheckpointError(f"{path}: weights do not fit the model spec ({str(e).splitlines()[0]})") from None
    return spec, g.eval(), d.eval()


def load_encoder(path: str | Path):
    """The latent encoder of a model file in eval mode, fp32, or None where it has none."""
    from inpaint.train.encoder import Encoder
    payload = load(path)
    if "E" not in payload:
        return None
    e = Encoder(payload["spec"], int(payload["encoder"]["width"]))
    try:
        e.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in payload["E"].items()})
    except (RuntimeError, KeyError) as err:
        raise CheckpointError(f"{path}: encoder weights do not fit the model spec "
                              f"({str(err).splitlines()[0]})") from None
    return e.eval()
