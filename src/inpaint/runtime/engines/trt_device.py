"""TensorRT as the device search's engine: the bundle's plans on DeviceArrays, nothing on the host.

The device search (runtime/device_search.py) captures a whole iteration, these graphs and the
CudaOps kernels together, as one CUDA graph on its stream; so this engine enqueues on that stream,
never waits for the GPU, keeps every output on the device at addresses fixed per batch size, and
leaves recording to the search (its TrtEngine records no per-graph CUDA graphs: captures do not
nest). The generator's graphs, search z's or z+bn's by the width of their input, are picked
and fed as on the host (GraphEngine.run_generator). The critic's scalar weights and the unused
targets of the critics without the consistency term are device arrays made once, before any
capture. Where the capture fails, the iteration is enqueued eagerly instead, with a warning
that says why.
"""
from __future__ import annotations

import warnings
from typing import Callable

import numpy as np

from inpaint.errors import InpaintError
from inpaint.runtime.bundle import Bundle
from inpaint.runtime.cuda import CudaGraph, DeviceArray, Stream
from inpaint.runtime.engines.graphs import critic_graph
from inpaint.runtime.engines.trt import TrtEngine


class CapturedIteration:
    """A CudaGraph replayed on the stream it was recorded on (device_search's Replay)."""

    def __init__(self, graph: CudaGraph, stream: Stream):
        self.graph, self.stream = graph, stream

    def launch(self) -> None:
        self.graph.launch(self.stream)

    def destroy(self) -> None:
        self.graph.destroy()


class EagerIteration:
    """What stands in for a CapturedIteration whose capture failed: each launch enqueues anew."""

    def __init__(self, enqueue: Callable[[], None]):
        self.enqueue = enqueue

    def launch(self) -> None:
        self.enqueue()

    def destroy(self) -> None:
        pass


class TrtDeviceEngine:
    name = "trt-device"

    def __init__(self, bundle: Bundle, stream: Stream, device: int = 0):
        self.trt = TrtEngine(bundle, device, cuda_graphs=False, stream=stream)
        self.bundle, self.spec, self.stream = bundle, bundle.spec, stream
        self.gpu = self.trt.gpu
        self._constants: dict = {}   # what the critics take besides x: weights, zero targets

    @property
    def has_encoder(self) -> bool:
        return self.trt.has_encoder

    def encode(self, masked_y: np.ndarray, known: np.ndarray) -> np.ndarray:
        """The latent encoder, host arrays in and out (it runs once, before the search)."""
        return self.trt.encode(masked_y, known)

    def _outputs(self, name: str) -> tuple[str, ...]:
        return tuple(o["name"] for o in self.bundle.graph_io(name)["outputs"])

    def _constant(self, key, make: Callable[[], np.ndarray]) -> DeviceArray:
        if key not in self._constants:
            self._constants[key] = DeviceArray.from_host(make(), self.stream)
        return self._constants[key]

    def check_search(self, search: str) -> None:
        """As GraphEngine's: search z+bn runs where the bundle has its graphs (and so its plans:
        TrtEngine loads none that lack a plan for any of the bundle's graphs); BundleError,
        naming the fix, where it has not."""
        self.trt.check_search(search)

    def generator(self, z: DeviceArray) -> DeviceArray:
        """z (B, z_dim), or v (B, z_dim + 2C) of search z+bn -> x (B, 3, R, R): GraphEngine's
        choice of graphs by the width, every output kept on the device for the VJP."""
        return self.trt.run_generator(z, sync=False)[0]

    def generator_vjp(self, g_x: DeviceArray) -> DeviceArray:
        """g_x (B, 3, R, R) -> the gradient of the last generator() call's input (g_z, or g_v),
        on the device; its VJP graph is fed the input and the activations where they are."""
        return self.trt.run_generator_vjp(g_x, keep=True, sync=False)

    def target_features(self, masked_y: DeviceArray, box: DeviceArray) -> tuple[DeviceArray, DeviceArray]:
        return tuple(self.trt._run("features", {"masked_y": masked_y, "box": box},
                                   keep=self._outputs("features"), sync=False))

    def critic(self, x: DeviceArray, known: DeviceArray, box: DeviceArray, target, prior: str,
               prior_weight: float, consistency_weight: float) -> tuple[DeviceArray, DeviceArray, DeviceArray]:
        name = critic_graph(prior, consistency_weight)
        batch = x.shape[0]
        if target is None:
            shapes = {i["name"]: tuple(i["shape"][1:]) for i in self.bundle.graph_io(name)["inputs"]}
            target = tuple(self._constant((name, t, batch), lambda t=t: np.zeros((batch, *shapes[t]), np.float32))
                           for t in ("target_global", "target_patch"))
        weights = self._constant(("weights", prior_weight, consistency_weight),
                                 lambda: np.array([prior_weight, consistency_weight], np.float32))
        feeds = {"x": x, "known": known, "box": box, "target_global": target[0], "target_patch": target[1],
                 "weights": weights}
        return tuple(self.trt._run(name, feeds, keep=self._outputs(name), sync=False))

    def capture(self, enqueue: Callable[[], None]) -> CapturedIteration | EagerIteration:
        """Record `enqueue`'s work on the stream as one CUDA graph (run it eagerly once first, so
        that every buffer and constant exists); where recording fails, enqueue it on every launch."""
        try:
            return CapturedIteration(CudaGraph(self.stream, enqueue), self.stream)
        except InpaintError as e:
            warnings.warn(f"the search runs without a CUDA graph: recording its iteration failed ({e})",
                          RuntimeWarning, stacklevel=2)
            return EagerIteration(enqueue)
