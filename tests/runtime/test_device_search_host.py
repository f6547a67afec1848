"""The device search's loop (warm-up, capture, replays in bursts, the stop flag, the result) on
the CPU: host memory stands in for device memory and numpy for the kernels, so what is checked
here is the loop itself, against optimise(); the kernels and the GPU engine have their own tests
on GPU machines (test_device_search.py, tests/kernels)."""
from types import SimpleNamespace

import numpy as np
import pytest

from host_cuda import HostOps, fake_plans, view
from inpaint.errors import InpaintError
from inpaint.masks import make_mask
from inpaint.runtime.cuda import DeviceArray, DeviceBuffer, Stream
from inpaint.runtime.ops import CpuOps
from inpaint.runtime.optimise import initial_z, optimise
from inpaint.runtime.problem import make_problem
from inpaint.spec import InpaintSettings, search_size
from inpaint.torch_engines.eager import TorchEngine


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

    def check_search(self, search):
        self.cpu.check_search(search)

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
    from inpaint.runtime.device_search import DeviceSearch
    y = cpu.generator(initial_z(1, cpu.spec.z_dim, 1))
    problem = make_problem(y, make_mask("center", 64, 0)[None], cpu.spec.patch)
    stream = Stream()
    search = DeviceSearch(HostEngine(cpu, stream), HostOps(stream), problem, InpaintSettings(iterations=3, restarts=1))
    search.run()
    with pytest.raises(InpaintError, match="runs once"):
        search.run()
    search.free()


Z_BN = InpaintSettings(iterations=23, restarts=1, lr=0.05, patience=1000, search="z+bn")


@pytest.mark.parametrize("use_graph", [True, False])
@pytest.mark.parametrize("start", ["z", "v", None])
def test_search_z_bn_on_the_device_loop_searches_as_optimise_does(host_cuda, cpu, use_graph, start):
    """v = [z, u] on the device: a start of z alone gets u = 0 as optimise's does (search_start),
    a whole v is taken as it is, none draws z as optimise draws it; best_z is v's width."""
    from inpaint.runtime.device_search import DeviceSearch
    spec = cpu.spec
    y = np.random.default_rng(11).uniform(-1, 1, (3, 3, 64, 64)).astype(np.float32)   # out of G's reach
    problem = make_problem(y, np.stack([make_mask("center", 64, i) for i in range(3)]), spec.patch)
    z = {"z": initial_z(3, spec.z_dim, 5), None: None,
         "v": np.random.default_rng(5).uniform(-0.5, 0.5, (3, search_size(spec, "z+bn"))).astype(np.float32)}[start]
    ref = optimise(cpu, CpuOps(), problem, Z_BN, z=z, keep=(4,))
    stream = Stream()
    search = DeviceSearch(HostEngine(cpu, stream), HostOps(stream), problem, Z_BN, z)
    got = search.run(5, use_graph, keep=(4,))
    search.free()
    assert got.z.shape == ref.z.shape == (3, search_size(spec, "z+bn")) and got.iterations == ref.iterations == 23
    assert np.abs(got.z[:, spec.z_dim:]).max() > 0.05              # the modulation was searched
    np.testing.assert_allclose(got.history, ref.history, rtol=1e-5)
    for name in ("z", "x", "loss", "contextual", "prior", "consistency"):
        np.testing.assert_allclose(getattr(got, name), getattr(ref, name), rtol=1e-4, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(got.kept[4][0], ref.kept[4][0], rtol=1e-4, atol=1e-5)


def test_the_device_loop_refuses_a_start_or_an_engine_that_does_not_fit_the_search(host_cuda, cpu):
    """Before anything is allocated: a start of another width than z's or v's, and an engine
    without check_search (which runs search z alone, as the Engine protocol has it)."""
    from inpaint.runtime.device_search import DeviceSearch
    problem = make_problem(cpu.generator(initial_z(2, 100, 1)), np.stack([make_mask("center", 64, 0)] * 2), 32)
    stream = Stream()
    width = search_size(cpu.spec, "z+bn")
    wrong = rf"z must be \(2, 100\) \(or {width}, a whole v\) .* search z\+bn, got \(2, 99\)"
    with pytest.raises(ValueError, match=wrong):
        DeviceSearch(HostEngine(cpu, stream), HostOps(stream), problem, Z_BN, np.zeros((2, 99), np.float32))
    with pytest.raises(ValueError, match=r"z must be \(2, 100\) for .* search z, got \(2, %d\)" % width):
        DeviceSearch(HostEngine(cpu, stream), HostOps(stream), problem, InpaintSettings(iterations=2, search="z"),
                     np.zeros((2, width), np.float32))
    z_alone = SimpleNamespace(name="custom", spec=cpu.spec, stream=stream)    # no check_search
    with pytest.raises(InpaintError, match="the custom backend searches z alone; for search z\\+bn use --backend"):
        DeviceSearch(z_alone, HostOps(stream), problem, Z_BN)
    assert not host_cuda.live


def test_search_z_bn_on_tensorrt_through_the_device_loop_is_the_host_loops(tmp_path, monkeypatch, host_cuda,
                                                                          tiny_bundle):
    """TrtDeviceEngine with the TensorRT stand-in (each output the sum of the inputs, plus k):
    the device loop on v runs generator_bn and its VJP with what it kept, and gives the host
    loop's Search on TrtEngine over the same stand-in."""
    from inpaint.runtime.bundle import load_bundle
    from inpaint.runtime.device_search import DeviceSearch
    from inpaint.runtime.engines.trt import TrtEngine
    from inpaint.runtime.engines.trt_device import TrtDeviceEngine
    names = ("generator_bn", "generator_bn_vjp", "critic_global")
    bundle, fake = fake_plans(host_cuda, monkeypatch, tmp_path, load_bundle(tiny_bundle), names, [2])
    settings = InpaintSettings(iterations=6, restarts=1, lr=0.05, patience=1000, search="z+bn", prior="global",
                               consistency_weight=0.0)
    y = np.random.default_rng(2).uniform(-1, 1, (2, 3, 64, 64)).astype(np.float32)
    problem = make_problem(y, np.stack([make_mask("pattern", 64, i) for i in range(2)]), 32)
    z = initial_z(2, bundle.spec.z_dim, 3)
    host = TrtEngine(bundle, cuda_graphs=False)
    ref = optimise(host, CpuOps(), problem, settings, z=z)
    host.close()
    stream = Stream()
    device = TrtDeviceEngine(bundle, stream)
    search = DeviceSearch(device, HostOps(stream), problem, settings, z)
    got = search.run(use_graph=False)        # HostOps does its work at once: nothing to record
    search.free()
    device.trt.close()
    assert set(fake.engines) == set(names) and got.z.shape == (2, search_size(bundle.spec, "z+bn"))
    assert got.iterations == ref.iterations == 6
    np.testing.assert_allclose(got.history, ref.history, rtol=1e-6)
    for name in ("z", "x", "loss", "prior"):
        np.testing.assert_allclose(getattr(got, name), getattr(ref, name), rtol=1e-6, err_msg=name)


class HostBlendOps(HostOps):
    """HostOps with CudaOps.blend's contract: batched (B, C, H, W), float known (B, H, W)."""

    def blend(self, source, target, known, tol=1e-5):
        from inpaint.runtime.blend import poisson_blend
        out = DeviceArray(DeviceBuffer(int(np.prod(source.shape)) * 4), source.shape, np.dtype(np.float32))
        for b in range(source.shape[0]):
            view(out)[b] = poisson_blend(view(source)[b].transpose(1, 2, 0), view(target)[b].transpose(1, 2, 0),
                                         view(known)[b] > 0.5).transpose(2, 0, 1)
        return out, 0, np.zeros(source.shape[0], np.float32)


@pytest.mark.parametrize("search", ["z", "z+bn"])
def test_the_gpu_inpainter_completes_as_the_cpu_one(host_cuda, cpu, search):
    from inpaint.imageio import Picture
    from inpaint.runtime.complete import Inpainter
    from inpaint.runtime.gpu import GpuOps, gpu_search
    rng = np.random.default_rng(4)
    picture = Picture(rng.integers(0, 256, (80, 72, 3), np.uint8), None, "RGB")
    hole = np.zeros((80, 72), bool)
    hole[20:50, 30:60] = True
    settings = InpaintSettings(iterations=8, restarts=2, lr=0.05, search=search)
    stream = Stream()
    steps = []
    gpu = Inpainter(HostEngine(cpu, stream), GpuOps(HostBlendOps(stream)), settings, search=gpu_search)
    ours = gpu.complete_many([picture], [hole], on_step=lambda it, loss: steps.append(it), keep=(2, 5))[0]
    ref = Inpainter(cpu, settings=settings).complete_many([picture], [hole], keep=(2, 5))[0]
    np.testing.assert_array_equal(ours.raw, ref.raw)
    assert ours.z.shape == ref.z.shape == (search_size(cpu.spec, search),)
    assert np.abs(ours.picture.pixels.astype(int) - ref.picture.pixels.astype(int)).max() <= 1
    np.testing.assert_array_equal(ours.picture.pixels[~hole], picture.pixels[~hole])
    assert steps == [8] and ours.report["iterations"] == ref.report["iterations"] == 8
    for k in (2, 5):   # quality against iterations, as inpaint-eval asks of the search
        assert np.abs(ours.earlier[k].pixels.astype(int) - ref.earlier[k].pixels.astype(int)).max() <= 1
