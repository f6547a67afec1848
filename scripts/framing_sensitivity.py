"""How much the completion of a sample photo depends on its square being exactly the true one.

    python scripts/framing_sensitivity.py [--photos ZIP] [-n 40] [--hole face] [--restarts 1]

This completes the same aligned photos and holes as inpaint-eval --photos (seed 0) with the true
square and with the true square moved by a couple of pixels or scaled by a few percent (IoU
with the true square about 0.93), and prints each one's hole PSNR at full resolution, paired
against the true square's.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from inpaint.eval.harness import paired
from inpaint.eval.metrics import psnr
from inpaint.eval.photo_problems import problems, read_photos
from inpaint.imageio import Picture
from inpaint.runtime.framing.geometry import Box

REPO = Path(__file__).resolve().parents[1]
PHOTOS = REPO.parent / "shared" / "data" / "celeba_aligned_sample" / "img_align_celeba_sample.zip"
# name -> (dx, dy, scale): the true square's center moved by (dx, dy) pixels of a 108-pixel side,
# its side times scale
CHANGES = {"true": (0, 0, 1.0), "moved 2 px right and down": (2, 2, 1.0), "4% larger": (0, 0, 1.04),
           "4% smaller": (0, 0, 0.96)}


def main() -> None:
    from inpaint.runtime.complete import Inpainter
    from inpaint.spec import InpaintSettings
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--photos", type=Path, default=PHOTOS)
    p.add_argument("-n", type=int, default=40)
    p.add_argument("--hole", default="face")
    p.add_argument("--restarts", type=int, default=1)
    args = p.parse_args()
    inpainter = Inpainter.from_bundle(settings=InpaintSettings(restarts=args.restarts, seed=0))
    todo = problems(read_photos(args.photos, args.n, 0), "aligned", args.hole, 0)
    scores = {}
    for name, (dx, dy, scale) in CHANGES.items():
        boxes = []
        for q in todo:
            f = q.box.size / 108
            cx, cy = q.box.center
            boxes.append(Box.around(cx + dx * f, cy + dy * f, q.box.size * scale))
        done = inpainter.complete_many([Picture(q.rgb, None, "RGB") for q in todo], [q.hole for q in todo],
                                       framing=boxes)
        scores[name] = {"iou": float(np.mean([b.iou(q.box) for b, q in zip(boxes, todo)])),
                        "per_image": {"psnr": [psnr(c.picture.pixels / 255.0, q.rgb / 255.0, q.hole)
                                               for c, q in zip(done, todo)]}}
    print(f"{len(todo)} aligned photos, {args.hole} hole, {args.restarts} restart(s)\n")
    print("| square | IoU with the true one | hole PSNR (dB) | − true (dB) |\n|---|---|---|---|")
    for name, s in scores.items():
        d = paired(s, scores["true"], "psnr") if name != "true" else None
        diff = f"{d['mean']:+.2f} ± {d['ci95']:.2f}" if d else ""
        print(f"| {name} | {s['iou']:.3f} | {np.mean(s['per_image']['psnr']):.2f} | {diff} |")


if __name__ == "__main__":
    main()
