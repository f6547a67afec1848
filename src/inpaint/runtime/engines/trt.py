"""TensorRT engine: the bundle's plans for this GPU, run with execute_async_v3 on device buffers.

Only `_run` is TensorRT's: the Engine calls, the feeds they build and the outputs they read are
GraphEngine's, the same code that drives ONNX Runtime. Plans come from `inpaint-export --engine`
and are checked against this GPU, this TensorRT and the bundle's graphs before any is loaded,
and each plan's optimisation profiles against plans.json when it is.

With cuda_graphs (the default), the first run of a graph at a batch size and set of buffers is
also recorded as a CUDA graph, and later runs replay it with one launch instead of enqueueing
every kernel again. One execution context serves every batch of its profile, and a recording is
only valid for the input shapes it was made at, so a context's recordings are dropped whenever
its shapes change (a search runs at one batch size: it records once). A recording that fails
(TensorRT refusing the enqueue, or the capture invalidated) is reported with a warning, and
that graph then runs without one.
"""
from __future__ import annotations

import warnings

import numpy as np

from inpaint.errors import InpaintError
from inpaint.runtime.bundle import Bundle, BundleError
from inpaint.runtime.engines.graphs import GraphEngine
from inpaint.runtime.engines.trt_plans import check_profiles, input_shapes, load_plans_meta, profile_for

REBUILD = "rebuild the plans with inpaint-export --engine"


def import_tensorrt():
    """The tensorrt module; BundleError where it is missing or cannot load its libraries (a
    tensorrt package whose libnvinfer is absent raises OSError, or ImportError, on import)."""
    try:
        import tensorrt
    except (ImportError, OSError) as e:
        found = "is not installed" if isinstance(e, ModuleNotFoundError) and e.name == "tensorrt" else \
            f"does not load ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
        raise BundleError(f"tensorrt {found}: install TensorRT 10 or 11 for your CUDA "
                          "(pip install 'inpaint[trt]' where NVIDIA's wheels are reachable), or use "
                          "--backend ort") from None
    return tensorrt


class TrtEngine(GraphEngine):
    name = "trt"

    def __init__(self, bundle: Bundle, device: int = 0, cuda_graphs: bool = True, stream=None):
        """stream: an inpaint.runtime.cuda.Stream on `device` to enqueue on (default: one of its own)."""
        super().__init__(bundle)
        from inpaint.runtime import cuda
        self._trt, self._cuda = import_tensorrt(), cuda
        cuda.set_device(device)     # TensorRT deserialises, and cudaMalloc allocates, on the current device
        self.device = device
        self.gpu, self.compute_capability = cuda.gpu(device)
        self.root, self.meta = load_plans_meta(bundle, self.gpu, self._trt.__version__)
        self.ranges = [tuple(r) for r in self.meta["profiles"]]
        self._logger = self._trt.Logger(self._trt.Logger.WARNING)
        self._runtime = self._trt.Runtime(self._logger)
        self._own_stream = stream is None
        self._stream = stream or cuda.Stream()
        self._graphs: dict = {}      # name -> (engine, one execution context per profile)
        self._buffers: dict = {}     # (graph, tensor) -> DeviceBuffer sized for the largest batch
        self.cuda_graphs = cuda_graphs
        self._batches: dict = {}     # (graph, profile) -> the batch that context's input shapes are set to
        self._replays: dict = {}     # (graph, profile) -> {device addresses: CudaGraph, or None: runs plainly}

    def _load(self, name: str):
        if name not in self._graphs:
            path = self.root / self.meta["graphs"][name]["plan"]
            engine = self._runtime.deserialize_cuda_engine(path.read_bytes())
            if engine is None:
                raise BundleError(f"TensorRT cannot load {path} (corrupt, or built by another TensorRT); "
                                  "rebuild it with inpaint-export --engine")
            check_profiles(engine, self.bundle.graph_io(name), self.ranges, path)
            contexts = []
            for profile in range(len(self.ranges)):
                context = engine.create_execution_context()
                if context is None:
                    raise BundleError(f"TensorRT could not make an execution context for {path} (out of "
                                      "GPU memory?); free the GPU or use fewer batch sizes")
                if not context.set_optimization_profile_async(profile, int(self._stream)):
                    raise BundleError(f"TensorRT refused optimisation profile {profile} of {path}; {REBUILD}")
                contexts.append(context)
            self._graphs[name] = (engine, contexts)
        return self._graphs[name]

    def _buffer(self, graph: str, tensor: str, nbytes: int):
        buf = self._buffers.get((graph, tensor))
        if buf is None or buf.nbytes < nbytes:
            if buf is not None:
                self._drop_replays(graph)        # recorded with the old address
                buf.free()
            buf = self._buffers[(graph, tensor)] = self._cuda.DeviceBuffer(nbytes)
        return buf

    def _drop_replays(self, graph: str, profile: int | None = None) -> None:
        for key in [k for k in self._replays if k[0] == graph and profile in (None, k[1])]:
            for replay in self._replays.pop(key).values():
                if replay is not None:
                    replay.destroy()

    @staticmethod
    def _bind(context, name: str, tensor: str, address: int) -> None:
        if not context.set_tensor_address(tensor, address):
            raise BundleError(f"TensorRT refused the device address of {tensor} for {name} (misaligned, or "
                              f"not a tensor of the plan); {REBUILD}")

    def _reshape(self, name: str, profile: int, context, shapes: dict) -> None:
        """Set a context's input shapes, dropping what was recorded at the shapes it had."""
        batch = next(iter(shapes.values()))[0]
        if self._batches.get((name, profile)) == batch:
            return
        self._drop_replays(name, profile)
        self._batches.pop((name, profile), None)
        for tensor, shape in shapes.items():
            if not context.set_input_shape(tensor, shape):
                raise BundleError(f"TensorRT refused shape {shape} for input {tensor} of {name} "
                                  f"(profile {profile}, batches {self.ranges[profile]}); {REBUILD}")
        self._batches[(name, profile)] = batch

    def _run(self, name: str, feeds: dict, keep: tuple[str, ...] = (), sync: bool = True) -> list:
        """Feeds that are DeviceArrays are bound where they are; outputs named in `keep` come back
        as DeviceArrays (valid until this graph runs again), the others as numpy arrays. With
        sync=False (every output kept) nothing waits for the GPU: the work stays enqueued."""
        trt, cuda = self._trt, self._cuda
        engine, contexts = self._load(name)
        io = self.bundle.graph_io(name)
        batch = next(feeds[i["name"]].shape[0] for i in io["inputs"] if i["shape"][0] == "batch")
        profile = profile_for(batch, self.ranges)
        context = contexts[profile]
        shapes = input_shapes(io, batch)
        for tensor, shape in shapes.items():
            if tuple(feeds[tensor].shape) != shape:
                raise ValueError(f"{name}: input {tensor} has shape {tuple(feeds[tensor].shape)}, expected {shape}")
        self._reshape(name, profile, context, shapes)
        for tensor in shapes:
            feed, dtype = feeds[tensor], np.dtype(trt.nptype(engine.get_tensor_dtype(tensor)))
            if isinstance(feed, cuda.DeviceArray):
                if feed.dtype != dtype:
                    raise ValueError(f"{name}: input {tensor} is {feed.dtype} on the device, expected {dtype}")
                buf = feed.buffer
            else:
                array = np.ascontiguousarray(feed, dtype)
                buf = self._buffer(name, tensor, array.nbytes)
                buf.upload(array, self._stream)
            self._bind(context, name, tensor, int(buf))
        outputs = []
        for out in io["outputs"]:
            tensor = out["name"]
            shape = tuple(context.get_tensor_shape(tensor))
            dtype = np.dtype(trt.nptype(engine.get_tensor_dtype(tensor)))
            buf = self._buffer(name, tensor, int(np.prod(shape)) * dtype.itemsize)
            self._bind(context, name, tensor, int(buf))
            outputs.append(cuda.DeviceArray(buf, shape, dtype))
        replays = self._replays.get((name, profile), {})
        addresses = tuple(int(context.get_tensor_address(t)) for t in self._tensors(engine))
        replay = replays.get(addresses)
        if replay is not None:
            replay.launch(self._stream)
        else:
            if not context.execute_async_v3(int(self._stream)):   # also the warm-up a capture needs
                raise BundleError(f"TensorRT failed to run {name} at batch {batch}")
            if self.cuda_graphs and addresses not in replays:
                self._replays.setdefault((name, profile), {})[addresses] = self._record(name, batch, context)
        result = [o if out["name"] in keep else o.buffer.download(np.empty(o.shape, o.dtype), self._stream)
                  for o, out in zip(outputs, io["outputs"])]
        if sync:
            self._stream.synchronize()
        elif len(keep) < len(outputs):
            raise ValueError("sync=False needs every output kept on the device")
        return result

    def _record(self, name: str, batch: int, context):
        """One enqueue of `context` recorded as a CUDA graph; None (and a warning) where it fails."""
        def enqueue():
            if not context.execute_async_v3(int(self._stream)):
                raise BundleError(f"TensorRT failed to enqueue {name} at batch {batch} during the capture")
        try:
            return self._cuda.CudaGraph(self._stream, enqueue)
        except InpaintError as e:
            warnings.warn(f"{name} at batch {batch} runs without a CUDA graph: recording one failed ({e})",
                          RuntimeWarning, stacklevel=4)
            return None

    @staticmethod
    def _tensors(engine) -> list[str]:
        return [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]

    def host(self, value) -> np.ndarray:
        return value.to_host(self._stream) if isinstance(value, self._cuda.DeviceArray) else value

    def close(self) -> None:
        """Release the recorded graphs, the buffers and the stream this engine made (once its work is done)."""
        self._stream.synchronize()
        for key in list(self._replays):
            self._drop_replays(*key)
        for buf in self._buffers.values():
            buf.free()
        self._buffers.clear()
        if self._own_stream:
            self._stream.destroy()
