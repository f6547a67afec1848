"""Where the eyes sit in aligned CelebA photos: OpenCV's eye cascade on each photo, and the spread
of the eye centers over the photos where it finds exactly one eye on each side.

    python scripts/eye_positions.py [--photos ZIP]

img_align_celeba photos were aligned on the eyes, so the true square (35, 55, 108) fixes where
the eyes are; the spread printed here says how tightly.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from inpaint.eval.photo_problems import read_photos

REPO = Path(__file__).resolve().parents[1]
PHOTOS = REPO.parent / "shared" / "data" / "celeba_aligned_sample" / "img_align_celeba_sample.zip"
BAND = (80, 150)          # rows searched: the eyes' band of a 178x218 photo
MIDLINE = 89              # columns left of it hold the left eye


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--photos", type=Path, default=PHOTOS)
    args = p.parse_args()
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_eye.xml")
    left, right, photos = [], [], read_photos(args.photos, None, 0)
    for photo in photos:
        gray = cv2.cvtColor(photo.rgb, cv2.COLOR_RGB2GRAY)[BAND[0]:BAND[1]]
        centers = [(x + w / 2, BAND[0] + y + h / 2)
                   for x, y, w, h in cascade.detectMultiScale(gray, 1.05, 5, minSize=(12, 12))]
        lefts = [c for c in centers if 50 < c[0] < MIDLINE]
        rights = [c for c in centers if MIDLINE <= c[0] < 130]
        if len(lefts) == 1 and len(rights) == 1:
            left.append(lefts[0])
            right.append(rights[0])
    left, right = np.array(left), np.array(right)
    middle = (left + right) / 2
    print(f"{len(left)} of {len(photos)} photos with one eye found on each side")
    print("| point | mean x, y (px) | standard deviation x, y (px) |\n|---|---|---|")
    for name, a in (("left eye", left), ("right eye", right), ("between the eyes", middle)):
        print(f"| {name} | {a[:, 0].mean():.1f}, {a[:, 1].mean():.1f} | {a[:, 0].std():.2f}, {a[:, 1].std():.2f} |")
    d = right[:, 0] - left[:, 0]
    print(f"| eye distance | {d.mean():.1f} | {d.std():.2f} |")


if __name__ == "__main__":
    main()
