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
    views, target, label = training_batch(ramps(1024), np.random.default_rng(0))
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


def test_landmark_holes_hide_both_eyes_or_most_of_the_face():
    from inpaint.train.framing import HIDING_BLOCK, random_holes
    r = 64
    holes = random_holes(400, r, np.random.default_rng(2), landmark_holes=1.0)
    # aligned crops have their eyes about 0.4-0.5 of the side down, a quarter of it either side of
    # the middle: every such hole covers both eyes' places
    eyes = [(int(0.45 * r), int(0.3 * r)), (int(0.45 * r), int(0.7 * r))]
    hidden = np.array([all(h[y - 4:y + 5, x - 4:x + 5].any() for y, x in eyes) for h in holes])
    assert hidden.mean() > 0.9
    share = holes.reshape(400, -1).mean(1)
    assert share.max() <= HIDING_BLOCK[1] ** 2 + 0.01 and (share > 0.25).mean() > 0.2   # blocks up to 40%+
    none = random_holes(400, r, np.random.default_rng(2), landmark_holes=0.0)
    assert none.reshape(400, -1).mean(1).max() < 0.7 and (none.reshape(400, -1).sum(1) == 0).mean() > 0.2


def test_low_resolution_crops_lose_their_fine_detail_only():
    from inpaint.train.framing import blurred
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.uniform(-1, 1, (64, 3, 64, 64)).astype(np.float32))
    y = blurred(x, np.random.default_rng(1))
    changed = (y - x).abs().flatten(1).max(1).values > 1e-6
    assert 0.15 < changed.float().mean().item() < 0.45            # about LOW_RESOLUTION of them
    assert torch.equal(y[~changed], x[~changed])
    # a reduced crop keeps its mean colour and loses most of its pixel-to-pixel noise
    assert torch.allclose(y[changed].mean((2, 3)), x[changed].mean((2, 3)), atol=0.02)
    assert (y[changed].std() < 0.5 * x[changed].std()).item()


def test_the_shipped_network_is_a_starting_point(tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    from pathlib import Path
    from inpaint.runtime.framing.network import FRAMING_MODEL
    from inpaint.train.framing import FramingNet, initial_weights
    if not Path(FRAMING_MODEL).is_file():
        pytest.skip(f"no framing network at {FRAMING_MODEL}")
    net = FramingNet()
    net.load_state_dict(initial_weights(Path(FRAMING_MODEL)))       # strict: every parameter found
    view = torch.from_numpy(np.random.default_rng(0).uniform(-1, 1, (5, 4, VIEW, VIEW)).astype(np.float32))
    expected = onnxruntime.InferenceSession(str(FRAMING_MODEL), providers=["CPUExecutionProvider"]).run(
        None, {"view": view.numpy()})[0]
    with torch.no_grad():
        assert np.allclose(net(view).numpy(), expected, atol=1e-5)
