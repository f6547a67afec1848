"""What this machine can run, asked without running it: installed modules, ONNX Runtime's
providers, TensorRT plans for a GPU, the index of a --device.

The table of backends (inpaint.backends) reads these to say which backends can run here and
what `--backend auto` picks. Nothing here imports torch.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

from inpaint.errors import InpaintError


def installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def ort_providers() -> tuple[str, ...]:
    import onnxruntime as ort
    available = ort.get_available_providers()
    return tuple(p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available)


def trt_ready(bundle_root: Path, device: int = 0) -> str:
    """'' when TensorRT can run this bundle on this CUDA device, else the reason it cannot (a
    tensorrt that does not import, for one: its libraries missing raise OSError or ImportError)."""
    if not (installed("tensorrt") and installed("cuda")):
        return "tensorrt or cuda-python is not installed"
    try:
        from inpaint.runtime import cuda
        from inpaint.runtime.bundle import load_bundle
        from inpaint.runtime.engines.trt import import_tensorrt
        from inpaint.runtime.engines.trt_plans import load_plans_meta
        tensorrt = import_tensorrt()
        load_plans_meta(load_bundle(bundle_root, verify=False), cuda.gpu(device)[0], tensorrt.__version__)
    except InpaintError as e:
        return str(e)
    return ""


def device_index(device: str | None) -> int:
    """The CUDA device index of a --device value: 'cuda:1' -> 1; 'cuda', 'cpu' or None -> 0."""
    _, _, index = (device or "").partition(":")
    if not index:
        return 0
    if not index.isdigit():
        raise InpaintError(f"--device {device!r} is not a device; use cpu, cuda or cuda:N")
    return int(index)
