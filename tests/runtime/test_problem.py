import numpy as np

from inpaint.masks import center_mask
from inpaint.runtime.frame import Frame
from inpaint.runtime.problem import make_problem, patch_box


def test_patch_box_centres_on_the_hole_and_stays_inside():
    known = np.ones((64, 64), np.float32)
    known[20:30, 40:50] = 0
    assert patch_box(known, 32) == (9, 29)          # hole centre (25, 45) -> top-left (9, 29)
    known = np.ones((64, 64), np.float32)
    known[60:64, 60:64] = 0
    assert patch_box(known, 32) == (32, 32)         # clamped to the corner


def test_make_problem_and_repeat():
    y = np.zeros((2, 3, 64, 64), np.float32)
    known = np.stack([center_mask(64), np.ones((64, 64), np.float32)])
    known[1, :8] = 0
    p = make_problem(y, known, 32)
    assert p.weights.shape == (2, 1, 64, 64) and np.all(p.weights[p.known == 0] == 0)
    assert p.box.tolist() == [[16, 16], [0, 16]]
    r = p.repeat(3)
    assert r.batch == 6 and r.box.tolist() == [[16, 16]] * 3 + [[0, 16]] * 3


def test_downsampling_ignores_what_the_hole_holds():
    rgb = np.full((128, 128, 3), 100, np.uint8)
    hole = np.zeros((128, 128), bool)
    hole[40:90, 30:100] = True
    rgb[hole] = 255                                  # garbage in the hole
    rgb[hole.nonzero()[0][:1], 0] = 100
    y, known = Frame.of(None, hole.shape).model_input(rgb, hole, 64)
    assert y.shape == (3, 64, 64) and known.shape == (64, 64)
    np.testing.assert_allclose(y[:, known > 0], 100 / 127.5 - 1, atol=1e-5)
    assert known[20:45, 15:50].sum() == 0 and known[:20].min() == 1
