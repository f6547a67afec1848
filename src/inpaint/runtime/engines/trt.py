"""TensorRT engine: the bundle's plans for this GPU, run with execute_async_v3 on device buffers.

Only `_run` is TensorRT's: the Engine calls, the feeds they build and the outputs they read are
GraphEngine's, the same code that drives ONNX Runtime. Plans come from `inpaint-export --engine`
and are checked against this GPU, this TensorRT and the bundle's graphs before any is loaded.

With cuda_graphs (the default), the first run of a graph at a batch size and set of buffers is
also recorded as a CUDA graph, and later runs replay it with one launch instead of enqueueing
every kernel again.
"""
from __future__ import annotations

import numpy as np

from inpaint.runtime.bundle import Bundle, BundleError
from inpaint.runtime.engines.graphs import GraphEngine
from inpaint.runtime.engines.trt_plans import input_shapes, load_plans_meta, profile_for


def import_tensorrt():
    try:
        import tensorrt
    except ImportError:
        raise BundleError("tensorrt is not installed: install TensorRT 10 or 11 for your CUDA "
                          "(pip install 'inpaint[trt]' where NVIDIA's wheels are reachable), or use "
                          "--backend ort") from None
    return tensorrt


class TrtEngine(GraphEngine):
    name = "trt"

    def __init__(self, bundle: Bundle, device: int = 0, cuda_graphs: bool = True, stream=None):
        """stream: an inpaint.runtime.cuda.Stream to enqueue on (default: one of its own)."""
        super().__init__(bundle)
        from inpaint.runtime import cuda
        self._trt, self._cuda = import_tensorrt(), cuda
        self.gpu, self.compute_capability = cuda.gpu(device)
        self.root, self.meta = load_plans_meta(bundle, self.gpu, self._trt.__version__)
        self.ranges = [tuple(r) for r in self.meta["profiles"]]
        self._logger = self._trt.Logger(self._trt.Logger.WARNING)
        self._runtime = self._trt.Runtime(self._logger)
        self._stream = stream or cuda.Stream()
        self._graphs: dict = {}      # name -> (engine, one execution context per profile)
        self._buffers: dict = {}     # (graph, tensor) -> DeviceBuffer sized for the largest batch
        self.cuda_graphs = cuda_graphs
        self._replays: dict = {}     # (graph, batch, device addresses) -> CudaGraph

    def _load(self, name: str):
        if name not in self._graphs:
            path = self.root / self.meta["graphs"][name]["plan"]
            engine = self._runtime.deserialize_cuda_engine(path.read_bytes())
            if engine is None:
                raise BundleError(f"TensorRT cannot load {path} (corrupt, or built by another TensorRT); "
                                  "rebuild it with inpaint-export --engine")
            contexts = []
            for profile in range(len(self.ranges)):
                context = engine.create_execution_context()
                context.set_optimization_profile_async(profile, int(self._stream))
                contexts.append(context)
            self._graphs[name] = (engine, contexts)
        return self._graphs[name]

    def _buffer(self, graph: str, tensor: str, nbytes: int):
        buf = self._buffers.get((graph, tensor))
        if buf is None or buf.nbytes < nbytes:
            if buf is not None:
                buf.free()
            buf = self._buffers[(graph, tensor)] = self._cuda.DeviceBuffer(nbytes)
        return buf

    def _run(self, name: str, feeds: dict, keep: tuple[str, ...] = (), sync: bool = True) -> list:
        """Feeds that are DeviceArrays are bound where they are; outputs named in `keep` come back
        as DeviceArrays (valid until this graph runs again), the others as numpy arrays. With
        sync=False (every output kept) nothing waits for the GPU: the work stays enqueued."""
        trt, cuda = self._trt, self._cuda
        engine, contexts = self._load(name)
        io = self.bundle.graph_io(name)
        batch = next(feeds[i["name"]].shape[0] for i in io["inputs"] if i["shape"][0] == "batch")
        context = contexts[profile_for(batch, self.ranges)]
        for tensor, shape in input_shapes(io, batch).items():
            feed, dtype = feeds[tensor], np.dtype(trt.nptype(engine.get_tensor_dtype(tensor)))
            if tuple(feed.shape) != shape:
                raise ValueError(f"{name}: input {tensor} has shape {tuple(feed.shape)}, expected {shape}")
            context.set_input_shape(tensor, shape)
            if isinstance(feed, cuda.DeviceArray):
                if feed.dtype != dtype:
                    raise ValueError(f"{name}: input {tensor} is {feed.dtype} on the device, expected {dtype}")
                buf = feed.buffer
            else:
                array = np.ascontiguousarray(feed, dtype)
                buf = self._buffer(name, tensor, array.nbytes)
                buf.upload(array, self._stream)
            context.set_tensor_address(tensor, int(buf))
        outputs = []
        for out in io["outputs"]:
            tensor = out["name"]
            shape = tuple(context.get_tensor_shape(tensor))
            dtype = np.dtype(trt.nptype(engine.get_tensor_dtype(tensor)))
            buf = self._buffer(name, tensor, int(np.prod(shape)) * dtype.itemsize)
            context.set_tensor_address(tensor, int(buf))
            outputs.append(cuda.DeviceArray(buf, shape, dtype))
        key = (name, batch, tuple(int(context.get_tensor_address(t)) for t in self._tensors(engine)))
        replay = self._replays.get(key)
        if replay is not None:
            replay.launch(self._stream)
        else:
            if not context.execute_async_v3(int(self._stream)):   # also the warm-up a capture needs
                raise BundleError(f"TensorRT failed to run {name} at batch {batch}")
            if self.cuda_graphs:
                self._replays[key] = cuda.CudaGraph(self._stream, lambda: context.execute_async_v3(int(self._stream)))
        result = [o if out["name"] in keep else o.buffer.download(np.empty(o.shape, o.dtype), self._stream)
                  for o, out in zip(outputs, io["outputs"])]
        if sync:
            self._stream.synchronize()
        elif len(keep) < len(outputs):
            raise ValueError("sync=False needs every output kept on the device")
        return result

    @staticmethod
    def _tensors(engine) -> list[str]:
        return [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]

    def host(self, value) -> np.ndarray:
        return value.to_host(self._stream) if isinstance(value, self._cuda.DeviceArray) else value
