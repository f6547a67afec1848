import os
from pathlib import Path

import pytest

from gpu_markers import cuda_device_missing, torch_cuda_missing

# Tests use tiny models, for which one thread is fastest; more threads only fight over the cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("INPAINT_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture
def shared_data() -> Path:
    """The real datasets beside the repository; tests that need them skip where they are absent."""
    if not (SHARED_DATA / "README.md").is_file():
        pytest.skip(f"real data not found at {SHARED_DATA} (set INPAINT_SHARED_DATA to its path)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory) -> Path:
    """A randomly initialised, narrow 64x64 model saved as a weights file: fast, not a face model.

    PyTorch's default initialisation and random batch-norm statistics keep activations and
    gradients of order one, so numerical comparisons are not lost in rounding of tiny values.
    """
    import torch

    from inpaint.spec import CHECKPOINT_FORMAT, ModelSpec
    from inpaint.train import checkpoint
    from inpaint.train.models import Generator, JointDiscriminator

    torch.manual_seed(0)
    spec = ModelSpec(resolution=64, ngf=8, ndf=8, fuse_units=32)
    g, d = Generator(spec), JointDiscriminator(spec)
    for bn in [m for m in (*g.modules(), *d.modules()) if isinstance(m, torch.nn.BatchNorm2d)]:
        bn.running_mean.uniform_(-0.2, 0.2)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.data.uniform_(0.5, 1.5)
        bn.bias.data.uniform_(-0.2, 0.2)
    path = tmp_path_factory.mktemp("weights") / "tiny.pt"
    payload = {"format": CHECKPOINT_FORMAT, "kind": checkpoint.CHECKPOINT_KIND, "spec": spec,
               "step": 0, "G": g.state_dict(), "D": d.state_dict()}
    checkpoint.save(path, checkpoint.to_weights(payload, torch.float32))
    return path


def pytest_collection_modifyitems(config, items):
    """gpu-marked tests run where a CUDA device is usable; those also marked torch_cuda where torch
    can use it too. A skip says what is missing (scripts/gpu_check.sh runs them on a GPU machine)."""
    reasons = {}
    for item in items:
        for marker, missing in (("gpu", cuda_device_missing), ("torch_cuda", torch_cuda_missing)):
            if marker in item.keywords:
                if marker not in reasons:
                    reasons[marker] = missing()
                if reasons[marker]:
                    item.add_marker(pytest.mark.skip(reason=reasons[marker]))
                    break


@pytest.fixture(scope="session")
def tiny_bundle(tiny_weights, tmp_path_factory) -> Path:
    """The tiny model exported as a bundle."""
    from inpaint.export.bundle import write_bundle
    out = tmp_path_factory.mktemp("bundle") / "tiny"
    write_bundle(tiny_weights, out, log=lambda m: None)
    return out


@pytest.fixture(scope="session")
def tiny_encoder_weights(tiny_weights, tmp_path_factory) -> Path:
    """tiny_weights plus a randomly initialised narrow latent encoder E (batch-norm statistics
    randomised, as for G and D)."""
    import torch

    from inpaint.train import checkpoint
    from inpaint.train.encoder import Encoder

    payload = checkpoint.load(tiny_weights)
    torch.manual_seed(1)
    e = Encoder(payload["spec"], width=8)
    for bn in [m for m in e.modules() if isinstance(m, torch.nn.BatchNorm2d)]:
        bn.running_mean.uniform_(-0.2, 0.2)
        bn.running_var.uniform_(0.5, 2.0)
    path = tmp_path_factory.mktemp("weights") / "tiny_encoder.pt"
    checkpoint.save(path, {**payload, "spec": payload["spec"].to_dict(), "E": e.state_dict(),
                           "encoder": {"width": 8}})
    return path


@pytest.fixture(scope="session")
def tiny_encoder_bundle(tiny_encoder_weights, tmp_path_factory) -> Path:
    """The tiny model with its encoder, exported as a bundle."""
    from inpaint.export.bundle import write_bundle
    out = tmp_path_factory.mktemp("bundle") / "tiny_encoder"
    write_bundle(tiny_encoder_weights, out, log=lambda m: None)
    return out


@pytest.fixture(scope="module")
def cuda_stream():
    """A CUDA stream of inpaint.runtime.cuda; skips where there is no GPU."""
    from inpaint.errors import InpaintError
    from inpaint.runtime.cuda import Stream, gpu
    try:
        gpu()
    except InpaintError as e:
        pytest.skip(f"needs a CUDA GPU ({e})")
    return Stream()


@pytest.fixture(scope="module")
def cuda_ops(cuda_stream, tmp_path_factory):
    """CudaOps on cuda_stream, with poisoned outputs and a kernel cache of its own."""
    from inpaint.kernels import build
    from inpaint.runtime.ops.cuda_ops import CudaOps
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(build.CACHE_ENV, str(tmp_path_factory.mktemp("kernel-cache")))
        return CudaOps(cuda_stream, poison=True)


@pytest.fixture(autouse=True, scope="session")
def _runtime_cache(tmp_path_factory):
    """The runtime's cache (digests, optimised graphs) in a folder of the test session's own, for
    this process and the processes it starts."""
    from inpaint.runtime.user_cache import CACHE_ENV
    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("inpaint-cache"))
    yield
