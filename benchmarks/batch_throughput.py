"""Images per second of `inpaint-rt complete --batch DIR` at its defaults, for one or more
checkouts side by side.

    python benchmarks/batch_throughput.py [--n 100] [--data ../shared/data/celeba64/val.zip]
                                          [--variant NAME=SRC ...] [--repeats 1]

Writes N val crops (64x64; the seeded draw after the 500 evaluation images and the 64 tuning
ones, so none of them) with center and pattern holes alternating into a folder, then runs the
command once per variant (PYTHONPATH=SRC) as a fresh process and reads the rate it reports:
images after loading, divided by the seconds after loading; the end-to-end wall time is kept
too; with --repeats, the table gives medians. Writes benchmarks/results/batch_throughput_cpu.json
and prints a table.
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

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "results" / "batch_throughput_cpu.json"
SKIP = 564          # past the 500 evaluation images and the 64 tuning images of the same draw


def write_inputs(data: Path, n: int, folder: Path) -> None:
    from inpaint.eval.harness import pick_images
    from inpaint.masks import make_mask
    _, images = pick_images(str(data), n, 64, 0, SKIP)
    (folder / "in").mkdir()
    (folder / "masks").mkdir()
    for i, im in enumerate(images):
        Image.fromarray(im).save(folder / "in" / f"{i:04d}.png")
        hole = make_mask(("center", "pattern")[i % 2], 64, i) < 0.5
        Image.fromarray(hole.astype(np.uint8) * 255).save(folder / "masks" / f"{i:04d}.png")


def run(src: Path, folder: Path, name: str) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(src) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    out, report = folder / f"out-{name}", folder / f"report-{name}.json"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "inpaint.cli.rt", "complete", "--batch", str(folder / "in"), "--masks",
                    str(folder / "masks"), "-o", str(out), "--report", str(report), "--quiet"],
                   check=True, capture_output=True, env=env)
    wall = time.perf_counter() - t0
    r = json.loads(report.read_text())
    done = len(r["images"])
    after_load = r["total_seconds"] - r["load_seconds"]
    return {"images": done, "wall_s": wall, "load_s": r["load_seconds"], "after_load_s": after_load,
            "images_per_second": done / after_load, "end_to_end_images_per_second": done / wall,
            "iterations": r["images"][0]["iterations"], "restarts": r["settings"]["restarts"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "celeba64" / "val.zip")
    ap.add_argument("--variant", action="append", default=[], help="NAME=SRC [default: now=<this checkout>/src]")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    variants = {k: Path(v).resolve() for k, v in (x.split("=", 1) for x in args.variant)} or {"now": REPO / "src"}
    runs: dict[str, list] = {v: [] for v in variants}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_inputs(args.data, args.n, folder)
        for i in range(args.repeats):
            for v, src in (list(variants.items()) if i % 2 == 0 else list(variants.items())[::-1]):
                runs[v].append(run(src, folder, v))
                print(f"{v}: {runs[v][-1]['images_per_second']:.2f} images/s", file=sys.stderr)
    result = {"machine": platform.processor() or platform.machine(), "cores": os.cpu_count(),
              "date": time.strftime("%Y-%m-%d"), "command": " ".join(sys.argv), "n": args.n,
              "variants": {k: str(v) for k, v in variants.items()}, "runs": runs}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print("| variant | search | images/s after loading | loading (s) | end to end (s) |")
    print("|---|---|---|---|---|")
    for v, rs in runs.items():
        med = {k: statistics.median(r[k] for r in rs) for k in ("images_per_second", "load_s", "wall_s")}
        print(f"| {v} | {rs[0]['restarts']} x {rs[0]['iterations']} | {med['images_per_second']:.2f} | "
              f"{med['load_s']:.2f} | {med['wall_s']:.1f} |")


if __name__ == "__main__":
    main()
