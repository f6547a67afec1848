"""Images per second of one GAN training step (D step + G step, batch 64, the 64x64 model) on this
machine, for the ways PyTorch can run it.

    python benchmarks/train_throughput.py [--steps 12] [--configs fp32,bf16,...] [--threads 2]

Configurations (comma-separated --configs; each a precision and options joined by '+'):
fp32, bf16 (CPU autocast: weights and Adam's state stay fp32), +cl (channels_last), +compile
(torch.compile of G and D, default mode; its compile time is reported apart), +aug (DiffAugment
color,translation,cutout on everything D sees). Each runs the step of the training loop
(train/gan_step.py) on random images from fresh DCGAN-initialised networks: 3 untimed steps,
then --steps timed ones (median step time and the 10th-90th percentiles). The numerics check compares
bf16 with fp32 on the same weights and batches: the losses, and the gradients of D and of G. Writes benchmarks/results/train_throughput_cpu.json.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import time
from pathlib import Path

import torch

from inpaint.bench.timing import summary, timed_calls

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "results" / "train_throughput_cpu.json"
BATCH = 64
WARMUP = 3


def setup(config: str, seed: int = 0):
    from inpaint.spec import ModelSpec
    from inpaint.train.augment import POLICIES
    from inpaint.train.gan_step import StepOptions
    from inpaint.train.models import build_models
    parts = config.split("+")
    spec = ModelSpec()
    torch.manual_seed(seed)
    g, d = build_models(spec)
    if "cl" in parts:
        g, d = g.to(memory_format=torch.channels_last), d.to(memory_format=torch.channels_last)
    opt_g = torch.optim.Adam(g.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.999))
    g_train, d_train = g, d
    compile_seconds = None
    if "compile" in parts:
        g_train, d_train = torch.compile(g), torch.compile(d)
    options = StepOptions(precision=parts[0], augment=POLICIES if "aug" in parts else (),
                          channels_last="cl" in parts)
    return spec, g, d, g_train, d_train, opt_g, opt_d, options, compile_seconds


def run(config: str, steps: int, data: torch.Tensor) -> dict:
    from inpaint.train.gan_step import gan_step
    spec, g, d, g_train, d_train, opt_g, opt_d, options, _ = setup(config)
    gen = torch.Generator().manual_seed(1)

    def step():
        real = data[torch.randint(0, len(data), (BATCH,), generator=gen)]
        z = torch.rand(BATCH, spec.z_dim, generator=gen) * 2 - 1
        return gan_step(g_train, d_train, d, opt_g, opt_d, real, z, spec.patch, slice(None), options)

    t0 = time.perf_counter()
    step()
    first = time.perf_counter() - t0              # includes torch.compile's compilation
    s = summary(timed_calls(step, steps, warmup=WARMUP - 1), (10, 90))
    return {"images_per_second": BATCH / s["median"], "median_step_seconds": s["median"], "p10": s["p10"],
            "p90": s["p90"], "first_step_seconds": first, "steps": steps}


def numerics(data: torch.Tensor, batches: int = 5) -> dict:
    """bf16 against fp32 on the same weights and batches (Adam at step size 0, so the weights stay
    the DCGAN initialisation's): the losses' relative gap, and the gradients' cosine similarity and
    relative error (all of D's from the D step, all of G's from the G step, as one vector each)."""
    from inpaint.train.gan_step import gan_step
    spec, g, d, g_train, d_train, opt_g, opt_d, options, _ = setup("fp32")
    for opt in (opt_g, opt_d):
        for group in opt.param_groups:
            group["lr"] = 0.0
    gen = torch.Generator().manual_seed(1)
    rows = []
    for k in range(batches):
        real = data[torch.randint(0, len(data), (BATCH,), generator=gen)]
        z = torch.rand(BATCH, spec.z_dim, generator=gen) * 2 - 1
        out = {}
        for precision in ("fp32", "bf16"):
            torch.manual_seed(k)                       # the same crops for both
            r = gan_step(g, d, d, opt_g, opt_d, real, z, spec.patch, slice(None),
                         dataclasses.replace(options, precision=precision))
            grads = [torch.cat([p.grad.flatten() for p in m.parameters()]).clone() for m in (d, g)]
            out[precision] = (r.loss_d.item(), r.loss_g.item(), grads)
        (ld32, lg32, g32), (ld16, lg16, g16) = out["fp32"], out["bf16"]
        rows.append({"loss_d_gap": abs(ld16 - ld32) / abs(ld32), "loss_g_gap": abs(lg16 - lg32) / abs(lg32),
                     **{f"{n}_grad_cosine": float(torch.nn.functional.cosine_similarity(a, b, dim=0))
                        for n, a, b in (("d", g32[0], g16[0]), ("g", g32[1], g16[1]))},
                     **{f"{n}_grad_relative_error": float((a - b).norm() / a.norm())
                        for n, a, b in (("d", g32[0], g16[0]), ("g", g32[1], g16[1]))}})
    worst = {k: (max if "gap" in k or "error" in k else min)(r[k] for r in rows) for k in rows[0]}
    return {"batches": batches, "worst": worst}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--configs", default="fp32,fp32+cl,bf16,bf16+cl,fp32+compile,bf16+compile,bf16+cl+aug")
    ap.add_argument("--threads", default="2", help="comma-separated torch thread counts")
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "celeba64" / "val.zip"),
                    help="real crops to draw batches from (random noise where absent)")
    args = ap.parse_args()
    if Path(args.data).exists():
        from inpaint.train.datasets import load_dataset
        images = load_dataset("images", args.data, 64, progress=False)[:2048]
        data = torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1)
    else:
        data = torch.rand(2048, 3, 64, 64) * 2 - 1
    rows = {}
    for threads in (int(t) for t in args.threads.split(",")):
        torch.set_num_threads(threads)
        for config in args.configs.split(","):
            rows[f"{config}, {threads} threads"] = r = run(config, args.steps, data)
            print(f"{config:22s} {threads} threads: {r['images_per_second']:7.1f} images/s "
                  f"(step {1000 * r['median_step_seconds']:.0f} ms, first {r['first_step_seconds']:.1f} s)",
                  flush=True)
    torch.set_num_threads(int(args.threads.split(",")[0]))
    check = numerics(data)
    flags = open("/proc/cpuinfo").read() if Path("/proc/cpuinfo").exists() else ""
    result = {"machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
              "cpu_model": next((l.split(":", 1)[1].strip() for l in flags.splitlines() if l.startswith("model name")), ""),
              "avx512_bf16": "avx512_bf16" in flags, "amx_bf16": "amx_bf16" in flags,
              "cpu_count": len(os.sched_getaffinity(0)), "torch": torch.__version__,
              "date": time.strftime("%Y-%m-%d"), "batch": BATCH, "configs": rows, "numerics": check}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    w = check["worst"]
    print(f"\nbf16 against fp32, same weights and batches ({check['batches']} batches, worst): losses within "
          f"{100 * w['loss_d_gap']:.2f}% (D) and {100 * w['loss_g_gap']:.2f}% (G); gradients' cosine "
          f"{w['d_grad_cosine']:.4f} (D), {w['g_grad_cosine']:.4f} (G), relative error "
          f"{w['d_grad_relative_error']:.3f} (D), {w['g_grad_relative_error']:.3f} (G)  ({OUT.relative_to(REPO)})")


if __name__ == "__main__":
    main()
