"""Images that are already framed as the model's training images (64x64 CelebA crops): the framer's
square against the whole image, which is the true framing there.

    python experiments/framing_crops.py [--data ../shared/data/celeba64/val.zip] [-n 100] [--no-snap]

Draws crops as inpaint-eval --data does with --skip 500 (disjoint from the 500 evaluation images),
center and pattern holes, one start per completion; prints how the framer framed them and the hole
PSNR of auto framing against whole, paired. --no-snap measures the framer without snap_iou (a found
square that nearly covers a square image is taken as it was found).
"""
from __future__ import annotations

import argparse
import io
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

from inpaint.eval.harness import _draw, mask_for, paired
from inpaint.eval.metrics import psnr
from inpaint.imageio import Picture
from inpaint.runtime.framing.geometry import Box
from inpaint.train.datasets import image_sources

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "celeba64" / "val.zip"


def main() -> None:
    from inpaint.runtime.complete import Inpainter
    from inpaint.runtime.framing.decide import Framer
    from inpaint.runtime.framing.settings import DEFAULT
    from inpaint.spec import InpaintSettings
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("-n", type=int, default=100)
    p.add_argument("--no-snap", action="store_true")
    args = p.parse_args()
    framer = Framer(settings=replace(DEFAULT, snap_iou=float("inf")) if args.no_snap else DEFAULT)
    sources = list(image_sources(args.data))
    chosen = [sources[i] for i in _draw(len(sources), args.n, 0, 500, str(args.data))]
    pictures = [Picture(np.asarray(Image.open(io.BytesIO(read())).convert("RGB")), None, "RGB")
                for _, read in chosen]
    inpainter = Inpainter.from_bundle(settings=InpaintSettings(restarts=1, seed=0))
    print("| hole | crops | framed as whole | median IoU of the square with the image | auto − whole (dB) | auto better |")
    print("|---|---|---|---|---|---|")
    for kind in ("center", "pattern"):
        holes = [mask_for(kind, 64, 0, i) == 0 for i in range(len(pictures))]
        scores = {}
        for framing in ("auto", "whole"):
            asked = [framer.find(q.pixels, h) for q, h in zip(pictures, holes)] if framing == "auto" else framing
            done = inpainter.complete_many(pictures, holes, framing=asked)
            scores[framing] = {"per_image": {"psnr": [psnr(c.picture.pixels / 255.0, q.pixels / 255.0, h)
                                                     for c, q, h in zip(done, pictures, holes)]}}
            if framing == "auto":
                boxes = [c.framing.box for c in done]
        d = paired(scores["auto"], scores["whole"], "psnr")
        whole = np.mean([b is None for b in boxes])
        iou = np.median([b.iou(Box(0, 0, 64)) if b else 1.0 for b in boxes])
        print(f"| {kind} | {len(pictures)} | {whole:.0%} | {iou:.3f} | {d['mean']:+.2f} ± {d['ci95']:.2f} | {d['wins']:.0%} |")


if __name__ == "__main__":
    main()
