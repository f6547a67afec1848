"""Latency of one optimisation iteration (G forward, contextual loss, critic, G's VJP, Adam) on the
CPU: the exported graphs on ONNX Runtime against eager PyTorch autograd, measured side by side.

    python benchmarks/iteration_latency.py [--batch 1,16,64] [--iterations 30] [--threads 2]
                                           [--ort-threads 1,2] [--consistency 30]

Each backend runs the same problem (64x64 faces' shapes, center masks, joint prior and the
consistency term at the default weight) through runtime.optimise; every iteration is timed from
the loop's per-step callback. Eager torch uses --threads; ONNX Runtime is measured once per
--ort-threads entry (its thread pool costs more than it gains on small batches). Writes
benchmarks/results/iteration_latency_cpu.json and prints a markdown table.
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from inpaint.masks import center_mask
from inpaint.runtime.bundle import load_bundle
from inpaint.runtime.engines.ort import OrtEngine
from inpaint.runtime.engines.torch import TorchEngine
from inpaint.runtime.ops import CpuOps
from inpaint.runtime.optimise import optimise
from inpaint.runtime.problem import make_problem
from inpaint.spec import InpaintSettings
from inpaint.weights import shipped_bundle, shipped_path

OUT = Path(__file__).resolve().parent / "results" / "iteration_latency_cpu.json"


def time_iterations(engine, problem, iterations: int, consistency: float) -> np.ndarray:
    """Seconds per iteration, from the loop's own per-step callback (first step excluded)."""
    stamps = []
    settings = InpaintSettings(iterations=iterations + 1, restarts=1, patience=10**9,
                               consistency_weight=consistency)
    optimise(engine, CpuOps(), problem, settings, on_step=lambda it, loss: stamps.append(time.perf_counter()))
    return np.diff(stamps)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", default="1,16,64")
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=OUT, help="JSON file for the results")
    ap.add_argument("--ort-threads", default="1,2", help="ONNX Runtime intra-op thread counts to measure")
    ap.add_argument("--consistency", type=float, default=InpaintSettings().consistency_weight,
                    help="mu: 0 leaves the consistency term out")
    args = ap.parse_args()

    import onnxruntime
    import torch
    torch.set_num_threads(args.threads)
    bundle = load_bundle(shipped_bundle())
    engines = {f"ort{t}": OrtEngine(bundle, threads=int(t)) for t in args.ort_threads.split(",")}
    engines["torch"] = TorchEngine.from_weights(shipped_path())
    rows = []
    for batch in map(int, args.batch.split(",")):
        rng = np.random.default_rng(batch)
        y = rng.uniform(-1, 1, (batch, 3, 64, 64)).astype(np.float32)
        problem = make_problem(y, np.stack([center_mask(64)] * batch), 32)
        for engine in engines.values():            # warm-up: sessions, allocations
            time_iterations(engine, problem, 3, args.consistency)
        times = {name: [] for name in engines}
        for _ in range(3):                          # interleave the backends against drift
            for name, engine in engines.items():
                times[name].append(time_iterations(engine, problem, args.iterations // 3, args.consistency))
        stats = {}
        for name, ts in times.items():
            t = np.concatenate(ts) * 1e3
            stats[name] = {"median_ms": float(np.median(t)), "p25_ms": float(np.percentile(t, 25)),
                           "p75_ms": float(np.percentile(t, 75)), "min_ms": float(t.min()),
                           "max_ms": float(t.max()), "n": int(t.size)}
        best = min((n for n in stats if n.startswith("ort")), key=lambda n: stats[n]["median_ms"])
        rows.append({"batch": batch, **stats, "best_ort": best,
                     "ort_over_torch": stats[best]["median_ms"] / stats["torch"]["median_ms"]})
    result = {"benchmark": "iteration_latency_cpu", "date": time.strftime("%Y-%m-%d"),
              "machine": {"cpu": platform.processor() or platform.machine(), "threads": args.threads,
                          "platform": platform.platform()},
              "versions": {"torch": torch.__version__, "onnxruntime": onnxruntime.__version__},
              "consistency_weight": args.consistency, "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    ort_names = [n for n in engines if n.startswith("ort")]
    print("| batch | " + " | ".join(f"ORT {n[3:]} thread(s): median (p25-p75) ms" for n in ort_names)
          + f" | eager torch, {args.threads} threads: median (p25-p75) ms | best ORT / torch |")
    print("|---|" + "---|" * (len(ort_names) + 2))
    for r in rows:
        cells = [f"{r[n]['median_ms']:.1f} ({r[n]['p25_ms']:.1f}-{r[n]['p75_ms']:.1f})" for n in (*ort_names, "torch")]
        print(f"| {r['batch']} | " + " | ".join(cells) + f" | {r['ort_over_torch']:.2f} |")


if __name__ == "__main__":
    main()
