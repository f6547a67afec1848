"""The benchmark's results as a markdown table and as a plot of latency against batch size."""
from __future__ import annotations

from pathlib import Path


def markdown(result: dict) -> str:
    env = result["environment"]
    where = env.get("gpu") or f"{env['cpu']} CPU, {env.get('threads', '?')} threads"
    peak = result["peak_gflops_per_s"].get("float32")
    lines = [f"inpaint-bench, {env['date']}, {where}; torch {env.get('torch', '-')}, onnxruntime "
             f"{env['onnxruntime']}" + (f", TensorRT {env['tensorrt']}" if "tensorrt" in env else "") + ".",
             f"{result['flops_per_sample_iteration'] / 1e9:.2f} GFLOP per image and iteration"
             + (f"; measured fp32 matrix-product peak {peak:.0f} GFLOP/s." if peak else "."),
             "",
             "| backend | batch | ms per iteration: median (p95) | min-max | ms per image and iteration "
             "| whole search, s per image | speed-up vs eager | GFLOP/s | % of fp32 peak |",
             "|---|---|---|---|---|---|---|---|---|"]
    searched = result["settings"]["search_iterations"]
    for r in result["rows"]:
        t = r["iteration_ms"]
        cells = [r["backend"], str(r["batch"]), f"{t['median']:.2f} ({t['p95']:.2f})",
                 f"{t['min']:.2f}-{t['max']:.2f}", f"{t['median'] / r['batch']:.3f}",
                 f"{r['search_s_per_image']:.3f}",
                 f"{r['speedup_vs_eager']:.2f}x" if r["speedup_vs_eager"] else "-",
                 f"{r['gflops_per_s']:.0f}" if r["gflops_per_s"] else "-",
                 f"{100 * r['fraction_of_peak']:.0f}%" if r["fraction_of_peak"] else "-"]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"Whole search: {searched} iterations from a fresh z, warm. Per-iteration times: "
                 f"{result['settings']['iterations']} steps after {result['settings']['warmup']} untimed ones.")
    return "\n".join(lines) + "\n"


def plot(result: dict, path: str | Path) -> None:
    """Per-iteration latency and per-image time against batch size, one line per backend (PNG)."""
    try:
        import matplotlib
    except ImportError:
        from inpaint.errors import InpaintError
        raise InpaintError("--plot needs matplotlib: pip install 'inpaint[eval]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from inpaint.atomic import write_atomic
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for backend in dict.fromkeys(r["backend"] for r in result["rows"]):
        rows = [r for r in result["rows"] if r["backend"] == backend]
        batches = [r["batch"] for r in rows]
        left.plot(batches, [r["iteration_ms"]["median"] for r in rows], "o-", label=backend)
        right.plot(batches, [r["iteration_ms"]["median"] / r["batch"] for r in rows], "o-", label=backend)
    for ax, title in ((left, "ms per iteration (median)"), (right, "ms per image and iteration")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("batch (images x restarts)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    left.legend()
    env = result["environment"]
    fig.suptitle(f"inpaint-bench, {env.get('gpu') or env['cpu'] + ' CPU'}, {env['date']}")
    fig.tight_layout()
    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
    plt.close(fig)
