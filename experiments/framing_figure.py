"""The README's whole-photo figure: a photo with a hole on the face, completed with the whole
image squeezed to the model's square and with the framing the runtime finds.

    python experiments/framing_figure.py [--image examples/astronaut_photo.jpg]
                                     [--mask examples/astronaut_photo_mask.png] [--out docs/framing_astronaut.png]

Top row: the whole photo (the hole in red, the square found in green), then each completion;
bottom row: the same three, zoomed on the square found. Both completions use the CLI's default
search on ONNX Runtime with the same seed.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]
PANEL = 256


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--image", type=Path, default=REPO / "examples" / "astronaut_photo.jpg")
    p.add_argument("--mask", type=Path, default=REPO / "examples" / "astronaut_photo_mask.png")
    p.add_argument("--out", type=Path, default=REPO / "docs" / "framing_astronaut.png")
    args = p.parse_args()

    from inpaint.imageio import read_image, read_mask
    from inpaint.runtime.complete import Inpainter
    picture = read_image(args.image)
    hole = read_mask(args.mask, picture.size)
    inpainter = Inpainter.from_bundle()
    found = inpainter.frame(picture, hole)
    if found.box is None:
        raise SystemExit(f"no framing found on {args.image}: {found.reason}")
    whole = inpainter.complete(picture, hole, framing="whole").picture.pixels
    framed = inpainter.complete(picture, hole, framing=found).picture.pixels
    shown = np.where(hole[..., None], (0.5 * picture.pixels + [127, 0, 32]).astype(np.uint8), picture.pixels)

    x, y, s = found.box.pixels()
    zoom = (max(0, x), max(0, y), min(picture.size[0], x + s), min(picture.size[1], y + s))
    columns = [("the photo and its hole", shown), ("whole image squeezed", whole), ("framing found", framed)]
    sheet = Image.new("RGB", (PANEL * 3, PANEL * 2 + 20), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (title, pixels) in enumerate(columns):
        full = Image.fromarray(pixels)
        top = full.resize((PANEL, PANEL * full.height // full.width), Image.LANCZOS)
        sheet.paste(top, (i * PANEL, 20))
        sheet.paste(full.crop(zoom).resize((PANEL, PANEL), Image.LANCZOS), (i * PANEL, 20 + PANEL))
        draw.text((i * PANEL + 4, 4), title, fill="black")
    f = PANEL / picture.size[0]
    draw.rectangle([x * f, 20 + y * f, (x + s) * f, 20 + (y + s) * f], outline=(0, 200, 60), width=2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, optimize=True)
    print(f"{args.out}: square {found.box.to_list()} ({found.how}, face score {found.score:.2f}, "
          f"{found.seconds * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
