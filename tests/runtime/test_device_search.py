"""The search with its state on the GPU against the CPU one (run on a GPU machine).

TorchDeviceEngine against TorchEngine, CudaOps.track against optimise()'s bookkeeping,
device_search against optimise, and the captured loop against the same loop run eagerly; for
search z and for search z+bn (v = [z, u]).
"""
import numpy as np
import pytest

from inpaint.errors import InpaintError
from inpaint.kernels import build

pytestmark = [pytest.mark.gpu, pytest.mark.torch_cuda]
torch = pytest.importorskip("torch")

try:  # cuda.core from either of its import locations; see build.cuda_core
    build.cuda_core()
except InpaintError as e:
    pytest.skip(str(e), allow_module_level=True)

from inpaint.masks import make_mask  # noqa: E402
from inpaint.runtime.cuda import DeviceArray  # noqa: E402
from inpaint.runtime.device_search import DeviceSearch, device_search  # noqa: E402
from inpaint.runtime.ops import CpuOps  # noqa: E402
from inpaint.runtime.ops.cuda_ops import CudaAdamState  # noqa: E402
from inpaint.runtime.optimise import initial_z, optimise  # noqa: E402
from inpaint.runtime.problem import make_problem  # noqa: E402
from inpaint.spec import InpaintSettings, search_size  # noqa: E402
from inpaint.torch_engines.device import TorchDeviceEngine  # noqa: E402
from inpaint.torch_engines.eager import TorchEngine  # noqa: E402

RTOL = 1e-4   # cuDNN against CPU convolutions, both fp32 (TF32 off)
EARLY = InpaintSettings(iterations=300, restarts=1, lr=1e-6, patience=5, rel_tol=1e-3)  # stops at 6
FULL = InpaintSettings(iterations=30, restarts=1, patience=1000)   # the default objective, all 30
FULL_GLOBAL_L2 = InpaintSettings(iterations=30, restarts=1, lr=0.05, patience=1000, prior="global",
                                 norm="l2", consistency_weight=0.0)
# Search z+bn, v = [z, u]: few steps of the default objective, on a target out of G's reach (the
# best iterate then moves on from the start, u = 0, so the modulation is searched).
Z_BN = InpaintSettings(iterations=12, restarts=1, lr=0.05, patience=1000, search="z+bn")
# Two searches that differ by rounding drift apart, the L1 loss most: its gradient flips sign
# wherever G(z) crosses y, and this target is reachable. On the CPU, 1e-5 relative noise on x
# and on the VJP moves the history of FULL by up to 6e-4 and its losses by 1.4e-3 in 30
# iterations, while x stays within 1e-5: x is the tight check, the rest is looser.
HISTORY_RTOL, LOSS_RTOL = 1e-3, 1e-2


@pytest.fixture(scope="module")
def stream(cuda_stream):
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU that torch can use")
    return cuda_stream


@pytest.fixture(scope="module")
def ops(cuda_ops):
    return cuda_ops


@pytest.fixture(scope="module")
def cpu(tiny_weights):
    return TorchEngine.from_weights(tiny_weights)


@pytest.fixture(scope="module")
def device(tiny_weights, stream, ops):
    engine = TorchDeviceEngine.from_weights(tiny_weights, stream)
    yield engine
    engine.free()


def upload(array, stream) -> DeviceArray:
    return DeviceArray.from_host(array, stream)


def assert_rel(actual, expected, rtol=RTOL):
    """Largest difference within rtol of the reference's largest magnitude (exact where that is 0)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape and np.isfinite(actual).all()
    scale = float(np.abs(expected).max(initial=0.0))
    error = float(np.abs(actual - expected).max(initial=0.0))
    assert error <= rtol * scale, f"largest difference {error:.3g} above {rtol} x {scale:.3g}"


def _problem(cpu, n, kind="pattern", reachable=True):
    y = cpu.generator(initial_z(n, cpu.spec.z_dim, 123)) if reachable else \
        np.random.default_rng(123).uniform(-1, 1, (n, 3, 64, 64)).astype(np.float32)
    known = np.stack([make_mask(kind, 64, i) for i in range(n)])
    return make_problem(y, known, cpu.spec.patch)


# -- the engine ---------------------------------------------------------------------------------
@pytest.mark.parametrize("batch", [1, 5])
def test_generator_and_its_vjp_match_the_cpu_engine(cpu, device, stream, batch):
    z = initial_z(batch, cpu.spec.z_dim, 7)
    x_ref = cpu.generator(z)
    assert_rel(device.generator(upload(z, stream)).to_host(stream), x_ref)
    g = np.random.default_rng(batch).normal(size=x_ref.shape).astype(np.float32)
    assert_rel(device.generator_vjp(upload(g, stream)).to_host(stream), cpu.generator_vjp(g))


@pytest.mark.parametrize("batch", [1, 3])
def test_the_modulated_generator_and_its_vjp_match_the_cpu_engine(cpu, device, stream, batch):
    """v (B, z_dim + 2C) of search z+bn: G with every batch norm scaled and shifted per image."""
    v = np.random.default_rng(batch).uniform(-1, 1, (batch, search_size(cpu.spec, "z+bn"))).astype(np.float32)
    x_ref = cpu.generator(v)
    assert_rel(device.generator(upload(v, stream)).to_host(stream), x_ref)
    g = np.random.default_rng(batch + 1).normal(size=x_ref.shape).astype(np.float32)
    g_v = device.generator_vjp(upload(g, stream)).to_host(stream)
    assert g_v.shape == v.shape
    assert_rel(g_v, cpu.generator_vjp(g))


@pytest.mark.parametrize("batch", [1, 5])
@pytest.mark.parametrize("prior, lam, mu", [("joint", 1.0, 0.1), ("global", 1.0, 0.0)])
def test_critic_matches_the_cpu_engine(cpu, device, stream, batch, prior, lam, mu):
    problem = _problem(cpu, batch)
    x = cpu.generator(initial_z(batch, cpu.spec.z_dim, 7))
    masked = problem.y * problem.known
    target_ref = cpu.target_features(masked, problem.box) if mu else None
    ref = cpu.critic(x, problem.known, problem.box, target_ref, prior, lam, mu)
    box = upload(problem.box, stream)
    target = device.target_features(upload(masked, stream), box) if mu else None
    if mu:
        for got, want in zip(target, target_ref):
            assert_rel(got.to_host(stream), want.numpy())
    got = device.critic(upload(x, stream), upload(problem.known, stream), box, target, prior, lam, mu)
    assert np.abs(ref[2]).max() > 0
    for a, b in zip(got, ref):
        assert_rel(a.to_host(stream), b)


# -- the bookkeeping kernel ---------------------------------------------------------------------
def track_reference(steps, lam, mu, patience, rel_tol, iterations):
    """optimise()'s bookkeeping over given (contextual, prior, consistency, z) per iteration."""
    best, history, it = None, [], 0
    for it, (lc, lp, lf, z) in enumerate(steps, 1):
        loss = lc + lam * lp + mu * lf
        if best is None:
            best = [a.copy() for a in (loss, lc, lp, lf, z)]
        else:
            better = loss < best[0]
            for kept, new in zip(best, (loss, lc, lp, lf, z)):
                kept[better] = new[better]
        history.append(float(loss.mean()))
        if (it > patience and history[-1 - patience] - history[-1] < rel_tol * abs(history[-1 - patience])) \
                or it == iterations:
            break
    return best, history, it


@pytest.mark.parametrize("batch, z_dim, iterations, patience, stop", [
    (1, 100, 40, 3, 12),      # early stop: flat from iteration 9, seen 3 later
    (37, 33, 40, 3, 12),      # several rows per warp, z_dim not a multiple of 32
    (5, 100, 9, 50, 9),       # the iteration limit
    (3, 2020, 9, 50, 9),      # a v of search z+bn as wide as the shipped model's
])
def test_track_keeps_the_books_as_optimise_does(ops, stream, batch, z_dim, iterations, patience, stop):
    rng = np.random.default_rng(batch)
    lam, mu, rel_tol = 0.003, 30.0, 1e-2
    base = np.stack([rng.uniform(0.5, 1.5, batch), rng.uniform(-3, 0, batch),
                     rng.uniform(0, 1e-3, batch)]).astype(np.float32)

    def losses(t):
        # the contextual loss falls for 8 iterations, then the rows only trade places: the mean
        # is flat to rounding, far from the stopping threshold either way
        lc, lp, lf = base[:, rng.permutation(batch)]
        return (lc * np.float32(0.8 ** min(t, 8))).astype(np.float32), lp.copy(), lf.copy()

    steps = [(*losses(t), rng.uniform(-1, 1, (batch, z_dim)).astype(np.float32)) for t in range(stop + 5)]
    best_ref, history_ref, stop_ref = track_reference(steps, lam, mu, patience, rel_tol, iterations)
    assert stop_ref == stop

    inputs = [upload(a, stream) for a in steps[0]]
    dummy_z = upload(np.zeros((batch, z_dim), np.float32), stream)   # Adam steps only to count
    dummy_g = upload(np.zeros((batch, z_dim), np.float32), stream)
    adam = CudaAdamState.zeros_like(dummy_z, stream)
    best, best_z = (upload(np.zeros(shape, np.float32), stream) for shape in ((4, batch), (batch, z_dim)))
    history, status = upload(np.zeros(iterations, np.float32), stream), upload(np.zeros(2, np.int32), stream)
    for k, values in enumerate(steps):           # 5 iterations past the stop: replays after it
        for array, value in zip(inputs, values):
            array.buffer.upload(value, stream)
        ops.track(*inputs, adam.step, best, best_z, history, status, lam, mu, patience, rel_tol)
        ops.adam(dummy_z, dummy_g, adam, 0.01, 0.9, 0.999, stop=status)
        if k + 1 == stop:
            at_stop = [a.to_host(stream).copy() for a in (best, best_z, history)]
    assert status.to_host(stream).tolist() == [1, stop]
    assert adam.steps_taken(stream) == stop - 1         # the stopping iteration takes no step
    for before, after in zip(at_stop, (best, best_z, history)):
        np.testing.assert_array_equal(after.to_host(stream), before)      # untouched past the stop
    np.testing.assert_array_equal(best.to_host(stream), np.stack(best_ref[:4]))   # float32 as numpy rounds
    np.testing.assert_array_equal(best_z.to_host(stream), best_ref[4])
    got = history.to_host(stream)
    np.testing.assert_allclose(got[:stop], history_ref, rtol=1e-6)
    assert not got[stop:].any()


# -- the search ---------------------------------------------------------------------------------
@pytest.mark.parametrize("settings", [EARLY, FULL, FULL_GLOBAL_L2], ids=["early-stop", "full", "global-l2"])
def test_device_search_matches_optimise(cpu, device, ops, settings):
    problem = _problem(cpu, 3)
    ref = optimise(cpu, CpuOps(), problem, settings)
    got = device_search(device, ops, problem, settings)
    assert got.iterations == ref.iterations == (6 if settings is EARLY else settings.iterations)
    assert len(got.history) == got.iterations
    np.testing.assert_allclose(got.history, ref.history, rtol=HISTORY_RTOL)
    assert np.abs(got.x - ref.x).mean() <= 1e-3
    for name in ("loss", "contextual", "prior", "consistency"):
        np.testing.assert_allclose(getattr(got, name), getattr(ref, name), rtol=LOSS_RTOL, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("start", ["z", "v"])
def test_device_search_z_bn_matches_optimise(cpu, device, ops, start):
    """The device search of v = [z, u] against the host loop on torch, from the same start: z
    alone (u = 0 added, as optimise adds it) or a whole v."""
    problem = _problem(cpu, 3, reachable=False)
    width = search_size(cpu.spec, "z+bn")
    z = initial_z(3, cpu.spec.z_dim, 5) if start == "z" else \
        np.random.default_rng(5).uniform(-0.5, 0.5, (3, width)).astype(np.float32)
    ref = optimise(cpu, CpuOps(), problem, Z_BN, z=z)
    got = device_search(device, ops, problem, Z_BN, z)
    assert got.iterations == ref.iterations == Z_BN.iterations
    assert got.z.shape == ref.z.shape == (3, width)
    assert np.abs(ref.z[:, cpu.spec.z_dim:]).max() > 0.05 and np.abs(got.z[:, cpu.spec.z_dim:]).max() > 0.05
    np.testing.assert_allclose(got.history, ref.history, rtol=HISTORY_RTOL)
    assert np.abs(got.x - ref.x).mean() <= 1e-3
    for name in ("loss", "contextual", "prior", "consistency"):
        np.testing.assert_allclose(getattr(got, name), getattr(ref, name), rtol=LOSS_RTOL, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("settings", [EARLY, FULL, Z_BN], ids=["early-stop", "full", "z+bn"])
def test_the_captured_loop_gives_what_the_eager_loop_gives(cpu, device, ops, settings):
    problem = _problem(cpu, 2, reachable=settings.search == "z")
    captured = device_search(device, ops, problem, settings, check_every=4)
    eager = device_search(device, ops, problem, settings, check_every=4, use_graph=False)
    assert captured.iterations == eager.iterations and captured.history == eager.history
    for name in ("z", "x", "loss", "contextual", "prior", "consistency"):
        np.testing.assert_array_equal(getattr(captured, name), getattr(eager, name), err_msg=name)


@pytest.mark.parametrize("settings", [EARLY, FULL], ids=["early-stop", "full"])
def test_the_iterates_kept_are_optimises_and_change_nothing_else(cpu, device, ops, settings):
    problem, keep = _problem(cpu, 2), (1, 4, 10, 30, 40)
    ref = optimise(cpu, CpuOps(), problem, settings, keep=keep)
    plain = device_search(device, ops, problem, settings, check_every=7)
    got = device_search(device, ops, problem, settings, check_every=7, keep=keep)
    assert sorted(got.kept) == list(keep) and got.history == plain.history
    np.testing.assert_array_equal(got.x, plain.x)
    for k in keep:
        assert np.abs(got.kept[k][0] - ref.kept[k][0]).mean() <= 1e-3, f"x at {k}"
        np.testing.assert_allclose(got.kept[k][1], ref.kept[k][1], rtol=LOSS_RTOL, err_msg=f"loss at {k}")


@pytest.mark.parametrize("settings, check_every", [(EARLY, 25), (EARLY, 1), (FULL, 7)])
def test_the_adam_counter_is_the_steps_taken(cpu, device, ops, stream, settings, check_every):
    search = DeviceSearch(device, ops, _problem(cpu, 2), settings)
    try:
        result = search.run(check_every)
        assert search.adam.steps_taken(stream) == result.iterations - 1
        assert search.status.to_host(stream).tolist() == [1, result.iterations]
        with pytest.raises(InpaintError, match="runs once"):
            search.run()
    finally:
        search.free()


def test_weights_that_are_not_the_masks_importance_weights_are_refused(cpu, device, ops):
    problem = _problem(cpu, 1)
    odd = type(problem)(problem.y, problem.known, problem.weights * 0, problem.box)
    with pytest.raises(ValueError, match="importance weights"):
        device_search(device, ops, odd, FULL)


def test_iteration_times_come_from_device_events(cpu, device, ops):
    settings = InpaintSettings(iterations=12, restarts=1, patience=1000)
    search = DeviceSearch(device, ops, _problem(cpu, 3), settings)
    try:
        result = search.run(check_every=5, time_iterations=True)
    finally:
        search.free()
    assert result.iterations == 12
    assert len(search.iteration_ms) == 11 and all(0 < t < 1e4 for t in search.iteration_ms)
