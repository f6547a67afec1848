"""ONNX Runtime engine: the exported graphs on the CPU provider (no torch)."""
from __future__ import annotations

import numpy as np

from inpaint.runtime.bundle import Bundle, BundleError


class OrtEngine:
    name = "ort"

    def __init__(self, bundle: Bundle, threads: int | None = None, providers: list[str] | None = None):
        try:
            import onnxruntime as ort
        except ImportError:
            raise BundleError("onnxruntime is not installed: pip install onnxruntime "
                              "(or use --backend torch with inpaint[train])") from None
        self._ort = ort
        self.bundle, self.spec = bundle, bundle.spec
        self.options = ort.SessionOptions()
        self.options.log_severity_level = 3     # errors only: its graph-optimiser notes are not for users
        if threads:
            self.options.intra_op_num_threads = threads
        self.providers = providers or ["CPUExecutionProvider"]
        self._sessions: dict = {}
        self._saved: list[np.ndarray] = []
        self._zeros: dict = {}

    def _run(self, name: str, feeds: dict) -> list[np.ndarray]:
        if name not in self._sessions:
            try:
                self._sessions[name] = self._ort.InferenceSession(
                    str(self.bundle.graph_path(name)), self.options, providers=self.providers)
            except Exception as e:   # onnxruntime raises its own exception types for bad files
                raise BundleError(f"onnxruntime cannot load {self.bundle.graph_path(name)} "
                                  f"({str(e).splitlines()[0]}); re-export the bundle") from None
        return self._sessions[name].run(None, feeds)

    def generator(self, z: np.ndarray) -> np.ndarray:
        x, *self._saved = self._run("generator", {"z": np.ascontiguousarray(z, np.float32)})
        self._x = x
        return x

    def generator_vjp(self, g_x: np.ndarray) -> np.ndarray:
        feeds = {f"saved{i}": s for i, s in enumerate(self._saved)}
        feeds.update(x=self._x, g_x=np.ascontiguousarray(g_x, np.float32))
        return self._run("generator_vjp", feeds)[0]

    def target_features(self, masked_y: np.ndarray, box: np.ndarray):
        return tuple(self._run("features", {"masked_y": np.ascontiguousarray(masked_y, np.float32),
                                            "box": np.ascontiguousarray(box, np.int64)}))

    def critic(self, x, known, box, target, prior, prior_weight, consistency_weight):
        if prior == "global":
            name = "critic_global"
        else:
            name = "critic_joint_consistency" if consistency_weight else "critic_joint"
        if target is None:
            target = self._zero_targets(name, x.shape[0])
        feeds = {"x": x, "known": np.ascontiguousarray(known, np.float32),
                 "box": np.ascontiguousarray(box, np.int64), "target_global": target[0],
                 "target_patch": target[1],
                 "weights": np.array([prior_weight, consistency_weight], np.float32)}
        prior_loss, consistency, g_x = self._run(name, feeds)
        return prior_loss, consistency, g_x

    def _zero_targets(self, name: str, batch: int):
        """The critics without the consistency term still take (unused) target inputs."""
        if batch not in self._zeros:
            shapes = {i["name"]: i["shape"][1:] for i in self.bundle.graph_io(name)["inputs"]}
            self._zeros[batch] = tuple(np.zeros((batch, *shapes[k]), np.float32)
                                       for k in ("target_global", "target_patch"))
        return self._zeros[batch]
