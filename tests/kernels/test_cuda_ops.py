"""CudaOps against the numpy references, on random and irregular shapes (run on a GPU machine).

Outputs CudaOps allocates are poisoned with NaN before their kernel runs (poison=True), and every
output must be finite: an element a kernel fails to write fails the test.
"""
import numpy as np
import pytest
from scipy import sparse
from scipy.sparse.linalg import spsolve

from inpaint.errors import InpaintError
from inpaint.kernels import build

pytestmark = pytest.mark.gpu

try:  # cuda.core from either of its import locations; see build.cuda_core
    build.cuda_core()
except InpaintError as e:
    pytest.skip(str(e), allow_module_level=True)

from inpaint.masks import center_mask, importance_weights, pattern_mask, random_pixels_mask  # noqa: E402
from inpaint.runtime.blend import poisson_blend  # noqa: E402
from inpaint.runtime.cuda import CudaGraph, DeviceArray  # noqa: E402
from inpaint.runtime.ops import AdamState, CpuOps  # noqa: E402
from inpaint.runtime.ops.cuda_ops import MAX_GRID_Y, CudaAdamState, CudaOps  # noqa: E402

RTOL = 1e-5


@pytest.fixture(scope="module")
def stream(cuda_stream):
    return cuda_stream


@pytest.fixture(scope="module")
def ops(cuda_ops):
    return cuda_ops


def upload(array, stream) -> DeviceArray:
    return DeviceArray.from_host(array, stream)


def assert_close(actual, expected, rtol=RTOL):
    """Finite everywhere (no poison left) and within rtol of the reference: relative to each
    element, or for elements far below the array's largest, to that largest magnitude."""
    assert actual.shape == expected.shape
    assert np.isfinite(actual).all(), f"{np.count_nonzero(~np.isfinite(actual))} elements unwritten or non-finite"
    scale = float(np.abs(expected).max(initial=0.0))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


def known_masks(batch, h, w, seed):
    """Irregular (B, H, W) float32 masks, 1 = known: blobs, scattered pixels, a centred square."""
    rng = np.random.default_rng(seed)
    size = max(h, w)
    kinds = [lambda: pattern_mask(size, rng), lambda: random_pixels_mask(size, rng, 0.5),
             lambda: center_mask(size)]
    return np.stack([kinds[i % 3]()[:h, :w] for i in range(batch)]).astype(np.float32)


# -- importance weights ----------------------------------------------------------------------
@pytest.mark.parametrize("window", [7, 3])
@pytest.mark.parametrize("shape", [(1, 64, 64), (3, 17, 29), (16, 9, 64)])
def test_importance_weights_match_masks(ops, stream, shape, window):
    known = known_masks(*shape, seed=window)
    weights = ops.importance_weights(upload(known, stream), window)
    assert weights.shape == (shape[0], 1, *shape[1:])
    assert_close(weights.to_host(stream)[:, 0], importance_weights(known, window))
    weights.buffer.free()


def test_importance_weights_keep_a_nan_as_the_reference_does(ops, stream):
    known = known_masks(2, 17, 29, seed=1)
    known[1, 8, 28] = np.nan
    expected = importance_weights(known, 7)
    got = ops.importance_weights(upload(known, stream), 7).to_host(stream)[:, 0]
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    assert np.isnan(expected).sum() == 7 * 4           # the windows that hold the NaN
    assert_close(got[~np.isnan(expected)], expected[~np.isnan(expected)])

def test_importance_weights_reject_an_even_window(ops, stream):
    with pytest.raises(ValueError, match="odd"):
        ops.importance_weights(upload(np.ones((1, 4, 4), np.float32), stream), 4)


# -- contextual loss ---------------------------------------------------------------------------
@pytest.mark.parametrize("with_extra", [False, True])
@pytest.mark.parametrize("norm", ["l1", "l2"])
@pytest.mark.parametrize("shape", [(1, 3, 64, 64), (3, 3, 17, 29), (16, 3, 9, 11)])
def test_contextual_matches_cpu(ops, stream, shape, norm, with_extra):
    rng = np.random.default_rng(len(shape) + shape[0])
    x, y = rng.uniform(-1, 1, (2, *shape)).astype(np.float32)
    y.reshape(-1)[::7] = x.reshape(-1)[::7]        # exact zeros of x - y: sign(0) = 0
    w = rng.uniform(0, 1, (shape[0], 1, *shape[2:])).astype(np.float32)
    w[..., : shape[2] // 3, :] = 0                  # a "hole" with zero weight
    extra = rng.normal(size=shape).astype(np.float32) if with_extra else None
    loss_ref, grad_ref = CpuOps.contextual(x, y, w, norm)
    if with_extra:
        grad_ref = grad_ref + extra
    device = [upload(a, stream) for a in (x, y, w)]
    loss, grad = ops.contextual(*device, norm, g_extra=upload(extra, stream) if with_extra else None)
    assert_close(loss.to_host(stream), loss_ref)
    assert_close(grad.to_host(stream), grad_ref)


def test_contextual_writes_into_given_buffers_deterministically(ops, stream):
    rng = np.random.default_rng(3)
    x, y = rng.uniform(-1, 1, (2, 5, 3, 13, 7)).astype(np.float32)
    w = rng.uniform(0, 1, (5, 1, 13, 7)).astype(np.float32)
    out = (upload(np.full(5, np.nan, np.float32), stream), upload(np.full(x.shape, np.nan, np.float32), stream))
    args = [upload(a, stream) for a in (x, y, w)]
    first = ops.contextual(*args, "l2", out=out)[0].to_host(stream).copy()
    second = ops.contextual(*args, "l2", out=out)[0].to_host(stream)
    assert np.array_equal(first, second)
    assert_close(out[1].to_host(stream), CpuOps.contextual(x, y, w, "l2")[1])


# -- Adam ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(1, 100), (3, 100), (16, 37)])
def test_adam_steps_match_cpu_and_count_on_the_device(ops, stream, shape):
    rng = np.random.default_rng(shape[0])
    z = rng.uniform(-1, 1, shape).astype(np.float32)
    z_dev = upload(z, stream)
    state, state_dev = AdamState.zeros_like(z), CudaAdamState.zeros_like(z_dev, stream)
    for step in range(1, 6):
        g = rng.normal(size=shape).astype(np.float32)
        CpuOps.adam(z, g, state, 0.05, 0.9, 0.999)
        ops.adam(z_dev, upload(g, stream), state_dev, 0.05, 0.9, 0.999)
        assert state_dev.steps_taken(stream) == step
        assert_close(z_dev.to_host(stream), z)
        assert_close(state_dev.m.to_host(stream), state.m)
        assert_close(state_dev.v.to_host(stream), state.v)
    assert np.isclose(np.abs(z), 1).any()          # some coordinates were clipped


def test_adam_keeps_a_nan_as_the_reference_does(ops, stream):
    """A NaN gradient makes z NaN in numpy (np.clip keeps it): the kernel must not clip it to a bound."""
    z = np.random.default_rng(3).uniform(-1, 1, (2, 100)).astype(np.float32)
    g = np.ones_like(z)
    g[0, 5], g[1, 99] = np.nan, np.inf
    z_dev = upload(z, stream)
    ops.adam(z_dev, upload(g, stream), CudaAdamState.zeros_like(z_dev, stream), 0.05, 0.9, 0.999)
    CpuOps.adam(z, g, AdamState.zeros_like(z), 0.05, 0.9, 0.999)
    got = z_dev.to_host(stream)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(z))
    assert np.isnan(z).sum() == 2
    assert_close(got[~np.isnan(z)], z[~np.isnan(z)])

def test_adam_replays_from_a_cuda_graph(ops, stream):
    rng = np.random.default_rng(7)
    z = rng.uniform(-1, 1, (3, 100)).astype(np.float32)
    z_dev, grad_dev = upload(z, stream), upload(np.zeros_like(z), stream)
    state, state_dev = AdamState.zeros_like(z), CudaAdamState.zeros_like(z_dev, stream)
    stream.synchronize()
    graph = CudaGraph(stream, lambda: ops.adam(z_dev, grad_dev, state_dev, 0.05, 0.9, 0.999))
    assert state_dev.steps_taken(stream) == 0      # capture recorded, did not run
    for step in range(1, 5):                       # each replay reads the gradient buffer anew
        g = rng.normal(size=z.shape).astype(np.float32)
        grad_dev.buffer.upload(g, stream)
        graph.launch(stream)
        CpuOps.adam(z, g, state, 0.05, 0.9, 0.999)
        assert state_dev.steps_taken(stream) == step
        assert_close(z_dev.to_host(stream), z)
    graph.destroy()


# -- Poisson blending ----------------------------------------------------------------------------
def walk_exit_time(known: np.ndarray) -> float:
    """max over hole pixels of the expected number of steps a random walk (to a uniformly chosen
    in-image 4-neighbour) takes to reach a known pixel: the factor from CudaOps.blend's residual
    to its error bound. It solves L T = degree on the hole, L as in poisson_blend."""
    h, w = known.shape
    ys, xs = np.nonzero(~known)
    index = np.full((h, w), -1)
    index[ys, xs] = np.arange(ys.size)
    degree, rows, cols = np.zeros(ys.size), [], []
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        qy, qx = ys + dy, xs + dx
        inside = (qy >= 0) & (qy < h) & (qx >= 0) & (qx < w)
        degree += inside
        p, q = np.nonzero(inside)[0], index[qy[inside], qx[inside]]
        rows.append(p[q >= 0])
        cols.append(q[q >= 0])
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    n = ys.size
    laplacian = sparse.csc_matrix((np.concatenate([degree, -np.ones(rows.size)]),
                                   (np.concatenate([np.arange(n), rows]), np.concatenate([np.arange(n), cols]))),
                                  shape=(n, n))
    return float(spsolve(laplacian, degree).max())


def check_blend(ops, stream, source, target, known, tol=1e-5):
    """Solve on the GPU, then hold the result to the bound CudaOps.blend states."""
    result, sweeps, residual = ops.blend(*(upload(a, stream) for a in (source, target, known)), tol=tol)
    out = result.to_host(stream)
    result.buffer.free()
    assert np.isfinite(out).all()
    hole = known < 0.5
    for b in range(len(source)):
        scale = max(np.abs(target[b][:, ~hole[b]]).max(), np.abs(source[b]).max())
        assert residual[b] <= tol * scale, f"not converged in {sweeps} sweeps: {residual[b]} > {tol} * {scale}"
        assert np.array_equal(out[b][:, ~hole[b]], target[b][:, ~hole[b]])
        exact = poisson_blend(source[b].transpose(1, 2, 0), target[b].transpose(1, 2, 0), ~hole[b]).transpose(2, 0, 1)
        rounding = 1e-6 * scale                   # float32 residual evaluation and storage
        bound = (tol * scale + rounding) * walk_exit_time(~hole[b]) + rounding
        error = np.abs(out[b] - exact).max()
        assert error <= bound, f"image {b}: error {error} above the stated bound {bound}"
    return sweeps


def smooth_images(rng, batch, channels, h, w):
    """Image-like float32 values in [0, 1]: a random colour ramp plus noise."""
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    ramps = rng.uniform(-0.5, 0.5, (batch, channels, 2, 1, 1))
    base = 0.5 + ramps[:, :, 0] * y + ramps[:, :, 1] * x
    return np.clip(base + rng.normal(0, 0.05, (batch, channels, h, w)), 0, 1).astype(np.float32)


def test_blend_center_hole_at_model_resolution(ops, stream):
    rng = np.random.default_rng(0)
    source, target = smooth_images(rng, 3, 3, 64, 64), smooth_images(rng, 3, 3, 64, 64)
    known = np.stack([center_mask(64)] * 3)
    assert check_blend(ops, stream, source, target, known) > 0


def test_blend_holes_on_the_border_and_a_single_channel(ops, stream):
    rng = np.random.default_rng(1)
    source, target = rng.normal(size=(2, 2, 1, 31, 45)).astype(np.float32)
    known = np.ones((2, 31, 45), np.float32)
    known[0, :, 30:] = 0                                     # right edge: top, bottom, right border
    known[1] = rng.uniform(size=(31, 45)) > 0.4              # scattered, touching every border
    check_blend(ops, stream, source, target, known)


def test_blend_at_full_resolution_with_a_blob_mask(ops, stream):
    rng = np.random.default_rng(2)
    h, w = 771, 1029                                         # irregular, about 1024 x 768
    source, target = smooth_images(rng, 1, 3, h, w), smooth_images(rng, 1, 3, h, w)
    known = pattern_mask(w, rng)[None, :h, :w].astype(np.float32)
    check_blend(ops, stream, source, target, known)


def test_blend_runs_past_the_grid_limit_of_65535_images(ops, stream):
    """gridDim.y is at most 65535: images from there on are served by the block rows again."""
    rng = np.random.default_rng(5)
    batch, distinct = MAX_GRID_Y + 2, 3
    source, target = smooth_images(rng, distinct, 1, 6, 5), smooth_images(rng, distinct, 1, 6, 5)
    known = np.ones((6, 5), np.float32)
    known[2:4, 1:4] = 0
    pick = np.arange(batch) % distinct
    result, _, residual = ops.blend(upload(source[pick], stream), upload(target[pick], stream),
                                    upload(np.broadcast_to(known, (batch, 6, 5)).copy(), stream))
    out = result.to_host(stream)
    result.buffer.free()
    assert residual.shape == (batch,) and np.isfinite(out).all() and (residual <= 1e-5).all()
    for b in (0, 1, batch - 2, batch - 1):
        exact = poisson_blend(source[pick[b], 0], target[pick[b], 0], known > 0.5)
        np.testing.assert_allclose(out[b, 0], exact, atol=1e-3)

def test_blend_all_known_is_the_target_and_no_known_pixel_raises(ops, stream):
    rng = np.random.default_rng(4)
    source, target = rng.normal(size=(2, 2, 3, 9, 7)).astype(np.float32)
    result, sweeps, _ = ops.blend(upload(source, stream), upload(target, stream),
                                  upload(np.ones((2, 9, 7), np.float32), stream))
    assert sweeps == 0 and np.array_equal(result.to_host(stream), target)
    known = np.ones((2, 9, 7), np.float32)
    known[1] = 0
    with pytest.raises(ValueError, match=r"known pixel.*\[1\]"):
        ops.blend(upload(source, stream), upload(target, stream), upload(known, stream))


# -- the kernel cache ----------------------------------------------------------------------------
def test_the_kernel_cache_is_used_the_second_time(stream, tmp_path, monkeypatch):
    monkeypatch.setenv(build.CACHE_ENV, str(tmp_path))
    first = build.load("contextual")
    stamp = first.cubin.path.stat().st_mtime_ns
    second = CudaOps(stream)                     # every kernel; contextual from the cache
    again = build.load("contextual")
    assert first.cubin.compiled and not again.cubin.compiled
    assert first.cubin.path.parent == tmp_path and again.cubin.path.stat().st_mtime_ns == stamp
    assert len(list(tmp_path.glob("*.cubin"))) == len(build.kernel_sources())
    x = upload(np.ones((1, 1, 2, 2), np.float32), stream)
    loss, _ = second.contextual(x, x, upload(np.ones((1, 1, 2, 2), np.float32), stream), "l1")
    assert loss.to_host(stream)[0] == 0.0
