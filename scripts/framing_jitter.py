"""Can the search pick the framing? Squares around the found one, each completed, chosen by the
search's own final loss, against the true square.

    python scripts/framing_jitter.py --photos runs/val_photos -n 30 --json runs/framing_jitter.json

For each aligned photo and face hole (as inpaint-eval --photos, seed 0): the framer's square, the
same square moved by STEP pixels (of a 108-pixel side) on a 3x3 grid, and the true square, each
completed with one start. Prints found - true, the best of the grid by hole PSNR (an oracle) -
true, and the grid's square with the lowest final loss (or contextual loss) - true, paired.
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
from inpaint.runtime.framing.geometry import Box

STEP = 1.25


def main() -> None:
    from inpaint.runtime.complete import Inpainter
    from inpaint.runtime.framing.decide import Framer
    from inpaint.spec import InpaintSettings
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--photos", type=Path, required=True)
    p.add_argument("-n", type=int, default=30)
    p.add_argument("--holes", default=",".join(FACE_HOLES))
    p.add_argument("--step", type=float, default=STEP)
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    inpainter = Inpainter.from_bundle(settings=InpaintSettings(restarts=1, seed=0))
    framer = Framer()
    grid = [(dx, dy) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    rows = []
    photos = read_photos(args.photos, args.n, 0)
    for kind in args.holes.split(","):
        todo = problems(photos, "aligned", kind, 0)
        found = [framer.find(q.rgb, q.hole).box for q in todo]
        keep = [i for i, b in enumerate(found) if b is not None]
        todo, found = [todo[i] for i in keep], [found[i] for i in keep]
        pictures, holes = [Picture(q.rgb, None, "RGB") for q in todo], [q.hole for q in todo]
        runs = {"true": [q.box for q in todo]}
        for dx, dy in grid:
            runs[(dx, dy)] = [Box.around(b.center[0] + dx * args.step * b.size / 108,
                                         b.center[1] + dy * args.step * b.size / 108, b.size) for b in found]
        scores = {}
        for name, boxes in runs.items():
            done = inpainter.complete_many(pictures, holes, framing=boxes)
            scores[name] = [(psnr(c.picture.pixels / 255.0, q.rgb / 255.0, q.hole), c.report["loss"],
                             c.report["contextual"]) for c, q in zip(done, todo)]
            print(kind, name, np.mean([s[0] for s in scores[name]]).round(3), flush=True)
        for i, q in enumerate(todo):
            cells = {f"{dx},{dy}": scores[(dx, dy)][i] for dx, dy in grid}
            rows.append({"hole": kind, "photo": q.photo, "true": scores["true"][i], "grid": cells})
    if args.json:
        args.json.write_text(json.dumps(rows))
    report(rows)


def report(rows: list[dict]) -> None:
    def pick(r, how):
        cells = r["grid"].values()
        if how == "found":
            return r["grid"]["0,0"][0]
        if how == "oracle":
            return max(c[0] for c in cells)
        k = 1 if how == "loss" else 2
        return min(cells, key=lambda c: c[k])[0]
    print("| hole | photos | found − true | best of grid (oracle) − true | lowest loss − true | lowest contextual − true |")
    print("|---|---|---|---|---|---|")
    for kind in [*dict.fromkeys(r["hole"] for r in rows), "all"]:
        sel = [r for r in rows if kind in ("all", r["hole"])]
        true = {"per_image": {"psnr": [r["true"][0] for r in sel]}}
        cells = []
        for how in ("found", "oracle", "loss", "contextual"):
            d = paired({"per_image": {"psnr": [pick(r, how) for r in sel]}}, true, "psnr")
            cells.append(f"{d['mean']:+.2f} ± {d['ci95']:.2f}")
        print(f"| {kind} | {len(sel)} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
