"""Export a bundle of the tiny model, then check it against torch and against damage."""
import json
import os
import shutil

import numpy as np
import pytest

from inpaint.errors import OutputError
from inpaint.masks import make_mask
from inpaint.runtime.bundle import BUNDLE_FORMAT, BundleError, load_bundle
from inpaint.runtime.engines.ort import OrtEngine
from inpaint.runtime.optimise import initial_z
from inpaint.runtime.problem import make_problem
from inpaint.torch_engines.eager import TorchEngine


@pytest.fixture(scope="module")
def bundle_dir(tiny_bundle):
    return tiny_bundle


def _rel(a, b):
    return float(np.linalg.norm(np.asarray(a, np.float64) - b) / max(np.linalg.norm(b), 1e-30))


def test_manifest_describes_graphs_and_weights_are_stored_once(bundle_dir, tiny_weights):
    m = json.loads((bundle_dir / "manifest.json").read_text())
    assert m["format"] == BUNDLE_FORMAT and m["spec"]["resolution"] == 64
    assert set(m["graphs"]) == {"generator", "generator_vjp", "generator_bn", "generator_bn_vjp", "critic_joint",
                                "critic_joint_consistency", "critic_global", "features"}
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
        external = {i.name: {e.key: e.value for e in i.external_data} for i in model.graph.initializer
                    if i.data_location == onnx.TensorProto.EXTERNAL}
        assert {t["name"]: str(t["offset"]) for t in g["external"]} == {n: e["offset"] for n, e in external.items()}
    assert "stored" not in m["weights"]     # random fp32 weights: not exact in fp16, so kept in fp32


def test_torch_reads_a_bundle_as_the_weights_file_it_was_exported_from(bundle_dir, tiny_weights):
    import torch

    from inpaint.train import checkpoint
    ours, source = checkpoint.load(bundle_dir, checkpoint.WEIGHTS_KIND), checkpoint.load(tiny_weights)
    assert ours["spec"] == source["spec"] and ours["step"] == source["step"] and "E" not in ours
    for part in ("G", "D"):
        assert ours[part].keys() == source[part].keys()
        for k, v in source[part].items():
            assert ours[part][k].dtype == v.dtype and torch.equal(ours[part][k], v), (part, k)


@pytest.fixture(scope="module")
def half_stored(tiny_weights, tmp_path_factory):
    """The tiny model shipped as fp16 weights (as the shipped model is) and exported as fp32 graphs."""
    import torch

    from inpaint.export.bundle import write_bundle
    from inpaint.train import checkpoint
    root = tmp_path_factory.mktemp("half")
    payload = checkpoint.load(tiny_weights)
    checkpoint.save(root / "tiny16.pt", checkpoint.to_weights({**payload, "spec": payload["spec"]}, torch.float16))
    lines = []
    write_bundle(root / "tiny16.pt", root / "bundle", log=lines.append)
    return root / "tiny16.pt", root / "bundle", lines


def test_fp16_weights_ship_in_fp16_and_widen_exactly_to_the_fp32_graphs(half_stored):
    import hashlib

    import onnx
    weights, root, lines = half_stored
    m = json.loads((root / "manifest.json").read_text())
    assert m["precision"] == "fp32" and m["weights"]["stored"]["dtype"] == "float16"
    assert sorted(p.name for p in root.glob("*.bin")) == ["weights.fp16.bin"]
    assert any(line.startswith("weights stored in fp16") for line in lines)
    bundle = load_bundle(root)
    assert hashlib.sha256(bundle.weights().tobytes()).hexdigest() == m["weights"]["sha256"]
    assert 2 * (root / "weights.fp16.bin").stat().st_size == bundle.weights().nbytes
    model = onnx.load(root / "generator.onnx", load_external_data=False)
    assert {i.data_type for i in model.graph.initializer} == {onnx.TensorProto.FLOAT}   # fp32 arithmetic


@pytest.mark.parametrize("prior, lam, mu", [("joint", 0.003, 0.1), ("global", 1.0, 0.0)])
def test_ort_engine_on_fp16_stored_weights_matches_torch(half_stored, prior, lam, mu):
    weights, root, _ = half_stored
    for ref in (TorchEngine.from_weights(weights), TorchEngine.from_weights(root)):
        assert_engines_agree(OrtEngine(load_bundle(root), threads=1), ref, 5, 3, prior, lam, mu)


def test_flipped_byte_in_the_fp16_weights_is_caught(half_stored, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(half_stored[1], bad)
    data = bytearray((bad / "weights.fp16.bin").read_bytes())
    data[len(data) // 3] ^= 0x01
    (bad / "weights.fp16.bin").write_bytes(bytes(data))
    with pytest.raises(BundleError, match="weights.fp16.bin does not match its sha256"):
        load_bundle(bad)


def test_a_bundle_without_torch_weights_says_what_to_use(bundle_dir, tmp_path):
    from inpaint.errors import CheckpointError
    from inpaint.train.checkpoint import load_models
    old = tmp_path / "old"
    shutil.copytree(bundle_dir, old)
    m = json.loads((old / "manifest.json").read_text())
    m["format"] = 1
    del m["model"]
    (old / "manifest.json").write_text(json.dumps(m))
    assert load_bundle(old).spec.resolution == 64      # format 1 still runs on the graph runtimes
    with pytest.raises(CheckpointError, match="holds no torch weights.*checkpoint it was exported from"):
        load_models(old)


@pytest.mark.parametrize("batch", [1, 16])
@pytest.mark.parametrize("prior, lam, mu", [("joint", 0.003, 0.1), ("joint", 1.0, 0.0), ("global", 1.0, 0.0),
                                            ("joint", 0.0, 1.0)])
def test_ort_engine_matches_torch_engine(bundle_dir, tiny_weights, batch, prior, lam, mu):
    assert_engines_agree(OrtEngine(load_bundle(bundle_dir), threads=1), TorchEngine.from_weights(tiny_weights),
                         batch, batch, prior, lam, mu)


def assert_engines_agree(ort_e, ref, batch: int, seed: int, prior: str, lam: float, mu: float) -> None:
    """Every graph the search runs (G, the critic with its losses and gradient, G's VJP) on ONNX
    Runtime against the torch engine, within 1e-5 relative."""
    z = initial_z(batch, 100, seed)
    y = np.random.default_rng(seed).uniform(-1, 1, (batch, 3, 64, 64)).astype(np.float32)
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


@pytest.fixture(scope="module")
def fp16_bundle(tmp_path_factory):
    """The shipped model as fp16 graphs (the tiny random model's critic features hardly depend on
    its input, so its consistency loss is too small to measure in half precision)."""
    from inpaint.export.bundle import write_bundle
    from inpaint.weights import shipped_bundle
    lines = []
    out = tmp_path_factory.mktemp("fp16") / "celeba64-fp16"
    write_bundle(shipped_bundle(), out, fp16=True, log=lines.append)
    return out, lines


def test_fp16_bundle_has_half_weights_fp32_io_and_reports_its_error(fp16_bundle):
    import onnx
    out, lines = fp16_bundle
    m = json.loads((out / "manifest.json").read_text())
    assert m["precision"] == "fp16" and set(m["fp16_error"]) == set(m["graphs"])
    for name, g in m["graphs"].items():
        assert all(io["dtype"] in ("float32", "int64") for io in g["inputs"] + g["outputs"])
        model = onnx.load(out / g["file"], load_external_data=False)
        floats = [i for i in model.graph.initializer if i.data_type in (onnx.TensorProto.FLOAT,
                                                                       onnx.TensorProto.FLOAT16)]
        big = [i for i in floats if np.prod(i.dims) > 16]
        assert big and all(i.data_type == onnx.TensorProto.FLOAT16 for i in big), name
        assert 0 < max(m["fp16_error"][name].values()) < 1e-2, name
        assert any(line.startswith(f"fp16 error {name} ") for line in lines)
    from inpaint.weights import shipped_bundle
    assert (out / "weights.bin").stat().st_size < 0.6 * load_bundle(shipped_bundle()).weights().nbytes


FP16_TOLERANCE = 2e-2   # norm-wise relative error of any fp16 graph output against fp32 torch


@pytest.mark.parametrize("prior, lam, mu", [("joint", 0.003, 0.1), ("joint", 0.0, 1.0)])
def test_fp16_graphs_stay_close_to_fp32_autograd(fp16_bundle, prior, lam, mu):
    """Each graph fed the same inputs as torch, except that the VJP uses the fp16 generator's own
    saved activations (as the runtime does): the ReLU masks and tanh derivative differ slightly."""
    from inpaint.weights import shipped_bundle
    half, ref = OrtEngine(load_bundle(fp16_bundle[0]), threads=1), TorchEngine.from_weights(shipped_bundle())
    z = initial_z(4, 100, 7)
    y = np.random.default_rng(7).uniform(-1, 1, (4, 3, 64, 64)).astype(np.float32)
    p = make_problem(y, np.stack([make_mask("center", 64, i) for i in range(4)]), 32)
    x16, x32 = half.generator(z), ref.generator(z)
    assert _rel(x16, x32) < FP16_TOLERANCE
    t16, t32 = half.target_features(p.y * p.known, p.box), ref.target_features(p.y * p.known, p.box)
    out16 = half.critic(x32, p.known, p.box, t16, prior, lam, mu)
    out32 = ref.critic(x32, p.known, p.box, t32, prior, lam, mu)
    for a, b in zip(out16, out32):
        if np.abs(b).max() > 0:
            assert _rel(a, b) < FP16_TOLERANCE
    assert _rel(half.generator_vjp(out32[2]), ref.generator_vjp(out32[2])) < FP16_TOLERANCE


def test_sessions_stop_spinning_after_each_run_and_give_the_same_result_on_any_pool(bundle_dir):
    z = initial_z(3, 100, 0)
    one, two = OrtEngine(load_bundle(bundle_dir), threads=1), OrtEngine(load_bundle(bundle_dir), threads=2)
    np.testing.assert_allclose(one.generator(z), two.generator(z), atol=1e-5)
    options = two.session("generator").get_session_options()
    assert options.intra_op_num_threads == 2
    assert options.get_session_config_entry("session.force_spinning_stop") == "1"
    assert OrtEngine(load_bundle(bundle_dir)).threads == len(os.sched_getaffinity(0))


@pytest.mark.parametrize("search", ["z", "z+bn"])
def test_io_binding_keeps_the_activations_in_ort_values_and_changes_no_result(bundle_dir, search):
    import onnxruntime as ort

    from inpaint.runtime.ops import CpuOps
    from inpaint.runtime.optimise import optimise
    from inpaint.spec import InpaintSettings
    plain = OrtEngine(load_bundle(bundle_dir), threads=1)
    bound = OrtEngine(load_bundle(bundle_dir), threads=1, io_binding=True)
    assert not plain.io_binding and bound.device == "cpu"
    y = np.random.default_rng(5).uniform(-1, 1, (3, 3, 64, 64)).astype(np.float32)
    p = make_problem(y, np.stack([make_mask("pattern", 64, i) for i in range(3)]), 32)
    settings = InpaintSettings(iterations=6, restarts=1, patience=100, search=search)
    a, b = (optimise(e, CpuOps(), p, settings) for e in (plain, bound))
    np.testing.assert_array_equal(a.z, b.z)
    np.testing.assert_array_equal(a.loss, b.loss)
    the_input = "z" if search == "z" else "v"             # the one value kept on the host
    kept = [v for k, v in bound._kept.items() if k != the_input]
    assert len(kept) > 1 and all(isinstance(v, ort.OrtValue) for v in kept)
    assert all(isinstance(v, np.ndarray) for v in plain._kept.values())
