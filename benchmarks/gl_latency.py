"""Per-image latency of GL (one forward pass of the bundle's completion graph) beside ours (the
default search from the encoder), warm, on ONNX Runtime's CPU provider.

    python benchmarks/gl_latency.py [--repeats 21] [--bundle DIR]

Cases, each on one Inpainter made once, after two untimed calls:
- graph: GL's graph alone at batch 1 (engine.complete_gl on a 64x64 problem);
- 64x64: examples/astronaut64.png with a centred 32x32 hole, the whole image (framing "whole"):
  GL's pass + Poisson blending, against ours' search + blending;
- photo: examples/astronaut_photo.jpg with its hole, framed automatically (finding the face,
  cutting the square, blending back at full resolution), GL against ours;
- batch 64: GL on 64 images of the 64x64 case at once, per image.
Medians over --repeats calls. Writes benchmarks/results/gl_latency_cpu.json and prints a table.
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
from PIL import Image

from inpaint.bench.timing import median_seconds

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "results" / "gl_latency_cpu.json"
WARMUP = 2          # untimed calls before each case's timed ones


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=21)
    ap.add_argument("--bundle", type=Path, default=None, help="[default: the shipped bundle]")
    args = ap.parse_args()

    from inpaint.imageio import Picture
    from inpaint.runtime.complete import Inpainter

    inpainter = Inpainter.from_bundle(args.bundle)
    face = np.asarray(Image.open(REPO / "examples" / "astronaut64.png").convert("RGB"))
    hole = np.zeros(face.shape[:2], bool)
    hole[16:48, 16:48] = True
    photo = np.asarray(Image.open(REPO / "examples" / "astronaut_photo.jpg").convert("RGB"))
    photo_hole = np.asarray(Image.open(REPO / "examples" / "astronaut_photo_mask.png").convert("L")) > 127
    small, big = Picture(face, None, "RGB"), Picture(photo, None, "RGB")
    y = (face.transpose(2, 0, 1).astype(np.float32) / 127.5 - 1)[None]
    known = (~hole).astype(np.float32)[None, None]

    r = args.repeats
    rows = {
        "gl graph, batch 1": median_seconds(lambda: inpainter.engine.complete_gl(y, known), r, WARMUP),
        "gl 64x64": median_seconds(lambda: inpainter.complete_gl([small], [hole], framing="whole"), r, WARMUP),
        "ours 64x64": median_seconds(lambda: inpainter.complete(small, hole, framing="whole"), r, WARMUP),
        "gl photo": median_seconds(lambda: inpainter.complete_gl([big], [photo_hole]), r, WARMUP),
        "ours photo": median_seconds(lambda: inpainter.complete(big, photo_hole), r, WARMUP),
        "gl 64x64, batch 64, per image": median_seconds(
            lambda: inpainter.complete_gl([small] * 64, [hole] * 64, framing="whole"), max(3, r // 4), WARMUP) / 64,
    }
    result = {"machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
              "cpu_count": len(__import__("os").sched_getaffinity(0)),
              "date": time.strftime("%Y-%m-%d"), "repeats": r,
              "settings": {k: v for k, v in vars(inpainter.settings).items()},
              "gl": inpainter.engine.bundle.manifest.get("gl", {}), "median_seconds": rows}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    print("| case | median per image |\n|---|---|")
    for name, sec in rows.items():
        print(f"| {name} | {sec * 1000:.1f} ms |")
    print(f"\nours / gl: 64x64 {rows['ours 64x64'] / rows['gl 64x64']:.1f}x, "
          f"photo {rows['ours photo'] / rows['gl photo']:.1f}x  ({OUT.relative_to(REPO)})")


if __name__ == "__main__":
    main()
