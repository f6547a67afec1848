"""A GPU completion against the ONNX Runtime completion with the same seed and settings.

The shipped model at the default settings (encoder start, restarts, early stop), on the example
images: the 64x64 astronaut with a center and a pattern hole, and the whole astronaut photo with
its mask (framed by the runtime). Both paths start from the same z; they differ only in arithmetic
(cuDNN on the GPU, MLAS on the CPU), so they must agree to within what that difference can grow to
over the search: AGREE_RAW on the generator's image and AGREE_DB on the hole's PSNR.

    python3 scripts/gpu_parity.py OUT.json        (the parity stage of scripts/gpu_check.sh)

Exit code 1 when any problem disagrees; the JSON has every figure either way.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
AGREE_RAW = 5e-3      # mean |difference| of the generator's images, on the [-1, 1] scale
AGREE_DB = 0.2        # |difference| of the two completions' hole PSNR against the original


def problems():
    from inpaint.imageio import read_image, read_mask
    from inpaint.masks import make_mask
    small = read_image(EXAMPLES / "astronaut64.png")
    for kind in ("center", "pattern"):
        yield f"astronaut64 {kind}", small, make_mask(kind, 64, 1) == 0
    photo = read_image(EXAMPLES / "astronaut_photo.jpg")
    yield "astronaut photo", photo, read_mask(EXAMPLES / "astronaut_photo_mask.png", photo.size)


def compare(name, picture, hole, ort, gpu) -> dict:
    from inpaint.eval.metrics import psnr
    t0 = time.perf_counter()
    a = ort.complete(picture, hole)
    t1 = time.perf_counter()
    b = gpu.complete(picture, hole)
    t2 = time.perf_counter()
    raw = float(np.abs(a.raw.astype(np.float64) - b.raw.astype(np.float64)).mean() / 127.5)
    psnr_ort = psnr(a.picture.pixels / 255.0, picture.pixels / 255.0, hole)
    psnr_gpu = psnr(b.picture.pixels / 255.0, picture.pixels / 255.0, hole)
    known_kept = bool(np.array_equal(b.picture.pixels[~hole], picture.pixels[~hole]))
    row = {"problem": name, "size": list(picture.size), "hole_pixels": int(hole.sum()),
           "framing_ort": a.report.get("framing"), "framing_gpu": b.report.get("framing"),
           "iterations_ort": a.report["iterations"], "iterations_gpu": b.report["iterations"],
           "loss_ort": round(a.report["loss"], 5), "loss_gpu": round(b.report["loss"], 5),
           "raw_mean_abs_diff": round(raw, 6),
           "pixels_max_abs_diff": int(np.abs(a.picture.pixels.astype(int) - b.picture.pixels.astype(int)).max()),
           "hole_psnr_ort_db": round(psnr_ort, 3), "hole_psnr_gpu_db": round(psnr_gpu, 3),
           "known_pixels_kept": known_kept, "seconds_ort": round(t1 - t0, 3), "seconds_gpu": round(t2 - t1, 3)}
    row["agree"] = raw <= AGREE_RAW and abs(psnr_ort - psnr_gpu) <= AGREE_DB and known_kept
    print(json.dumps(row), flush=True)
    return row


def main() -> int:
    from inpaint.inpainters import gpu_inpainter
    from inpaint.runtime.complete import Inpainter
    out = Path(sys.argv[1])
    ort = Inpainter.from_bundle()
    gpu = gpu_inpainter()
    rows = [compare(name, picture, hole, ort, gpu) for name, picture, hole in problems()]
    record = {"date": time.strftime("%Y-%m-%d"), "settings": {k: str(v) for k, v in vars(ort.settings).items()},
              "tolerance": {"raw_mean_abs_diff": AGREE_RAW, "hole_psnr_db": AGREE_DB}, "problems": rows,
              "all_agree": all(r["agree"] for r in rows)}
    out.write_text(json.dumps(record, indent=2))
    return 0 if record["all_agree"] else 1


if __name__ == "__main__":
    sys.exit(main())
