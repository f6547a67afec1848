"""One runner per benchmarked backend: the same problem, timed per iteration and for a whole search.

A runner answers two questions for a batch of problems:
- `iteration_seconds(problem, iterations, warmup)`: the time of each of `iterations` optimisation
  steps, after `warmup` untimed ones (compilation, sessions, allocations);
- `search_seconds(problem, iterations)`: the wall time of a whole search of that many steps from
  a fresh z, targets included, warm.
The backends are the rows of the table (inpaint.backends), as inpaint-rt runs them: a row on the
host loop runs `runtime.optimise` and is timed from its per-step callback; a row on the device
search (runtime.device_search: state on the GPU, one iteration replayed as a CUDA graph) is timed
with CUDA events. Beside them, the yardsticks eager and compile: the search as a PyTorch user
would write it, eager or under torch.compile.
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

YARDSTICKS = ("eager", "compile")     # autograd + torch.optim.Adam, eager or under torch.compile


def names() -> tuple[str, ...]:
    """What inpaint-bench can time: the yardsticks, then every row of the table of backends."""
    from inpaint import backends
    return YARDSTICKS + backends.names()


def unavailable(backend: str, device: str, bundle_root: Path, weights: Path | None = None) -> str:
    """'' when `backend` can run here, else why not (for the user)."""
    from inpaint import backends
    if backend not in names():
        return f"unknown backend {backend!r}; choose from {', '.join(names())}"
    if backend in YARDSTICKS:
        return _yardstick_unavailable(backend, device)
    row = backends.get(backend)
    return backends.unavailable(row, backends.Place(device), backends.model_path(row, bundle_root, weights))


def _yardstick_unavailable(backend: str, device: str) -> str:
    if importlib.util.find_spec("torch") is None:
        return f"{backend} needs PyTorch: pip install 'inpaint[train]'"
    if backend == "compile" and device == "cpu" and not (shutil.which("g++") or shutil.which("c++")):
        return "compile on the CPU needs a C++ compiler (torch.compile's inductor builds C++)"
    if device.startswith("cuda"):
        import torch
        if not torch.cuda.is_available():
            return f"--device {device} asked for, but torch sees no CUDA GPU"
    return ""


def _settings(iterations: int) -> InpaintSettings:
    """The method's search of z (what the eager yardstick implements), run for exactly
    `iterations` steps (no early stop)."""
    return InpaintSettings(iterations=iterations, restarts=1, patience=10 ** 9, search="z")


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
    """The runtime's host loop (runtime.optimise) on a row's engine and ops."""

    def __init__(self, name: str, engine, ops=None, search=None):
        from inpaint.runtime.ops import CpuOps
        from inpaint.runtime.optimise import optimise
        self.name, self.engine, self.ops, self.search = name, engine, ops or CpuOps(), search or optimise

    def _run(self, problem: Problem, iterations: int, on_step=None):
        return self.search(self.engine, self.ops, problem, _settings(iterations), on_step=on_step)

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
    graph) on a row's engine, which runs on the ops' stream."""

    def __init__(self, name: str, engine, ops):
        self.name, self.engine, self.ops = name, engine, ops.cuda

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
    """A runner for a yardstick or a row of the table; raises InpaintError where it cannot run here."""
    from inpaint import backends
    reason = unavailable(backend, device, bundle_root, weights)
    if reason:
        raise InpaintError(f"backend {backend}: {reason}")
    if backend in YARDSTICKS:
        return EagerRunner(weights, device, compile=backend == "compile")
    row = backends.get(backend)
    place = backends.Place(device, threads=threads)
    ops = row.loop.ops(place)
    engine = row.engine(backends.model_path(row, bundle_root, weights), place, ops)
    if row.loop.name == "device":
        return DeviceRunner(backend, engine, ops)
    return GraphRunner(backend, engine, ops, row.loop.search())
