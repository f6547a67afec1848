"""ONNX Runtime engine: the exported graphs on the CPU provider, or on CUDA with onnxruntime-gpu; no torch.

On CUDA every graph runs through an IOBinding: inputs are bound where they are (host arrays, or
values an earlier graph left on the device), outputs are allocated on the device, and only those
the caller needs on the host are copied back. The same code runs on the CPU provider when asked
(`io_binding=True`), which is how it is tested without a GPU.
"""
from __future__ import annotations

import os

import numpy as np

from inpaint.runtime.bundle import Bundle, BundleError
from inpaint.runtime.engines.graphs import GraphEngine


# ONNX Runtime folds a batch norm into the convolution before it where the convolution's bias is
# an initializer (every exported graph's is: export/fold.py); in an fp16 graph it rounds the
# folded weights to fp16 once more, which took critic_global's fp16 error from 4e-4 to 4e-2.
FP16_DISABLED_OPTIMIZERS = ("ConvBNFusion",)


def session_kwargs(precision: str) -> dict:
    """What InferenceSession takes besides options and providers for a graph of this precision."""
    return {"disabled_optimizers": list(FP16_DISABLED_OPTIMIZERS)} if precision == "fp16" else {}


def default_threads() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class OrtEngine(GraphEngine):
    """threads: intra-op threads per graph (default: every core this process may use).

    The graphs of an iteration run one after the other, each on its session's thread pool. A
    pool's idle workers spin for a while after a run, so they would take the cores from the
    next graph's pool: on two cores that made a two-thread iteration at batch 1 take 39 ms
    instead of 15 ms (benchmarks/RESULTS.md). Every session therefore stops its workers'
    spinning at the end of each run ("session.force_spinning_stop"), and spins only within one.
    """

    name = "ort"

    def __init__(self, bundle: Bundle, threads: int | None = None, providers: list[str] | None = None,
                 io_binding: bool | None = None, device_id: int = 0):
        super().__init__(bundle)
        try:
            import onnxruntime as ort
        except ImportError:
            raise BundleError("onnxruntime is not installed: pip install onnxruntime "
                              "(or use --backend torch with inpaint[train])") from None
        self._ort = ort
        self.threads = threads or default_threads()
        self.providers = providers or ["CPUExecutionProvider"]
        self.device = "cuda" if self.providers[0] == "CUDAExecutionProvider" else "cpu"
        self.device_id = device_id
        self.io_binding = self.device != "cpu" if io_binding is None else io_binding
        self._sessions: dict = {}
        self._weights = None          # the widened weights file, where the bundle ships it in fp16

    def session_providers(self) -> list:
        """The providers as InferenceSession takes them: the CUDA provider on device_id, the very
        device whose memory the IOBinding binds outputs on."""
        return [(p, {"device_id": str(self.device_id)}) if p == "CUDAExecutionProvider" else p
                for p in self.providers]

    def _options(self):
        options = self._ort.SessionOptions()
        options.log_severity_level = 3     # errors only: its graph-optimiser notes are not for users
        options.intra_op_num_threads = self.threads
        options.add_session_config_entry("session.force_spinning_stop", "1")
        return options

    def _weights_from_memory(self, name: str, options) -> list:
        """Hand ONNX Runtime the graph's weights from memory (widened from the fp16 file where the
        bundle ships that); returns the values, to be kept alive until the session is made (ONNX
        Runtime copies them then)."""
        if self._weights is None:
            self._weights = self.bundle.weights()
        names, values = [], []
        for t in self.bundle.graph_io(name)["external"]:
            a = np.frombuffer(self._weights, t["dtype"], int(np.prod(t["shape"])), t["offset"])
            names.append(t["name"])
            values.append(self._ort.OrtValue.ortvalue_from_numpy(a.reshape(t["shape"])))
        options.add_external_initializers(names, values)
        return values

    def session(self, name: str):
        """The inference session of one bundle graph, made on first use: from its optimised form
        in the user cache where that is there (CPU provider only: engines/ort_cache.py), else
        optimised now and, on the CPU, saved there for the next process."""
        if name not in self._sessions:
            cached = self._cached_graph(name)
            session = self._load_optimised(cached) if cached is not None and cached.is_file() else None
            self._sessions[name] = session or self._optimise(name, cached)
        return self._sessions[name]

    def _cached_graph(self, name: str):
        if self.providers != ["CPUExecutionProvider"]:
            return None
        from inpaint.runtime.engines.ort_cache import cache_path
        weights = self.bundle.manifest["weights"]
        return cache_path(self.bundle.graph_io(name)["sha256"], weights.get("stored", weights)["sha256"],
                          self.bundle.manifest.get("precision", "fp32"), self._ort.__version__)

    def _load_optimised(self, path):
        from inpaint.runtime.engines.ort_cache import touch
        options = self._options()
        options.graph_optimization_level = self._ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        try:
            session = self._ort.InferenceSession(str(path), options, providers=self.session_providers())
        except Exception:             # unreadable (another version wrote it, a damaged disk): remake it
            path.unlink(missing_ok=True)
            return None
        touch(path)
        return session

    def _optimise(self, name: str, save_to=None):
        from inpaint.runtime.engines.ort_cache import publish, writing_path
        tmp = writing_path(save_to) if save_to is not None else None
        try:
            session = self._new_session(name, tmp)
        except Exception:
            if tmp is None:
                raise
            tmp.unlink(missing_ok=True)
            session = self._new_session(name, None)      # the cache could not be written: run without it
            tmp = None
        if tmp is not None:
            publish(tmp, save_to)
        return session

    def _new_session(self, name: str, save_as=None):
        """A session optimising the bundle's graph now, saving the optimised graph at save_as."""
        options = self._options()
        if save_as is not None:
            options.optimized_model_filepath = str(save_as)
        # from memory where the fp32 file is not on disk, and where the optimised graph is saved:
        # it then holds its weights itself instead of naming a file beside the bundle's graph
        from_memory = self.bundle.weights_in_fp16 or save_as is not None
        weights = self._weights_from_memory(name, options) if from_memory else []
        try:
            return self._ort.InferenceSession(
                str(self.bundle.graph_path(name)), options, providers=self.session_providers(),
                **session_kwargs(self.bundle.manifest.get("precision", "fp32")))
        except Exception as e:   # onnxruntime raises its own exception types for bad files
            if save_as is not None:
                raise
            raise BundleError(f"onnxruntime cannot load {self.bundle.graph_path(name)} "
                              f"({str(e).splitlines()[0]}); re-export the bundle") from None
        finally:
            del weights          # copied into the session

    def _run(self, name: str, feeds: dict, keep: tuple[str, ...] = ()) -> list:
        session = self.session(name)
        if not self.io_binding:
            return session.run(None, {k: self.host(v) for k, v in feeds.items()})
        binding = session.io_binding()
        for k, v in feeds.items():
            if isinstance(v, self._ort.OrtValue):
                binding.bind_ortvalue_input(k, v)
            else:
                binding.bind_cpu_input(k, v)
        names = [o.name for o in session.get_outputs()]
        for n in names:
            binding.bind_output(n, self.device, self.device_id)
        session.run_with_iobinding(binding)
        return [v if n in keep else v.numpy() for n, v in zip(names, binding.get_outputs())]

    def host(self, value) -> np.ndarray:
        return value.numpy() if isinstance(value, self._ort.OrtValue) else value
