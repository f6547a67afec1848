"""Quality against cost of the search's settings, from experiments/tune_search.sh's runs: every
(setting, method, iterations) paired against today's default over the same tuning images.

    python experiments/search_frontier.py runs/tune_search [--base r4:ours+encoder:100]
        [--latency benchmarks/results/iteration_latency_restarts_cpu.json]
        [--plot docs/results/search_frontier.png] [--json out.json] [--runs r1,r2,...]

Each row: PSNR and SSIM of the whole image, and the difference from the base (mean ± 95%
confidence half-width over the images). A search of R restarts runs R rows per image at once; its
seconds per image are the iterations times the measured time of one iteration at batch R on
ONNX Runtime (--latency: benchmarks/iteration_latency.py's JSON with those batches), so that the
cost does not carry the evaluation machine's load.
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from inpaint.eval.harness import paired


def rows(folder: Path, base_spec: str) -> list[dict]:
    runs = {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}
    base_run, base_method, base_k = base_spec.split(":")
    out = []
    for kind in ("center", "pattern"):
        base = runs[base_run]["curve"][kind][base_method][base_k]
        for name, run in runs.items():
            restarts = run["settings"]["restarts"]
            overrides = dict(run["settings"].get("overrides", []))
            for method, curve in run.get("curve", {}).get(kind, {}).items():
                for k, entry in curve.items():
                    d = {m: paired(entry, base, m) for m in ("psnr", "ssim", "psnr_hole")}
                    out.append({"mask": kind, "run": name, "method": method, "restarts": restarts,
                                "iterations": int(k), "overrides": overrides,
                                "row_iterations": restarts * int(k),
                                **{m: entry[m]["mean"] for m in ("psnr", "ssim", "psnr_hole", "ssim_hole")},
                                **{f"d_{m}": v["mean"] for m, v in d.items()},
                                **{f"ci_{m}": v["ci95"] for m, v in d.items()}})
    return out


def natural(s: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--base", default="r4:ours+encoder:100", help="RUN:METHOD:ITERATIONS of the base row")
    ap.add_argument("--latency", type=Path, default=None,
                    help="iteration_latency.py's JSON with batches 1, 2 and 4: seconds per setting")
    ap.add_argument("--plot", type=Path)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--runs", default=None, help="comma-separated run names to show (default: all)")
    args = ap.parse_args()
    table = rows(args.folder, args.base)
    if args.runs:
        keep = set(args.runs.split(","))
        table = [r for r in table if r["run"] in keep]
    table.sort(key=lambda r: (r["mask"], natural(r["run"]), r["method"], r["iterations"]))
    sec = None
    if args.latency:
        rows_ = json.loads(args.latency.read_text())["rows"]
        ms = {r["batch"]: r[r["best_ort"]]["median_ms"] for r in rows_}
        sec = {"ms_per_iteration_at_batch": ms}
        for r in table:
            r["seconds"] = r["iterations"] * ms[r["restarts"]] / 1000
    print(f"| mask | run | method | restarts x iterations | {'search (s) | ' if sec else ''}PSNR (dB) | SSIM | "
          "PSNR − base (dB) | SSIM − base |")
    print(f"|---|---|---|---|{'---|' if sec else ''}---|---|---|---|")
    for r in table:
        s = f"{r['seconds']:.2f} | " if sec else ""
        print(f"| {r['mask']} | {r['run']} | {r['method']} | {r['restarts']} x {r['iterations']} | {s}"
              f"{r['psnr']:.2f} | {r['ssim']:.4f} | {r['d_psnr']:+.3f} ± {r['ci_psnr']:.3f} | "
              f"{r['d_ssim']:+.4f} ± {r['ci_ssim']:.4f} |")
    if args.json:
        args.json.write_text(json.dumps({"base": args.base, "latency": sec, "rows": table}, indent=1))
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, axes = plt.subplots(2, 2, figsize=(11, 8), sharex=True)
        for col, kind in enumerate(("center", "pattern")):
            for row, metric in enumerate(("psnr", "ssim")):
                ax = axes[row][col]
                series: dict = {}
                for r in table:
                    if r["mask"] == kind and r["run"] in ("r1", "r2", "r4", "r1_lr0.02_k40"):
                        series.setdefault((r["method"], r["restarts"], r["run"]), []).append(r)
                for (method, restarts, _), rs in sorted(series.items()):
                    rs.sort(key=lambda r: r["iterations"])
                    x = [r["seconds"] if sec else r["row_iterations"] for r in rs]
                    lr = rs[0]["overrides"].get("lr", 0.01)
                    ax.plot(x, [r[f"d_{metric}"] for r in rs], "o-" if method.startswith("ours") else "s--",
                            label=f"{method.split('+')[0]}, {restarts} restart{'s' if restarts > 1 else ''}, "
                                  f"step {lr:g}")
                    for r, xi in zip(rs, x):
                        ax.annotate(str(r["iterations"]), (xi, r[f"d_{metric}"]), fontsize=7,
                                    textcoords="offset points", xytext=(3, 3))
                ax.axhline(0, color="grey", lw=0.8)
                ax.axhline(-0.05 if metric == "psnr" else -0.001, color="red", lw=0.8, ls=":")
                ax.set_xscale("log")
                ax.set_title(f"{kind}: {metric.upper()} − the old default (4 x 100)")
                ax.set_xlabel("seconds of search per image (ONNX Runtime, this CPU)" if sec
                              else "image-iterations")
        axes[0][0].legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=110)


if __name__ == "__main__":
    main()
