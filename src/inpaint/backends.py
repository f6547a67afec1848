"""The table of backends: every way a search can run, one row each, read by every command.

A row names a backend and says what it needs (modules, a GPU), what it loads (a bundle, a
weights file, or either: a bundle holds the weights too), how to build its engine, and its
loop: the host loop (runtime.optimise over host arrays, numpy ops) or the device search
(runtime.gpu: the state on the GPU, CUDA kernels, one iteration replayed as a CUDA graph).
inpaint-rt complete and serve offer the rows as --backend (Ray's actors build theirs the same
way), inpaint-eval as --backend, inpaint-bench as --backends beside its yardsticks; `auto`
picks one (choose). inpaint.inpainters builds an Inpainter on a row.

The factories import what they build when called, torch only for the rows on PyTorch, so an
install without torch reads the table and runs the rows on ONNX Runtime.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from inpaint.errors import InpaintError
from inpaint.runtime import probes

AUTO = "auto"             # not a row: choose() picks one
FALLBACK = "ort"          # what a refusal suggests instead: it runs on every CPU
CPU = ("CPUExecutionProvider",)
CUDA_CPU = ("CUDAExecutionProvider", "CPUExecutionProvider")
FIX = {"onnxruntime": "pip install onnxruntime", "torch": "pip install 'inpaint[train]'",
       "cuda": "pip install 'inpaint[gpu]'", "tensorrt": "pip install 'inpaint[trt]'"}


@dataclass(frozen=True)
class Place:
    """Where a backend runs: --device (None: the backend decides), ONNX Runtime's providers in
    order (empty: as the device says), CPU threads (None: every core)."""
    device: str | None = None
    providers: tuple[str, ...] = ()
    threads: int | None = None

    @property
    def index(self) -> int:
        return probes.device_index(self.device)

    @property
    def cuda(self) -> bool:
        return (self.device or "").startswith("cuda")


@dataclass(frozen=True)
class Loop:
    """A search and the ops it drives."""
    name: str
    ops: Callable          # (place) -> the ops object
    search: Callable       # () -> the search function, with runtime.optimise's signature


@dataclass(frozen=True)
class Backend:
    name: str
    about: str             # one line for --help
    loop: Loop
    loads: str             # "bundle", "weights" or "either"
    engine: Callable       # (model: Path, place: Place, ops) -> Engine (device engines run on ops.stream)
    modules: tuple[str, ...] = ()
    gpu: bool = False      # runs on a CUDA GPU only
    check: Callable | None = None  # (place, model) -> '' or why it cannot run here, past modules and GPU

    def __post_init__(self):
        if self.loads not in ("bundle", "weights", "either"):
            raise ValueError(f"backend {self.name}: loads is 'bundle', 'weights' or 'either', not {self.loads!r}")


def _host_ops(place: Place):
    from inpaint.runtime.ops import CpuOps
    return CpuOps()


def _host_search():
    from inpaint.runtime.optimise import optimise
    return optimise


def _device_ops(place: Place):
    from inpaint.runtime.cuda import Stream, set_device
    from inpaint.runtime.gpu import GpuOps
    from inpaint.runtime.ops.cuda_ops import CudaOps
    set_device(place.index)      # the stream belongs to the device current when it is made
    return GpuOps(CudaOps(Stream(), device_id=place.index))


def _device_search():
    from inpaint.runtime.gpu import gpu_search
    return gpu_search


HOST = Loop("host", _host_ops, _host_search)
DEVICE = Loop("device", _device_ops, _device_search)


def _trt_engine(model: Path, place: Place, ops):
    from inpaint.runtime.bundle import load_bundle
    from inpaint.runtime.engines.trt import TrtEngine
    return TrtEngine(load_bundle(model), place.index)


def _ort_engine(model: Path, place: Place, ops):
    from inpaint.runtime.bundle import load_bundle
    from inpaint.runtime.engines.ort import OrtEngine
    providers = place.providers or (probes.ort_providers() if place.cuda else CPU)
    return OrtEngine(load_bundle(model), place.threads, list(providers), device_id=place.index)


def _torch_engine(model: Path, place: Place, ops):
    from inpaint.torch_engines.eager import TorchEngine
    return TorchEngine.from_weights(model, place.device or "cpu")


def _torch_device_engine(model: Path, place: Place, ops):
    from inpaint.torch_engines.device import TorchDeviceEngine
    return TorchDeviceEngine.from_weights(model, ops.stream, place.index)


def _trt_device_engine(model: Path, place: Place, ops):
    from inpaint.runtime.bundle import load_bundle
    from inpaint.runtime.engines.trt_device import TrtDeviceEngine
    return TrtDeviceEngine(load_bundle(model), ops.stream, place.index)


def _trt_plans(place: Place, model: Path) -> str:
    return probes.trt_ready(model, place.index)


def _ort_on(place: Place, model: Path) -> str:
    if place.cuda and "CUDAExecutionProvider" not in probes.ort_providers():
        return "--device cuda needs onnxruntime-gpu (pip install onnxruntime-gpu); or use --device cpu"
    return ""


def _torch_on(place: Place, model: Path) -> str:
    if place.cuda and not torch_sees_gpu():
        return f"torch sees no CUDA GPU for --device {place.device}; use --device cpu"
    return ""


def torch_sees_gpu() -> bool:
    import torch
    return torch.cuda.is_available()


def kernels_build() -> str:
    """'' where the GPU runtime's CUDA kernels can be built (cuda.core and NVRTC), else why not."""
    from inpaint.kernels.build import cuda_core
    try:
        cuda_core()
    except InpaintError as e:
        return str(e)
    return ""


def _device_on_torch(place: Place, model: Path) -> str:
    return ("" if torch_sees_gpu() else "torch sees no CUDA GPU for its networks") or kernels_build()


def _device_on_trt(place: Place, model: Path) -> str:
    return kernels_build() or _trt_plans(place, model)


BACKENDS: tuple[Backend, ...] = (
    Backend("trt", "the host loop on the bundle's TensorRT plans for this GPU", HOST, "bundle", _trt_engine,
            ("tensorrt", "cuda"), gpu=True, check=_trt_plans),
    Backend("ort", "the host loop on ONNX Runtime (the exported graphs; CUDA with onnxruntime-gpu)", HOST,
            "bundle", _ort_engine, ("onnxruntime",), check=_ort_on),
    Backend("torch", "the host loop on eager PyTorch (the reference)", HOST, "weights", _torch_engine,
            ("torch",), check=_torch_on),
    Backend("gpu", "the GPU runtime (the search's state on the device, CUDA kernels, the iteration as "
            "a CUDA graph) with the networks on eager PyTorch", DEVICE, "either", _torch_device_engine,
            ("torch", "cuda"), gpu=True, check=_device_on_torch),
    Backend("gpu-trt", "the GPU runtime with the networks on the bundle's TensorRT plans", DEVICE, "bundle",
            _trt_device_engine, ("tensorrt", "cuda"), gpu=True, check=_device_on_trt),
)


@dataclass(frozen=True)
class Choice:
    backend: str                       # a row's name
    providers: tuple[str, ...] = ()    # ONNX Runtime execution providers, in order of preference
    note: str = ""                     # why auto passed over a faster backend, for the user


def names() -> tuple[str, ...]:
    return tuple(row.name for row in BACKENDS)


def get(name: str) -> Backend:
    for row in BACKENDS:
        if row.name == name:
            return row
    raise InpaintError(f"unknown backend {name!r}; choose from {', '.join((AUTO, *names()))}")


def loaders(kind: str) -> str:
    """The rows that load a `kind` ("bundle" or "weights"), for messages: 'trt, ort or gpu'."""
    rows = [row.name for row in BACKENDS if row.loads in (kind, "either")]
    return ", ".join(rows[:-1]) + f" or {rows[-1]}" if len(rows) > 1 else "".join(rows)


def model_path(row: Backend, bundle=None, weights=None) -> Path:
    """The model files `row` loads: the bundle for a row that runs a bundle's graphs, else the
    weights (a bundle holds them too), the shipped model where none is given."""
    given = bundle if row.loads == "bundle" else (weights or bundle)
    if given:
        return Path(given)
    from inpaint.weights import shipped_bundle
    return shipped_bundle()


def unavailable(row: Backend, place: Place, model: Path) -> str:
    """'' when `row` can run here on `model`, else why not and what to install or change."""
    if row.gpu and place.device == "cpu":
        return "runs on a GPU, not with --device cpu"
    for module in row.modules:
        if not probes.installed(module):
            return f"needs {module}: {FIX.get(module, f'pip install {module}')}"
    return row.check(place, model) if row.check is not None else ""


def require(row: Backend, place: Place, model: Path, asked: str | None = None) -> None:
    """InpaintError naming why `row` cannot run here and the fix; `asked`: the --backend given, where
    it was not the row's own name (auto)."""
    reason = unavailable(row, place, model)
    if reason:
        named = row.name if asked is None else f"{asked} ({row.name})"
        hint = "" if row.name == FALLBACK or "--backend" in reason else f"; or use --backend {FALLBACK}"
        raise InpaintError(f"--backend {named}: {reason}{hint}")


def choose(name: str, device: str | None, bundle_root: Path, weights: Path | None = None) -> Choice:
    """Resolve --backend, --device and the model files into one row to build.

    device None lets the backend decide (a GPU where one is used). auto's pick is not checked
    further (require() does that); a row asked for by name is, raising InpaintError with the fix.
    """
    if name == AUTO:
        return _auto(device, bundle_root, weights)
    row = get(name)
    if weights is not None and row.loads == "bundle":
        raise InpaintError(f"--weights is for --backend {loaders('weights')}; give --bundle DIR for {name}")
    require(row, Place(device), weights if weights is not None else bundle_root)
    return Choice(name)


def _auto(device: str | None, bundle_root: Path, weights: Path | None) -> Choice:
    """TensorRT, else ONNX Runtime on CUDA, else ONNX Runtime on the CPU; eager PyTorch for
    --weights, on a CUDA device ONNX Runtime cannot use, or without onnxruntime."""
    if weights is not None:
        return Choice("torch")
    has_ort = probes.installed("onnxruntime")
    if device == "cpu":
        return Choice("ort", CPU) if has_ort else Choice("torch")
    reason = unavailable(get("trt"), Place(device), bundle_root)
    if not reason:
        return Choice("trt")
    note = f"not using TensorRT: {reason}" if probes.installed("tensorrt") else ""
    if has_ort and "CUDAExecutionProvider" in probes.ort_providers():
        return Choice("ort", CUDA_CPU, note)
    if device is not None:          # a CUDA device asked for: eager PyTorch can use it
        return Choice("torch", note=note)
    if not has_ort:
        return Choice("torch", note="onnxruntime is not installed; running eager PyTorch")
    return Choice("ort", CPU, note)
