"""An Inpainter on any backend: the engine that `choose` (runtime/backends.py) picks, built.

ONNX Runtime and TensorRT come from the torch-free runtime; eager PyTorch (--backend torch, and
the networks of --backend gpu where TensorRT cannot run) from inpaint.torch_engines, imported only
where it is asked for, so that an install without torch completes on ONNX Runtime.
"""
from __future__ import annotations

from pathlib import Path

from inpaint.errors import InpaintError
from inpaint.runtime.backends import choose, device_index, trt_ready
from inpaint.runtime.complete import Inpainter
from inpaint.runtime.cuda import Stream
from inpaint.spec import InpaintSettings


def torch_inpainter(weights=None, device: str = "cpu", settings: InpaintSettings = InpaintSettings()) -> Inpainter:
    """An Inpainter on the eager PyTorch engine, from a weights file (default: the shipped model)."""
    from inpaint.torch_engines.eager import TorchEngine
    from inpaint.weights import shipped_bundle
    return Inpainter(TorchEngine.from_weights(weights or shipped_bundle(), device), settings=settings)


def inpainter_for(backend: str, bundle=None, weights=None, device: str | None = None,
                  settings=None, on_note=None, threads: int | None = None):
    """The Inpainter for --backend, --bundle, --weights and --device as inpaint-rt takes them:
    the choice (choose()) built, with `settings`; on_note(text) hears why a faster backend was
    passed over; threads: ONNX Runtime's per graph (default: every core). InpaintError names what
    cannot work and the fix."""
    from inpaint.weights import shipped_bundle
    settings = settings or InpaintSettings()
    if bundle is not None and weights is not None:
        raise InpaintError("give either --bundle (trt, ort) or --weights (torch), not both")
    if backend == "torch" and bundle is not None:
        raise InpaintError("--bundle is for --backend trt, ort or gpu; give --weights FILE for torch")
    choice = choose(backend, device, Path(bundle) if bundle else shipped_bundle(), weights)
    if choice.note and on_note is not None:
        on_note(choice.note)
    if choice.backend in ("trt", "ort"):
        return Inpainter.from_bundle(bundle, settings, threads, backend=choice.backend, providers=choice.providers,
                                     device=device_index(device))
    if choice.backend == "gpu":
        import torch
        if not torch.cuda.is_available():
            raise InpaintError("--backend gpu asked for, but torch sees no CUDA GPU; use --backend ort")
        index = device_index(device)
        root = Path(bundle) if bundle else shipped_bundle()
        engine = "trt" if weights is None and not trt_ready(root, index) else "torch"   # TensorRT where it can run
        return gpu_inpainter(weights, settings, index, engine, root)
    try:
        import torch
    except ImportError:
        raise InpaintError("--backend torch needs PyTorch: pip install 'inpaint[train]', "
                           "or use --backend ort") from None
    device = device or "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InpaintError("--device cuda asked for, but torch sees no CUDA GPU; use --device cpu")
    return torch_inpainter(weights, device, settings)


def device_engine(kind: str, stream: Stream, weights=None, bundle=None, device: int = 0):
    """The networks of the GPU runtime on `stream`: "trt", the bundle's TensorRT plans
    (TrtDeviceEngine), or "torch", eager PyTorch on the weights (TorchDeviceEngine)."""
    if kind == "trt":
        from inpaint.runtime.bundle import load_bundle
        from inpaint.runtime.engines.trt_device import TrtDeviceEngine
        from inpaint.weights import shipped_bundle
        return TrtDeviceEngine(load_bundle(bundle or shipped_bundle()), stream, device)
    if kind != "torch":
        raise ValueError(f"unknown device engine {kind!r}; use 'trt' or 'torch'")
    from inpaint.torch_engines.device import TorchDeviceEngine
    from inpaint.weights import shipped_bundle
    return TorchDeviceEngine.from_weights(weights or shipped_bundle(), stream, device)


def gpu_inpainter(weights: str | Path | None = None, settings: InpaintSettings = InpaintSettings(),
                  device: int = 0, engine: str = "torch", bundle: str | Path | None = None):
    """An Inpainter on the GPU runtime: the networks on TensorRT (engine "trt", the bundle's plans)
    or eager PyTorch (engine "torch", a weights file); default: the shipped model."""
    from inpaint.runtime.cuda import set_device
    from inpaint.runtime.gpu import GpuOps, gpu_search
    from inpaint.runtime.ops.cuda_ops import CudaOps
    set_device(device)       # the stream belongs to the device current when it is made
    stream = Stream()
    ops = CudaOps(stream, device_id=device)
    return Inpainter(device_engine(engine, stream, weights, bundle, device), GpuOps(ops), settings,
                     search=gpu_search)
