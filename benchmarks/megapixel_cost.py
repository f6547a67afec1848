"""What `inpaint-rt complete` costs on photos of 0.04 to 50 megapixels, beyond reading and writing them.

    python benchmarks/megapixel_cost.py [--scales 1,5,10,15,20,25,30,35] [--repeats 3]

One aligned CelebA photo (178x218, 0.04 MP) is upscaled s times (bicubic: 25x is 4450x5450,
24 MP) with the face hole of the photo evaluation (the middle quarter of the face's square)
scaled with it, and both are written as PNG. For each size two processes are timed from their
start to their exit, `repeats` times each, alternating:
  - pillow: Pillow alone opens the photo and the mask, decodes them and writes the photo as a PNG
    (what any tool must spend on these files);
  - complete: `inpaint-rt complete PHOTO MASK -o OUT.png` with the shipped model on ONNX Runtime
    (one thread), the framing found as the CLI finds it.
The cost beyond Pillow is the difference of the medians. Peak memory is the process's maximum
resident set (getrusage of that child). The completions at every size are compared with the one
at 1x: the result scaled back down to 178x218 (area average) against the 1x result, PSNR over
the hole (inpaint.eval.metrics.psnr). Writes benchmarks/results/megapixel_cost.json and prints a
markdown table.
"""
from __future__ import annotations

import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import date
from pathlib import Path

import numpy as np
from PIL import Image

from inpaint.eval import metrics

from _sample_photos import photo_arguments      # benchmarks/, beside this script

HOLE = (62, 82, 54, 54)          # x, y, w, h in the 178x218 photo: the evaluation's face hole
PILLOW_ALONE = ("import sys; from PIL import Image; Image.MAX_IMAGE_PIXELS = None; "
                "im = Image.open(sys.argv[1]); im.load(); m = Image.open(sys.argv[2]); m.load(); "
                "im.save(sys.argv[3])")


def run(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds from start to exit, peak resident MB) of one child process."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - t0
    err = child.stderr.read().decode()
    child.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    p = photo_arguments(__doc__, "megapixel_cost.json")
    p.add_argument("--scales", default="1,5,10,15,20,25,30,35")
    args = p.parse_args()
    scales = [float(s) for s in args.scales.split(",")]
    if 1.0 not in scales:
        scales = [1.0] + scales
    with zipfile.ZipFile(args.photos) as z:
        name = sorted(n for n in z.namelist() if n.lower().endswith(".jpg"))[0]
        photo = Image.open(io.BytesIO(z.read(name))).convert("RGB")
    rt = str(Path(sys.executable).with_name("inpaint-rt"))
    rows, results = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for s in scales:
            w, h = round(photo.width * s), round(photo.height * s)
            img, mask, out, copy = (tmp / f"{k}_{s:g}.png" for k in ("photo", "mask", "filled", "copy"))
            photo.resize((w, h), Image.BICUBIC).save(img)
            hole = np.zeros((h, w), np.uint8)
            x, y, bw, bh = (round(v * s) for v in HOLE)
            hole[y:y + bh, x:x + bw] = 255
            Image.fromarray(hole).save(mask)
            pillow, complete = [], []
            for _ in range(args.repeats):
                pillow.append(run([sys.executable, "-c", PILLOW_ALONE, str(img), str(mask), str(copy)]))
                complete.append(run([rt, "complete", str(img), str(mask), "-o", str(out), "--quiet",
                                     "--backend", "ort"]))
            filled = np.asarray(Image.open(out).convert("RGB"))
            results[s] = filled if s == 1 else np.asarray(Image.fromarray(filled).resize(photo.size, Image.BOX))
            row = {"scale": s, "width": w, "height": h, "megapixels": round(w * h / 1e6, 3),
                   "pillow_seconds": round(statistics.median(t for t, _ in pillow), 3),
                   "complete_seconds": round(statistics.median(t for t, _ in complete), 3),
                   "pillow_peak_mb": round(max(m for _, m in pillow)), "complete_peak_mb": round(max(m for _, m in complete))}
            row["beyond_pillow_seconds"] = round(row["complete_seconds"] - row["pillow_seconds"], 3)
            rows.append(row)
            print(f"{s:g}x: {row}", file=sys.stderr)
    small_hole = np.zeros((photo.height, photo.width), bool)
    x, y, bw, bh = HOLE
    small_hole[y:y + bh, x:x + bw] = True
    at_1x = results[1.0] / 255.0
    for row in rows:
        row["hole_psnr_vs_1x"] = (None if row["scale"] == 1 else
                                  round(metrics.psnr(results[row["scale"]] / 255.0, at_1x, small_hole), 2))
    report = {"date": date.today().isoformat(), "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
              "cpus": os.cpu_count(), "photo": name, "repeats": args.repeats, "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    print("| size | megapixels | Pillow alone (s) | inpaint-rt complete (s) | beyond Pillow (s) | "
          "peak memory, Pillow / complete (MB) | hole PSNR against 1x (dB) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        psnr = "-" if r["hole_psnr_vs_1x"] is None else f"{r['hole_psnr_vs_1x']:.1f}"
        print(f"| {r['width']}x{r['height']} | {r['megapixels']:.2f} | {r['pillow_seconds']:.2f} | "
              f"{r['complete_seconds']:.2f} | {r['beyond_pillow_seconds']:.2f} | "
              f"{r['pillow_peak_mb']} / {r['complete_peak_mb']} | {psnr} |")


if __name__ == "__main__":
    main()
