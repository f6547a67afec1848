"""An Inpainter on any row of the table of backends (inpaint.backends): its ops, its engine, its loop.

ONNX Runtime and TensorRT come from the torch-free runtime; eager PyTorch (--backend torch, and
the networks of --backend gpu) from inpaint.torch_engines, imported only by the rows that run
it, so that an install without torch completes on ONNX Runtime.
"""
from __future__ import annotations

from pathlib import Path

from inpaint.backends import AUTO, Backend, Place, choose, get, loaders, model_path, require
from inpaint.errors import InpaintError
from inpaint.runtime.complete import Inpainter
from inpaint.spec import InpaintSettings
from inpaint.weights import shipped_bundle


def build(row: Backend, model: Path, place: Place = Place(), settings: InpaintSettings = InpaintSettings()
          ) -> Inpainter:
    """An Inpainter on `row`: its ops, its engine on the model files `model` (on the ops' stream
    where the row runs the device search), its search loop; nothing checked first (require())."""
    ops = row.loop.ops(place)
    return Inpainter(row.engine(model, place, ops), ops, settings, search=row.loop.search())


def inpainter_for(backend: str, bundle=None, weights=None, device: str | None = None,
                  settings=None, on_note=None, threads: int | None = None):
    """The Inpainter for --backend, --bundle, --weights and --device as inpaint-rt takes them:
    the row choose() picks, checked and built with `settings`; on_note(text) hears why a faster
    backend was passed over; threads: ONNX Runtime's per graph (default: every core).
    InpaintError names what cannot work and the fix."""
    if bundle is not None and weights is not None:
        raise InpaintError(f"give either --bundle ({loaders('bundle')}) or --weights ({loaders('weights')}), "
                           "not both")
    if bundle is not None and backend != AUTO and get(backend).loads == "weights":
        raise InpaintError(f"--bundle is for --backend {loaders('bundle')}; give --weights FILE for {backend}")
    choice = choose(backend, device, Path(bundle) if bundle else shipped_bundle(), weights)
    if choice.note and on_note is not None:
        on_note(choice.note)
    row = get(choice.backend)
    model = model_path(row, bundle, weights)
    if backend == AUTO:           # a row asked for by name was checked by choose()
        require(row, Place(device), model, asked=AUTO)
    return build(row, model, Place(device, choice.providers, threads), settings or InpaintSettings())


def torch_inpainter(weights=None, device: str = "cpu", settings: InpaintSettings = InpaintSettings()) -> Inpainter:
    """An Inpainter on the eager PyTorch engine, from a weights file (default: the shipped model)."""
    row = get("torch")
    return build(row, model_path(row, weights=weights), Place(device), settings)


def gpu_inpainter(weights: str | Path | None = None, settings: InpaintSettings = InpaintSettings(),
                  device: int = 0, engine: str = "torch", bundle: str | Path | None = None):
    """An Inpainter on the GPU runtime: the networks on eager PyTorch (engine "torch", the row
    gpu, on a weights file or a bundle's) or TensorRT (engine "trt", the row gpu-trt, on the
    bundle's plans); default: the shipped model."""
    if engine not in ("torch", "trt"):
        raise ValueError(f"unknown device engine {engine!r}; use 'torch' or 'trt'")
    row = get("gpu-trt" if engine == "trt" else "gpu")
    return build(row, model_path(row, bundle, weights), Place(f"cuda:{device}"), settings)
