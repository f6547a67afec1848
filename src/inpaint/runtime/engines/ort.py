"""ONNX Runtime engine: the exported graphs on the CPU provider (no torch)."""
from __future__ import annotations

import numpy as np

from inpaint.runtime.bundle import Bundle, BundleError
from inpaint.runtime.engines.graphs import GraphEngine


SINGLE_THREAD_BELOW = 32   # batches smaller than this run faster on one intra-op thread (benchmarks/RESULTS.md)


class OrtEngine(GraphEngine):
    """threads: intra-op threads for every call; None runs batches under SINGLE_THREAD_BELOW on one
    thread (ONNX Runtime's thread pool costs more than it gains on them) and larger ones on its
    default pool."""

    name = "ort"

    def __init__(self, bundle: Bundle, threads: int | None = None, providers: list[str] | None = None):
        super().__init__(bundle)
        try:
            import onnxruntime as ort
        except ImportError:
            raise BundleError("onnxruntime is not installed: pip install onnxruntime "
                              "(or use --backend torch with inpaint[train])") from None
        self._ort = ort
        self.threads = threads
        self.providers = providers or ["CPUExecutionProvider"]
        self._sessions: dict = {}

    def _options(self, threads: int | None):
        options = self._ort.SessionOptions()
        options.log_severity_level = 3     # errors only: its graph-optimiser notes are not for users
        if threads:
            options.intra_op_num_threads = threads
        return options

    def _run(self, name: str, feeds: dict) -> list[np.ndarray]:
        threads = self.threads
        if threads is None and self.providers[0] == "CPUExecutionProvider":
            threads = 1 if next(iter(feeds.values())).shape[0] < SINGLE_THREAD_BELOW else None
        key = (name, threads)
        if key not in self._sessions:
            try:
                self._sessions[key] = self._ort.InferenceSession(
                    str(self.bundle.graph_path(name)), self._options(threads), providers=self.providers)
            except Exception as e:   # onnxruntime raises its own exception types for bad files
                raise BundleError(f"onnxruntime cannot load {self.bundle.graph_path(name)} "
                                  f"({str(e).splitlines()[0]}); re-export the bundle") from None
        return self._sessions[key].run(None, feeds)
