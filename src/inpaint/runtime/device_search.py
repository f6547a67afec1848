"""The latent search with all of its state on the GPU, one iteration captured as a CUDA graph.

optimise() (runtime/optimise.py) is the reference: the same initial z, the same iteration, the
same best-iterate tracking and early stop, so a device search and a CPU search with the same seed
agree to rounding. What differs is where the state lives: z, Adam's moments and step counter, each
row's best iterate, the loss history and the stop flag are DeviceArrays, changed only by the
engine and the CudaOps kernels on one stream (CudaOps.track does the bookkeeping optimise does on
the host). Inside the loop nothing comes back to the host but the stop flag and the iteration
count, read every `check_every` iterations.

The first iteration runs eagerly; then one iteration is captured (engine.capture) and replayed.
Replays after the stop change no result (track leaves everything as it was), so reading the flag
only every `check_every` replays costs at most check_every - 1 idle replays, never a wrong answer.
For quality against iterations (`keep`), bursts also end at each iteration asked for, where a
device-to-device copy takes the best iterate so far; the host reads those copies after the search.
"""
from __future__ import annotations

import time
from typing import Callable, Protocol

import numpy as np

from inpaint.errors import InpaintError
from inpaint.runtime.cuda import DeviceArray, DeviceBuffer, Event, Stream
from inpaint.runtime.engines import searched
from inpaint.runtime.ops.cuda_ops import CudaAdamState, CudaOps
from inpaint.runtime.optimise import Search, initial_z, search_start
from inpaint.runtime.problem import Problem
from inpaint.spec import InpaintSettings, ModelSpec, search_size

F32, I32, I64 = np.dtype(np.float32), np.dtype(np.int32), np.dtype(np.int64)
WARMUP_PASSES = 2    # engine-only passes before the first iteration of a captured search
WEIGHTS_ATOL = 1e-6  # the device's importance weights against problem.weights (both in double, then float)


class Replay(Protocol):
    def launch(self) -> None: ...
    def destroy(self) -> None: ...


class DeviceEngine(Protocol):
    """What the device search needs from an engine: Engine's calls on DeviceArrays, on `stream`.

    Outputs are DeviceArrays the engine owns, at the same addresses on every call at one batch
    size. Once a batch size has run eagerly, no call allocates, waits for the host or changes a
    launch argument, so `capture` can record an iteration made of them (TorchDeviceEngine).
    The generator's input is the search variable, its width saying the search (Engine.generator):
    z (B, z_dim), or v = [z, u] (B, z_dim + 2C) of search z+bn, which an engine runs where its
    check_search lets it (runtime.engines.check_search).
    """

    name: str
    spec: ModelSpec
    stream: Stream

    def generator(self, z: DeviceArray) -> DeviceArray: ...
    def generator_vjp(self, g_x: DeviceArray) -> DeviceArray: ...
    def target_features(self, masked_y: DeviceArray, box: DeviceArray) -> tuple[DeviceArray, DeviceArray]: ...
    def critic(self, x: DeviceArray, known: DeviceArray, box: DeviceArray, target, prior: str,
               prior_weight: float, consistency_weight: float) -> tuple[DeviceArray, DeviceArray, DeviceArray]: ...
    def capture(self, enqueue: Callable[[], None]) -> Replay: ...


class DeviceSearch:
    """One search's device state, uploaded on construction; run() searches once, free() releases it.

    Attributes after run() (DeviceArrays; read with to_host(ops.stream)): adam (CudaAdamState,
    its step counter = the iterations run), best (4, B): total, contextual, prior, consistency of
    each row's best iterate, best_z (B, width), history (settings.iteration_limit,), status (2,):
    [stopped, iterations run]. The search variable, self.z, and best_z are (B, width): width =
    search_size(spec, settings.search), z_dim or z_dim + 2C for search z+bn (whose start is
    [z, 0], as optimise's: search_start).
    """

    def __init__(self, engine: DeviceEngine, ops: CudaOps, problem: Problem, settings: InpaintSettings,
                 z: np.ndarray | None = None):
        self._t0 = time.perf_counter()
        if int(engine.stream) != int(ops.stream):
            raise ValueError("the engine and the ops must share one stream: build the engine on ops.stream")
        settings = searched(engine, settings)
        self.engine, self.ops, self.settings, self.stream = engine, ops, settings, ops.stream
        b, z_dim, r = problem.batch, engine.spec.z_dim, problem.y.shape[-1]
        width = search_size(engine.spec, settings.search)
        z = initial_z(b, z_dim, settings.seed) if z is None else np.asarray(z, np.float32)
        if z.ndim != 2 or z.shape[0] != b or z.shape[1] not in (z_dim, width):
            wider = f" (or {width}, a whole v)" if width != z_dim else ""
            raise ValueError(f"z must be ({b}, {z_dim}){wider} for this problem, model and search "
                             f"{settings.search}, got {z.shape}")
        z = search_start(z, engine.spec, settings.search)
        self._arrays: list[DeviceArray] = []    # everything this search allocated, for free()
        self._ran = False
        self.iteration_ms: list[float] = []       # device time per iteration, with time_iterations
        try:
            self.y, self.known = self._upload(problem.y, F32), self._upload(problem.known, F32)
            self.box, self.z = self._upload(problem.box, I64), self._upload(z, F32)
            self.weights = ops.importance_weights(DeviceArray(self.known.buffer, (b, r, r), F32), settings.window)
            self._arrays.append(self.weights)
            self._check_weights(problem.weights)
            self.target = None
            if settings.consistency_weight:     # as optimise: the targets only where weighted
                masked = self._upload(problem.y * problem.known, F32)
                self.target = engine.target_features(masked, self.box)
            self.adam = CudaAdamState.zeros_like(self.z, self.stream)
            self._arrays += [self.adam.m, self.adam.v, self.adam.step]
            self.contextual = self._zeros((b,), F32)
            self.grad = self._zeros(problem.y.shape, F32)
            self.best, self.best_z = self._zeros((4, b), F32), self._zeros((b, width), F32)
            self.history, self.status = self._zeros((settings.iteration_limit,), F32), self._zeros((2,), I32)
        except BaseException:
            self.free()
            raise

    def _upload(self, array: np.ndarray, dtype: np.dtype) -> DeviceArray:
        array = np.ascontiguousarray(array, dtype)
        device = DeviceArray(DeviceBuffer(array.nbytes), array.shape, dtype)
        self._arrays.append(device)
        device.buffer.upload(array, self.stream)
        return device

    def _zeros(self, shape: tuple[int, ...], dtype: np.dtype) -> DeviceArray:
        return self._upload(np.zeros(shape, dtype), dtype)

    def _check_weights(self, expected: np.ndarray) -> None:
        weights = self.weights.to_host(self.stream)
        worst = float(np.abs(weights - expected).max(initial=0.0))
        if not worst <= WEIGHTS_ATOL:
            raise ValueError(f"problem.weights are not the importance weights of problem.known at window "
                             f"{self.settings.window} (they differ by up to {worst:.3g}): build the problem "
                             "with make_problem(..., window=settings.window)")

    # -- the iteration ------------------------------------------------------------------------
    def _step(self) -> None:
        """One iteration, all on the stream: what optimise() does for one `it`, Adam step included."""
        s, engine, ops = self.settings, self.engine, self.ops
        lam, mu = s.prior_weight, s.consistency_weight
        x = engine.generator(self.z)
        prior, consistency, g_critic = engine.critic(x, self.known, self.box, self.target, s.prior, lam, mu)
        ops.contextual(x, self.y, self.weights, s.norm, g_extra=g_critic, out=(self.contextual, self.grad))
        ops.track(self.contextual, prior, consistency, self.z, self.adam.step, self.best, self.best_z,
                  self.history, self.status, lam, mu, s.patience, s.rel_tol)
        ops.adam(self.z, engine.generator_vjp(self.grad), self.adam, s.step_size, s.beta1, s.beta2, stop=self.status)

    def _warm_up(self) -> None:
        """Engine calls with nothing kept: torch sets up its per-stream state (cuBLAS workspaces,
        cuDNN plans) here rather than inside the capture. The first iteration overwrites every
        output, and z and the search state are not touched."""
        s = self.settings
        for _ in range(WARMUP_PASSES):
            x = self.engine.generator(self.z)
            g = self.engine.critic(x, self.known, self.box, self.target, s.prior, s.prior_weight,
                                   s.consistency_weight)[2]
            self.engine.generator_vjp(g)

    def run(self, check_every: int = 25, use_graph: bool = True, time_iterations: bool = False,
            keep: tuple[int, ...] = ()) -> Search:
        """Search until the device's stop flag is set; the result on the host, as optimise returns it.

        use_graph=False runs the very same loop with every iteration enqueued eagerly.
        keep: as optimise's, Search.kept[k] = (x, loss) of the best iterate of the first k iterations
        (the final best where the search stopped before k).
        time_iterations: record a CUDA event after every iteration from the second on, and keep
        their device times in self.iteration_ms (for inpaint-bench; events add no host sync).
        """
        if int(check_every) != check_every or check_every < 1:
            raise ValueError(f"check_every must be a positive integer, got {check_every!r}")
        if self._ran:
            raise InpaintError("a DeviceSearch runs once (its state is the finished search): make a new one")
        self._ran = True
        limit = self.settings.iteration_limit
        capture = use_graph and limit > 1
        if capture and not hasattr(self.engine, "capture"):
            raise InpaintError(f"the {self.engine.name} engine cannot capture a CUDA graph: pass use_graph=False")
        graph = None
        marks = sorted({int(k) for k in keep if 1 <= k <= limit})
        rows = self.best.shape[1]
        snapshots = {k: (self._zeros(self.best_z.shape, F32), self._zeros((rows,), F32)) for k in marks}
        try:
            if capture:
                self._warm_up()
            self._step()                                  # iteration 1, eagerly
            self._snapshot(1, snapshots)
            if capture:
                graph = self.engine.capture(self._step)   # recorded, not run
            iterate = graph.launch if graph is not None else self._step
            events = [Event().record(self.stream)] if time_iterations else None
            enqueued, stopped = 1, False
            while enqueued < limit and not stopped:
                mark = next((k for k in marks if k > enqueued), limit)
                burst = min(check_every, limit - enqueued, mark - enqueued)
                for _ in range(burst):
                    iterate()
                    if events is not None:
                        events.append(Event().record(self.stream))
                enqueued += burst
                self._snapshot(enqueued, snapshots)
                stopped = bool(self.status.to_host(self.stream)[0])
            status = self.status.to_host(self.stream)
            if events is not None:
                self.iteration_ms = [b.ms_since(a) for a, b in zip(events, events[1:])]
                for e in events:
                    e.destroy()
        finally:
            if graph is not None:
                try:
                    self.stream.synchronize()   # no replay in flight when its memory goes back
                finally:
                    graph.destroy()
        return self._result(status, keep, {k: snapshots[k] for k in marks if k <= enqueued})

    def _snapshot(self, iteration: int, snapshots: dict[int, tuple[DeviceArray, DeviceArray]]) -> None:
        """After `iteration` iterations: copy the best z and total loss so far where it is a mark."""
        if iteration in snapshots:
            z, loss = snapshots[iteration]
            z.buffer.copy_from(self.best_z.buffer, z.buffer.nbytes, self.stream)
            loss.buffer.copy_from(self.best.buffer, loss.buffer.nbytes, self.stream)   # row 0: total

    def _result(self, status: np.ndarray, keep: tuple[int, ...] = (),
                snapshots: dict[int, tuple[DeviceArray, DeviceArray]] | None = None) -> Search:
        if status[0] != 1 or not 1 <= status[1] <= self.settings.iteration_limit:
            raise InpaintError(f"the device search ended without a valid stop record (status {status.tolist()}); "
                               "this is a bug in track.cu or in the loop")
        count = int(status[1])
        best = self.best.to_host(self.stream)
        best_z = self.best_z.to_host(self.stream)
        history = self.history.to_host(self.stream)[:count]
        kept = {k: (self.engine.generator(z).to_host(self.stream), loss.to_host(self.stream))
                for k, (z, loss) in (snapshots or {}).items()}
        x = self.engine.generator(self.best_z).to_host(self.stream)
        for k in keep:
            kept.setdefault(k, (x.copy(), best[0].copy()))
        return Search(best_z, x, best[0].copy(), best[1].copy(), best[2].copy(), best[3].copy(), count,
                      time.perf_counter() - self._t0, [float(h) for h in history], kept)

    def free(self) -> None:
        """Release this search's device memory (the engine keeps its own outputs)."""
        self.stream.synchronize()
        for array in self._arrays:
            array.buffer.free()
        self._arrays.clear()


def device_search(engine: DeviceEngine, ops: CudaOps, problem: Problem, settings: InpaintSettings,
                  z: np.ndarray | None = None, check_every: int = 25, use_graph: bool = True,
                  keep: tuple[int, ...] = ()) -> Search:
    """optimise() with its state on the GPU: the same Search, from the same seed, to rounding.

    The engine runs on ops.stream (TorchDeviceEngine(..., stream=ops.stream)). One iteration is
    captured as a CUDA graph and replayed (use_graph=False enqueues each iteration eagerly
    instead); the host reads the stop flag every `check_every` iterations and nothing else
    until the search is over. problem.weights must be the importance weights of problem.known
    at settings.window (make_problem builds them so): the device computes its own and checks.
    keep: as optimise's (each k ends a burst; the host reads the k-th best iterate at the end).
    """
    search = DeviceSearch(engine, ops, problem, settings, z)
    try:
        return search.run(check_every, use_graph, keep=keep)
    finally:
        search.free()
