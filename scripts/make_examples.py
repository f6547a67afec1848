"""Write the example inputs in examples/ from scikit-image's `astronaut` (a public-domain NASA
portrait of Eileen Collins that ships in scikit-image): face crops framed like the CelebA 64x64
crops, and the whole portrait with a hole over the eyes.

    python scripts/make_examples.py      # needs scikit-image
"""
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data

OUT = Path(__file__).resolve().parents[1] / "examples"
# Eyes at about (195, 100) and (250, 100): put them where CelebA's aligned crops have them
# (about 37% of the side apart, on row 52% of the side).
FACE_BOX = (148, 23, 297, 172)   # left, top, right, bottom: 149 x 149


def main() -> None:
    OUT.mkdir(exist_ok=True)
    face = Image.fromarray(data.astronaut()).crop(FACE_BOX)
    face.resize((128, 128), Image.LANCZOS).save(OUT / "astronaut.png")
    face.resize((64, 64), Image.LANCZOS).save(OUT / "astronaut64.png")
    mask = np.zeros((128, 128), np.uint8)
    mask[32:96, 32:96] = 255                   # center block, 25% of the area: white = hole
    Image.fromarray(mask).save(OUT / "astronaut_mask.png")
    # the whole portrait (512x512), with a hole over the eyes: the runtime finds the framing itself
    Image.fromarray(data.astronaut()).save(OUT / "astronaut_photo.jpg", quality=92)
    eyes = np.zeros((512, 512), np.uint8)
    eyes[94:122, 188:260] = 255
    Image.fromarray(eyes).save(OUT / "astronaut_photo_mask.png", optimize=True)


if __name__ == "__main__":
    main()
