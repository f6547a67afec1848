"""Run the benchmark: every backend on every batch size, side by side, into one JSON-ready dict."""
from __future__ import annotations

import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from inpaint.masks import center_mask
from inpaint.runtime.engines.graphs import critic_graph
from inpaint.runtime.problem import make_problem
from inpaint.spec import InpaintSettings


@dataclass(frozen=True)
class BenchSettings:
    backends: tuple[str, ...]
    batches: tuple[int, ...]
    bundle: str                      # bundle directory (the rows that load one) and its FLOP counts
    weights: str                     # weights file of the same model (the yardsticks, the rows on PyTorch)
    iterations: int = 30             # timed steps per backend and batch
    warmup: int = 5                  # untimed steps before them
    search_iterations: int = 100     # steps of the whole search timed end to end
    device: str = "cpu"              # where everything runs ("cuda" for the GPU)
    threads: int | None = None       # CPU threads for torch and ONNX Runtime (None: all cores)
    rounds: int = 1                  # interleaved rounds the timed steps are split into


@dataclass
class Row:
    backend: str
    batch: int
    iteration_ms: dict               # median, p95, min, max, n of the per-iteration times
    search_s_per_image: float        # a whole search of search_iterations steps, per image
    speedup_vs_eager: float | None = None
    gflops_per_s: float | None = None
    fraction_of_peak: float | None = None
    extra: dict = field(default_factory=dict)


def stats_ms(seconds: np.ndarray) -> dict:
    ms = np.asarray(seconds) * 1e3
    return {"median": float(np.median(ms)), "p95": float(np.percentile(ms, 95)), "min": float(ms.min()),
            "max": float(ms.max()), "n": int(ms.size)}


def measured_peak(device: str, threads: int | None) -> dict:
    """Best fp32 matrix-product rate (GFLOP/s) on the device, with TF32 off; fp16 too on a GPU."""
    import torch

    from inpaint.torch_engines.device import numerics
    if threads:
        torch.set_num_threads(threads)
    cuda = device.startswith("cuda")
    n = 8192 if cuda else 1024
    out = {}
    for dtype in ((torch.float32, torch.float16) if cuda else (torch.float32,)):
        with numerics(torch, tf32=False):
            a = torch.randn(n, n, device=device, dtype=dtype)
            b = torch.randn(n, n, device=device, dtype=dtype)
            best = np.inf
            for i in range(8):
                if cuda:
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
                a @ b
                if cuda:
                    torch.cuda.synchronize()
                if i >= 2:
                    best = min(best, time.perf_counter() - t0)
        out[str(dtype).removeprefix("torch.")] = 2 * n ** 3 / best / 1e9
    return out


def environment(device: str) -> dict:
    import onnxruntime
    env = {"date": time.strftime("%Y-%m-%d"), "platform": platform.platform(),
           "cpu": platform.processor() or platform.machine(), "onnxruntime": onnxruntime.__version__}
    try:
        import torch
        env.update(torch=torch.__version__, threads=torch.get_num_threads())
        if device.startswith("cuda"):
            env.update(gpu=torch.cuda.get_device_name(device), cuda=torch.version.cuda)
    except ImportError:
        pass
    try:
        import tensorrt
        env["tensorrt"] = tensorrt.__version__
    except ImportError:
        pass
    return env


def problem_for(batch: int, resolution: int, patch: int):
    """Random images with the center hole: the arithmetic does not depend on the content."""
    y = np.random.default_rng(batch).uniform(-1, 1, (batch, 3, resolution, resolution)).astype(np.float32)
    return make_problem(y, np.stack([center_mask(resolution)] * batch), patch)


def run(settings: BenchSettings, log: Callable[[str], None] = print) -> dict:
    """Every backend on every batch size; the timed steps of the backends interleave in rounds."""
    from inpaint.bench.runners import YARDSTICKS, make_runner
    from inpaint.runtime.bundle import load_bundle
    if settings.threads:
        import torch
        torch.set_num_threads(settings.threads)
    bundle = load_bundle(settings.bundle)
    method = InpaintSettings(search="z")      # the search the yardstick implements
    flops = bundle.flops("generator", "generator_vjp", critic_graph(method.prior, method.consistency_weight))
    runners = {b: make_runner(b, settings.device, Path(settings.bundle), Path(settings.weights), settings.threads)
               for b in settings.backends}
    peak = measured_peak(settings.device, settings.threads) if any(
        b in YARDSTICKS for b in settings.backends) else {}
    rows = []
    for batch in settings.batches:
        problem = problem_for(batch, bundle.spec.resolution, bundle.spec.patch)
        times: dict[str, list] = {b: [] for b in runners}
        for name, runner in runners.items():
            runner.iteration_seconds(problem, 1, settings.warmup)            # warm-up
        per_round = max(1, settings.iterations // settings.rounds)
        for _ in range(settings.rounds):
            for name, runner in runners.items():
                times[name].append(runner.iteration_seconds(problem, per_round, 0))
        batch_rows = {}
        for name, runner in runners.items():
            t = np.concatenate(times[name])
            row = Row(name, batch, stats_ms(t), runner.search_seconds(problem, settings.search_iterations) / batch)
            if flops:
                row.gflops_per_s = flops * batch / np.median(t) / 1e9
                if peak.get("float32"):
                    row.fraction_of_peak = row.gflops_per_s / peak["float32"]
            batch_rows[name] = row
            log(f"{name:8s} batch {batch:4d}: {row.iteration_ms['median']:9.2f} ms per iteration "
                f"(p95 {row.iteration_ms['p95']:.2f}), search {row.search_s_per_image:.3f} s per image")
        if "eager" in batch_rows:
            for row in batch_rows.values():
                row.speedup_vs_eager = batch_rows["eager"].iteration_ms["median"] / row.iteration_ms["median"]
        rows.extend(batch_rows.values())
    return {"benchmark": "inpaint-bench", "settings": asdict(settings), "environment": environment(settings.device),
            "flops_per_sample_iteration": flops, "peak_gflops_per_s": peak,
            "rows": [asdict(r) for r in rows]}
