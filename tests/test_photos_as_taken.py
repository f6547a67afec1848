"""Whole photos as people have them: palette PNGs with a transparent hole, two faces in one
photo, and the same photo at another size completed alike (the shipped model, real photos)."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from inpaint.cli.rt import main
from inpaint.imageio import read_image, read_mask
from inpaint.runtime.complete import Inpainter

PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "celeba_aligned_sample" / "img_align_celeba_sample.zip"
FACE_HOLE = (62, 82, 54, 54)              # x, y, w, h: the middle of an aligned photo's face


def sample_photos(*indices: int) -> list[np.ndarray]:
    if not PHOTOS.is_file():
        pytest.skip(f"the CelebA sample photos are not at {PHOTOS} (../shared/data is absent in a user's clone)")
    with zipfile.ZipFile(PHOTOS) as z:
        names = sorted(n for n in z.namelist() if n.lower().endswith(".jpg"))
        return [np.asarray(Image.open(io.BytesIO(z.read(names[i]))).convert("RGB")) for i in indices]


def hole_at(shape, x, y, w, h) -> np.ndarray:
    hole = np.zeros(shape, bool)
    hole[y:y + h, x:x + w] = True
    return hole


def complete(tmp_path: Path, image: Path, mask: Path | None, *extra: str) -> dict:
    out, report = tmp_path / "out.png", tmp_path / "report.json"
    args = ["complete", str(image), *([str(mask)] if mask else []), "-o", str(out), "--report", str(report),
            "--quiet", "--backend", "ort", *extra]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    return json.loads(report.read_text())["images"][0]


def test_a_palette_png_with_a_transparent_hole(tmp_path):
    """P mode with a transparent palette entry: the transparent pixels are the hole; the result
    keeps every other pixel and is opaque."""
    rgb = np.asarray(Image.open(Path(__file__).parents[1] / "examples" / "astronaut64.png").convert("RGB"))
    pal = Image.fromarray(rgb).quantize(colors=200)
    indices = np.asarray(pal).copy()
    hole = hole_at(indices.shape, 20, 24, 24, 16)
    indices[hole] = 200                                       # one more entry, transparent
    im = Image.fromarray(indices, "P")
    im.putpalette(pal.getpalette()[:600] + [255, 0, 255])
    im.save(tmp_path / "palette.png", transparency=200)
    assert Image.open(tmp_path / "palette.png").mode == "P"
    complete(tmp_path, tmp_path / "palette.png", None, "--iterations", "3")
    out = np.asarray(Image.open(tmp_path / "out.png"))
    shown = np.asarray(Image.open(tmp_path / "palette.png").convert("RGBA"))
    assert out.shape == (64, 64, 4) and (out[..., 3] == 255).all()
    np.testing.assert_array_equal(out[~hole], shown[~hole])


def test_two_faces_each_with_a_hole_are_each_completed_in_their_own_square(tmp_path):
    left, right = sample_photos(3, 7)
    two = np.concatenate([left, right], axis=1)                     # 356x218
    hole = hole_at(two.shape[:2], 60, 100, 60, 30) | hole_at(two.shape[:2], 178 + 65, 140, 50, 25)
    Image.fromarray(two).save(tmp_path / "two.png")
    Image.fromarray(hole.astype(np.uint8) * 255).save(tmp_path / "mask.png")
    framing = complete(tmp_path, tmp_path / "two.png", tmp_path / "mask.png")["framing"]
    assert framing["how"] == "found" and len(framing["squares"]) == 2, framing
    centres = sorted(x + side / 2 for x, _, side in framing["squares"])
    assert centres[0] < 178 < centres[1]                            # one square on each face
    out = np.asarray(Image.open(tmp_path / "out.png"))
    np.testing.assert_array_equal(out[~hole], two[~hole])
    for cols in (slice(0, 178), slice(178, None)):                  # each face's hole was filled, near the truth
        part = hole[:, cols]
        error = np.abs(out[:, cols][part].astype(int) - two[:, cols][part])
        assert 0 < error.mean() < 40


def test_the_same_photo_five_times_larger_is_completed_alike(tmp_path):
    """Framing found on the photo and on its 5x copy, each completed: the larger result scaled
    back down matches the smaller over the hole (hole PSNR at least 30 dB)."""
    photo = sample_photos(0)[0]
    inpainter = Inpainter.from_bundle(threads=1)
    results = {}
    for s in (1, 5):
        big = np.asarray(Image.fromarray(photo).resize((178 * s, 218 * s), Image.BICUBIC)) if s > 1 else photo
        hole = hole_at(big.shape[:2], *(v * s for v in FACE_HOLE))
        Image.fromarray(big).save(tmp_path / "p.png")
        Image.fromarray(hole.astype(np.uint8) * 255).save(tmp_path / "m.png")
        picture = read_image(tmp_path / "p.png")
        done = inpainter.complete(picture, read_mask(tmp_path / "m.png", picture.size))
        assert done.framing.how == "found"
        out = done.picture.pixels
        results[s] = out if s == 1 else np.asarray(Image.fromarray(out).resize((178, 218), Image.BOX))
    small_hole = hole_at((218, 178), *FACE_HOLE)
    mse = ((results[5].astype(float) - results[1]) ** 2)[small_hole].mean()
    assert 10 * np.log10(255 ** 2 / mse) >= 30
