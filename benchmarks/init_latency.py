"""End-to-end time of `inpaint-rt complete` at its default settings, from random z and from the
latent encoder, measured side by side in one run.

    python benchmarks/init_latency.py [--repeats 3] [--image examples/astronaut.png]
                                      [--mask examples/astronaut_mask.png] [--backend auto]

Each repeat runs the command once per start, in alternating order, as a fresh process (so the
time includes starting Python, loading the bundle, the search and blending): `--init random`
against the default start, the encoder. Everything else is the command's default: 4 restarts,
each start's own iteration limit (1000 and 100) and early stopping. The reports the command
writes give the iterations actually run and the search's own time. Writes
benchmarks/results/init_latency_cpu.json and prints a markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "results" / "init_latency_cpu.json"
INITS = ("random", "encoder")


def complete_once(init: str, image: Path, mask: Path, backend: str, tmp: Path) -> dict:
    """One `inpaint-rt complete` process: wall seconds and what its report says."""
    out, report = tmp / f"{init}.png", tmp / f"{init}.json"
    cmd = [sys.executable, "-m", "inpaint.cli.rt", "complete", str(image), str(mask), "-o", str(out),
           "--init", init, "--backend", backend, "--report", str(report), "--quiet"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    wall = time.perf_counter() - t0
    r = json.loads(report.read_text())
    image_report = r["images"][0]
    return {"wall_s": wall, "iterations": image_report["iterations"], "search_s": image_report["search_seconds"],
            "loss": image_report["loss"], "engine": r["engine"], "settings": r["settings"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--image", type=Path, default=REPO / "examples" / "astronaut.png")
    ap.add_argument("--mask", type=Path, default=REPO / "examples" / "astronaut_mask.png")
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()

    runs: dict[str, list[dict]] = {init: [] for init in INITS}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            for init in (INITS if i % 2 == 0 else INITS[::-1]):
                runs[init].append(complete_once(init, args.image, args.mask, args.backend, Path(tmp)))
                print(f"repeat {i + 1}/{args.repeats} {init:8s} {runs[init][-1]['wall_s']:6.1f} s "
                      f"({runs[init][-1]['iterations']} iterations)", file=sys.stderr)

    def summary(rs: list[dict]) -> dict:
        return {"wall_s_median": statistics.median(r["wall_s"] for r in rs),
                "search_s_median": statistics.median(r["search_s"] for r in rs),
                "iterations": [r["iterations"] for r in rs], "loss": rs[0]["loss"],
                "engine": rs[0]["engine"], "settings": rs[0]["settings"], "runs": rs}
    result = {"machine": platform.processor() or platform.machine(), "cores": os.cpu_count(), "python": platform.python_version(),
              "date": time.strftime("%Y-%m-%d"), "command": " ".join(sys.argv),
              "image": str(args.image.relative_to(REPO) if args.image.is_relative_to(REPO) else args.image),
              "by_init": {init: summary(rs) for init, rs in runs.items()}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))

    r, e = result["by_init"]["random"], result["by_init"]["encoder"]
    print("| start | iterations run | search (s) | end to end (s) | final loss |")
    print("|---|---|---|---|---|")
    for name, s in (("random z (`--init random`)", r), ("latent encoder (default)", e)):
        print(f"| {name} | {', '.join(map(str, s['iterations']))} | {s['search_s_median']:.2f} | "
              f"{s['wall_s_median']:.2f} | {s['loss']:.4g} |")
    print(f"\nend to end: {r['wall_s_median'] / e['wall_s_median']:.2f}x faster from the encoder; "
          f"search alone: {r['search_s_median'] / e['search_s_median']:.2f}x")


if __name__ == "__main__":
    main()
