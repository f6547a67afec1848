"""Stand-ins for cuda-python's runtime and for TensorRT, on host memory, for tests without a GPU.

HostRuntime answers the cudart calls inpaint.runtime.cuda makes (install it with the host_cuda
fixture of tests/runtime/conftest.py): device pointers are addresses of numpy blocks, copies are
memmoves, and a stream capture records the work that HostContext enqueues instead of doing it,
so that a graph launch does it then, as a CUDA graph replays what it recorded. It keeps count of
every handle it gave out, so a test can tell what leaked. FakeTensorRT is the part of the
tensorrt module TrtEngine uses, with execution contexts (HostContext) that check their shapes
and profiles as TensorRT documents it and compute outputs a test can predict; fake_plans puts
it in place of tensorrt for a bundle of chosen graphs. HostOps is CudaOps' contract in numpy,
done at once (not enqueued): for the device search's loop run eagerly or with an engine whose
capture records nothing of the runtime's.
"""
from __future__ import annotations

import ctypes
import inspect
import itertools
from types import SimpleNamespace

import json

import numpy as np

from inpaint.masks import importance_weights
from inpaint.runtime.cuda import DeviceArray, DeviceBuffer
from inpaint.runtime.ops import AdamState, CpuOps

SUCCESS, INVALIDATED = 0, 901


class HostRuntime:
    """The cudart calls of inpaint.runtime.cuda, on host memory."""

    class cudaError_t:
        cudaSuccess = SUCCESS
        cudaErrorStreamCaptureInvalidated = INVALIDATED

    class cudaMemcpyKind:
        cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice = 1, 2, 3

    class cudaStreamCaptureMode:
        cudaStreamCaptureModeThreadLocal = 1

    cudaStreamNonBlocking = 1
    NAMES = {SUCCESS: b"cudaSuccess", INVALIDATED: b"cudaErrorStreamCaptureInvalidated"}

    def __init__(self, gpu: str = "Host GPU"):
        self.gpu = gpu
        self.live = {}              # pointer -> the numpy block behind it
        self.streams = {}           # handle -> flags it was made with
        self.graphs, self.execs = {}, {}   # handle -> the work recorded in it
        self.events = set()
        self.device = 0
        self.calls = []             # the names of the calls made, in order
        self.capturing = None       # the work being recorded, while a capture is on
        self.invalidate_capture = False   # the next capture ends invalidated
        self._ids = itertools.count(1)

    def __getattribute__(self, name):
        value = object.__getattribute__(self, name)
        if name.startswith("cuda") and inspect.ismethod(value):
            object.__getattribute__(self, "calls").append(name)
        return value

    def cudaGetErrorName(self, err):
        return SUCCESS, self.NAMES.get(err, b"cudaErrorUnknown")

    def cudaSetDevice(self, device):
        self.device = device
        return (SUCCESS,)

    def cudaGetDeviceProperties(self, device):
        return SUCCESS, SimpleNamespace(name=self.gpu.encode(), major=9, minor=0)

    def cudaStreamCreateWithFlags(self, flags):
        handle = next(self._ids)
        self.streams[handle] = flags
        return SUCCESS, handle

    def cudaStreamDestroy(self, handle):
        del self.streams[handle]
        return (SUCCESS,)

    def cudaStreamSynchronize(self, handle):
        return (SUCCESS,)

    def cudaEventCreate(self):
        handle = next(self._ids)
        self.events.add(handle)
        return SUCCESS, handle

    def cudaEventDestroy(self, handle):
        self.events.remove(handle)
        return (SUCCESS,)

    def cudaMalloc(self, n):
        block = np.full(n, 0xFF, np.uint8)          # poisoned: NaN as float32
        self.live[block.ctypes.data] = block
        return SUCCESS, block.ctypes.data

    def cudaFree(self, pointer):
        del self.live[pointer]
        return (SUCCESS,)

    def cudaMemcpyAsync(self, dst, src, n, kind, stream):
        self.enqueue(lambda: ctypes.memmove(int(dst), int(src), n))
        return (SUCCESS,)

    def enqueue(self, work):
        """Do `work` now, or record it where a capture is on."""
        if self.capturing is not None:
            self.capturing.append(work)
        else:
            work()

    def cudaStreamBeginCapture(self, stream, mode):
        self.capturing = []
        return (SUCCESS,)

    def cudaStreamEndCapture(self, stream):
        work, self.capturing = self.capturing, None
        if self.invalidate_capture:
            self.invalidate_capture = False
            return INVALIDATED, None
        handle = next(self._ids)
        self.graphs[handle] = work
        return SUCCESS, handle

    def cudaGraphInstantiate(self, graph, flags):
        handle = next(self._ids)
        self.execs[handle] = list(self.graphs[graph])
        return SUCCESS, handle

    def cudaGraphDestroy(self, graph):
        del self.graphs[graph]
        return (SUCCESS,)

    def cudaGraphExecDestroy(self, handle):
        del self.execs[handle]
        return (SUCCESS,)

    def cudaGraphLaunch(self, handle, stream):
        for work in self.execs[handle]:
            work()
        return (SUCCESS,)


def view(array: DeviceArray) -> np.ndarray:
    """The numpy view of a DeviceArray's (host) memory."""
    return view_at(int(array.buffer), array.shape, array.dtype)


def view_at(address: int, shape, dtype) -> np.ndarray:
    n = int(np.prod(shape)) * np.dtype(dtype).itemsize
    return np.frombuffer((ctypes.c_byte * n).from_address(address), dtype).reshape(shape)


class HostContext:
    """A TensorRT execution context of FakeEngine: outputs[k] = sum of the inputs (each summed
    over all but the batch axis) + k, broadcast to the output's shape; on `runtime`'s memory."""

    def __init__(self, engine: "FakeEngine"):
        self.engine, self.runtime = engine, engine.runtime
        self.profile, self.shapes, self.addresses = 0, {}, {}
        self.executes = 0           # enqueues, eager or recorded
        self.reshapes = 0           # set_input_shape calls
        self.refuse = set()         # what to refuse: "shape", "address", "execute", "capture"

    def set_optimization_profile_async(self, profile, stream):
        self.profile = profile
        return 0 <= profile < self.engine.num_optimization_profiles

    def set_input_shape(self, name, shape):
        self.reshapes += 1
        lo, _, hi = self.engine.get_tensor_profile_shape(name, self.profile)
        ok = "shape" not in self.refuse and all(a <= s <= b for a, s, b in zip(lo, shape, hi))
        if ok:
            self.shapes[name] = tuple(shape)
        return ok

    def set_tensor_address(self, name, address):
        if "address" in self.refuse:
            return False
        self.addresses[name] = int(address)
        return True

    def get_tensor_address(self, name):
        return self.addresses.get(name, 0)

    def get_tensor_shape(self, name):
        batch = next(iter(self.shapes.values()))[0]
        return (batch, *self.engine.outputs[name][1:])

    def execute_async_v3(self, stream):
        capturing = self.runtime.capturing is not None
        if "execute" in self.refuse or ("capture" in self.refuse and capturing):
            return False
        self.executes += 1
        inputs = [(self.addresses[n], self.shapes[n], self.engine.dtypes[n]) for n in self.engine.inputs]
        outputs = [(self.addresses[n], self.get_tensor_shape(n)) for n in self.engine.outputs]

        def run():
            total = sum(view_at(a, s, d).reshape(s[0], -1).astype(np.float64).sum(1) for a, s, d in inputs)
            for k, (address, shape) in enumerate(outputs):
                out = view_at(address, shape, np.float32)
                out[...] = (total + k).reshape(-1, *[1] * (len(shape) - 1))
        self.runtime.enqueue(run)
        return True


class FakeEngine:
    """A deserialised plan of one graph: its I/O from the bundle's manifest, profiles from plans.json."""

    def __init__(self, runtime: HostRuntime, graph_io: dict, ranges):
        self.runtime, self.ranges = runtime, [tuple(r) for r in ranges]
        self.inputs = {i["name"]: i["shape"] for i in graph_io["inputs"]}
        self.outputs = {o["name"]: o["shape"] for o in graph_io["outputs"]}
        self.dtypes = {i["name"]: np.dtype(i["dtype"]) for i in graph_io["inputs"] + graph_io["outputs"]}
        self.names = [*self.inputs, *self.outputs]
        self.num_optimization_profiles = len(self.ranges)
        self.contexts = []

    @property
    def num_io_tensors(self):
        return len(self.names)

    def get_tensor_name(self, i):
        return self.names[i]

    def get_tensor_dtype(self, name):
        return self.dtypes[name]

    def get_tensor_profile_shape(self, name, profile):
        return [[b if d == "batch" else d for d in self.inputs[name]] for b in self.ranges[profile]]

    def create_execution_context(self):
        self.contexts.append(HostContext(self))
        return self.contexts[-1]


class FakeTensorRT:
    """The tensorrt module as TrtEngine uses it; plans are JSON naming the graph they stand for."""

    __version__ = "10.99.0"

    class Logger:
        WARNING = 2

        def __init__(self, level):
            self.level = level

    def __init__(self, runtime: HostRuntime, bundle, ranges):
        self.host, self.bundle, self.ranges = runtime, bundle, ranges
        self.engines = {}           # graph name -> the FakeEngine deserialised for it

    def Runtime(self, logger):
        fake = self

        class Runtime:
            def deserialize_cuda_engine(self, plan: bytes):
                name = plan.decode()
                engine = FakeEngine(fake.host, fake.bundle.graph_io(name), fake.ranges)
                fake.engines[name] = engine
                return engine
        return Runtime()

    @staticmethod
    def nptype(dtype):
        return np.dtype(dtype).type


def fake_plans(runtime: HostRuntime, monkeypatch, root, source, names, batch_sizes, gpu: str = "Host GPU"):
    """A Bundle at `root` of the graphs `names` of the bundle `source` (their manifest entries),
    with plans.json and plan files for `batch_sizes`, and FakeTensorRT as the tensorrt module
    TrtEngine imports: (bundle, fake)."""
    from inpaint.runtime.bundle import Bundle
    from inpaint.runtime.engines import trt as trt_engine
    from inpaint.runtime.engines.trt_plans import PLANS_META, plans_dir, plans_meta
    bundle = Bundle(root, {"graphs": {n: source.manifest["graphs"][n] for n in names}}, source.spec)
    meta = plans_meta(bundle, gpu, (9, 0), FakeTensorRT.__version__, batch_sizes)
    plans = plans_dir(root, gpu, FakeTensorRT.__version__)
    plans.mkdir(parents=True)
    (plans / PLANS_META).write_text(json.dumps(meta))
    for n in names:
        (plans / f"{n}.plan").write_bytes(n.encode())
    fake = FakeTensorRT(runtime, bundle, meta["profiles"])
    monkeypatch.setattr(trt_engine, "import_tensorrt", lambda: fake)
    return bundle, fake


class HostOps:
    """CudaOps' contract in numpy: the same calls, in place on the DeviceArrays."""

    def __init__(self, stream):
        self.stream = stream

    def importance_weights(self, known, window=7):
        out = DeviceArray(DeviceBuffer(int(np.prod(known.shape)) * 4), (known.shape[0], 1, *known.shape[1:]),
                          np.dtype(np.float32))
        view(out)[:] = importance_weights(view(known), window)[:, None]
        return out

    def contextual(self, x, y, w, norm, g_extra=None, out=None):
        loss, grad = CpuOps.contextual(view(x), view(y), view(w), norm)
        view(out[0])[:], view(out[1])[:] = loss, grad + (0 if g_extra is None else view(g_extra))
        return out

    def adam(self, z, grad, state, lr, beta1, beta2, eps=1e-8, stop=None):
        if stop is not None and view(stop)[0]:
            return z
        steps = view(state.step)
        CpuOps.adam(view(z), view(grad).copy(), AdamState(view(state.m), view(state.v), int(steps[0])),
                    lr, beta1, beta2, eps)
        steps[0] += 1
        return z

    def track(self, contextual, prior, consistency, z, steps, best, best_z, history, status, lam, mu,
              patience, rel_tol):
        status, history = view(status), view(history)
        if status[0]:
            return
        t = int(view(steps)[0])
        total = view(contextual) + np.float32(lam) * view(prior) + np.float32(mu) * view(consistency)
        better = np.ones_like(total, bool) if t == 0 else total < view(best)[0]
        view(best_z)[better] = view(z)[better]
        view(best)[:, better] = np.stack([total, view(contextual), view(prior), view(consistency)])[:, better]
        history[t] = total.mean()
        it = t + 1
        if it == history.shape[0] or (it > patience and
                                      history[t - patience] - history[t] < rel_tol * abs(history[t - patience])):
            status[:] = 1, it
