"""One optimisation iteration as one ONNX graph against the runtime's chained graphs, on ONNX
Runtime's CPU provider at batch 1, side by side.

    python benchmarks/fused_iteration.py [--iterations 200] [--rounds 7] [--threads 2]

The fused graph holds the whole loop body of runtime.optimise at the default settings: the
generator, the contextual loss (L1) and its gradient, the critic with the joint prior and the
consistency term, the generator's VJP and Adam's step with the clip; z and Adam's moments go in
and come out, so an iteration is one session run. It is built from the same graph modules as the
bundle (export/graphs.py) and exported the same way; its iterates are checked against the chained
graphs' before timing. Each round times --iterations iterations of each, alternating. Writes
benchmarks/results/fused_iteration_cpu.json and prints a table.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from inpaint.export.graphs import CriticGraph, FeaturesGraph, GeneratorGraph, GeneratorVJPGraph
from inpaint.masks import center_mask
from inpaint.runtime.bundle import load_bundle
from inpaint.runtime.engines.ort import OrtEngine
from inpaint.runtime.ops import CpuOps
from inpaint.runtime.ops.cpu import AdamState
from inpaint.runtime.problem import make_problem
from inpaint.spec import InpaintSettings
from inpaint.train.checkpoint import load_models
from inpaint.weights import shipped_bundle

OUT = Path(__file__).resolve().parent / "results" / "fused_iteration_cpu.json"


class IterationGraph(nn.Module):
    """(z, m, v, step, y, weights W, known, box, targets, loss weights, lr) -> (z', m', v', loss, x)."""

    def __init__(self, g, d, beta1: float, beta2: float, eps: float = 1e-8):
        super().__init__()
        self.gen, self.vjp = GeneratorGraph(g), GeneratorVJPGraph(g)
        self.critic = CriticGraph(d, "joint", True)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps

    def forward(self, z, m, v, step, y, w, known, box, target_global, target_patch, weights, lr):
        x, *saved = self.gen(z)
        d = x - y
        contextual = (w * d.abs()).flatten(1).sum(1)
        prior, consistency, g_d = self.critic(x, known, box, target_global, target_patch, weights)
        g_z = self.vjp(*saved, x, w * torch.sign(d) + g_d)
        m = self.beta1 * m + (1 - self.beta1) * g_z
        v = self.beta2 * v + (1 - self.beta2) * g_z * g_z
        m_hat = m / (1 - self.beta1 ** step)
        v_hat = v / (1 - self.beta2 ** step)
        z_next = torch.clamp(z - lr * m_hat / (torch.sqrt(v_hat) + self.eps), -1.0, 1.0)
        loss = contextual + weights[0] * prior + weights[1] * consistency
        return z_next, m, v, loss, x


def export_fused(path: Path, settings: InpaintSettings) -> None:
    import logging
    import warnings
    spec, g, d = load_models(shipped_bundle())
    module = IterationGraph(g.eval(), d.eval(), settings.beta1, settings.beta2).eval()
    b, r = 2, spec.resolution
    z = torch.rand(b, spec.z_dim) * 2 - 1
    known = torch.ones(b, 1, r, r)
    known[:, :, 16:48, 16:48] = 0
    box = torch.full((b, 2), 16, dtype=torch.int64)
    targets = FeaturesGraph(d)(torch.rand(b, 3, r, r) * known, box)
    args = (z, torch.zeros_like(z), torch.zeros_like(z), torch.tensor(1.0), torch.rand(b, 3, r, r), known * 0.1,
            known, box, *targets, torch.tensor([settings.prior_weight, settings.consistency_weight]),
            torch.tensor(settings.step_size))
    names = ("z", "m", "v", "step", "y", "w", "known", "box", "target_global", "target_patch", "weights", "lr")
    batch = torch.export.Dim("batch", min=1, max=65536)
    batched = {"z", "m", "v", "y", "w", "known", "box", "target_global", "target_patch"}
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, str(path), dynamo=True, external_data=False, optimize=False,
                          dynamic_shapes=tuple({0: batch} if n in batched else None for n in names),
                          input_names=list(names), output_names=["z_next", "m_next", "v_next", "loss", "x"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    import onnxruntime as ort

    settings = InpaintSettings()
    engine = OrtEngine(load_bundle(shipped_bundle()), threads=args.threads)
    ops = CpuOps()
    rng = np.random.default_rng(0)
    y = rng.uniform(-1, 1, (1, 3, 64, 64)).astype(np.float32)
    p = make_problem(y, center_mask(64)[None], engine.spec.patch)
    target = engine.target_features(p.y * p.known, p.box)
    lam_mu = np.array([settings.prior_weight, settings.consistency_weight], np.float32)
    z0 = rng.uniform(-1, 1, (1, engine.spec.z_dim)).astype(np.float32)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "iteration.onnx"
        t0 = time.perf_counter()
        export_fused(path, settings)
        export_s = time.perf_counter() - t0
        options = engine._options()
        fused = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def chained(n: int) -> tuple[float, np.ndarray]:
        z, adam = z0.copy(), AdamState.zeros_like(z0)
        t = time.perf_counter()
        for _ in range(n):
            x = engine.generator(z)
            _, g_c = ops.contextual(x, p.y, p.weights, settings.norm)
            _, _, g_d = engine.critic(x, p.known, p.box, target, settings.prior, *lam_mu)
            ops.adam(z, engine.generator_vjp(g_c + g_d), adam, settings.step_size, settings.beta1, settings.beta2)
        return (time.perf_counter() - t) / n, z

    def one_graph(n: int) -> tuple[float, np.ndarray]:
        z, m, v = z0.copy(), np.zeros_like(z0), np.zeros_like(z0)
        feeds = {"y": p.y, "w": p.weights, "known": p.known, "box": p.box, "target_global": target[0],
                 "target_patch": target[1], "weights": lam_mu, "lr": np.array(settings.step_size, np.float32)}
        t = time.perf_counter()
        for step in range(1, n + 1):
            z, m, v, _, _ = fused.run(None, {**feeds, "z": z, "m": m, "v": v, "step": np.array(step, np.float32)})
        return (time.perf_counter() - t) / n, z

    _, z_chain = chained(20)
    _, z_fused = one_graph(20)
    agreement = float(np.abs(z_chain - z_fused).max())
    times = {"chained": [], "fused": []}
    for r in range(args.rounds):
        for name, fn in (("chained", chained), ("fused", one_graph))[:: 1 if r % 2 == 0 else -1]:
            times[name].append(fn(args.iterations)[0] * 1e3)
    result = {"machine": platform.processor() or platform.machine(), "date": time.strftime("%Y-%m-%d"),
              "onnxruntime": ort.__version__, "threads": args.threads, "batch": 1,
              "max_abs_z_difference_after_20_iterations": agreement, "export_seconds": round(export_s, 1),
              "ms_per_iteration": {k: {"median": statistics.median(v), "min": min(v), "max": max(v), "rounds": v}
                                   for k, v in times.items()}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"z after 20 iterations, fused against chained: max difference {agreement:.2e}")
    print("| iteration | ms, median of rounds | min-max |")
    print("|---|---|---|")
    for k, v in result["ms_per_iteration"].items():
        print(f"| {k} | {v['median']:.2f} | {v['min']:.2f}-{v['max']:.2f} |")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
