"""Eager PyTorch on DeviceArrays: TorchEngine's math for the search that keeps its state on the GPU.

Inputs are DeviceArrays viewed as torch CUDA tensors without a copy (DeviceArray's
__cuda_array_interface__); outputs go into DeviceArrays the engine allocates once per batch size
and reuses, so their addresses stay put and an iteration made of these calls can be captured as
a CUDA graph (`capture`) and replayed. The generator's autograd graph is kept from generator()
to generator_vjp(), as TorchEngine keeps it.

Streams: every torch call runs on the caller's inpaint.runtime.cuda.Stream, wrapped once as a
torch.cuda.ExternalStream. The search's CudaOps kernels use that same stream, so the networks and
the kernels are ordered by the stream alone: no event and no host sync between them, and a
capture on that stream records both.

Numerics: while the engine's calls run, TF32 is off (cuDNN and cuBLAS in full fp32, so results
stay within about 1e-6 of the CPU engine) and cuDNN picks deterministic algorithms (a replayed
graph and the eager calls give the same bits); the process-wide flags are put back after each call
(`numerics`, through torch's fp32_precision settings where it has them).
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Callable

import numpy as np

from inpaint.errors import InpaintError
from inpaint.runtime.cuda import DeviceArray, DeviceBuffer, Stream
from inpaint.spec import ModelSpec, search_of_size, search_size
from inpaint.train.modulated import modulated_generator_forward
from inpaint.train.search_objective import critic_terms

F32 = np.dtype(np.float32)


@contextmanager
def numerics(torch, tf32: bool):
    """cuDNN convolutions and cuBLAS matrix products in TF32 (tf32) or full fp32, and cuDNN's
    deterministic algorithms, for the duration; the process-wide flags are put back after.

    torch 2.9 and later set TF32 per backend with fp32_precision ("tf32" or "ieee"); there the
    legacy allow_tf32 flags warn, and reading cudnn.allow_tf32 raises once the new API has given
    cuDNN's convolutions and RNNs different settings. The legacy flags serve older torch only.
    """
    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    if hasattr(matmul, "fp32_precision") and hasattr(getattr(cudnn, "conv", None), "fp32_precision"):
        precision = "tf32" if tf32 else "ieee"
        flags = [(cudnn.conv, "fp32_precision", precision), (matmul, "fp32_precision", precision)]
    else:
        flags = [(cudnn, "allow_tf32", tf32), (matmul, "allow_tf32", tf32)]
    flags += [(cudnn, "deterministic", True), (cudnn, "benchmark", False)]
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in flags]
    for owner, name, value in flags:
        setattr(owner, name, value)
    try:
        yield
    finally:
        for owner, name, value in reversed(saved):
            setattr(owner, name, value)


class TorchGraph:
    """One captured iteration, replayed on the engine's stream."""

    def __init__(self, graph, stream, torch):
        self._graph, self._stream, self._torch = graph, stream, torch

    def launch(self) -> None:
        with self._torch.cuda.stream(self._stream):
            self._graph.replay()

    def destroy(self) -> None:
        if self._graph is not None:
            self._graph.reset()   # hands the graph's private memory pool back to torch
            self._graph = None


class TorchDeviceEngine:
    name = "torch-device"

    def __init__(self, spec: ModelSpec, generator, discriminator, stream: Stream, device: int = 0,
                 tf32: bool = False, encoder=None):
        import torch
        if not torch.cuda.is_available():
            raise InpaintError("TorchDeviceEngine needs a CUDA GPU that torch can use (a CUDA build of "
                               "torch and a working driver); on the CPU use TorchEngine")
        self._torch = torch
        self.spec, self.stream, self.tf32 = spec, stream, tf32
        self.device = torch.device("cuda", device)
        self._stream = torch.cuda.ExternalStream(int(stream), device=self.device)
        self.g = generator.to(self.device).eval().requires_grad_(False)
        self.d = discriminator.to(self.device).eval().requires_grad_(False)
        self.e = None if encoder is None else encoder.to(self.device).eval().requires_grad_(False)
        torch.cuda.synchronize(self.device)  # the weights, copied on torch's stream, before any use on ours
        self._outputs: dict = {}     # (name, shape) -> DeviceArray, reused by every call at that shape
        self._views: dict = {}       # (address, shape, dtype) -> the torch tensor over that memory
        self._z = self._x = None     # the last generator() call's leaf and output, for the VJP
        self._capturing = False

    @classmethod
    def from_weights(cls, path: str | Path, stream: Stream, device: int = 0, tf32: bool = False
                     ) -> "TorchDeviceEngine":
        from inpaint.train.checkpoint import load_encoder, load_models
        spec, g, d = load_models(path)
        return cls(spec, g, d, stream, device, tf32, load_encoder(path))

    @property
    def has_encoder(self) -> bool:
        return self.e is not None

    def encode(self, masked_y: np.ndarray, known: np.ndarray) -> np.ndarray:
        """The latent encoder, host arrays in and out (it runs once, before the search)."""
        if self.e is None:
            raise InpaintError("this model has no latent encoder; use one trained with "
                               "inpaint-train --encoder, or start from random z")
        torch = self._torch
        with self._on_stream(), torch.no_grad():
            z = self.e(torch.from_numpy(np.ascontiguousarray(masked_y, np.float32)).to(self.device),
                       torch.from_numpy(np.ascontiguousarray(known, np.float32)).to(self.device))
            return z.cpu().numpy()

    # -- plumbing -------------------------------------------------------------------------
    @contextmanager
    def _on_stream(self):
        """torch's current stream is ours, with this engine's numerics, for the duration."""
        with numerics(self._torch, self.tf32), self._torch.cuda.stream(self._stream):
            yield

    def _view(self, array: DeviceArray):
        """The torch tensor over a DeviceArray's memory. Made once per address, shape and dtype
        (outside any capture: making one may query the driver about the pointer)."""
        key = (int(array.buffer), tuple(array.shape), np.dtype(array.dtype).str)
        view = self._views.get(key)
        if view is None:
            if self._capturing:
                raise InpaintError(f"a DeviceArray of shape {key[1]} first reached the engine during a "
                                   "graph capture: run the iteration once eagerly before capture()")
            view = self._torch.as_tensor(array, device=self.device)
            if view.data_ptr() != key[0]:
                raise InpaintError("torch copied a DeviceArray instead of viewing it; check that the "
                                   f"array lives on {self.device}")
            self._views[key] = view
        return view

    def _output(self, name: str, shape: tuple[int, ...]) -> DeviceArray:
        key = (name, tuple(int(s) for s in shape))
        array = self._outputs.get(key)
        if array is None:
            if self._capturing:
                raise InpaintError(f"{name} at shape {key[1]} is first needed during a graph capture: "
                                   "run the iteration once eagerly at this batch size before capture()")
            array = DeviceArray(DeviceBuffer(int(np.prod(key[1])) * F32.itemsize), key[1], F32)
            self._outputs[key] = array
        return array

    def _write(self, out: DeviceArray, value) -> DeviceArray:
        self._view(out).copy_(value.detach())
        return out

    def _features(self, image, box):
        return self.d(image, self._crop(image, box))

    def _crop(self, image, box):
        """train.models.crop_patches, written as a gather. The crop's backward is then a scatter_add
        instead of index_put_(accumulate=True), which sorts its indices and, in some torch
        versions, synchronizes with the host doing so: not capturable. The crop's positions are
        distinct within a sample, so every gradient element gets at most one addend and the
        atomics of scatter_add give exact, repeatable values."""
        torch, p = self._torch, self.spec.patch
        b, c, h, w = image.shape
        offsets = torch.arange(p, device=image.device)
        rows = box[:, 0, None] + offsets                                        # (B, P)
        cols = box[:, 1, None] + offsets                                        # (B, P)
        index = (rows[:, :, None] * w + cols[:, None, :]).reshape(b, 1, p * p)   # (B, 1, P*P)
        return image.flatten(2).gather(2, index.expand(b, c, p * p)).reshape(b, c, p, p)

    # -- the Engine calls, on DeviceArrays -------------------------------------------------
    def check_search(self, search: str) -> None:
        """Every search runs here (search_size refuses an unknown one)."""
        search_size(self.spec, search)

    def generator(self, z: DeviceArray) -> DeviceArray:
        """z (B, z_dim), or v (B, z_dim + 2C) of search z+bn (train.modulated, as TorchEngine) ->
        x (B, 3, R, R); keeps the autograd graph for generator_vjp."""
        r = self.spec.resolution
        modulated = search_of_size(self.spec, z.shape[1]) == "z+bn"
        out = self._output("x", (z.shape[0], self.spec.channels, r, r))
        torch = self._torch
        with self._on_stream():
            zt = self._view(z).detach().requires_grad_(True)
            with torch.enable_grad():
                x = modulated_generator_forward(self.g, zt) if modulated else self.g(zt)
            self._write(out, x)
        self._z, self._x = zt, x
        return out

    def generator_vjp(self, g_x: DeviceArray) -> DeviceArray:
        """g_x (B, 3, R, R) -> the gradient of the last generator() call's input, of its shape
        (g_z, or g_v of search z+bn)."""
        if self._x is None:
            raise InpaintError("generator_vjp needs a generator() call before it (one VJP per call)")
        out = self._output("g_z", tuple(self._z.shape))
        with self._on_stream():
            (g_z,) = self._torch.autograd.grad(self._x, self._z, self._view(g_x))
            self._write(out, g_z)
        self._z = self._x = None   # autograd has freed the graph
        return out

    def target_features(self, masked_y: DeviceArray, box: DeviceArray) -> tuple[DeviceArray, DeviceArray]:
        """D's global and patch features of M*y (B, 3, R, R), box (B, 2) int64: the consistency targets."""
        with self._on_stream(), self._torch.no_grad():
            s = self._features(self._view(masked_y), self._view(box))
            return (self._write(self._output("target_global", s.global_features.shape), s.global_features),
                    self._write(self._output("target_patch", s.patch_features.shape), s.patch_features))

    def critic(self, x: DeviceArray, known: DeviceArray, box: DeviceArray,
               target: tuple[DeviceArray, DeviceArray] | None, prior: str, prior_weight: float,
               consistency_weight: float) -> tuple[DeviceArray, DeviceArray, DeviceArray]:
        """TorchEngine.critic on the device: prior loss (B,), consistency loss (B,) and the gradient
        of prior_weight * prior + consistency_weight * consistency with respect to x."""
        if consistency_weight and target is None:
            raise ValueError("a consistency_weight needs the target features: pass target_features(M*y, box)")
        b = x.shape[0]
        outs = self._output("prior", (b,)), self._output("consistency", (b,)), self._output("g_x", x.shape)
        torch = self._torch
        with self._on_stream():
            xt = self._view(x).detach().requires_grad_(True)
            m, bt = self._view(known), self._view(box)
            targets = (self._view(target[0]), self._view(target[1])) if consistency_weight else None
            with torch.enable_grad():
                prior_loss, consistency = critic_terms(self.d, xt, m, lambda image: self._features(image, bt),
                                                       targets, prior, consistency_weight)
                total = (prior_weight * prior_loss + consistency_weight * consistency).sum()
                (g_x,) = torch.autograd.grad(total, xt)
            for out, value in zip(outs, (prior_loss, consistency, g_x)):
                self._write(out, value)
        return outs

    # -- capture ------------------------------------------------------------------------------
    def capture(self, enqueue: Callable[[], None]) -> TorchGraph:
        """Record the work `enqueue` puts on the stream (engine calls and CudaOps launches alike)
        as one CUDA graph, without running it. torch.cuda.graph makes torch's allocations in it
        come from a private pool that the graph keeps, so replays find them where capture put
        them. Run `enqueue` eagerly at least once first: the capture may not allocate outputs,
        make views, or set up cuBLAS and cuDNN for this stream."""
        torch = self._torch
        graph = torch.cuda.CUDAGraph()
        self._capturing = True
        try:
            with self._on_stream(), torch.cuda.graph(graph, stream=self._stream):
                enqueue()
        finally:
            self._capturing = False
            self._z = self._x = None   # tensors of the capture: only replays may touch them
        return TorchGraph(graph, self._stream, torch)

    def free(self) -> None:
        """Release the output buffers (after the stream's work on them is done)."""
        self.stream.synchronize()
        self._views.clear()
        self._z = self._x = None
        for array in self._outputs.values():
            array.buffer.free()
        self._outputs.clear()
