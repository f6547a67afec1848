import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training the framing network needs torch")

from inpaint.train.framing import VIEW, VIEW_RANGE, training_batch  # noqa: E402
from inpaint.train.framing_negatives import drawn_negatives  # noqa: E402


def ramps(n: int, r: int = 64) -> torch.Tensor:
    """Crops whose red channel is x / r and green channel y / r (times 255): every view's pixels
    say where in the square they were cut from."""
    yy, xx = np.mgrid[0:r, 0:r]
    one = np.stack([(xx + 0.5) / r * 255, (yy + 0.5) / r * 255, np.zeros_like(xx, float)], -1)
    return torch.from_numpy(np.repeat(one[None], n, 0).round().astype(np.uint8))


def test_targets_say_where_each_view_was_cut_from_the_square():
    views, target, label = training_batch(ramps(512), np.random.default_rng(0))
    face = label.numpy() > 0
    v, t = views.numpy()[face], target.numpy()[face]
    side = np.exp(-t[:, 2])                                       # view side / square side
    assert VIEW_RANGE[0] - 1e-6 <= side.min() and side.max() <= VIEW_RANGE[1] + 1e-6
    # the square's center, seen from the view, is at (dx, dy) view sides from the view's center:
    # so the view's center lies at 0.5 - d * side of the square (in square sides)
    green = (v[:, 1] + 1) / 2                                     # y in the square, per view pixel
    known = v[:, 3] > 0.99
    rows = np.arange(VIEW)[None, :, None]
    mid = (VIEW - 1) / 2
    inside = (np.abs(t[:, :2] * side[:, None]) + side[:, None] / 2 <= 0.49).all(1)   # no reflected part
    chosen = np.flatnonzero(inside & known[:, VIEW // 2 - 1:VIEW // 2 + 1, :].all((1, 2)))
    assert len(chosen) > 50
    for i in chosen:
        rows_i = np.broadcast_to(rows[0], (VIEW, VIEW))[known[i]]
        fit = np.polyfit(rows_i, green[i][known[i]], 1)
        assert fit[0] * VIEW == pytest.approx(side[i], abs=0.02)          # the ramp's slope is the side
        assert np.polyval(fit, mid) == pytest.approx(0.5 - t[i, 1] * side[i], abs=0.02)


def test_negatives_are_labelled_and_drawn_pictures_vary():
    rng = np.random.default_rng(1)
    drawn = drawn_negatives(30, 64, rng)
    assert drawn.shape == (30, 64, 64, 3) and drawn.dtype == np.uint8
    assert all(img.std() > 2 for img in drawn)                     # none is one flat colour
    assert len({img.tobytes() for img in drawn}) == 30
    _, _, label = training_batch(ramps(2000), rng, torch.from_numpy(drawn))
    assert 0.2 < 1 - label.mean().item() < 0.3                       # the NEGATIVE share
