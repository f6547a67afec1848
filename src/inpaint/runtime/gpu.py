"""The GPU runtime behind Inpainter: the device search, and Poisson blending with the CUDA solver.

Inpainter drives a search function and an ops object; here the search is device_search (all state
on the GPU, one iteration replayed as a CUDA graph) and the ops object blends with CudaOps.blend,
taking and returning the host arrays Inpainter works with. The networks run on TensorRT
(TrtDeviceEngine) or on eager PyTorch (inpaint.torch_engines.device), on the same device buffers;
the rows gpu-trt and gpu of the table of backends (inpaint.backends) put the pieces together.
"""
from __future__ import annotations

import numpy as np

from inpaint.runtime.cuda import DeviceArray
from inpaint.spec import InpaintSettings

BLEND_TOL = 1e-5   # relative residual of the Poisson solver (CudaOps.blend states what it bounds)


class GpuOps:
    """What Inpainter asks of its ops, on the GPU: `cuda` for the search, `blend` on host arrays."""

    name = "gpu"

    def __init__(self, cuda_ops):
        self.cuda, self.stream = cuda_ops, cuda_ops.stream

    def _upload(self, array: np.ndarray) -> DeviceArray:
        return DeviceArray.from_host(np.asarray(array, np.float32), self.stream)

    def blend(self, source: np.ndarray, target: np.ndarray, known: np.ndarray) -> np.ndarray:
        """As CpuOps.blend: (H, W, C) floats and bool known (H, W) -> float64 (H, W, C)."""
        arrays = [self._upload(a.transpose(2, 0, 1)[None]) for a in (source, target)]
        arrays.append(self._upload(known[None].astype(np.float32)))
        result = None
        try:
            result, _, _ = self.cuda.blend(*arrays, tol=BLEND_TOL)
            return result.to_host(self.stream)[0].transpose(1, 2, 0).astype(np.float64)
        finally:
            for a in arrays + ([result] if result is not None else []):
                a.buffer.free()


def gpu_search(engine, ops: GpuOps, problem, settings: InpaintSettings, z=None, on_step=None,
               keep: tuple[int, ...] = (), on_best=None):
    """optimise()'s signature over device_search: on_step and on_best are told once, at the end
    (the loop reads nothing back per iteration)."""
    from inpaint.runtime.device_search import device_search
    search = device_search(engine, ops.cuda, problem, settings, z, keep=keep)
    if on_step is not None:
        on_step(search.iterations, search.history[-1])
    if on_best is not None:
        on_best(search.iterations, search)
    return search

