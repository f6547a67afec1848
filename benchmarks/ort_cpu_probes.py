"""Where ONNX Runtime's CPU time goes, and the settings behind the ORT engine: four probes.

    python benchmarks/ort_cpu_probes.py     -> results/ort_cpu_probes.json and a summary

1. The generator's transposed convolutions alone (the shapes of the shipped model at batch 1, one
   thread): time and GFLOP/s, against an exact sub-pixel rewrite (a 3x3 convolution to 4x the
   channels, then DepthToSpace) that trades 2.25x the FLOPs for a plain convolution.
2. The (Leaky)ReLU derivative on a 64x32x32 activation, one thread: Where between two tensors
   (g, slope * g) against Where between two scalars followed by Mul (what the adjoints export).
3. One whole iteration (generator, contextual loss, critic with the consistency term, VJP) at
   batch 1 on one thread, with and without flushing denormals to zero.
4. The same iteration on two threads, with the sessions' workers left spinning after each run
   (ONNX Runtime's default) and stopped at the end of each run (the ORT engine's setting).
"""
from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from inpaint.bench.timing import median_seconds
from inpaint.masks import center_mask
from inpaint.runtime.bundle import load_bundle
from inpaint.runtime.engines.ort import OrtEngine
from inpaint.runtime.ops import CpuOps
from inpaint.runtime.optimise import initial_z
from inpaint.runtime.problem import make_problem
from inpaint.spec import InpaintSettings
from inpaint.weights import shipped_bundle

OUT = Path(__file__).resolve().parent / "results" / "ort_cpu_probes.json"
WARMUP, REPEATS = 5, 30      # untimed calls, then timed ones, for each median


def _session(nodes, weights: dict, in_shape):
    graph = helper.make_graph(nodes, "probe", [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(a, n) for n, a in weights.items()])
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def subpixel_kernel(w: np.ndarray) -> np.ndarray:
    """ConvTranspose(stride 2, kernel 4, pad 1) weights (Cin, Cout, 4, 4) -> the 3x3 convolution
    weights (4 Cout, Cin, 3, 3) whose DepthToSpace(2, CRD) output is the same image."""
    cin, cout = w.shape[:2]
    k = np.zeros((4 * cout, cin, 3, 3), np.float32)
    for r in range(2):
        for c in range(2):
            for ky in range(r % 2 ^ 1, 4, 2):         # taps that land on output row parity r
                for kx in range(c % 2 ^ 1, 4, 2):
                    k[np.arange(cout) * 4 + r * 2 + c, :, (r + 1 - ky) // 2 + 1, (c + 1 - kx) // 2 + 1] += w[:, :, ky, kx].T
    return k


def conv_transpose_probe() -> list[dict]:
    rng = np.random.default_rng(0)
    rows = []
    for cin, cout, side in ((512, 256, 4), (256, 128, 8), (128, 64, 16)):
        w = rng.standard_normal((cin, cout, 4, 4)).astype(np.float32)
        x = rng.standard_normal((1, cin, side, side)).astype(np.float32)
        direct = _session([helper.make_node("ConvTranspose", ["x", "W"], ["y"], strides=[2, 2], pads=[1] * 4)],
                          {"W": w}, list(x.shape))
        sub = _session([helper.make_node("Conv", ["x", "K"], ["t"], pads=[1] * 4),
                        helper.make_node("DepthToSpace", ["t"], ["y"], blocksize=2, mode="CRD")],
                       {"K": subpixel_kernel(w)}, list(x.shape))
        a, b = direct.run(None, {"x": x})[0], sub.run(None, {"x": x})[0]
        flops = 2 * cout * (2 * side) ** 2 * cin * 4          # 4 of the 16 taps reach each output pixel
        t_direct = 1e3 * median_seconds(lambda: direct.run(None, {"x": x}), REPEATS, WARMUP)
        t_sub = 1e3 * median_seconds(lambda: sub.run(None, {"x": x}), REPEATS, WARMUP)
        rows.append({"layer": f"{cin}->{cout}, {side}->{2 * side}", "gflop": flops / 1e9,
                     "conv_transpose_ms": t_direct, "conv_transpose_gflops": flops / t_direct / 1e6,
                     "subpixel_ms": t_sub, "subpixel_max_rel_diff": float(np.abs(a - b).max() / np.abs(a).max())})
    return rows


def relu_derivative_probe() -> dict:
    rng = np.random.default_rng(0)
    feeds = {n: rng.standard_normal((1, 64, 32, 32)).astype(np.float32) for n in ("y", "g")}
    scalars = {"zero": np.float32(0), "one": np.float32(1), "slope": np.float32(0.2)}
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 64, 32, 32]) for n in feeds]

    def session(nodes):
        used = {name for node in nodes for name in node.input}
        graph = helper.make_graph(nodes, "probe", inputs, [helper.make_tensor_value_info("o", TensorProto.FLOAT, None)],
                                  [numpy_helper.from_array(np.array(v), n) for n, v in scalars.items() if n in used])
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
        return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    tensors = session([helper.make_node("Greater", ["y", "zero"], ["m"]), helper.make_node("Mul", ["g", "slope"], ["gs"]),
                       helper.make_node("Where", ["m", "g", "gs"], ["o"])])
    scalar = session([helper.make_node("Greater", ["y", "zero"], ["m"]), helper.make_node("Where", ["m", "one", "slope"], ["d"]),
                      helper.make_node("Mul", ["g", "d"], ["o"])])
    np.testing.assert_array_equal(tensors.run(None, feeds)[0], scalar.run(None, feeds)[0])
    return {"where_between_tensors_us": 1e6 * median_seconds(lambda: tensors.run(None, feeds), 200, WARMUP),
            "where_between_scalars_then_mul_us": 1e6 * median_seconds(lambda: scalar.run(None, feeds), 200, WARMUP)}


def iteration_probe(threads: int, config: dict[str, str]) -> float:
    """Median ms of one iteration at batch 1 with these session config entries."""
    mu = InpaintSettings().consistency_weight
    y = np.random.default_rng(0).uniform(-1, 1, (1, 3, 64, 64)).astype(np.float32)
    problem = make_problem(y, center_mask(64)[None], 32)
    z = initial_z(1, 100, 0)
    engine = OrtEngine(load_bundle(shipped_bundle()), threads=threads)

    def options():       # the engine's options, with `config` over its spinning setting
        o = ort.SessionOptions()
        o.log_severity_level, o.intra_op_num_threads = 3, threads
        for key, value in {"session.force_spinning_stop": "1", **config}.items():
            o.add_session_config_entry(key, value)
        return o
    engine._options = options
    target = engine.target_features(problem.y * problem.known, problem.box)

    def iteration():
        x = engine.generator(z)
        _, g_c = CpuOps.contextual(x, problem.y, problem.weights, "l1")
        _, _, g_d = engine.critic(x, problem.known, problem.box, target, "joint", 0.003, mu)
        engine.generator_vjp(g_c + g_d)
    return 1e3 * median_seconds(iteration, REPEATS, WARMUP)


def main() -> None:
    result = {"benchmark": "ort_cpu_probes", "date": time.strftime("%Y-%m-%d"),
              "machine": {"cpu": platform.processor() or platform.machine(), "platform": platform.platform()},
              "onnxruntime": ort.__version__,
              "conv_transpose": conv_transpose_probe(), "relu_derivative": relu_derivative_probe(),
              "iteration_batch1_1thread_ms": {
                  "default": iteration_probe(1, {}),
                  "flush_denormals": iteration_probe(1, {"session.set_denormal_as_zero": "1"})},
              "iteration_batch1_2threads_ms": {
                  "workers_keep_spinning": iteration_probe(2, {"session.force_spinning_stop": "0"}),
                  "workers_stop_spinning": iteration_probe(2, {})}}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    for r in result["conv_transpose"]:
        print(f"{r['layer']:>22}: ConvTranspose {r['conv_transpose_ms']:.2f} ms ({r['conv_transpose_gflops']:.0f} "
              f"GFLOP/s), sub-pixel {r['subpixel_ms']:.2f} ms (max rel diff {r['subpixel_max_rel_diff']:.0e})")
    print("(Leaky)ReLU derivative (us):", {k: round(v, 1) for k, v in result["relu_derivative"].items()})
    for key in ("iteration_batch1_1thread_ms", "iteration_batch1_2threads_ms"):
        print(f"{key}:", {k: round(v, 2) for k, v in result[key].items()})


if __name__ == "__main__":
    main()
