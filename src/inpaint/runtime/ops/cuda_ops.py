"""CUDA ops: CpuOps' per-iteration work on the GPU, on DeviceArrays, with the kernels of inpaint/kernels.

Each method mirrors a numpy reference (CpuOps.contextual and .adam, masks.importance_weights,
blend.poisson_blend) and tests/kernels/test_cuda_ops.py checks it against that reference. The
kernels are built by inpaint.kernels.build (NVRTC, cached on disk) and launched with cuda.core
on the caller's inpaint.runtime.cuda.Stream; memory is inpaint.runtime.cuda's DeviceBuffer.
Every launch is asynchronous: read results with DeviceArray.to_host, which synchronizes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inpaint.errors import InpaintError
from inpaint.kernels import build
from inpaint.runtime.cuda import DeviceArray, DeviceBuffer, Stream

BLOCK = 256              # threads per block of the one-thread-per-element kernels
CONTEXTUAL_BLOCK = 256   # = CONTEXTUAL_BLOCK in contextual.cu, the size of its reduction tree
POISSON_BLOCK = 256      # = POISSON_BLOCK in poisson.cu
POISSON_BLOCKS_PER_IMAGE = 512  # at most; enough to fill the GPU at full resolution
MAX_GRID_Y = 65535       # CUDA's limit on gridDim.y; poisson.cu loops over the images past it
TRACK_BLOCK = 256        # = TRACK_BLOCK in track.cu: one block, a warp per row
KERNELS = {  # .cu file -> the kernels in it
    "importance_weights": ("importance_weights",),
    "contextual": ("contextual",),
    "adam": ("adam_step", "adam_count_step"),
    "poisson": ("poisson_clear", "poisson_init", "poisson_omega", "poisson_sweep", "poisson_residual"),
    "track": ("track",),
}
F32, I32, U32 = np.dtype(np.float32), np.dtype(np.int32), np.dtype(np.uint32)


def _blocks(n: int, block: int = BLOCK) -> int:
    return max(1, -(-n // block))


def _expect(array: DeviceArray, shape: tuple[int, ...], dtype: np.dtype, what: str) -> None:
    if tuple(array.shape) != tuple(shape) or np.dtype(array.dtype) != dtype:
        raise ValueError(f"{what} must be {dtype} of shape {tuple(shape)}, got {np.dtype(array.dtype)} "
                         f"of shape {tuple(array.shape)}")


def poisson_grid(b: int, c: int, h: int, w: int) -> tuple[int, int]:
    """The grid of poisson_init and poisson_residual: blocks per image, then image rows (at most
    MAX_GRID_Y; each block row then serves every MAX_GRID_Y-th image)."""
    return min(_blocks(c * h * w, POISSON_BLOCK), POISSON_BLOCKS_PER_IMAGE), min(b, MAX_GRID_Y)


def _check_size(n: int) -> None:
    if n >= 2 ** 31:
        raise ValueError(f"{n} elements exceed the kernels' 32-bit indexing; split the batch")


@dataclass
class CudaAdamState:
    """Adam's moments and step counter on the device (mutable: the kernels update them in place).

    The counter is an int32 on the device that the step kernel reads and a second kernel advances,
    so a CUDA graph captured around CudaOps.adam replays correct steps with no host-side change.
    """

    m: DeviceArray      # (B, width) float32 first moment, the shape of the search variable
    v: DeviceArray      # (B, width) float32 second moment
    step: DeviceArray   # (1,) int32 steps taken

    @classmethod
    def zeros_like(cls, z: DeviceArray, stream: Stream) -> "CudaAdamState":
        def zeros(shape, dtype):
            array = DeviceArray(DeviceBuffer(int(np.prod(shape)) * dtype.itemsize), tuple(shape), dtype)
            array.buffer.upload(np.zeros(shape, dtype), stream)
            return array
        return cls(zeros(z.shape, F32), zeros(z.shape, F32), zeros((1,), I32))

    def steps_taken(self, stream: Stream) -> int:
        return int(self.step.to_host(stream)[0])

    def free(self) -> None:
        for array in (self.m, self.v, self.step):
            array.buffer.free()


class CudaOps:
    """The ops on one CUDA stream. Kernels are built (or read from the cache) on construction.

    poison=True fills every output this object allocates with NaN (int32 outputs with -1) before
    its kernel runs, so an element a kernel fails to write shows up: for tests and debugging.
    """

    name = "cuda"

    def __init__(self, stream: Stream, *, device_id: int = 0, poison: bool = False):
        """stream: made on device `device_id` (select it first: inpaint.runtime.cuda.set_device)."""
        device = build.device(device_id)  # current: the primary context, which our allocations use
        self._core = build.cuda_core()
        self.stream = stream
        self.poison = poison
        # cuda.core's view of our stream, made once: launches inside a graph capture then make
        # no driver calls besides the launch itself.
        self._launch_stream = device.create_stream(stream)
        arch = build.device_arch(device_id)
        self._kernels = {}
        self._configs = {}  # (grid, block) -> LaunchConfig: the SOR loop launches the same ones
        for source, names in KERNELS.items():
            self._kernels.update(build.load(source, arch, names).kernels)

    # -- plumbing -------------------------------------------------------------------------
    def _launch(self, kernel: str, grid, block: int, *args) -> None:
        """Enqueue a kernel. Pointers go as Python ints, scalars as numpy scalars of the kernel's
        C type (cuda.core passes a Python int as a pointer and a Python float as a double)."""
        config = self._configs.get((grid, block))
        if config is None:
            config = self._configs[grid, block] = self._core.LaunchConfig(grid=grid, block=block)
        self._core.launch(self._launch_stream, config, self._kernels[kernel], *args)

    def _empty(self, shape: tuple[int, ...], dtype: np.dtype) -> DeviceArray:
        array = DeviceArray(DeviceBuffer(int(np.prod(shape)) * dtype.itemsize), tuple(shape), dtype)
        if self.poison:
            array.buffer.upload(np.full(shape, np.nan if dtype.kind == "f" else -1, dtype), self.stream)
        return array

    # -- ops --------------------------------------------------------------------------------
    def importance_weights(self, known: DeviceArray, window: int = 7) -> DeviceArray:
        """Yeh et al.'s importance weights, as masks.importance_weights.

        known: (B, H, W) float32, 1 = known pixel. Returns (B, 1, H, W) float32.
        """
        if int(window) != window or window < 1 or window % 2 == 0:
            raise ValueError(f"window must be a positive odd integer, got {window!r}")
        if len(known.shape) != 3:
            raise ValueError(f"known must be (B, H, W), got shape {tuple(known.shape)}")
        b, h, w = known.shape
        _expect(known, (b, h, w), F32, "known")
        _check_size(b * h * w)
        weights = self._empty((b, 1, h, w), F32)
        self._launch("importance_weights", _blocks(b * h * w), BLOCK, int(known.buffer),
                     int(weights.buffer), np.int32(b), np.int32(h), np.int32(w), np.int32(window))
        return weights

    def contextual(self, x: DeviceArray, y: DeviceArray, w: DeviceArray, norm: str,
                   g_extra: DeviceArray | None = None,
                   out: tuple[DeviceArray, DeviceArray] | None = None) -> tuple[DeviceArray, DeviceArray]:
        """Weighted contextual loss per sample and its gradient with respect to x, as CpuOps.contextual,
        fused in one kernel; g_extra (B, C, H, W), when given, is added to the gradient.

        x, y: (B, C, H, W) float32; w: (B, 1, H, W). Returns (loss (B,), grad (B, C, H, W)),
        written into `out` when given (fixed buffers, e.g. inside a CUDA graph capture). The loss
        is summed in double in a fixed order: deterministic, run to run.
        """
        if norm not in ("l1", "l2"):
            raise ValueError(f"unknown norm {norm!r}; use 'l1' or 'l2'")
        if len(x.shape) != 4:
            raise ValueError(f"x must be (B, C, H, W), got shape {tuple(x.shape)}")
        b, c, h, wd = x.shape
        for array, shape, what in ((x, (b, c, h, wd), "x"), (y, (b, c, h, wd), "y"), (w, (b, 1, h, wd), "w")):
            _expect(array, shape, F32, what)
        if g_extra is not None:
            _expect(g_extra, (b, c, h, wd), F32, "g_extra")
        _check_size(b * c * h * wd)
        if out is None:
            loss, grad = self._empty((b,), F32), self._empty((b, c, h, wd), F32)
        else:
            loss, grad = out
            _expect(loss, (b,), F32, "out loss")
            _expect(grad, (b, c, h, wd), F32, "out grad")
        self._launch("contextual", b, CONTEXTUAL_BLOCK, int(x.buffer), int(y.buffer), int(w.buffer),
                     0 if g_extra is None else int(g_extra.buffer), int(loss.buffer), int(grad.buffer),
                     np.int32(c), np.int32(h * wd), np.int32(norm == "l2"))
        return loss, grad

    def adam(self, z: DeviceArray, grad: DeviceArray, state: CudaAdamState, lr: float, beta1: float,
             beta2: float, eps: float = 1e-8, stop: DeviceArray | None = None) -> DeviceArray:
        """One Adam step on z in place, then z clipped to [-1, 1], as CpuOps.adam; returns z.

        Two launches and no allocation or host scalar that changes between steps: capturable
        in a CUDA graph and replayable (the step count is state.step, on the device). stop: an
        int32 on the device (e.g. track()'s status); while it is non-zero no step is taken or
        counted.
        """
        _expect(z, tuple(z.shape), F32, "z")
        for array, what in ((grad, "grad"), (state.m, "state.m"), (state.v, "state.v")):
            _expect(array, tuple(z.shape), F32, what)
        _expect(state.step, (1,), I32, "state.step")
        if stop is not None and (np.dtype(stop.dtype) != I32 or int(np.prod(stop.shape)) < 1):
            raise ValueError(f"stop must be int32 with at least one element, got {stop.dtype} {tuple(stop.shape)}")
        n = int(np.prod(z.shape))
        _check_size(n)
        flag = 0 if stop is None else int(stop.buffer)
        self._launch("adam_step", _blocks(n), BLOCK, int(z.buffer), int(grad.buffer), int(state.m.buffer),
                     int(state.v.buffer), int(state.step.buffer), flag, np.int32(n), np.float32(lr),
                     np.float64(beta1), np.float64(beta2), np.float32(eps))
        self._launch("adam_count_step", 1, 1, int(state.step.buffer), flag)
        return z

    def track(self, contextual: DeviceArray, prior: DeviceArray, consistency: DeviceArray,
              z: DeviceArray, steps: DeviceArray, best: DeviceArray, best_z: DeviceArray,
              history: DeviceArray, status: DeviceArray, prior_weight: float,
              consistency_weight: float, patience: int, rel_tol: float) -> None:
        """The bookkeeping of optimise() between the losses and the Adam step, on the device.

        contextual, prior, consistency: (B,) float32, the losses of the iterate z (B, width): the
        search variable, z (B, z_dim) or v (B, z_dim + 2C) of search z+bn.
        steps: (1,) int32, the Adam steps taken (CudaAdamState.step): the 0-based iteration,
        since this runs before the iteration's Adam step. Updated in place: best (4, B) float32,
        the total, contextual, prior and consistency loss of each row's best iterate so far;
        best_z (B, width), that iterate; history (iterations,) float32, the mean total loss per
        iteration, its length being settings.iteration_limit; status (2,) int32, zero at the start:
        [0] turns 1 when the search stops (optimise's early-stopping rule or the iteration
        limit) and [1] then holds the iterations run. Once status[0] is set the call changes
        nothing, so replays past the stop are harmless; pass status as adam()'s `stop` so that
        no Adam step follows either (as optimise, which breaks before the step).

        One launch, no allocation and no argument that changes between iterations: capturable
        in a CUDA graph and replayable, like adam().
        """
        if len(z.shape) != 2:
            raise ValueError(f"z must be (B, width), got shape {tuple(z.shape)}")
        b, width = z.shape
        _expect(z, (b, width), F32, "z")
        for array, what in ((contextual, "contextual"), (prior, "prior"), (consistency, "consistency")):
            _expect(array, (b,), F32, what)
        _expect(steps, (1,), I32, "steps")
        _expect(best, (4, b), F32, "best")
        _expect(best_z, (b, width), F32, "best_z")
        if len(history.shape) != 1 or history.shape[0] < 1:
            raise ValueError(f"history must be (iterations,) with iterations >= 1, got shape {tuple(history.shape)}")
        _expect(history, tuple(history.shape), F32, "history")
        _expect(status, (2,), I32, "status")
        if int(patience) != patience or patience < 0:
            raise ValueError(f"patience must be a non-negative integer, got {patience!r}")
        _check_size(b * width)
        self._launch("track", 1, TRACK_BLOCK, int(contextual.buffer), int(prior.buffer),
                     int(consistency.buffer), int(z.buffer), int(steps.buffer), int(best.buffer),
                     int(best_z.buffer), int(history.buffer), int(status.buffer), np.int32(b),
                     np.int32(width), np.int32(history.shape[0]), np.int32(patience),
                     np.float32(prior_weight), np.float32(consistency_weight), np.float64(rel_tol))

    def blend(self, source: DeviceArray, target: DeviceArray, known: DeviceArray, tol: float = 1e-5,
              max_sweeps: int = 20000, check_every: int = 50) -> tuple[DeviceArray, int, np.ndarray]:
        """Poisson blending, batched: the problem of blend.poisson_blend, solved by red-black SOR.

        source, target: (B, C, H, W) float32; known: (B, H, W) float32, > 0.5 = known pixel.
        Returns (result (B, C, H, W), sweeps, residual (B,) float32): result is exactly target
        on known pixels and the SOR iterate in the hole, started from source there.

        Tolerance: the residual of an image is the largest change one Jacobi step would make to
        a hole pixel, max_p |(guide_p + sum_q f_q) / n_p - f_p|. The solver sweeps, checking
        every `check_every` sweeps, until every image's residual is at most tol * scale, scale
        being the image's largest magnitude among its known target values and its source values
        (tol is relative, so pixel values in [0, 1] and in [0, 255] converge alike), or until
        max_sweeps, whichever comes first: compare residual with tol * scale to tell which.
        The residual bounds the error: |f - f_exact| <= residual * T in exact arithmetic, T being
        the largest expected number of steps a random walk from a hole pixel, to a uniformly
        chosen in-image 4-neighbour at each step, takes to reach a known pixel. For a hole
        component clear of the image border inside an h x w box, T <= ((h+1)/2)^2 + ((w+1)/2)^2:
        a 32 x 32 hole at tol = 1e-5 stays within 5.5e-3 * scale of the exact solution, plus
        float32 rounding (in practice the error is a few times the residual, not T times).
        float32 sweeps stall near a residual of 1e-6 * scale at full resolution, so a tol
        below about 2e-6 may run to max_sweeps.
        Raises ValueError when an image has no known pixel (the problem is singular), and
        InpaintError on NaN or inf values.
        """
        if len(source.shape) != 4:
            raise ValueError(f"source must be (B, C, H, W), got shape {tuple(source.shape)}")
        b, c, h, w = source.shape
        _expect(source, (b, c, h, w), F32, "source")
        _expect(target, (b, c, h, w), F32, "target")
        _expect(known, (b, h, w), F32, "known")
        if not (tol >= 0 and max_sweeps >= 0 and check_every >= 1):
            raise ValueError(f"need tol >= 0, max_sweeps >= 0 and check_every >= 1, got {tol}, "
                             f"{max_sweeps}, {check_every}")
        n = b * c * h * w
        _check_size(n)
        f = self._empty((b, c, h, w), F32)
        guide, omega, counts = DeviceBuffer(n * 4), DeviceBuffer(b * 4), DeviceBuffer(b * 4)
        scale_bits, residual_bits = DeviceBuffer(b * 4), DeviceBuffer(b * 4)
        grid = poisson_grid(b, c, h, w)
        try:
            self._launch("poisson_clear", _blocks(b), BLOCK, int(scale_bits), np.int32(b))
            self._launch("poisson_init", grid, POISSON_BLOCK, int(source.buffer), int(target.buffer),
                         int(known.buffer), int(f.buffer), int(guide), int(scale_bits),
                         np.int32(b), np.int32(c), np.int32(h), np.int32(w))
            self._launch("poisson_omega", b, POISSON_BLOCK, int(known.buffer), int(omega), int(counts),
                         np.int32(h), np.int32(w))
            scale = scale_bits.download(np.empty(b, U32), self.stream)
            known_pixels = counts.download(np.empty(b, I32), self.stream)
            self.stream.synchronize()
            scale = scale.view(F32)
            if (known_pixels == 0).any():
                raise ValueError(f"blend needs at least one known pixel per image: image(s) "
                                 f"{np.flatnonzero(known_pixels == 0).tolist()} are all hole")
            if not np.isfinite(scale).all():
                raise InpaintError("blend got NaN or inf in source or target; check the images")
            sweeps, half = 0, b * c * h * ((w + 1) // 2)
            while True:
                self._launch("poisson_clear", _blocks(b), BLOCK, int(residual_bits), np.int32(b))
                self._launch("poisson_residual", grid, POISSON_BLOCK, int(f.buffer), int(guide),
                             int(known.buffer), int(residual_bits), np.int32(b), np.int32(c), np.int32(h),
                             np.int32(w))
                residual = residual_bits.download(np.empty(b, U32), self.stream)
                self.stream.synchronize()
                residual = residual.view(F32)
                if not np.isfinite(residual).all():
                    raise InpaintError("blend diverged to NaN or inf; check source and target")
                if (residual <= tol * scale).all() or sweeps >= max_sweeps:
                    return f, sweeps, residual
                batch = min(check_every, max_sweeps - sweeps)
                for _ in range(batch):
                    for colour in (0, 1):
                        self._launch("poisson_sweep", _blocks(half), BLOCK, int(f.buffer), int(guide),
                                     int(known.buffer), int(omega), np.int32(b), np.int32(c),
                                     np.int32(h), np.int32(w), np.int32(colour))
                sweeps += batch
        except BaseException:
            f.buffer.free()
            raise
        finally:
            for buffer in (guide, omega, counts, scale_bits, residual_bits):
                buffer.free()
