"""Which engine runs a completion: what `--backend auto` picks, and why.

auto prefers TensorRT (tensorrt and cuda-python installed, a GPU, and plans for it in the bundle),
then ONNX Runtime on CUDA (onnxruntime-gpu), then ONNX Runtime on the CPU. Weights files (not
bundles) run on eager PyTorch, or with --backend gpu on the GPU runtime (the search's state on
the device, CUDA kernels, one iteration replayed as a CUDA graph, PyTorch running the networks).
Nothing here imports torch; inpaint.inpainters builds the engine chosen.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from inpaint.errors import InpaintError

BACKENDS = ("auto", "trt", "ort", "torch", "gpu")


@dataclass(frozen=True)
class Choice:
    backend: str                       # "trt", "ort" or "torch"
    providers: tuple[str, ...] = ()    # ONNX Runtime execution providers, in order of preference
    note: str = ""                     # why auto passed over a faster backend, for the user


def _installed(module: str) -> bool:
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
    if not (_installed("tensorrt") and _installed("cuda")):
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


def choose(backend: str, device: str | None, bundle_root: Path, weights: Path | None) -> Choice:
    """Resolve --backend, --device and the model files into one engine to build.

    device None lets the backend decide (a GPU where one is used). Raises InpaintError when the
    combination cannot work, naming the fix.
    """
    if backend not in BACKENDS:
        raise InpaintError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    cpu_only = device == "cpu"
    if backend == "gpu":
        if device == "cpu":
            raise InpaintError("--backend gpu runs on a GPU; drop --device cpu or use --backend ort")
        for module, fix in (("torch", "pip install 'inpaint[train]' (a CUDA build of PyTorch)"),
                            ("cuda", "pip install 'inpaint[gpu]'")):
            if not _installed(module):
                raise InpaintError(f"--backend gpu needs {module}: {fix}; or use --backend ort")
        return Choice("gpu")
    if weights is not None:
        if backend not in ("auto", "torch"):
            raise InpaintError(f"--weights is for --backend torch; give --bundle DIR for {backend}")
        return Choice("torch")
    if backend == "auto":
        has_ort = _installed("onnxruntime")
        if cpu_only:
            return Choice("ort", ("CPUExecutionProvider",)) if has_ort else Choice("torch")
        reason = trt_ready(bundle_root, device_index(device))
        if not reason:
            return Choice("trt")
        note = f"not using TensorRT: {reason}" if _installed("tensorrt") else ""
        if has_ort and "CUDAExecutionProvider" in ort_providers():
            return Choice("ort", ("CUDAExecutionProvider", "CPUExecutionProvider"), note)
        if device is not None:          # a CUDA device asked for: eager PyTorch can use it
            return Choice("torch", note=note)
        if not has_ort:
            return Choice("torch", note="onnxruntime is not installed; running eager PyTorch")
        return Choice("ort", ("CPUExecutionProvider",), note)
    if backend == "trt":
        if cpu_only:
            raise InpaintError("--backend trt runs on a GPU; drop --device cpu or use --backend ort")
        reason = trt_ready(bundle_root, device_index(device))
        if reason:
            raise InpaintError(reason if "inpaint-export" in reason else
                               f"--backend trt cannot run: {reason}; use --backend ort")
        return Choice("trt")
    if backend == "ort":
        if not _installed("onnxruntime"):
            raise InpaintError("onnxruntime is not installed: pip install onnxruntime")
        providers = ort_providers()
        if device is not None and device.startswith("cuda"):
            if "CUDAExecutionProvider" not in providers:
                raise InpaintError("--device cuda with --backend ort needs onnxruntime-gpu "
                                   "(pip install onnxruntime-gpu); or use --device cpu")
            return Choice("ort", providers)
        return Choice("ort", ("CPUExecutionProvider",))
    return Choice("torch")

