"""The Engine interface on top of the exported graphs, whatever runs them (ONNX Runtime, TensorRT).

A subclass only says how to run one graph, `_run(name, feeds, keep) -> outputs` with inputs and
outputs named as in the bundle's manifest, and how to bring a value it kept back to the host
(`host`). Which graph serves which call (the generator's by the width of its input: z, or v of
search z+bn), what the generator keeps for its VJP and the unused inputs of the critics live
here, once for every runtime; the device search's TensorRT engine (engines/trt_device.py) runs
the generator through run_generator and run_generator_vjp too, on DeviceArrays.

Feeds are numpy arrays or values an earlier call kept. The outputs named in `keep` may stay
where the runtime made them (device memory, for a GPU runtime) until the same graph runs again;
the generator keeps all of its outputs that way, so its activations reach the VJP without a
round trip through the host.
"""
from __future__ import annotations

import numpy as np

from inpaint.runtime.bundle import Bundle
from inpaint.spec import search_of_size

# The generator and its VJP of each search: z in, or v = [z, u] in for z+bn (inpaint.train.modulated).
GENERATOR_GRAPHS = {"z": ("generator", "generator_vjp"), "z+bn": ("generator_bn", "generator_bn_vjp")}


def critic_graph(prior: str, consistency_weight: float) -> str:
    """The bundle graph for a prior kind, with the consistency term only where it is weighted."""
    if prior == "global":
        return "critic_global"
    return "critic_joint_consistency" if consistency_weight else "critic_joint"


class GraphEngine:
    name = "graphs"

    def __init__(self, bundle: Bundle):
        self.bundle, self.spec = bundle, bundle.spec
        self._kept: dict = {}           # the last generator call's input and outputs, as _run kept them
        self._vjp = "generator_vjp"     # the VJP graph of that call
        self._zeros: dict = {}

    def _run(self, name: str, feeds: dict, keep: tuple[str, ...] = ()) -> list:
        raise NotImplementedError

    def host(self, value) -> np.ndarray:
        """A value `_run` kept, as a numpy array."""
        return value

    @property
    def has_encoder(self) -> bool:
        return "encoder" in self.bundle.manifest["graphs"]

    def encode(self, masked_y: np.ndarray, known: np.ndarray) -> np.ndarray:
        if not self.has_encoder:
            from inpaint.runtime.bundle import BundleError
            raise BundleError(f"bundle {self.bundle.root} has no latent encoder; export a model trained "
                              "with inpaint-train --encoder, or start from random z")
        feeds = {"masked_y": np.ascontiguousarray(masked_y, np.float32),
                 "known": np.ascontiguousarray(known, np.float32)}
        # the graph ends in tanh, which ONNX Runtime lets reach one ulp past +-1 where it saturates
        return np.clip(self.host(self._run("encoder", feeds)[0]), -1.0, 1.0)

    @property
    def has_gl(self) -> bool:
        return "gl" in self.bundle.manifest["graphs"]

    def complete_gl(self, image: np.ndarray, known: np.ndarray) -> np.ndarray:
        """GL's completion network: image (B, 3, R, R) in [-1, 1] and known (B, 1, R, R) -> the
        image with its hole filled (B, 3, R, R)."""
        feeds = {"image": np.ascontiguousarray(image, np.float32), "known": np.ascontiguousarray(known, np.float32)}
        return self.host(self._run("gl", feeds)[0])

    def check_search(self, search: str) -> None:
        """BundleError, naming the fix, where the bundle lacks the graphs of `search` (a bundle
        exported before search z+bn existed)."""
        missing = [name for name in GENERATOR_GRAPHS[search] if name not in self.bundle.manifest["graphs"]]
        if missing:
            from inpaint.runtime.bundle import BundleError
            raise BundleError(f"bundle {self.bundle.root} has no graphs for search {search} ({', '.join(missing)}): "
                              f"it was exported before that search existed; re-export it with inpaint-export, "
                              f"or add them in place with inpaint-export {self.bundle.root} --update")

    def run_generator(self, z, **options) -> list:
        """The generator's graph of z's search, picked by its width (z, or v of search z+bn), on z
        as given (a numpy array, or a value _run binds where it is: the device search's
        DeviceArray), every output kept as _run keeps them; `options` go to _run (TensorRT's
        sync). The input and the outputs are remembered for run_generator_vjp."""
        search = search_of_size(self.spec, z.shape[1])
        self.check_search(search)
        forward, self._vjp = GENERATOR_GRAPHS[search]
        (name,) = (i["name"] for i in self.bundle.graph_io(forward)["inputs"])
        outputs = tuple(o["name"] for o in self.bundle.graph_io(forward)["outputs"])
        values = self._run(forward, {name: z}, keep=outputs, **options)
        self._kept = {name: z, **dict(zip(outputs, values))}
        return values

    def run_generator_vjp(self, g_x, keep: bool = False, **options):
        """g_x -> the gradient with respect to the last run_generator call's input: its graph's VJP
        fed the input and the outputs that call kept (v and norm* as well for search z+bn); the
        gradient kept where `keep` (as _run keeps an output), else on the host."""
        io = self.bundle.graph_io(self._vjp)
        feeds = {i["name"]: self._kept[i["name"]] for i in io["inputs"] if i["name"] != "g_x"}
        feeds["g_x"] = g_x
        outputs = tuple(o["name"] for o in io["outputs"]) if keep else ()
        return self._run(self._vjp, feeds, keep=outputs, **options)[0]

    def generator(self, z: np.ndarray) -> np.ndarray:
        return self.host(self.run_generator(np.ascontiguousarray(z, np.float32))[0])

    def generator_vjp(self, g_x: np.ndarray) -> np.ndarray:
        """Through the last generator() call: its graph's VJP is fed the input and the outputs it kept."""
        return self.run_generator_vjp(np.ascontiguousarray(g_x, np.float32))

    def target_features(self, masked_y: np.ndarray, box: np.ndarray):
        return tuple(self._run("features", {"masked_y": np.ascontiguousarray(masked_y, np.float32),
                                            "box": np.ascontiguousarray(box, np.int64)}))

    def critic(self, x, known, box, target, prior, prior_weight, consistency_weight):
        name = critic_graph(prior, consistency_weight)
        if target is None:
            target = self._zero_targets(name, x.shape[0])
        feeds = {"x": np.ascontiguousarray(x, np.float32), "known": np.ascontiguousarray(known, np.float32),
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
