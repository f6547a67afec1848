"""TrtEngine's bookkeeping against host stand-ins for TensorRT and CUDA (tests/runtime/host_cuda.py):
which context runs a batch, when a CUDA graph is recorded, replayed or dropped, and what a
refusal by TensorRT or a failed capture turns into. The real thing: tests/test_trt.py."""
import json
import warnings

import numpy as np
import pytest

from host_cuda import FakeTensorRT, fake_plans
from inpaint.runtime.bundle import Bundle, BundleError
from inpaint.runtime.engines import trt as trt_engine
from inpaint.runtime.engines.trt_plans import PLANS_META, plans_dir, plans_meta
from inpaint.spec import ModelSpec

GPU = "Host GPU"
IO = {"inputs": [{"name": "z", "dtype": "float32", "shape": ["batch", 4]}],
      "outputs": [{"name": "x", "dtype": "float32", "shape": ["batch", 3]},
                  {"name": "saved0", "dtype": "float32", "shape": ["batch", 2]}]}


def _engine(tmp_path, monkeypatch, host_cuda, batch_sizes, built_ranges=None, **kwargs):
    """A TrtEngine on a one-graph bundle whose plans cover `batch_sizes` (plans.json), the plan
    itself having `built_ranges` (default: the same)."""
    bundle = Bundle(tmp_path, {"graphs": {"generator": {"file": "generator.onnx", "sha256": "0" * 64, **IO}}},
                    ModelSpec())
    meta = plans_meta(bundle, GPU, (9, 0), FakeTensorRT.__version__, batch_sizes)
    root = plans_dir(tmp_path, GPU, FakeTensorRT.__version__)
    root.mkdir(parents=True)
    (root / PLANS_META).write_text(json.dumps(meta))
    (root / "generator.plan").write_bytes(b"generator")
    fake = FakeTensorRT(host_cuda, bundle, built_ranges or meta["profiles"])
    monkeypatch.setattr(trt_engine, "import_tensorrt", lambda: fake)
    return trt_engine.TrtEngine(bundle, **kwargs), fake


def _run(engine, batch, seed=0):
    z = np.random.default_rng(seed).normal(size=(batch, 4)).astype(np.float32)
    x, saved = engine._run("generator", {"z": z})
    total = z.astype(np.float64).sum(1)[:, None]
    np.testing.assert_allclose(x, np.broadcast_to(total, (batch, 3)), rtol=1e-6)
    np.testing.assert_allclose(saved, np.broadcast_to(total + 1, (batch, 2)), rtol=1e-6)


def test_a_context_reshaped_to_another_batch_drops_its_recordings(tmp_path, monkeypatch, host_cuda):
    """One context serves batches 1-4; a graph recorded at batch 4 must not be replayed once the
    context ran at batch 3, even where the buffers (sized for 4) have not moved."""
    engine, fake = _engine(tmp_path, monkeypatch, host_cuda, [4])
    launched = []
    launch = host_cuda.cudaGraphLaunch
    host_cuda.cudaGraphLaunch = lambda handle, stream: (launched.append(handle), launch(handle, stream))[1]
    recorded = {}                      # exec handle -> the batch it was recorded at
    for i, batch in enumerate([4, 3, 4, 4, 3, 3]):
        before = set(host_cuda.execs)
        _run(engine, batch, seed=i)
        recorded.update({h: batch for h in set(host_cuda.execs) - before})
    context = fake.engines["generator"].contexts[0]
    assert len(fake.engines["generator"].contexts) == 1
    assert len(recorded) == 4                       # one recording per change of batch
    assert [recorded[h] for h in launched] == [4, 3]   # each replay at the batch it was recorded at
    assert len(host_cuda.execs) == 1                # the others were destroyed when the shape changed
    assert context.executes == 4 * 2                # eager warm-up + recording, per change
    assert context.reshapes == 4                    # the input shape is set where it changes only


def test_each_profile_keeps_its_own_recording(tmp_path, monkeypatch, host_cuda):
    engine, fake = _engine(tmp_path, monkeypatch, host_cuda, [2, 4])
    for i, batch in enumerate([2, 4, 2, 4, 2]):
        _run(engine, batch, seed=i)
    contexts = fake.engines["generator"].contexts
    assert [c.profile for c in contexts] == [0, 1]
    # batch 4 outgrew the buffers batch 2 was recorded with: that recording went, one more came
    assert [c.executes for c in contexts] == [4, 2]
    assert host_cuda.calls.count("cudaGraphLaunch") == 2 and len(host_cuda.execs) == 2


@pytest.mark.parametrize("how", ["refused", "invalidated"])
def test_a_failed_recording_warns_and_the_graph_runs_plainly(tmp_path, monkeypatch, host_cuda, how):
    engine, fake = _engine(tmp_path, monkeypatch, host_cuda, [4])
    if how == "invalidated":
        host_cuda.invalidate_capture = True
    else:
        engine._load("generator")[1][0].refuse.add("capture")
    with pytest.warns(RuntimeWarning, match="generator at batch 3 runs without a CUDA graph: recording one "
                                            "failed .*(enqueue|cudaErrorStreamCaptureInvalidated)"):
        _run(engine, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")              # warned once, not at every run
        _run(engine, 3, seed=1)
        _run(engine, 3, seed=2)
    assert host_cuda.calls.count("cudaStreamBeginCapture") == 1
    assert not host_cuda.graphs and not host_cuda.execs and host_cuda.capturing is None


def test_tensorrt_refusals_are_errors_that_say_what_was_refused(tmp_path, monkeypatch, host_cuda):
    engine, fake = _engine(tmp_path, monkeypatch, host_cuda, [4])
    context = engine._load("generator")[1][0]
    context.refuse.add("shape")
    with pytest.raises(BundleError, match=r"refused shape \(2, 4\) for input z of generator"):
        _run(engine, 2)
    context.refuse = {"address"}
    with pytest.raises(BundleError, match="refused the device address of z for generator"):
        _run(engine, 2)
    context.refuse = {"execute"}
    with pytest.raises(BundleError, match="failed to run generator at batch 2"):
        _run(engine, 2)
    context.refuse = set()
    _run(engine, 2)


@pytest.mark.parametrize("built, message", [
    ([[1, 2, 2]], "has 1 optimisation profiles, its plans.json says 2"),
    ([[1, 2, 2], [3, 4, 8]], r"profile 1 of input z is \(min, opt, max\) \(\(3, 4\), \(4, 4\), \(8, 4\)\)"),
])
def test_a_plan_whose_profiles_contradict_plans_json_is_refused(tmp_path, monkeypatch, host_cuda, built, message):
    engine, _ = _engine(tmp_path, monkeypatch, host_cuda, [2, 4], built_ranges=built)
    with pytest.raises(BundleError, match=message):
        _run(engine, 1)


def test_the_device_is_selected_before_anything_is_made_on_it(tmp_path, monkeypatch, host_cuda):
    engine, _ = _engine(tmp_path, monkeypatch, host_cuda, [4], device=1)
    assert host_cuda.device == 1
    assert host_cuda.calls.index("cudaSetDevice") < host_cuda.calls.index("cudaStreamCreateWithFlags")


def test_close_releases_every_handle(tmp_path, monkeypatch, host_cuda):
    engine, _ = _engine(tmp_path, monkeypatch, host_cuda, [2, 4])
    for batch in (1, 3):
        _run(engine, batch)
    assert host_cuda.live and host_cuda.execs and host_cuda.streams
    engine.close()
    assert not host_cuda.live and not host_cuda.execs and not host_cuda.streams


def test_the_device_search_iteration_runs_eagerly_where_its_capture_fails(tmp_path, monkeypatch, host_cuda):
    from inpaint.runtime.cuda import Stream
    from inpaint.runtime.engines.trt_device import CapturedIteration, EagerIteration, TrtDeviceEngine
    _engine(tmp_path, monkeypatch, host_cuda, [4])
    bundle = Bundle(tmp_path, {"graphs": {"generator": {"file": "generator.onnx", "sha256": "0" * 64, **IO}}},
                    ModelSpec())
    device = TrtDeviceEngine(bundle, Stream())
    runs = []
    assert isinstance(device.capture(lambda: runs.append("recorded")), CapturedIteration)
    host_cuda.invalidate_capture = True
    with pytest.warns(RuntimeWarning, match="the search runs without a CUDA graph: .*Invalidated"):
        replay = device.capture(lambda: runs.append("eager"))
    assert isinstance(replay, EagerIteration) and not host_cuda.graphs
    replay.launch()
    replay.launch()
    assert runs == ["recorded", "eager", "eager", "eager"]    # the failed capture's call, then each launch


GENERATORS = ("generator", "generator_vjp", "generator_bn", "generator_bn_vjp")


def test_search_z_bn_runs_the_modulated_generator_and_feeds_its_vjp_what_it_kept(tmp_path, monkeypatch, host_cuda,
                                                                                tiny_bundle):
    """The generator's graphs of both searches, with the tiny bundle's signatures: v's width picks
    generator_bn, whose VJP gets v and every output the forward kept on the device (the stand-in's
    outputs are the sum of its inputs, plus k for the k-th output)."""
    from inpaint.runtime.bundle import load_bundle
    from inpaint.spec import search_size
    real = load_bundle(tiny_bundle)
    bundle, fake = fake_plans(host_cuda, monkeypatch, tmp_path, real, GENERATORS, [2])
    engine = trt_engine.TrtEngine(bundle, cuda_graphs=False)
    v = np.random.default_rng(0).uniform(-1, 1, (2, search_size(real.spec, "z+bn"))).astype(np.float32)
    g_x = np.ones((2, 3, 64, 64), np.float32)
    x = engine.generator(v)
    g_v = engine.generator_vjp(g_x)
    assert set(fake.engines) == {"generator_bn", "generator_bn_vjp"} and g_v.shape == v.shape
    s = v.astype(np.float64).sum(1)
    np.testing.assert_allclose(x[:, 0, 0, 0], s, rtol=1e-6)
    kept = {o["name"]: (s + k) * np.prod(o["shape"][1:])
            for k, o in enumerate(real.graph_io("generator_bn")["outputs"])}
    fed = [kept[i["name"]] for i in real.graph_io("generator_bn_vjp")["inputs"] if i["name"] in kept]
    assert len(fed) == len(kept)
    np.testing.assert_allclose(g_v[:, 0], sum(fed) + s + g_x[0].size, rtol=1e-5)
    engine.close()


@pytest.mark.parametrize("search", ["z", "z+bn"])
def test_the_device_engine_runs_each_searchs_generator_on_the_device_arrays_it_is_given(
        tmp_path, monkeypatch, host_cuda, tiny_bundle, search):
    """TrtDeviceEngine picks the generator's graphs by the width of the DeviceArray it gets, as
    GraphEngine does on the host, binds that array itself (no copy), and feeds the VJP the input
    and the forward's outputs where they are: the addresses the forward wrote them to."""
    from host_cuda import view
    from inpaint.runtime.bundle import load_bundle
    from inpaint.runtime.cuda import DeviceArray, Stream
    from inpaint.runtime.engines.trt_device import TrtDeviceEngine
    from inpaint.spec import search_size
    real = load_bundle(tiny_bundle)
    bundle, fake = fake_plans(host_cuda, monkeypatch, tmp_path, real, GENERATORS, [2])
    stream = Stream()
    device = TrtDeviceEngine(bundle, stream)
    device.check_search(search)
    forward, vjp = ("generator", "generator_vjp") if search == "z" else ("generator_bn", "generator_bn_vjp")
    v = np.random.default_rng(1).uniform(-1, 1, (2, search_size(real.spec, search))).astype(np.float32)
    v_dev = DeviceArray.from_host(v, stream)
    g_x = DeviceArray.from_host(np.ones((2, 3, 64, 64), np.float32), stream)
    x = device.generator(v_dev)
    g_v = device.generator_vjp(g_x)
    assert set(fake.engines) == {forward, vjp}
    assert isinstance(x, DeviceArray) and isinstance(g_v, DeviceArray) and g_v.shape == v.shape
    np.testing.assert_allclose(view(x)[:, 0, 0, 0], v.astype(np.float64).sum(1), rtol=1e-6)
    wrote = fake.engines[forward].contexts[0].addresses
    read = fake.engines[vjp].contexts[0].addresses
    (name,) = (i["name"] for i in real.graph_io(forward)["inputs"])
    assert wrote[name] == int(v_dev.buffer) and read["g_x"] == int(g_x.buffer)
    assert read.get(name) == (int(v_dev.buffer) if search == "z+bn" else None)   # generator_bn_vjp reads v
    kept = [i["name"] for i in real.graph_io(vjp)["inputs"] if i["name"] not in (name, "g_x")]
    assert kept and all(read[k] == wrote[k] for k in kept)     # saved*, x (and norm* for z+bn)
    assert sum(k.startswith("norm") for k in kept) == (4 if search == "z+bn" else 0)
    device.trt.close()


def test_the_device_engine_refuses_z_bn_on_a_bundle_without_its_graphs_naming_the_fix(
        tmp_path, monkeypatch, host_cuda, tiny_bundle):
    from inpaint.runtime.bundle import load_bundle
    from inpaint.runtime.cuda import Stream
    from inpaint.runtime.engines.trt_device import TrtDeviceEngine
    bundle, _ = fake_plans(host_cuda, monkeypatch, tmp_path, load_bundle(tiny_bundle), GENERATORS[:2], [2])
    device = TrtDeviceEngine(bundle, Stream())
    device.check_search("z")
    with pytest.raises(BundleError, match=r"no graphs for search z\+bn \(generator_bn, generator_bn_vjp\).*"
                                          r"inpaint-export .* --update"):
        device.check_search("z+bn")
    device.trt.close()
