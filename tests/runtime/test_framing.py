"""Framing: finding the training square of a photo, cutting it out and putting its completion back."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from inpaint.errors import InpaintError
from inpaint.imageio import Picture
from inpaint.runtime.framing.decide import Framer
from inpaint.runtime.framing.geometry import Box, hole_inside
from inpaint.runtime.framing.option import given, parse_framing
from inpaint.runtime.framing.result import WHOLE
from inpaint.runtime.fill import paste_completion
from inpaint.runtime.frame import Frame
from inpaint.spec import InpaintSettings

FAST = InpaintSettings(iterations=3, restarts=1)


@pytest.fixture(scope="module")
def faces() -> np.ndarray:
    """uint8 (4, 64, 64, 3): faces drawn by the shipped generator from its encoder's z of a few
    fixed latent vectors, so they are framed exactly as its training images were."""
    from inpaint.runtime.bundle import load_bundle
    from inpaint.runtime.engines.ort import OrtEngine
    from inpaint.weights import shipped_bundle
    engine = OrtEngine(load_bundle(shipped_bundle()), threads=1)
    z = np.random.default_rng(3).uniform(-0.6, 0.6, (4, engine.spec.z_dim)).astype(np.float32)
    x = engine.host(engine.generator(z))
    return np.clip(np.rint((x.transpose(0, 2, 3, 1) + 1) * 127.5), 0, 255).astype(np.uint8)


def scene(face: np.ndarray, box: Box, shape=(300, 360), seed=0) -> np.ndarray:
    """A smooth random background of `shape` (H, W) with the face pasted (bicubic) at `box`."""
    rng = np.random.default_rng(seed)
    low = rng.uniform(40, 215, (4, 5, 3)).astype(np.uint8)
    canvas = np.asarray(Image.fromarray(low).resize(shape[::-1], Image.BICUBIC)).copy()
    x, y, s = box.pixels()
    big = np.asarray(Image.fromarray(face).resize((s, s), Image.BICUBIC))
    rows, cols = slice(max(0, y), min(shape[0], y + s)), slice(max(0, x), min(shape[1], x + s))
    canvas[rows, cols] = big[rows.start - y:rows.stop - y, cols.start - x:cols.stop - x]
    return canvas


def block(shape, x, y, w, h) -> np.ndarray:
    hole = np.zeros(shape, bool)
    hole[y:y + h, x:x + w] = True
    return hole


@pytest.mark.parametrize("text, want", [("auto", "auto"), ("WHOLE", "whole"), ("35,55,108", Box(35, 55, 108)),
                                        (" -10.5, 4, 99.5 ", Box(-10.5, 4, 99.5))])
def test_parse_framing(text, want):
    assert parse_framing(text) == want


@pytest.mark.parametrize("text", ["", "face", "1,2", "1,2,3,4", "a,b,c", "1,2,0", "1,2,-5", "1,2,nan", "inf,2,3"])
def test_parse_framing_refuses(text):
    with pytest.raises(InpaintError, match="framing"):
        parse_framing(text)


@pytest.mark.parametrize("i, box, shape", [(0, Box(140, 60, 120), (300, 360)),
                                           (1, Box(20, 150, 90), (300, 360)),
                                           (2, Box(200, 30, 200), (320, 480)),
                                           (3, Box(-30, 100, 150), (300, 360))])   # partly outside
def test_finds_a_generated_face_where_it_was_pasted(faces, i, box, shape):
    photo = scene(faces[i], box, shape, seed=i)
    cx, cy = box.center
    hole = block(shape, int(cx - box.size * 0.2), int(cy - box.size * 0.1), int(box.size * 0.4), int(box.size * 0.25))
    found = Framer().find(photo, hole)
    assert found.how == "found", found.reason
    # a generated face upscaled is blurrier than a photo; the 0.8 goal is measured on photos (docs/RESULTS.md)
    assert found.box.iou(box) >= 0.65, (found.box, box)
    assert found.hole_inside == pytest.approx(hole_inside(found.box, hole))


def test_an_image_already_framed_keeps_its_own_square(faces):
    """A training-style crop (the generated face is one) is framed by the whole of itself, not by a
    square a few pixels off; a square image with a small face is not."""
    hole = block((64, 64), 20, 24, 24, 16)
    found = Framer().find(faces[0], hole)
    assert found.how == "found" and found.snapped
    assert found.box == Box(0, 0, 64) and found.hole_inside == 1.0
    assert found.report()["snapped_to_image"] is True
    box = Box(100, 90, 110)
    photo = scene(faces[1], box, (300, 300), seed=1)
    found = Framer().find(photo, block((300, 300), 130, 130, 50, 30))
    assert found.how == "found" and not found.snapped and found.box.iou(box) >= 0.65


def test_own_square():
    from inpaint.runtime.framing.geometry import own_square
    assert own_square((64, 64)) == Box(0, 0, 64)
    assert own_square((100, 99)) == Box(0, 0.5, 99)
    assert own_square((218, 178)) is None


def test_no_face_falls_back_to_the_whole_image():
    rng = np.random.default_rng(1)
    photo = np.asarray(Image.fromarray(rng.uniform(0, 255, (6, 8, 3)).astype(np.uint8)).resize((320, 240), Image.BICUBIC))
    found = Framer().find(photo, block((240, 320), 100, 80, 50, 40))
    assert found.box is None and found.how == "whole (fallback)"
    assert found.reason.startswith("no face found (") and "detected" in found.reason


def test_hole_off_the_face_falls_back(faces):
    box = Box(200, 80, 120)
    photo = scene(faces[0], box, (300, 360))
    found = Framer().find(photo, block((300, 360), 10, 10, 60, 60))      # in the background
    assert found.box is None and "not on a face" in found.reason and "under the 50% needed" in found.reason


def test_each_fallback_reason_names_its_test_with_the_number_and_threshold():
    from inpaint.runtime.framing.decide import fallback_reason
    from inpaint.runtime.framing.settings import DEFAULT
    MAX_MOVED, MIN_FACE_AROUND = DEFAULT.max_moved, DEFAULT.min_face_around
    sq = Box(0, 0, 10)
    assert fallback_reason([], 0) == ("no face found (0 detected)", None)
    reason, inside = fallback_reason([(0.31, 0.9, sq, 0.01)], 2)
    assert reason == "no face found (2 detected, the best square's face score 0.31 under 0.5)" and inside is None
    reason, inside = fallback_reason([], 0, [(0.86, 1.0, sq, 0.01), (0.42, 1.0, sq, 0.3)])
    assert reason == f"no face found (0 detected, the best square around the hole scored 0.86, under the {MIN_FACE_AROUND} needed)"
    reason, inside = fallback_reason([(0.8, 0.2, sq, 0.01), (0.7, 0.35, sq, 0.2)], 1)
    assert "at most 35% of it lies inside a face's square, under the 50% needed" in reason and inside == 0.35
    reason, inside = fallback_reason([(0.8, 1.0, sq, 0.12)], 1)
    assert reason.startswith("the square of the face around the hole did not settle")
    assert f"drifted by 0.120 over the last rounds, over the {MAX_MOVED} allowed (100% of the hole inside it)" in reason


def test_given_square_is_checked():
    hole = block((100, 80), 10, 10, 20, 20)
    assert given(Box(-20, 50, 60), (100, 80), hole).box == Box(-20, 50, 60)
    with pytest.raises(InpaintError, match="outside"):
        given(Box(80, 0, 30), (100, 80), hole)
    with pytest.raises(InpaintError, match="too few known pixels"):
        given(Box(12, 12, 10), (100, 80), hole)


def test_square_partly_outside_is_cut_as_hole_and_pasted_back():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (50, 40, 3), dtype=np.uint8)
    hole = block((50, 40), 0, 30, 15, 20) | block((50, 40), 30, 0, 10, 5)   # second block outside the square
    frame = Frame.of(Box(-10, 20, 40), (50, 40))
    assert frame.covered == (slice(20, 50), slice(0, 30))
    y, known = frame.model_input(rgb, hole, 8)                  # 5 photo pixels per model pixel
    assert y.shape == (3, 8, 8) and known.shape == (8, 8)
    assert not known[:, :2].any() and not known[6:].any()       # past the left and bottom edges: hole
    assert known[:6, 2:].any()
    low = np.full((8, 8, 3), 100.0)                             # the completion at the model's resolution
    out = paste_completion(low, frame, rgb, hole, lambda s, t, k: np.where(k[..., None], t, s))
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out[~hole], rgb[~hole])
    np.testing.assert_array_equal(out[20:50, 0:15][hole[20:50, 0:15]], 100)   # the square's part of the hole
    outside = out[0:5, 30:40]                                   # filled by Telea from its surroundings
    assert abs(outside.mean() - rgb[~hole].mean()) < 40


def test_complete_in_a_square_partly_outside_keeps_known_pixels(tiny_weights):
    from inpaint.inpainters import torch_inpainter
    rng = np.random.default_rng(2)
    rgb = rng.integers(0, 256, (90, 120, 3), dtype=np.uint8)
    hole = block((90, 120), 5, 40, 30, 30) | block((90, 120), 100, 5, 10, 10)
    done = torch_inpainter(tiny_weights, settings=FAST).complete(Picture(rgb, None, "RGB"), hole,
                                                                 framing=Box(-20, 20, 80))
    out = done.picture.pixels
    assert out.shape == rgb.shape
    np.testing.assert_array_equal(out[~hole], rgb[~hole])
    assert done.report["framing"]["how"] == "given"
    assert done.report["framing"]["outside_hole_pixels"] == 100        # the 10x10 block outside the square
    assert done.report["framing"]["box"] == [-20, 20, 80]


def test_auto_without_a_face_equals_whole(tiny_weights):
    from inpaint.inpainters import torch_inpainter
    rng = np.random.default_rng(4)
    rgb = np.asarray(Image.fromarray(rng.integers(0, 256, (5, 5, 3), dtype=np.uint8)).resize((96, 80), Image.BICUBIC))
    hole = block((80, 96), 30, 30, 20, 20)
    inp = torch_inpainter(tiny_weights, settings=FAST)
    auto = inp.complete(Picture(rgb, None, "RGB"), hole)
    whole = inp.complete(Picture(rgb, None, "RGB"), hole, framing="whole")
    assert auto.framing.how == "whole (fallback)" and whole.framing == WHOLE
    np.testing.assert_array_equal(auto.picture.pixels, whole.picture.pixels)
