"""Latency of one optimisation iteration (G forward, contextual loss, critic, G's VJP, Adam) on the
CPU: the exported graphs on ONNX Runtime against eager PyTorch autograd, measured side by side.

    python benchmarks/iteration_latency.py [--batch 1,16,64] [--iterations 30] [--threads 2]
                                           [--ort-threads 1,2]

Each backend runs the same problem (64x64 faces' shapes, center masks, joint prior and the
consistency term at the default weight) through runtime.optimise, timed per iteration by
inpaint-bench's GraphRunner (from the loop's per-step callback) on two engines: the exported
graphs on ONNX Runtime, and the torch engine (the runtime's loop with G and D's forward and
backward in eager PyTorch autograd; inpaint-bench's own "eager" is the yardstick instead, the
whole search in torch with torch.optim.Adam). Eager torch uses --threads; ONNX Runtime is
measured once per --ort-threads entry. The FLOPs of an iteration come from the bundle's
manifest (convolutions and matrix products of the three graphs); the machine's attainable rate
is measured on a 1024^3 matrix product in ONNX Runtime at each thread count. Writes
benchmarks/results/iteration_latency_cpu.json and prints a markdown table.
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from inpaint.bench.runners import GraphRunner
from inpaint.bench.timing import summary, timed_calls
from inpaint.masks import center_mask
from inpaint.runtime.bundle import load_bundle
from inpaint.runtime.engines.graphs import critic_graph
from inpaint.runtime.engines.ort import OrtEngine
from inpaint.runtime.problem import make_problem
from inpaint.spec import InpaintSettings
from inpaint.torch_engines.eager import TorchEngine
from inpaint.weights import shipped_bundle

OUT = Path(__file__).resolve().parent / "results" / "iteration_latency_cpu.json"
# A pause before each backend's round: PyTorch's OpenMP workers keep spinning for a while after
# its last operator, and would take a core from the next backend's first iterations.
SETTLE_S = 0.5


def gemm_gflops(threads: int, n: int = 1024, repeats: int = 20) -> float:
    """Best GFLOP/s of an n x n x n fp32 matrix product on ONNX Runtime's CPU provider."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(0)
    graph = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["c"])], "gemm",
                              [helper.make_tensor_value_info("a", TensorProto.FLOAT, [n, n])],
                              [helper.make_tensor_value_info("c", TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(rng.random((n, n), np.float32), "b")])
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
                                   .SerializeToString(), options, providers=["CPUExecutionProvider"])
    a = rng.random((n, n), np.float32)
    best = timed_calls(lambda: session.run(None, {"a": a}), repeats, warmup=3).min()
    return 2 * n ** 3 / best / 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", default="1,16,64")
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds the iterations are split into")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=OUT, help="JSON file for the results")
    ap.add_argument("--ort-threads", default="1,2", help="ONNX Runtime intra-op thread counts to measure")
    args = ap.parse_args()

    import onnxruntime
    import torch
    torch.set_num_threads(args.threads)
    bundle = load_bundle(shipped_bundle())
    runners = {f"ort{t}": GraphRunner(f"ort{t}", OrtEngine(bundle, threads=int(t)))
               for t in args.ort_threads.split(",")}
    runners["torch"] = GraphRunner("torch", TorchEngine.from_weights(shipped_bundle()))
    settings = InpaintSettings()           # GraphRunner's search: the default method, every step run
    flops = bundle.flops("generator", "generator_vjp", critic_graph(settings.prior, settings.consistency_weight))
    peaks = {t: gemm_gflops(int(t)) for t in args.ort_threads.split(",")}
    rows = []
    for batch in map(int, args.batch.split(",")):
        rng = np.random.default_rng(batch)
        y = rng.uniform(-1, 1, (batch, 3, 64, 64)).astype(np.float32)
        problem = make_problem(y, np.stack([center_mask(64)] * batch), 32)
        for runner in runners.values():            # warm-up: sessions, allocations
            runner.iteration_seconds(problem, 3, 0)
        times = {name: [] for name in runners}
        for _ in range(args.rounds):                # interleave the backends against drift
            for name, runner in runners.items():
                time.sleep(SETTLE_S)                # the last backend's idle threads stop spinning
                times[name].append(runner.iteration_seconds(problem, args.iterations // args.rounds, 0))
        stats = {}
        for name, ts in times.items():
            s = summary(np.concatenate(ts) * 1e3)
            stats[name] = {**{f"{k}_ms": s[k] for k in ("median", "p25", "p75", "min", "max")}, "n": s["n"],
                           "gflops_per_s": flops * batch / s["median"] / 1e6}
        best = min((n for n in stats if n.startswith("ort")), key=lambda n: stats[n]["median_ms"])
        rows.append({"batch": batch, **stats, "best_ort": best,
                     "ort_over_torch": stats[best]["median_ms"] / stats["torch"]["median_ms"]})
    result = {"benchmark": "iteration_latency_cpu", "date": time.strftime("%Y-%m-%d"),
              "machine": {"cpu": platform.processor() or platform.machine(), "threads": args.threads,
                          "platform": platform.platform()},
              "versions": {"torch": torch.__version__, "onnxruntime": onnxruntime.__version__},
              "consistency_weight": settings.consistency_weight, "flops_per_sample": flops,
              "gemm_peak_gflops_per_s": {f"ort{t}": v for t, v in peaks.items()}, "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    ort_names = [n for n in runners if n.startswith("ort")]
    print(f"{flops / 1e9:.2f} GFLOP per sample and iteration; 1024^3 matrix product on ONNX Runtime: "
          + ", ".join(f"{v:.0f} GFLOP/s on {t} thread(s)" for t, v in peaks.items()))
    print("| batch | " + " | ".join(f"ORT {n[3:]} thread(s): ms, median (p25-p75); GFLOP/s" for n in ort_names)
          + f" | eager torch, {args.threads} threads: ms, median (p25-p75); GFLOP/s | best ORT / torch |")
    print("|---|" + "---|" * (len(ort_names) + 2))
    for r in rows:
        cells = [f"{r[n]['median_ms']:.1f} ({r[n]['p25_ms']:.1f}-{r[n]['p75_ms']:.1f}); {r[n]['gflops_per_s']:.0f}"
                 for n in (*ort_names, "torch")]
        print(f"| {r['batch']} | " + " | ".join(cells) + f" | {r['ort_over_torch']:.2f} |")


if __name__ == "__main__":
    main()
