"""The latent encoder in a bundle: exported beside the other graphs, equal to torch, z in the box."""
import json

import numpy as np
import pytest

from inpaint.masks import make_mask
from inpaint.runtime.bundle import load_bundle
from inpaint.runtime.engines.ort import OrtEngine
from inpaint.torch_engines.eager import TorchEngine

PARITY = 1e-5   # largest relative error of the exported encoder against torch


def _rel(a, b):
    return float(np.linalg.norm(np.asarray(a, np.float64) - b) / max(np.linalg.norm(b), 1e-30))


def _inputs(batch: int, seed: int, scale: float = 1.0):
    rng = np.random.default_rng(seed)
    y = (scale * rng.uniform(-1, 1, (batch, 3, 64, 64))).astype(np.float32)
    kinds = ("center", "pattern", "random", "half")
    known = np.stack([make_mask(kinds[i % 4], 64, seed + i) for i in range(batch)])[:, None]
    return y * known, known


def test_bundle_of_a_model_with_an_encoder_has_the_encoder_graph(tiny_encoder_bundle, tiny_bundle):
    graphs = json.loads((tiny_encoder_bundle / "manifest.json").read_text())["graphs"]
    assert graphs["encoder"]["inputs"] == [
        {"name": "masked_y", "dtype": "float32", "shape": ["batch", 3, 64, 64]},
        {"name": "known", "dtype": "float32", "shape": ["batch", 1, 64, 64]}]
    assert graphs["encoder"]["outputs"] == [{"name": "z", "dtype": "float32", "shape": ["batch", 100]}]
    assert "encoder" not in json.loads((tiny_bundle / "manifest.json").read_text())["graphs"]
    assert OrtEngine(load_bundle(tiny_encoder_bundle), threads=1).has_encoder
    assert not OrtEngine(load_bundle(tiny_bundle), threads=1).has_encoder


@pytest.mark.parametrize("batch", [1, 7])
def test_exported_encoder_matches_torch(tiny_encoder_bundle, tiny_encoder_weights, batch):
    ort_e = OrtEngine(load_bundle(tiny_encoder_bundle), threads=1)
    ref = TorchEngine.from_weights(tiny_encoder_weights)
    masked, known = _inputs(batch, batch)
    assert _rel(ort_e.encode(masked, known), ref.encode(masked, known)) <= PARITY


def test_shipped_encoder_matches_torch_and_stays_in_the_box(shared_data):
    """The shipped bundle's encoder against the shipped weights in torch, on real val images with
    the evaluation's masks (and on inputs scaled far out of range): z in [-1, 1]^100."""
    from inpaint.eval.harness import pick_images
    from inpaint.weights import shipped_bundle
    ort_e = OrtEngine(load_bundle(shipped_bundle()), threads=1)
    ref = TorchEngine.from_weights(shipped_bundle())
    assert ort_e.has_encoder and ref.has_encoder
    _, images = pick_images(str(shared_data / "celeba64" / "val.zip"), 16, 64, seed=3)
    y = images.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1
    known = np.stack([make_mask(("center", "pattern")[i % 2], 64, i) for i in range(16)])[:, None]
    z = ort_e.encode(y * known, known)
    assert z.shape == (16, 100)
    assert _rel(z, ref.encode(y * known, known)) <= PARITY
    wild, wild_known = _inputs(8, 0, scale=1e4)
    for v in (z, ort_e.encode(wild, wild_known), ref.encode(wild, wild_known)):
        assert np.all(v >= -1) and np.all(v <= 1)
    assert np.mean(np.abs(z) >= 0.999) < 0.1   # real images seldom saturate it (measured: 2%)
    assert np.abs(ref.encode(wild, wild_known)).max() > 0.99   # wild ones do, and still stay inside
