"""An image's completion does not depend on the images it is batched with, given per-image seeds,
and previews show the search's best so far."""
from __future__ import annotations

import numpy as np
import pytest

from inpaint.imageio import Picture
from inpaint.runtime.complete import Inpainter
from inpaint.spec import InpaintSettings


def pictures(n: int):
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:64, 0:64]
    out = []
    for i in range(n):
        img = np.stack([128 + 70 * np.sin(x / (7 + i) + c) * np.cos(y / 9) for c in range(3)], -1)
        hole = np.zeros((64, 64), bool)
        hole[12 + 2 * i: 40 + i, 14: 46 - i] = True
        out.append((Picture(np.clip(img + rng.normal(0, 5, img.shape), 0, 255).astype(np.uint8), None, "RGB"), hole))
    return out


@pytest.mark.parametrize("init, restarts", [("encoder", 1), ("encoder", 2), ("random", 2)])
def test_batched_images_get_their_solo_pixels(init, restarts):
    inpainter = Inpainter.from_bundle(settings=InpaintSettings(init=init, restarts=restarts, iterations=12,
                                                               patience=10**9))
    cases, seeds = pictures(4), [5, 1, 5, 9]
    solo = [inpainter.complete_many([p], [h], framing="whole", seeds=[s])[0] for (p, h), s in zip(cases, seeds)]
    together = inpainter.complete_many([p for p, _ in cases], [h for _, h in cases], framing="whole", seeds=seeds)
    for a, b in zip(solo, together):
        assert np.array_equal(a.picture.pixels, b.picture.pixels)
        assert np.array_equal(a.z, b.z)
    if init == "random":  # the seed draws the starts (from the encoder the unperturbed start may win)
        other = inpainter.complete_many([cases[0][0]], [cases[0][1]], framing="whole", seeds=[seeds[0] + 1])[0]
        assert not np.array_equal(other.z, solo[0].z)


def test_previews_come_every_few_steps_and_end_at_the_result():
    inpainter = Inpainter.from_bundle(settings=InpaintSettings(iterations=12))
    (p, h), = pictures(1)
    seen = []
    done = inpainter.complete_many([p], [h], framing="whole", on_preview=lambda k, pics: seen.append((k, pics)),
                                   preview_every=5)[0]
    assert [k for k, _ in seen] == [5, 10]
    for _, (picture,) in seen:
        assert picture.pixels.shape == p.pixels.shape
        assert np.array_equal(picture.pixels[~h], p.pixels[~h])          # known pixels kept in previews too
    assert not np.array_equal(seen[0][1][0].pixels, done.picture.pixels) or len(seen) == 2
