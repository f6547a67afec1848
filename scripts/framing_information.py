"""How much of found − true is information the hole hides: the framer on the photo with its hole
against the framer on the intact photo, each square's completion paired against the true square's.

    python scripts/framing_information.py --photos runs/val_photos -n 60

img_align_celeba photos were aligned by their two eye centers, so the true square (35, 55, 108)
is fixed by where the eyes are. A hole over the eyes hides exactly what set the true square. For
each aligned photo and face hole (as inpaint-eval --photos, seed 0) this completes the hole at
three squares: the framer's on the photo with the hole ("found"), the framer's on the intact
photo ("found, hole visible": the framer asked for the face at the hole's center pixel, seeing
every other pixel), and the true square. One start per completion. Prints the paired differences
and the framings' center errors.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from inpaint.eval.harness import paired
from inpaint.eval.metrics import psnr
from inpaint.eval.photo_problems import FACE_HOLES, problems, read_photos
from inpaint.imageio import Picture


def center_error(box, truth) -> float:
    """Distance between the squares' centers, in pixels of a 108-pixel true side."""
    (cx, cy), (tx, ty) = box.center, truth.center
    return float(np.hypot(cx - tx, cy - ty) * 108 / truth.size)


def main() -> None:
    from inpaint.runtime.complete import Inpainter
    from inpaint.runtime.framing.decide import Framer
    from inpaint.spec import InpaintSettings
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--photos", type=Path, required=True)
    p.add_argument("-n", type=int, default=60)
    p.add_argument("--holes", default=",".join(FACE_HOLES))
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    inpainter = Inpainter.from_bundle(settings=InpaintSettings(restarts=1, seed=0))
    framer = Framer()
    photos = read_photos(args.photos, args.n, 0)
    rows = []
    for kind in args.holes.split(","):
        todo = problems(photos, "aligned", kind, 0)
        found, visible = [], []
        for q in todo:
            found.append(framer.find(q.rgb, q.hole).box)
            ys, xs = np.nonzero(q.hole)
            point = np.zeros_like(q.hole)
            point[int(np.median(ys)), int(np.median(xs))] = True
            visible.append(framer.find(q.rgb, point).box)
        keep = [i for i in range(len(todo)) if found[i] is not None and visible[i] is not None]
        todo = [todo[i] for i in keep]
        runs = {"found": [found[i] for i in keep], "found, hole visible": [visible[i] for i in keep],
                "true": [q.box for q in todo]}
        pictures, holes = [Picture(q.rgb, None, "RGB") for q in todo], [q.hole for q in todo]
        scores = {}
        for name, boxes in runs.items():
            done = inpainter.complete_many(pictures, holes, framing=boxes)
            scores[name] = [psnr(c.picture.pixels / 255.0, q.rgb / 255.0, q.hole) for c, q in zip(done, todo)]
        for i, q in enumerate(todo):
            rows.append({"hole": kind, "photo": q.photo, **{k: scores[k][i] for k in runs},
                         "error found": center_error(runs["found"][i], q.box),
                         "error visible": center_error(runs["found, hole visible"][i], q.box)})
        print(kind, len(todo), {k: round(float(np.mean(v)), 3) for k, v in scores.items()}, flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows))
    print("\n| hole | photos | center error found / hole visible (px, median) | found − true (dB) "
          "| found, hole visible − true (dB) |\n|---|---|---|---|---|")
    for kind in [*dict.fromkeys(r["hole"] for r in rows), "face holes"]:
        sel = [r for r in rows if kind in ("face holes", r["hole"])]
        t = {"per_image": {"psnr": [r["true"] for r in sel]}}
        cells = []
        for name in ("found", "found, hole visible"):
            d = paired({"per_image": {"psnr": [r[name] for r in sel]}}, t, "psnr")
            cells.append(f"{d['mean']:+.2f} ± {d['ci95']:.2f}")
        errors = f"{np.median([r['error found'] for r in sel]):.2f} / {np.median([r['error visible'] for r in sel]):.2f}"
        print(f"| {kind} | {len(sel)} | {errors} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
