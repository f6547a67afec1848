"""Aligned-photo stand-ins made from 64x64 crops, for the photo evaluation on faces the model never saw.

The 300 raw photos in ../shared/data are all in the generator's training set (their 64x64 crops
are in celeba64/train.zip). No raw photo of a face the generator never saw is available; this
makes a stand-in from a crop: the 64x64 face upscaled (bicubic) to the true square's 108x108 and put at
its place (35, 55) in a 178x218 canvas whose rest repeats the square's edge pixels. Face holes lie
inside the square, so they cover real (upscaled) face pixels; the framer and the model meet the
face exactly where an aligned photo has it.

    # unseen faces: 60 val crops disjoint from the 500 of the crop evaluation
    python scripts/photos_from_crops.py ../shared/data/celeba64/val.zip runs/val_photos --skip 500 -n 60
    # the control: the crops of the photo evaluation's own 40 photos, from train.zip
    python scripts/photos_from_crops.py ../shared/data/celeba64/train.zip runs/train_photos \
        --like docs/results/photos40.json

Then `inpaint-eval --photos DIR --methods found,true --holes face,eyes,mouth,strokes` on each.
"""
from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from inpaint.eval.harness import _draw
from inpaint.eval.photo_problems import ALIGNED_SIZE, TRUE_SQUARE
from inpaint.train.datasets import image_sources


def as_photo(crop: np.ndarray) -> np.ndarray:
    """uint8 (64, 64, 3) -> uint8 (218, 178, 3): the crop at the true square, its edge pixels repeated around it."""
    x, y, side = TRUE_SQUARE
    w, h = ALIGNED_SIZE
    square = np.asarray(Image.fromarray(crop).resize((side, side), Image.BICUBIC))
    return cv2.copyMakeBorder(square, y, h - y - side, x, w - x - side, cv2.BORDER_REPLICATE)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("crops", type=Path, help="zip of 64x64 crops (celeba64/val.zip or train.zip)")
    ap.add_argument("out", type=Path, help="folder for the 178x218 PNG photos")
    ap.add_argument("-n", type=int, default=60, help="crops drawn (seeded, as inpaint-eval --data draws)")
    ap.add_argument("--skip", type=int, default=500, help="leave out the first SKIP of the draw")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--like", type=Path, help="a photo evaluation's JSON: take the crops of its photos instead")
    args = ap.parse_args()
    sources = list(image_sources(args.crops))
    if args.like:
        wanted = {Path(p).name for p in json.loads(args.like.read_text())["photos"]}
        chosen = [(n, read) for n, read in sources if Path(n).name in wanted]
        if len(chosen) != len(wanted):
            raise SystemExit(f"{args.crops} lacks {len(wanted) - len(chosen)} of the photos in {args.like}")
    else:
        chosen = [sources[i] for i in _draw(len(sources), args.n, args.seed, args.skip, str(args.crops))]
    args.out.mkdir(parents=True, exist_ok=True)
    for name, read in chosen:
        crop = np.asarray(Image.open(io.BytesIO(read())).convert("RGB"))
        Image.fromarray(as_photo(crop)).save(args.out / (Path(name).stem + ".png"))
    print(f"{len(chosen)} photos in {args.out}")


if __name__ == "__main__":
    main()
