"""Export a bundle of the tiny model, then check it against torch and against damage."""
import json
import shutil

import numpy as np
import pytest

from inpaint.errors import OutputError
from inpaint.masks import make_mask
from inpaint.runtime.bundle import BUNDLE_FORMAT, BundleError, load_bundle
from inpaint.runtime.engines.ort import OrtEngine
from inpaint.runtime.engines.torch import TorchEngine
from inpaint.runtime.optimise import initial_z
from inpaint.runtime.problem import make_problem


@pytest.fixture(scope="module")
def bundle_dir(tiny_bundle):
    return tiny_bundle


def _rel(a, b):
    return float(np.linalg.norm(np.asarray(a, np.float64) - b) / max(np.linalg.norm(b), 1e-30))


def test_manifest_describes_graphs_and_weights_are_stored_once(bundle_dir, tiny_weights):
    m = json.loads((bundle_dir / "manifest.json").read_text())
    assert m["format"] == BUNDLE_FORMAT and m["spec"]["resolution"] == 64
    assert set(m["graphs"]) == {"generator", "generator_vjp", "critic_joint", "critic_joint_consistency",
                                "critic_global", "features"}
    gen = m["graphs"]["generator"]
    assert gen["inputs"] == [{"name": "z", "dtype": "float32", "shape": ["batch", 100]}]
    assert gen["outputs"][0] == {"name": "x", "dtype": "float32", "shape": ["batch", 3, 64, 64]}
    import onnx
    import torch
    state = torch.load(tiny_weights, weights_only=True)
    n_values = sum(v.numel() for part in ("G", "D") for v in state[part].values())
    weights_bytes = (bundle_dir / "weights.bin").stat().st_size
    assert weights_bytes < 1.15 * 4 * n_values        # each weight once (plus alignment and small folds)
    for g in m["graphs"].values():
        model = onnx.load(bundle_dir / g["file"], load_external_data=False)
        assert all(len(i.raw_data) < 1024 for i in model.graph.initializer)   # large ones are external


@pytest.mark.parametrize("batch", [1, 16])
@pytest.mark.parametrize("prior, lam, mu", [("joint", 0.003, 0.1), ("joint", 1.0, 0.0), ("global", 1.0, 0.0),
                                            ("joint", 0.0, 1.0)])
def test_ort_engine_matches_torch_engine(bundle_dir, tiny_weights, batch, prior, lam, mu):
    ort_e, ref = OrtEngine(load_bundle(bundle_dir), threads=1), TorchEngine.from_weights(tiny_weights)
    z = initial_z(batch, 100, batch)
    y = np.random.default_rng(batch).uniform(-1, 1, (batch, 3, 64, 64)).astype(np.float32)
    p = make_problem(y, np.stack([make_mask("pattern", 64, i) for i in range(batch)]), 32)
    outs = []
    for e in (ort_e, ref):
        x = e.generator(z)
        t = e.target_features(p.y * p.known, p.box) if mu else None
        lp, lf, g_x = e.critic(x, p.known, p.box, t, prior, lam, mu)
        outs.append((x, lp, lf, g_x, e.generator_vjp(g_x)))
    for a, b in zip(*outs):
        b = b.numpy() if hasattr(b, "numpy") else b
        if np.abs(b).max() > 0:
            assert _rel(a, b) < 1e-5


def test_flipped_byte_is_caught(bundle_dir, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(bundle_dir, bad)
    data = bytearray((bad / "weights.bin").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (bad / "weights.bin").write_bytes(bytes(data))
    with pytest.raises(BundleError, match="sha256"):
        load_bundle(bad)


def test_missing_graph_is_caught(bundle_dir, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(bundle_dir, bad)
    (bad / "critic_global.onnx").unlink()
    with pytest.raises(BundleError, match="missing critic_global.onnx"):
        load_bundle(bad)


def test_other_format_version_is_caught(bundle_dir, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(bundle_dir, bad)
    m = json.loads((bad / "manifest.json").read_text())
    m["format"] = BUNDLE_FORMAT + 1
    (bad / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(BundleError, match="format"):
        load_bundle(bad)


def test_not_a_bundle(tmp_path):
    with pytest.raises(BundleError, match="not a bundle"):
        load_bundle(tmp_path)


def test_existing_bundle_is_not_replaced_without_force(bundle_dir, tiny_weights):
    from inpaint.export.bundle import write_bundle
    before = (bundle_dir / "manifest.json").read_bytes()
    with pytest.raises(OutputError, match="--force"):
        write_bundle(tiny_weights, bundle_dir, log=lambda m: None)
    assert (bundle_dir / "manifest.json").read_bytes() == before
