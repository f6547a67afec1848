"""TensorRT: build plans for the tiny bundle and run them against ONNX Runtime (where tensorrt imports)."""
import numpy as np
import pytest

trt = pytest.importorskip("tensorrt", reason="tensorrt is not installed (it runs on GPU machines)")

from inpaint.masks import make_mask  # noqa: E402
from inpaint.runtime.bundle import BundleError, load_bundle  # noqa: E402
from inpaint.runtime.engines.ort import OrtEngine  # noqa: E402
from inpaint.runtime.optimise import initial_z  # noqa: E402
from inpaint.runtime.problem import make_problem  # noqa: E402

pytestmark = [pytest.mark.trt, pytest.mark.gpu]


@pytest.fixture(scope="module")
def built(tiny_bundle, tmp_path_factory):
    import shutil

    from inpaint.export.trt_builder import build_plans
    root = tmp_path_factory.mktemp("trt") / "tiny"
    shutil.copytree(tiny_bundle, root)
    lines = []
    plans = build_plans(root, [1, 4], log=lines.append)
    return root, plans, lines


def test_plans_and_their_record(built):
    import json
    root, plans, lines = built
    meta = json.loads((plans / "plans.json").read_text())
    assert meta["tensorrt"] == trt.__version__ and meta["profiles"] == [[1, 1, 1], [2, 4, 4]]
    assert all((plans / g["plan"]).stat().st_size > 0 for g in meta["graphs"].values())
    assert (plans / "timing.cache").stat().st_size > 0 and len(lines) == len(meta["graphs"])


@pytest.mark.parametrize("batch", [1, 3, 4])
def test_trt_engine_matches_onnx_runtime(built, batch):
    from inpaint.runtime.engines.trt import TrtEngine
    bundle = load_bundle(built[0])
    engines = TrtEngine(bundle), OrtEngine(bundle, threads=1)
    z = initial_z(batch, 100, batch)
    y = np.random.default_rng(batch).uniform(-1, 1, (batch, 3, 64, 64)).astype(np.float32)
    p = make_problem(y, np.stack([make_mask("pattern", 64, i) for i in range(batch)]), 32)
    outs = []
    for e in engines:
        x = e.generator(z)
        t = e.target_features(p.y * p.known, p.box)
        lp, lf, g_x = e.critic(x, p.known, p.box, t, "joint", 0.003, 0.1)
        outs.append((x, lp, lf, g_x, e.generator_vjp(g_x)))
    for a, b in zip(*outs):     # TensorRT may use TF32 for fp32 convolutions
        assert np.linalg.norm(a - b) <= 5e-3 * np.linalg.norm(b) + 1e-12


def test_two_batch_sizes_in_turn_on_one_context_match_plain_runs(built):
    """Batches 2, 3 and 4 share profile (2, 4, 4)'s context: each change of batch drops what was
    recorded at the last one, and every run, recorded or replayed, gives the plain run's values."""
    from inpaint.runtime.engines.trt import TrtEngine
    bundle = load_bundle(built[0])
    replayed, plain = TrtEngine(bundle), TrtEngine(bundle, cuda_graphs=False)
    for batch in (4, 3, 4, 4, 3, 2, 3, 3):
        z = initial_z(batch, 100, batch)
        a, b = replayed.generator(z), plain.generator(z)
        assert np.linalg.norm(a - b) <= 1e-4 * np.linalg.norm(b), batch
    assert len(replayed._replays[("generator", 1)]) == 1         # only batch 3's, the last one's


def test_batch_beyond_the_profiles_is_refused(built):
    from inpaint.runtime.engines.trt import TrtEngine
    with pytest.raises(BundleError, match="larger than the TensorRT plans allow"):
        TrtEngine(load_bundle(built[0])).generator(initial_z(5, 100, 0))


def test_cuda_graph_replays_match_plain_runs_and_keep_activations_on_the_device(built):
    from inpaint.runtime.cuda import DeviceArray
    from inpaint.runtime.engines.trt import TrtEngine
    from inpaint.runtime.ops import CpuOps
    from inpaint.runtime.optimise import optimise
    from inpaint.spec import InpaintSettings
    bundle = load_bundle(built[0])
    replayed, plain = TrtEngine(bundle), TrtEngine(bundle, cuda_graphs=False)
    y = np.random.default_rng(2).uniform(-1, 1, (3, 3, 64, 64)).astype(np.float32)
    p = make_problem(y, np.stack([make_mask("center", 64, i) for i in range(3)]), 32)
    settings = InpaintSettings(iterations=5, restarts=1, patience=100)
    a, b = optimise(replayed, CpuOps(), p, settings), optimise(plain, CpuOps(), p, settings)
    # two engines, two sets of execution contexts: TensorRT does not promise the same bits across
    # them (its tactics and reductions may differ), only the same results to rounding
    assert np.abs(a.z - b.z).max() <= 1e-3
    np.testing.assert_allclose(a.loss, b.loss, rtol=1e-3)
    assert any(replayed._replays.values()) and not plain._replays
    kept = [v for k, v in replayed._kept.items() if k != "z"]     # the generator's outputs, for its VJP
    assert kept and all(isinstance(v, DeviceArray) for v in kept)


@pytest.mark.parametrize("search", ["z", "z+bn"])
def test_the_device_search_on_tensorrt_matches_onnx_runtime(built, search):
    """The GPU runtime with its networks on TensorRT: one iteration captured as a CUDA graph; for
    search z+bn, generator_bn and its VJP on v = [z, u]."""
    pytest.importorskip("cuda.core", reason="cuda.core runs the kernels (pip install 'inpaint[gpu]')")
    from inpaint.runtime.cuda import Stream
    from inpaint.runtime.device_search import device_search
    from inpaint.runtime.engines.trt_device import TrtDeviceEngine
    from inpaint.runtime.ops import CpuOps
    from inpaint.runtime.ops.cuda_ops import CudaOps
    from inpaint.runtime.optimise import optimise
    from inpaint.spec import InpaintSettings
    bundle = load_bundle(built[0])
    stream = Stream()
    settings = InpaintSettings(iterations=30 if search == "z" else 12, restarts=1, patience=1000, search=search)
    y = np.random.default_rng(4).uniform(-1, 1, (4, 3, 64, 64)).astype(np.float32)
    p = make_problem(y, np.stack([make_mask("pattern", 64, i) for i in range(4)]), 32)
    ours = device_search(TrtDeviceEngine(bundle, stream), CudaOps(stream), p, settings)
    ref = optimise(OrtEngine(bundle, threads=1), CpuOps(), p, settings)
    assert ours.iterations == ref.iterations and ours.z.shape == ref.z.shape
    assert np.abs(ours.x - ref.x).mean() <= 5e-3          # TensorRT may use TF32
