"""The model that ships in the package."""
import numpy as np
import pytest
import torch
from PIL import Image

from inpaint.train.checkpoint import WEIGHTS_KIND
from inpaint.train.samples import sample_z, save_samples
from inpaint.weights import DEFAULT_MODEL, load_shipped, shipped_path
from inpaint.errors import CheckpointError

REPO_DOCS = shipped_path().parents[3] / "docs"


def test_shipped_weights_load_with_weights_only():
    path = shipped_path()
    payload = torch.load(path, map_location="cpu", weights_only=True)
    assert payload["kind"] == WEIGHTS_KIND and payload["spec"]["resolution"] == 64
    assert all(v.dtype == torch.float16 for v in payload["G"].values() if v.is_floating_point())
    meta = payload["meta"]
    assert meta["steps"] > 0 and meta["wall_time_s"] > 0 and meta["machine"]
    assert path.stat().st_size < 50 * 2**20


def test_unknown_shipped_model():
    with pytest.raises(CheckpointError, match=DEFAULT_MODEL):
        shipped_path("no-such-model")


def test_sample_sheet_is_what_the_shipped_weights_draw(tmp_path):
    """docs/samples_celeba64.png is regenerated exactly by scripts/ship_weights.py's recipe."""
    spec, g, _ = load_shipped()
    save_samples(g, sample_z(64, spec.z_dim, 0), tmp_path / "s.png")
    ours = np.asarray(Image.open(tmp_path / "s.png"), np.float32)
    committed = np.asarray(Image.open(REPO_DOCS / f"samples_{DEFAULT_MODEL}.png"), np.float32)
    assert ours.shape == committed.shape == (8 * 66 + 2, 8 * 66 + 2, 3)
    assert np.abs(ours - committed).mean() < 0.5     # rounding differences between CPUs only


def _val_faces(shared_data, n):
    from inpaint.train.datasets import load_dataset
    images = load_dataset("celeba", shared_data / "celeba64" / "val.zip", 64, progress=False)[:n]
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1


@torch.no_grad()
def test_generator_draws_aligned_faces(shared_data):
    """The average of many samples is the average aligned face of the held-out split."""
    spec, g, _ = load_shipped()
    fake = g(sample_z(512, spec.z_dim, 1))
    real = _val_faces(shared_data, 512)
    corr = np.corrcoef(fake.mean(0).flatten().numpy(), real.mean(0).flatten().numpy())[0, 1]
    assert corr > 0.9                                   # measured: 0.97
    # and the samples vary like faces do, not collapsed to one image
    assert fake.std(0).mean() > 0.5 * real.std(0).mean()


@torch.no_grad()
def test_global_discriminator_prefers_real_faces_to_scrambled_ones(shared_data):
    """The prior knows face structure: swapping the top and bottom halves lowers the score."""
    _, _, d = load_shipped()
    real = _val_faces(shared_data, 256)
    scrambled = torch.cat([real[:, :, 32:], real[:, :, :32]], dim=2)
    s_real, s_scr = d.global_branch(real)[1], d.global_branch(scrambled)[1]
    assert (s_real > s_scr).float().mean() > 0.8     # measured: 0.94
