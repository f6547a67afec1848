"""The GPU runtime behind Inpainter against the ONNX Runtime search and completion, and against
the host loop on torch for search z+bn (GPU machines)."""
import numpy as np
import pytest

from inpaint.errors import InpaintError
from inpaint.kernels import build

pytestmark = [pytest.mark.gpu, pytest.mark.torch_cuda]
torch = pytest.importorskip("torch")
try:
    build.cuda_core()
except InpaintError as e:
    pytest.skip(str(e), allow_module_level=True)

from inpaint.imageio import Picture  # noqa: E402
from inpaint.masks import make_mask  # noqa: E402
from inpaint.runtime.bundle import load_bundle  # noqa: E402
from inpaint.runtime.complete import Inpainter  # noqa: E402
from inpaint.runtime.engines.ort import OrtEngine  # noqa: E402
from inpaint.runtime.ops import CpuOps  # noqa: E402
from inpaint.runtime.optimise import initial_z, optimise  # noqa: E402
from inpaint.runtime.problem import make_problem  # noqa: E402
from inpaint.spec import InpaintSettings  # noqa: E402

SETTINGS = InpaintSettings(iterations=40, restarts=2, patience=1000)


@pytest.fixture(scope="module")
def gpu(tiny_weights):
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU that torch can use")
    from inpaint.inpainters import gpu_inpainter
    return gpu_inpainter(tiny_weights, SETTINGS)


def test_the_gpu_search_matches_the_onnx_runtime_search(gpu, tiny_bundle):
    ort = OrtEngine(load_bundle(tiny_bundle), threads=1)
    y = ort.generator(initial_z(3, 100, 9))
    p = make_problem(y, np.stack([make_mask(k, 64, 2) for k in ("center", "pattern", "random")]), 32)
    ours = gpu.search(gpu.engine, gpu.ops, p, SETTINGS)
    ref = optimise(ort, CpuOps(), p, SETTINGS)
    assert ours.iterations == ref.iterations
    assert np.abs(ours.x - ref.x).mean() <= 1e-3          # [-1, 1] scale


def test_a_gpu_completion_matches_onnx_runtime_and_keeps_known_pixels(gpu, tiny_bundle):
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (90, 70, 3), np.uint8)
    hole = np.zeros((90, 70), bool)
    hole[30:60, 20:50] = True
    picture = Picture(pixels, None, "RGB")
    ours = gpu.complete(picture, hole)
    ref = Inpainter.from_bundle(tiny_bundle, SETTINGS, threads=1).complete(picture, hole)
    np.testing.assert_array_equal(ours.picture.pixels[~hole], pixels[~hole])
    assert np.abs(ours.raw.astype(float) - ref.raw.astype(float)).mean() / 127.5 <= 2e-3   # uint8 rounding
    assert np.abs(ours.picture.pixels.astype(float) - ref.picture.pixels.astype(float)).max() <= 3


def test_a_gpu_completion_with_search_z_bn_matches_the_host_loop_on_torch(gpu, tiny_weights):
    """Search z+bn, v = [z, u], on the GPU runtime against the host loop on eager PyTorch (CPU):
    the same seed and start, few steps, the same fill to rounding."""
    from inpaint.inpainters import torch_inpainter
    from inpaint.spec import search_size
    settings = InpaintSettings(iterations=10, restarts=2, lr=0.05, patience=1000, search="z+bn")
    rng = np.random.default_rng(5)
    picture = Picture(rng.integers(0, 256, (64, 64, 3), np.uint8), None, "RGB")
    hole = make_mask("center", 64, 0) < 0.5
    ours = gpu.with_settings(settings).complete(picture, hole, framing="whole")
    ref = torch_inpainter(tiny_weights, "cpu", settings).complete(picture, hole, framing="whole")
    assert ours.z.shape == ref.z.shape == (search_size(gpu.engine.spec, "z+bn"),)
    assert ours.report["iterations"] == ref.report["iterations"] == 10
    np.testing.assert_array_equal(ours.picture.pixels[~hole], picture.pixels[~hole])
    assert np.abs(ours.raw.astype(float) - ref.raw.astype(float)).mean() / 127.5 <= 2e-3   # uint8 rounding
    assert ours.report["loss"] == pytest.approx(ref.report["loss"], rel=1e-2)
