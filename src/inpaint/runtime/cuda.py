"""The few CUDA runtime calls the GPU engines need, through cuda-python (no torch, no pycuda).

Every call returns an error code first; `check` turns a failure into an InpaintError naming the
call, so a missing driver or an exhausted GPU reads as one line, not a traceback.

Streams, buffers and graphs are released by their destroy()/free() methods, and by a finalizer
where their owner drops them without (a handle is never leaked, nor released twice).
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Callable

import numpy as np

from inpaint.errors import InpaintError


def _cudart():
    try:
        from cuda.bindings import runtime   # cuda-python 12.6 and later
    except ImportError:
        try:
            from cuda import cudart as runtime
        except ImportError:
            raise InpaintError("cuda-python is not installed: pip install 'inpaint[gpu]'") from None
    return runtime


def check(result, call: str):
    """Unpack (err, *values) from a cuda-python call, raising on an error code."""
    rt = _cudart()
    err, *values = result if isinstance(result, tuple) else (result,)
    if err != rt.cudaError_t.cudaSuccess:
        raise InpaintError(f"CUDA call {call} failed: {rt.cudaGetErrorName(err)[1].decode()}; "
                           "check the GPU and its driver (nvidia-smi)")
    return values[0] if len(values) == 1 else tuple(values) or None


def set_device(device: int = 0) -> None:
    """Make `device` the calling thread's current device: streams, allocations, TensorRT's engines
    and its builder all use the current device, whatever index a caller passes elsewhere."""
    check(_cudart().cudaSetDevice(int(device)), f"cudaSetDevice({device})")


def gpu(device: int = 0) -> tuple[str, tuple[int, int]]:
    """(name, compute capability) of a CUDA device."""
    rt = _cudart()
    props = check(rt.cudaGetDeviceProperties(device), "cudaGetDeviceProperties")
    name = props.name.decode() if isinstance(props.name, bytes) else str(props.name)
    return name.rstrip("\x00"), (int(props.major), int(props.minor))


class Stream:
    """A non-blocking stream on the current device: no implicit ordering with the legacy default
    stream, so a capture on it is not invalidated by another library's work on that stream."""

    def __init__(self):
        self._rt = rt = _cudart()
        self.handle = check(rt.cudaStreamCreateWithFlags(rt.cudaStreamNonBlocking), "cudaStreamCreateWithFlags")
        self._finalizer = weakref.finalize(self, rt.cudaStreamDestroy, self.handle)

    def synchronize(self) -> None:
        check(self._rt.cudaStreamSynchronize(self.handle), "cudaStreamSynchronize")

    def destroy(self) -> None:
        """Release the stream (work already enqueued on it still completes)."""
        if self._finalizer.alive:
            check(self._finalizer(), "cudaStreamDestroy")

    def __int__(self) -> int:
        return int(self.handle)

    def __cuda_stream__(self) -> tuple[int, int]:
        """CUDA stream protocol (version 0, cudaStream_t address): how cuda.core launches on this stream."""
        return 0, int(self.handle)


class Event:
    """A CUDA event: recorded on a stream, then timed against another (device time, not host)."""

    def __init__(self):
        self._rt = rt = _cudart()
        self.handle = check(rt.cudaEventCreate(), "cudaEventCreate")
        self._finalizer = weakref.finalize(self, rt.cudaEventDestroy, self.handle)

    def record(self, stream: Stream) -> "Event":
        check(self._rt.cudaEventRecord(self.handle, stream.handle), "cudaEventRecord")
        return self

    def ms_since(self, start: "Event") -> float:
        """Milliseconds of device time from `start` to this event (waits for this one)."""
        check(self._rt.cudaEventSynchronize(self.handle), "cudaEventSynchronize")
        return float(check(self._rt.cudaEventElapsedTime(start.handle, self.handle), "cudaEventElapsedTime"))

    def destroy(self) -> None:
        if self._finalizer.alive:
            check(self._finalizer(), "cudaEventDestroy")


class DeviceBuffer:
    """nbytes of device memory; copies to and from contiguous numpy arrays on a stream."""

    def __init__(self, nbytes: int):
        self._rt = rt = _cudart()
        self.nbytes = int(nbytes)
        self.ptr = check(rt.cudaMalloc(max(self.nbytes, 1)), "cudaMalloc")
        self._finalizer = weakref.finalize(self, rt.cudaFree, self.ptr)

    def upload(self, array: np.ndarray, stream: Stream) -> None:
        array = np.ascontiguousarray(array)
        if array.nbytes > self.nbytes:
            raise ValueError(f"{array.nbytes} bytes do not fit a buffer of {self.nbytes}")
        check(self._rt.cudaMemcpyAsync(self.ptr, array.ctypes.data, array.nbytes,
                                       self._rt.cudaMemcpyKind.cudaMemcpyHostToDevice, stream.handle),
              "cudaMemcpyAsync")

    def download(self, out: np.ndarray, stream: Stream) -> np.ndarray:
        if not out.flags.c_contiguous or out.nbytes > self.nbytes:
            raise ValueError("download needs a contiguous array no larger than the buffer")
        check(self._rt.cudaMemcpyAsync(out.ctypes.data, self.ptr, out.nbytes,
                                       self._rt.cudaMemcpyKind.cudaMemcpyDeviceToHost, stream.handle),
              "cudaMemcpyAsync")
        return out

    def copy_from(self, other: "DeviceBuffer", nbytes: int, stream: Stream) -> None:
        if nbytes > min(self.nbytes, other.nbytes):
            raise ValueError(f"{nbytes} bytes do not fit buffers of {other.nbytes} and {self.nbytes}")
        check(self._rt.cudaMemcpyAsync(self.ptr, other.ptr, nbytes,
                                       self._rt.cudaMemcpyKind.cudaMemcpyDeviceToDevice, stream.handle),
              "cudaMemcpyAsync")

    def free(self) -> None:
        if self._finalizer.alive:
            self.ptr = None
            check(self._finalizer(), "cudaFree")

    def __int__(self) -> int:
        return int(self.ptr)


@dataclass(frozen=True)
class DeviceArray:
    """An array that lives in a DeviceBuffer: what an engine keeps on the GPU between calls."""

    buffer: DeviceBuffer
    shape: tuple[int, ...]
    dtype: np.dtype

    @classmethod
    def from_host(cls, array: np.ndarray, stream: Stream) -> "DeviceArray":
        """A new device copy of a host array (the upload is enqueued on `stream`)."""
        array = np.ascontiguousarray(array)
        buffer = DeviceBuffer(array.nbytes)
        buffer.upload(array, stream)
        return cls(buffer, array.shape, array.dtype)

    def to_host(self, stream: Stream) -> np.ndarray:
        out = self.buffer.download(np.empty(self.shape, self.dtype), stream)
        stream.synchronize()
        return out

    @property
    def __cuda_array_interface__(self) -> dict:
        """CUDA Array Interface, version 3: torch.as_tensor (CuPy, Numba) views this memory
        without a copy. It names no stream ("stream": None, no synchronization on import): the
        importer must order its work on the stream that writes the buffer, as the engines do."""
        return {"shape": tuple(self.shape), "typestr": np.dtype(self.dtype).str,
                "data": (int(self.buffer), False), "strides": None, "stream": None, "version": 3}


class CudaGraph:
    """The work `enqueue` puts on a stream, recorded once (not run) and replayed by `launch`.

    Replays use the device addresses seen at capture: the buffers must stay where they were.
    An exception from `enqueue` is the one raised: the capture is ended without a check (it
    may have been invalidated by what went wrong) and whatever it recorded is destroyed.
    """

    def __init__(self, stream: Stream, enqueue: Callable[[], None]):
        self._rt = rt = _cudart()
        check(rt.cudaStreamBeginCapture(stream.handle, rt.cudaStreamCaptureMode.cudaStreamCaptureModeThreadLocal),
              "cudaStreamBeginCapture")
        try:
            enqueue()
        except BaseException:
            # ending the capture is required to leave capture mode; its error (most likely the
            # invalidation that enqueue's failure caused) would only hide the error raised here
            err, graph = rt.cudaStreamEndCapture(stream.handle)
            if err == rt.cudaError_t.cudaSuccess and graph is not None and int(graph):
                rt.cudaGraphDestroy(graph)
            raise
        graph = check(rt.cudaStreamEndCapture(stream.handle), "cudaStreamEndCapture")
        try:
            self.exec = check(rt.cudaGraphInstantiate(graph, 0), "cudaGraphInstantiate")
        finally:
            check(rt.cudaGraphDestroy(graph), "cudaGraphDestroy")
        self._finalizer = weakref.finalize(self, rt.cudaGraphExecDestroy, self.exec)

    def launch(self, stream: Stream) -> None:
        check(self._rt.cudaGraphLaunch(self.exec, stream.handle), "cudaGraphLaunch")

    def destroy(self) -> None:
        """Release the executable graph (a launch in flight still completes)."""
        if self._finalizer.alive:
            self.exec = None
            check(self._finalizer(), "cudaGraphExecDestroy")
