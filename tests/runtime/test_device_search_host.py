"""The device search's loop (warm-up, capture, replays in bursts, the stop flag, the result) on
the CPU: host memory stands in for device memory and numpy for the kernels, so what is checked
here is the loop itself, against optimise(); the kernels and the GPU engine have their own tests
on GPU machines (test_device_search.py, tests/kernels)."""
import numpy as np
import pytest

from host_cuda import view
from inpaint.masks import importance_weights, make_mask
from inpaint.runtime.cuda import DeviceArray, DeviceBuffer, Stream
from inpaint.runtime.ops import AdamState, CpuOps
from inpaint.runtime.optimise import initial_z, optimise
from inpaint.runtime.problem import make_problem
from inpaint.spec import InpaintSettings
from inpaint.torch_engines.eager import TorchEngine


class HostOps:
    """CudaOps' contract in numpy: the same calls, in place on the DeviceArrays."""

    def __init__(self, stream):
        self.stream = stream

    def importance_weights(self, known, window=7):
        out = DeviceArray(DeviceBuffer(int(np.prod(known.shape)) * 4), (known.shape[0], 1, *known.shape[1:]),
                          np.dtype(np.float32))
        view(out)[:] = importance_weights(view(known), window)[:, None]
        return out

    def contextual(self, x, y, w, norm, g_extra=None, out=None):
        loss, grad = CpuOps.contextual(view(x), view(y), view(w), norm)
        view(out[0])[:], view(out[1])[:] = loss, grad + (0 if g_extra is None else view(g_extra))
        return out

    def adam(self, z, grad, state, lr, beta1, beta2, eps=1e-8, stop=None):
        if stop is not None and view(stop)[0]:
            return z
        steps = view(state.step)
        CpuOps.adam(view(z), view(grad).copy(), AdamState(view(state.m), view(state.v), int(steps[0])),
                    lr, beta1, beta2, eps)
        steps[0] += 1
        return z

    def track(self, contextual, prior, consistency, z, steps, best, best_z, history, status, lam, mu,
              patience, rel_tol):
        status, history = view(status), view(history)
        if status[0]:
            return
        t = int(view(steps)[0])
        total = view(contextual) + np.float32(lam) * view(prior) + np.float32(mu) * view(consistency)
        better = np.ones_like(total, bool) if t == 0 else total < view(best)[0]
        view(best_z)[better] = view(z)[better]
        view(best)[:, better] = np.stack([total, view(contextual), view(prior), view(consistency)])[:, better]
        history[t] = total.mean()
        it = t + 1
        if it == history.shape[0] or (it > patience and
                                      history[t - patience] - history[t] < rel_tol * abs(history[t - patience])):
            status[:] = 1, it


class HostEngine:
    """TorchEngine behind the DeviceEngine calls, with outputs at fixed addresses per shape."""

    name = "host"

    def __init__(self, cpu: TorchEngine, stream):
        self.cpu, self.spec, self.stream = cpu, cpu.spec, stream
        self.outputs, self.captures = {}, 0

    def _out(self, name, value):
        value = np.asarray(value, np.float32)
        key = (name, value.shape)
        if key not in self.outputs:
            self.outputs[key] = DeviceArray(DeviceBuffer(value.nbytes), value.shape, np.dtype(np.float32))
        view(self.outputs[key])[:] = value
        return self.outputs[key]

    def generator(self, z):
        return self._out("x", self.cpu.generator(view(z).copy()))

    def generator_vjp(self, g_x):
        return self._out("g_z", self.cpu.generator_vjp(view(g_x).copy()))

    def target_features(self, masked_y, box):
        tg, tp = self.cpu.target_features(view(masked_y).copy(), view(box).copy())
        return self._out("tg", tg.numpy()), self._out("tp", tp.numpy())

    def critic(self, x, known, box, target, prior, lam, mu):
        import torch
        if target is not None:
            target = tuple(torch.from_numpy(view(t).copy()) for t in target)
        outs = self.cpu.critic(view(x).copy(), view(known).copy(), view(box).copy(), target, prior, lam, mu)
        return tuple(self._out(name, v) for name, v in zip(("prior", "consistency", "g_x"), outs))

    def capture(self, enqueue):
        self.captures += 1

        class Replay:
            def launch(self):
                enqueue()

            def destroy(self):
                pass
        return Replay()


@pytest.fixture(scope="module")
def cpu(tiny_weights):
    return TorchEngine.from_weights(tiny_weights)


EARLY = InpaintSettings(iterations=300, restarts=1, lr=1e-6, patience=5, rel_tol=1e-3)


@pytest.mark.parametrize("settings, check_every", [
    (EARLY, 25), (EARLY, 4),                                                   # early stop inside a burst
    (InpaintSettings(iterations=23, restarts=1, lr=0.05, patience=1000), 5),   # the iteration limit
    (InpaintSettings(iterations=23, restarts=1, lr=0.05, patience=1000, consistency_weight=0.0,
                     prior="global", norm="l2"), 7),
    (InpaintSettings(iterations=60, restarts=1, lr=0.02, patience=2, rel_tol=0.1), 25),
    (InpaintSettings(iterations=1, restarts=1), 3),
])
@pytest.mark.parametrize("use_graph", [True, False])
def test_the_device_loop_searches_as_optimise_does(host_cuda, cpu, settings, check_every, use_graph):
    from inpaint.runtime.device_search import DeviceSearch
    y = cpu.generator(initial_z(3, cpu.spec.z_dim, 123))
    problem = make_problem(y, np.stack([make_mask("pattern", 64, i) for i in range(3)]), cpu.spec.patch)
    ref = optimise(cpu, CpuOps(), problem, settings)
    stream = Stream()
    engine = HostEngine(cpu, stream)
    search = DeviceSearch(engine, HostOps(stream), problem, settings)
    got = search.run(check_every, use_graph)
    steps, status = search.adam.steps_taken(stream), search.status.to_host(stream).tolist()
    search.free()
    assert got.iterations == ref.iterations == status[1] and status[0] == 1
    assert steps == got.iterations - 1                       # the stopping iteration takes no step
    assert engine.captures == (1 if use_graph and settings.iterations > 1 else 0)
    np.testing.assert_allclose(got.history, ref.history, rtol=1e-5)
    for name in ("z", "x", "loss", "contextual", "prior", "consistency"):
        np.testing.assert_allclose(getattr(got, name), getattr(ref, name), rtol=1e-4, atol=1e-6, err_msg=name)
    assert set(host_cuda.live) == {int(a.buffer) for a in engine.outputs.values()}   # free() left the engine's


@pytest.mark.parametrize("settings, check_every, keep", [
    (EARLY, 25, (1, 3, 4, 7, 50, 299, 300, 400)),           # marks before, inside and after the stop
    (InpaintSettings(iterations=23, restarts=1, lr=0.05, patience=1000), 5, (0, 1, 2, 10, 23, 24)),
    (InpaintSettings(iterations=1, restarts=1), 3, (1, 5)),
])
@pytest.mark.parametrize("use_graph", [True, False])
def test_the_device_loop_keeps_the_iterates_optimise_keeps(host_cuda, cpu, settings, check_every, keep, use_graph):
    from inpaint.runtime.device_search import DeviceSearch
    y = cpu.generator(initial_z(2, cpu.spec.z_dim, 7))
    problem = make_problem(y, np.stack([make_mask("center", 64, i) for i in range(2)]), cpu.spec.patch)
    ref = optimise(cpu, CpuOps(), problem, settings, keep=keep)
    stream = Stream()
    search = DeviceSearch(HostEngine(cpu, stream), HostOps(stream), problem, settings)
    got = search.run(check_every, use_graph, keep=keep)
    search.free()
    assert got.iterations == ref.iterations and sorted(got.kept) == sorted(ref.kept) == sorted(set(keep))
    for k in keep:
        np.testing.assert_allclose(got.kept[k][0], ref.kept[k][0], rtol=1e-4, atol=1e-5, err_msg=f"x at {k}")
        np.testing.assert_allclose(got.kept[k][1], ref.kept[k][1], rtol=1e-5, err_msg=f"loss at {k}")
    losses = [got.kept[k][1] for k in sorted(keep) if k >= 1]    # (k = 0 is never reached: the final best)
    assert all((later <= earlier).all() for earlier, later in zip(losses, losses[1:]))   # best so far


def test_a_search_runs_once(host_cuda, cpu):
    from inpaint.errors import InpaintError
    from inpaint.runtime.device_search import DeviceSearch
    y = cpu.generator(initial_z(1, cpu.spec.z_dim, 1))
    problem = make_problem(y, make_mask("center", 64, 0)[None], cpu.spec.patch)
    stream = Stream()
    search = DeviceSearch(HostEngine(cpu, stream), HostOps(stream), problem, InpaintSettings(iterations=3, restarts=1))
    search.run()
    with pytest.raises(InpaintError, match="runs once"):
        search.run()
    search.free()


class HostBlendOps(HostOps):
    """HostOps with CudaOps.blend's contract: batched (B, C, H, W), float known (B, H, W)."""

    def blend(self, source, target, known, tol=1e-5):
        from inpaint.runtime.blend import poisson_blend
        out = DeviceArray(DeviceBuffer(int(np.prod(source.shape)) * 4), source.shape, np.dtype(np.float32))
        for b in range(source.shape[0]):
            view(out)[b] = poisson_blend(view(source)[b].transpose(1, 2, 0), view(target)[b].transpose(1, 2, 0),
                                         view(known)[b] > 0.5).transpose(2, 0, 1)
        return out, 0, np.zeros(source.shape[0], np.float32)


def test_the_gpu_inpainter_completes_as_the_cpu_one(host_cuda, cpu):
    from inpaint.imageio import Picture
    from inpaint.runtime.complete import Inpainter
    from inpaint.runtime.gpu import GpuOps, gpu_search
    rng = np.random.default_rng(4)
    picture = Picture(rng.integers(0, 256, (80, 72, 3), np.uint8), None, "RGB")
    hole = np.zeros((80, 72), bool)
    hole[20:50, 30:60] = True
    settings = InpaintSettings(iterations=8, restarts=2, lr=0.05)
    stream = Stream()
    steps = []
    gpu = Inpainter(HostEngine(cpu, stream), GpuOps(HostBlendOps(stream)), settings, search=gpu_search)
    ours = gpu.complete_many([picture], [hole], on_step=lambda it, loss: steps.append(it), keep=(2, 5))[0]
    ref = Inpainter(cpu, settings=settings).complete_many([picture], [hole], keep=(2, 5))[0]
    np.testing.assert_array_equal(ours.raw, ref.raw)
    assert np.abs(ours.picture.pixels.astype(int) - ref.picture.pixels.astype(int)).max() <= 1
    np.testing.assert_array_equal(ours.picture.pixels[~hole], picture.pixels[~hole])
    assert steps == [8] and ours.report["iterations"] == ref.report["iterations"] == 8
    for k in (2, 5):   # quality against iterations, as inpaint-eval asks of the search
        assert np.abs(ours.earlier[k].pixels.astype(int) - ref.earlier[k].pixels.astype(int)).max() <= 1
