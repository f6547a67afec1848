"""complete_jobs, the one driver of a batch: a bad job is reported and the others are completed,
with the pixels they get without it, and nothing is written for the bad one."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from inpaint.errors import InpaintError
from inpaint.imageio import Picture
from inpaint.runtime.complete import Inpainter
from inpaint.runtime.framing import Box
from inpaint.runtime.jobs import ImageJob, complete_jobs
from inpaint.spec import InpaintSettings


@pytest.fixture(scope="module")
def inpainter():
    return Inpainter.from_bundle(settings=InpaintSettings(iterations=4, restarts=1))


def picture(seed: int, size: int = 64) -> Picture:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size]
    img = np.stack([128 + 60 * np.sin(x / (6 + seed) + c) * np.cos(y / 9) for c in range(3)], -1)
    return Picture(np.clip(img + rng.normal(0, 5, img.shape), 0, 255).astype(np.uint8), None, "RGB")


def box_hole(size: int = 64) -> np.ndarray:
    hole = np.zeros((size, size), bool)
    hole[size // 4: size // 2, size // 4: 3 * size // 4] = True
    return hole


def sparse_hole(size: int = 128) -> np.ndarray:
    """A quarter of the pixels known, none of the model's pixels: the search itself refuses it."""
    hole = np.ones((size, size), bool)
    hole[::2, ::2] = False
    return hole


def good_jobs(out=None) -> list[ImageJob]:
    return [ImageJob(f"g{i}", picture=picture(i), hole=box_hole(), framing="whole", seed=i,
                     out=None if out is None else out / f"g{i}.png") for i in range(3)]


def test_bad_jobs_are_reported_and_the_others_get_their_pixels(inpainter, tmp_path):
    """A framing outside its image (refused while framing), a hole that leaves nothing known at
    the model's resolution (refused by the batch's search: each job then alone) and an unreadable
    file, among good jobs in batches of 2: each bad one gets its error, nothing is written for it,
    and the good ones are written with the pixels they get in a batch of their own."""
    alone = {r.job.name: r.completion.picture.pixels for r in complete_jobs(inpainter, good_jobs())}
    (tmp_path / "broken.png").write_bytes(b"not a png")
    g = good_jobs(tmp_path)
    jobs = [g[0], ImageJob("outside", picture=picture(5), hole=box_hole(), framing=Box(200, 0, 30),
                           out=tmp_path / "outside.png"),
            g[1], ImageJob("sparse", picture=picture(6, 128), hole=sparse_hole(), framing="whole",
                           out=tmp_path / "sparse.png"),
            ImageJob("broken", tmp_path / "broken.png", out=tmp_path / "broken-out.png"), g[2]]
    results = list(complete_jobs(inpainter, jobs, batch=2))
    assert sorted(r.index for r in results) == list(range(len(jobs)))
    by_name = {r.job.name: r for r in results}
    assert "outside" in str(by_name["outside"].error)
    assert "no known pixel" in str(by_name["sparse"].error)
    assert "not an image" in str(by_name["broken"].error)
    assert all(isinstance(by_name[n].error, InpaintError) for n in ("outside", "sparse", "broken"))
    for name, pixels in alone.items():
        assert by_name[name].ok
        assert np.array_equal(by_name[name].completion.picture.pixels, pixels), name
        assert np.array_equal(np.asarray(Image.open(tmp_path / f"{name}.png")), pixels), name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.png", "g0.png", "g1.png", "g2.png"]


def test_other_errors_propagate_unless_caught(inpainter):
    """A bug is not a bad input: it stops the run, unless the caller counts it as the job's own."""
    class Broken(Inpainter):
        def frame(self, picture, hole, framing="auto"):
            raise RuntimeError("a bug")
    broken = Broken(inpainter.engine, settings=inpainter.settings)
    with pytest.raises(RuntimeError, match="a bug"):
        list(complete_jobs(broken, good_jobs()))
    results = list(complete_jobs(broken, good_jobs(), catch=(Exception,)))
    assert [type(r.error) for r in results] == [RuntimeError] * 3


def test_previews_and_progress_reach_each_job(inpainter):
    seen, searched = [], []

    from contextlib import contextmanager

    @contextmanager
    def progress(indices):
        searched.append(indices)
        yield None
    results = list(complete_jobs(inpainter, good_jobs(), batch=2, progress=progress,
                                 on_preview=lambda i, step, p: seen.append((i, step)), preview_every=2))
    assert searched == [[0, 1], [2]] and all(r.ok for r in results)
    assert sorted(seen) == [(0, 2), (1, 2), (2, 2)]
