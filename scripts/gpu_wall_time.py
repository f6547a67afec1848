"""Wall time of `inpaint-rt complete --backend gpu` on a 64x64 image at the default settings:
from process start (a fresh process, as a user types it) and in a warm process (the second
completion of a process that has built its kernels and captured its graph once).

    python3 scripts/gpu_wall_time.py OUTDIR     -> OUTDIR/gpu_wall_time.json (run by gpu_check.sh)
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
IMAGE = REPO / "examples" / "astronaut64.png"


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    mask = np.zeros((64, 64), np.uint8)
    mask[16:48, 16:48] = 255                       # the center hole, a quarter of the image
    Image.fromarray(mask).save(out / "mask64.png")
    command = [sys.executable, "-m", "inpaint.cli.rt", "complete", str(IMAGE), str(out / "mask64.png"),
               "-o", str(out / "filled64_gpu.png"), "--backend", "gpu", "--quiet",
               "--report", str(out / "rt_gpu_report.json")]
    t0 = time.perf_counter()
    cold = subprocess.run(command, capture_output=True, text=True)
    cold_s = time.perf_counter() - t0
    if cold.returncode != 0:
        raise SystemExit(f"inpaint-rt failed ({cold.returncode}): {cold.stderr.strip()}")

    import torch

    from inpaint.imageio import read_image, read_mask
    from inpaint.inpainters import gpu_inpainter
    picture = read_image(IMAGE)
    hole = read_mask(out / "mask64.png", picture.size)
    t0 = time.perf_counter()
    inpainter = gpu_inpainter()
    first = inpainter.complete(picture, hole)
    first_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    warm = inpainter.complete(picture, hole)
    warm_s = time.perf_counter() - t0
    result = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__,
              "date": time.strftime("%Y-%m-%d"), "command": " ".join(command[1:]),
              "from_process_start_s": round(cold_s, 3), "first_in_process_s": round(first_s, 3),
              "warm_s": round(warm_s, 3), "iterations": warm.report["iterations"],
              "search_seconds": warm.report["search_seconds"], "blend_seconds": warm.report["blend_seconds"]}
    (out / "gpu_wall_time.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
