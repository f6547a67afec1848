"""ONNX Runtime engine: the exported graphs on the CPU provider (no torch)."""
from __future__ import annotations

import numpy as np

from inpaint.runtime.bundle import Bundle, BundleError
from inpaint.runtime.engines.graphs import GraphEngine


class OrtEngine(GraphEngine):
    name = "ort"

    def __init__(self, bundle: Bundle, threads: int | None = None, providers: list[str] | None = None):
        super().__init__(bundle)
        try:
            import onnxruntime as ort
        except ImportError:
            raise BundleError("onnxruntime is not installed: pip install onnxruntime "
                              "(or use --backend torch with inpaint[train])") from None
        self._ort = ort
        self.options = ort.SessionOptions()
        self.options.log_severity_level = 3     # errors only: its graph-optimiser notes are not for users
        if threads:
            self.options.intra_op_num_threads = threads
        self.providers = providers or ["CPUExecutionProvider"]
        self._sessions: dict = {}

    def _run(self, name: str, feeds: dict) -> list[np.ndarray]:
        if name not in self._sessions:
            try:
                self._sessions[name] = self._ort.InferenceSession(
                    str(self.bundle.graph_path(name)), self.options, providers=self.providers)
            except Exception as e:   # onnxruntime raises its own exception types for bad files
                raise BundleError(f"onnxruntime cannot load {self.bundle.graph_path(name)} "
                                  f"({str(e).splitlines()[0]}); re-export the bundle") from None
        return self._sessions[name].run(None, feeds)
