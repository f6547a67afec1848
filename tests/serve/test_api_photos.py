"""inpaint-rt serve with photos as people have them: a sideways phone photo, 16 bits, a palette
PNG with a transparent hole, a 0/1 mask, two faces, and a fallback that says why."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

httpx = pytest.importorskip("httpx", reason="the API tests need httpx (the [dev] extra)")

PHOTOS = Path(__file__).resolve().parents[3] / "shared" / "data" / "celeba_aligned_sample" / "img_align_celeba_sample.zip"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "astronaut64.png"


def encoded(im: Image.Image, **options) -> bytes:
    out = io.BytesIO()
    im.save(out, format="PNG", **options)
    return out.getvalue()


def post(url: str, image: bytes, mask: bytes | None = None) -> httpx.Response:
    files = {"image": ("in.png", image), **({"mask": ("mask.png", mask)} if mask is not None else {})}
    return httpx.post(f"{url}/v1/complete", files=files, data={"iterations": "3"}, timeout=120)


def example() -> np.ndarray:
    return np.asarray(Image.open(EXAMPLE).convert("RGB"))


def block(shape, y0, y1, x0, x1) -> np.ndarray:
    hole = np.zeros(shape, bool)
    hole[y0:y1, x0:x1] = True
    return hole


def test_a_sideways_phone_photo_and_its_mask_drawn_as_shown(live_server):
    shown = np.ascontiguousarray(example()[:, 8:56])                      # 48 wide, 64 high
    exif = Image.Exif()
    exif[0x0112] = 6                                                     # stored turned, shown upright
    stored = encoded(Image.fromarray(shown).transpose(Image.Transpose.ROTATE_90), exif=exif)
    hole = block(shown.shape[:2], 20, 36, 12, 36)
    r = post(live_server.url, stored, encoded(Image.fromarray(hole.astype(np.uint8) * 255)))
    assert r.status_code == 200, r.text
    out = Image.open(io.BytesIO(r.content))
    assert out.size == (48, 64) and 0x0112 not in out.getexif()
    np.testing.assert_array_equal(np.asarray(out.convert("RGB"))[~hole], shown[~hole])


def test_a_16_bit_png_comes_back_at_16_bits(live_server):
    import cv2
    samples = example().astype(np.uint16) * 257 + 100
    ok, data = cv2.imencode(".png", cv2.cvtColor(samples, cv2.COLOR_RGB2BGR))
    hole = block((64, 64), 20, 40, 16, 48)
    r = post(live_server.url, data.tobytes(), encoded(Image.fromarray(hole.astype(np.uint8) * 255)))
    assert r.status_code == 200, r.text
    back = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(cv2.cvtColor(back, cv2.COLOR_BGR2RGB)[~hole], samples[~hole])


def test_a_palette_png_with_transparent_pixels_as_the_hole(live_server):
    pal = Image.fromarray(example()).quantize(colors=100)
    indices = np.asarray(pal).copy()
    hole = block(indices.shape, 24, 40, 20, 44)
    indices[hole] = 100
    im = Image.fromarray(indices, "P")
    im.putpalette(pal.getpalette()[:300] + [0, 255, 0])
    r = post(live_server.url, encoded(im, transparency=100))
    assert r.status_code == 200, r.text
    out = np.asarray(Image.open(io.BytesIO(r.content)))
    assert out.shape == (64, 64, 4) and (out[..., 3] == 255).all()
    np.testing.assert_array_equal(out[~hole], np.asarray(im.convert("RGBA"))[~hole])


def test_a_mask_of_zeros_and_ones(live_server):
    hole = block((64, 64), 20, 40, 16, 48)
    r = post(live_server.url, encoded(Image.fromarray(example())), encoded(Image.fromarray(hole.astype(np.uint8))))
    assert r.status_code == 200, r.text
    out = np.asarray(Image.open(io.BytesIO(r.content)).convert("RGB"))
    np.testing.assert_array_equal(out[~hole], example()[~hole])
    assert not np.array_equal(out[hole], example()[hole])


def test_two_faces_report_both_squares(live_server):
    if not PHOTOS.is_file():
        pytest.skip(f"the CelebA sample photos are not at {PHOTOS} (../shared/data is absent in a user's clone)")
    with zipfile.ZipFile(PHOTOS) as z:
        names = sorted(n for n in z.namelist() if n.lower().endswith(".jpg"))
        left, right = (np.asarray(Image.open(io.BytesIO(z.read(names[i]))).convert("RGB")) for i in (3, 7))
    two = np.concatenate([left, right], axis=1)
    hole = block(two.shape[:2], 100, 130, 60, 120) | block(two.shape[:2], 140, 165, 243, 293)
    r = post(live_server.url, encoded(Image.fromarray(two)), encoded(Image.fromarray(hole.astype(np.uint8) * 255)))
    assert r.status_code == 200, r.text
    framing = json.loads(r.headers["x-inpaint-report"])["framing"]
    assert len(framing["squares"]) == 2, framing


def test_a_fallback_says_which_test_failed(live_server):
    rng = np.random.default_rng(0)
    noise = np.asarray(Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).resize((96, 80), Image.BICUBIC))
    hole = block((80, 96), 30, 50, 30, 60)
    r = post(live_server.url, encoded(Image.fromarray(noise)), encoded(Image.fromarray(hole.astype(np.uint8) * 255)))
    assert r.status_code == 200, r.text
    framing = json.loads(r.headers["x-inpaint-report"])["framing"]
    assert framing["how"] == "whole (fallback)" and framing["reason"].startswith("no face found"), framing
