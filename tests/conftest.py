import os
from pathlib import Path

import pytest

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
    """A randomly initialised, narrow 64x64 model saved as a weights file: fast, not a face model."""
    import torch

    from inpaint.spec import CHECKPOINT_FORMAT, ModelSpec
    from inpaint.train import checkpoint
    from inpaint.train.models import build_models

    torch.manual_seed(0)
    spec = ModelSpec(resolution=64, ngf=8, ndf=8, fuse_units=32)
    g, d = build_models(spec)
    path = tmp_path_factory.mktemp("weights") / "tiny.pt"
    payload = {"format": CHECKPOINT_FORMAT, "kind": checkpoint.CHECKPOINT_KIND, "spec": spec,
               "step": 0, "G": g.state_dict(), "D": d.state_dict()}
    checkpoint.save(path, checkpoint.to_weights(payload, torch.float32))
    return path


def pytest_collection_modifyitems(config, items):
    """Tests marked gpu run only where torch sees a CUDA device."""
    gpu_items = [item for item in items if "gpu" in item.keywords]
    if not gpu_items:
        return
    try:
        import torch
        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    if not has_cuda:
        skip = pytest.mark.skip(reason="needs a CUDA GPU (run scripts/gpu_check.sh on a GPU machine)")
        for item in gpu_items:
            item.add_marker(skip)
