"""One runner per benchmarked backend: the same problem, timed per iteration and for a whole search.

A runner answers two questions for a batch of problems:
- `iteration_seconds(problem, iterations, warmup)`: the time of each of `iterations` optimisation
  steps, after `warmup` untimed ones (compilation, sessions, allocations);
- `search_seconds(problem, iterations)`: the wall time of a whole search of that many steps from
  a fresh z, targets included, warm.
ort runs `runtime.optimise` and is timed from its per-step callback; eager and compile run the
yardstick; gpu and trt run the device search (runtime.device_search: state on the GPU, one
iteration replayed as a CUDA graph), with the networks on eager PyTorch or on TensorRT. GPU steps
are timed with CUDA events.
"""
from __future__ import annotations

import importlib.util
import shutil
import time
from pathlib import Path

import numpy as np

from inpaint.errors import InpaintError
from inpaint.runtime.optimise import initial_z
from inpaint.runtime.problem import Problem
from inpaint.spec import InpaintSettings

BACKENDS = ("eager", "compile", "ort", "trt", "gpu")


def unavailable(backend: str, device: str, bundle_root: Path) -> str:
    """'' when `backend` can run here, else why not (for the user)."""
    if backend not in BACKENDS:
        return f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}"
    if backend in ("eager", "compile") and importlib.util.find_spec("torch") is None:
        return f"{backend} needs PyTorch: pip install 'inpaint[train]'"
    if backend == "compile" and device == "cpu" and not (shutil.which("g++") or shutil.which("c++")):
        return "compile on the CPU needs a C++ compiler (torch.compile's inductor builds C++)"
    if backend == "trt":
        from inpaint.runtime.backends import trt_ready
        reason = trt_ready(bundle_root)
        if reason:
            return reason
    if backend in ("gpu", "trt"):
        if not device.startswith("cuda"):
            return "the GPU runtime needs --device cuda"
        if backend == "gpu" and importlib.util.find_spec("torch") is None:
            return "the gpu backend runs its networks with PyTorch: pip install 'inpaint[train]'"
        from inpaint.kernels.build import cuda_core
        try:
            cuda_core()
        except InpaintError as e:
            return str(e)
    if device.startswith("cuda") and backend in ("eager", "compile", "gpu"):
        import torch
        if not torch.cuda.is_available():
            return f"--device {device} asked for, but torch sees no CUDA GPU"
    return ""


def _settings(iterations: int) -> InpaintSettings:
    """The default method, run for exactly `iterations` steps (no early stop)."""
    return InpaintSettings(iterations=iterations, restarts=1, patience=10 ** 9)


class EagerRunner:
    """The yardstick: autograd + torch.optim.Adam on the same loss, eager or under torch.compile."""

    def __init__(self, weights: Path, device: str, compile: bool):
        from inpaint.train.checkpoint import load_models
        self.name = "compile" if compile else "eager"
        self.spec, self.g, self.d = load_models(weights)
        self.device, self.compile = device, compile
        self._searches: dict = {}        # batch -> EagerSearch (a compiled loss is kept warm)

    def _search(self, problem: Problem):
        from inpaint.bench.yardstick import EagerSearch
        if problem.batch not in self._searches:
            z = initial_z(problem.batch, self.spec.z_dim, 0)
            self._searches[problem.batch] = EagerSearch(self.g, self.d, problem, _settings(1), z,
                                                        self.device, self.compile)
        return self._searches[problem.batch]

    def iteration_seconds(self, problem: Problem, iterations: int, warmup: int) -> np.ndarray:
        search = self._search(problem)
        for _ in range(warmup):
            search.step()
        search.synchronize()
        if search.device.type == "cuda":
            import torch
            events = [torch.cuda.Event(enable_timing=True) for _ in range(iterations + 1)]
            events[0].record()
            for e in events[1:]:
                search.step()
                e.record()
            search.synchronize()
            return np.array([a.elapsed_time(b) for a, b in zip(events, events[1:])]) / 1e3
        stamps = [time.perf_counter()]
        for _ in range(iterations):
            search.step()
            stamps.append(time.perf_counter())
        return np.diff(stamps)

    def search_seconds(self, problem: Problem, iterations: int) -> float:
        search = self._search(problem)
        search.reset(initial_z(problem.batch, self.spec.z_dim, 1))
        search.synchronize()
        t0 = time.perf_counter()
        for _ in range(iterations):
            search.step()
        search.synchronize()
        return time.perf_counter() - t0


class GraphRunner:
    """The runtime's own search (runtime.optimise) on one of its engines."""

    def __init__(self, name: str, engine):
        from inpaint.runtime.ops import CpuOps
        self.name, self.engine, self.ops = name, engine, CpuOps()

    def _run(self, problem: Problem, iterations: int, on_step=None):
        from inpaint.runtime.optimise import optimise
        return optimise(self.engine, self.ops, problem, _settings(iterations), on_step=on_step)

    def iteration_seconds(self, problem: Problem, iterations: int, warmup: int) -> np.ndarray:
        if warmup:
            self._run(problem, warmup)
        stamps: list[float] = []
        self._run(problem, iterations + 1, on_step=lambda it, loss: stamps.append(time.perf_counter()))
        return np.diff(stamps)           # step k's time runs from callback k to callback k + 1

    def search_seconds(self, problem: Problem, iterations: int) -> float:
        t0 = time.perf_counter()
        self._run(problem, iterations)
        return time.perf_counter() - t0


class DeviceRunner:
    """The GPU runtime: the device search (CudaOps kernels, one iteration replayed as a CUDA
    graph) with its networks on eager PyTorch ("gpu") or on the bundle's TensorRT plans ("trt")."""

    def __init__(self, name: str, weights: Path, bundle_root: Path):
        from inpaint.inpainters import device_engine
        from inpaint.runtime.cuda import Stream, set_device
        from inpaint.runtime.ops.cuda_ops import CudaOps
        self.name = name
        set_device(0)            # the stream belongs to the device current when it is made
        self.stream = Stream()
        self.ops = CudaOps(self.stream)
        self.engine = device_engine("trt" if name == "trt" else "torch", self.stream, weights, bundle_root)

    def iteration_seconds(self, problem: Problem, iterations: int, warmup: int) -> np.ndarray:
        from inpaint.runtime.device_search import DeviceSearch
        search = DeviceSearch(self.engine, self.ops, problem, _settings(warmup + iterations + 1))
        try:
            search.run(check_every=10 ** 9, time_iterations=True)
        finally:
            search.free()
        return np.asarray(search.iteration_ms[-iterations:]) / 1e3

    def search_seconds(self, problem: Problem, iterations: int) -> float:
        from inpaint.runtime.device_search import device_search
        t0 = time.perf_counter()
        device_search(self.engine, self.ops, problem, _settings(iterations))
        return time.perf_counter() - t0


def make_runner(backend: str, device: str, bundle_root: Path, weights: Path, threads: int | None):
    """A runner for one backend; raises InpaintError where it cannot run here."""
    reason = unavailable(backend, device, bundle_root)
    if reason:
        raise InpaintError(f"backend {backend}: {reason}")
    if backend in ("eager", "compile"):
        return EagerRunner(weights, device, compile=backend == "compile")
    if backend in ("gpu", "trt"):
        return DeviceRunner(backend, weights, bundle_root)
    from inpaint.runtime.bundle import load_bundle
    from inpaint.runtime.engines.ort import OrtEngine
    return GraphRunner("ort", OrtEngine(load_bundle(bundle_root), threads))
