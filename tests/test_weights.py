"""The model that ships in the package."""
import hashlib
import subprocess

import numpy as np
import pytest
import torch
from PIL import Image

from inpaint.errors import CheckpointError
from inpaint.runtime.bundle import load_bundle
from inpaint.train import checkpoint
from inpaint.train.checkpoint import WEIGHTS_KIND
from inpaint.train.samples import sample_z, save_samples
from inpaint.weights import DEFAULT_MODEL, HERE, shipped_bundle

REPO = HERE.parents[2]
REPO_DOCS = REPO / "docs"
MODEL_FILES_MAX = 25_000_000     # bytes: every model file in the package together
MODEL_FILE_MAX = 20_000_000      # bytes: any one of them


def test_model_files_fit_the_budget():
    """The tracked model files (graphs, weights, manifests: everything under weights/ but Python)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--", str(HERE)], cwd=REPO, capture_output=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout: the budget is on the tracked files")
    files = [REPO / f for f in listed.stdout.decode().split("\0") if f and not f.endswith(".py")]
    sizes = {f.relative_to(HERE).as_posix(): f.stat().st_size for f in files}
    assert {"celeba64/weights.fp16.bin", "celeba64/generator.onnx", "framing.onnx"} <= set(sizes)
    assert sum(sizes.values()) <= MODEL_FILES_MAX, sizes
    assert max(sizes.values()) <= MODEL_FILE_MAX, sizes


def test_shipped_model_reads_as_an_fp16_weights_file_and_saves_as_one(tmp_path):
    """The bundle's weights file gives torch the fp16 state_dicts with the spec and the training
    facts; written out, they load with torch.load(weights_only=True)."""
    payload = checkpoint.load(shipped_bundle(), WEIGHTS_KIND)
    assert payload["spec"].resolution == 64 and payload["encoder"]["width"] == 32
    for part in ("G", "D", "E"):
        assert all(v.dtype == torch.float16 for v in payload[part].values() if v.is_floating_point())
    meta = payload["meta"]
    assert meta["steps"] == payload["step"] > 0 and meta["wall_time_s"] > 0 and meta["machine"]
    checkpoint.save(tmp_path / "w.pt", {**payload, "spec": payload["spec"].to_dict()})
    raw = torch.load(tmp_path / "w.pt", map_location="cpu", weights_only=True)
    assert raw["kind"] == WEIGHTS_KIND and torch.equal(raw["G"]["net.0.weight"], payload["G"]["net.0.weight"])


def test_shipped_weights_widen_to_the_fp32_file_the_graphs_were_exported_with():
    """fp16 on disk, fp32 in the graphs: widening gives that file back byte for byte, and each
    state_dict tensor is exactly the graphs' fp32 weight (the fp16 value, widened)."""
    bundle = load_bundle(shipped_bundle())
    assert bundle.weights_in_fp16 and not (bundle.root / "weights.bin").exists()
    data = bundle.weights()
    assert hashlib.sha256(data.tobytes()).hexdigest() == bundle.manifest["weights"]["sha256"]
    stored = bundle.root / bundle.manifest["weights"]["stored"]["file"]
    assert 2 * stored.stat().st_size == data.nbytes
    w = bundle.manifest["model"]["tensors"]["G"]["net.0.weight"]
    fp32 = np.frombuffer(data, np.float32, 100 * 512 * 16, w["offset"])
    assert np.array_equal(fp32, bundle.model_tensors()["G"]["net.0.weight"].astype(np.float32).ravel())


def test_unknown_shipped_model():
    with pytest.raises(CheckpointError, match=DEFAULT_MODEL):
        shipped_bundle("no-such-model")


def test_sample_sheet_is_what_the_shipped_weights_draw(tmp_path):
    """docs/samples_celeba64.png is regenerated exactly by scripts/ship_weights.py's recipe."""
    spec, g, _ = checkpoint.load_models(shipped_bundle())
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
    spec, g, _ = checkpoint.load_models(shipped_bundle())
    fake = g(sample_z(512, spec.z_dim, 1))
    real = _val_faces(shared_data, 512)
    corr = np.corrcoef(fake.mean(0).flatten().numpy(), real.mean(0).flatten().numpy())[0, 1]
    assert corr > 0.9                                   # measured: 0.97
    # and the samples vary like faces do, not collapsed to one image
    assert fake.std(0).mean() > 0.5 * real.std(0).mean()


@torch.no_grad()
def test_global_discriminator_prefers_real_faces_to_scrambled_ones(shared_data):
    """The prior knows face structure: swapping the top and bottom halves lowers the score."""
    _, _, d = checkpoint.load_models(shipped_bundle())
    real = _val_faces(shared_data, 256)
    scrambled = torch.cat([real[:, :, 32:], real[:, :, :32]], dim=2)
    s_real, s_scr = d.global_branch(real)[1], d.global_branch(scrambled)[1]
    assert (s_real > s_scr).float().mean() > 0.8     # measured: 0.94


def test_shipped_gl_graph_matches_torch_on_faces(shared_data):
    """GL's graph on ONNX Runtime against the torch module built from the same stored weights,
    on real faces with center and pattern holes: relative error within 1e-5."""
    import onnxruntime as ort

    from inpaint.export.gl_graph import load_gl_module
    from inpaint.masks import center_mask, pattern_mask
    bundle = load_bundle(shipped_bundle())
    path = bundle.graph_path("gl")
    faces = _val_faces(shared_data, 16)
    rng = np.random.default_rng(0)
    known = torch.from_numpy(np.stack([center_mask(64) if i % 2 else pattern_mask(64, rng)
                                       for i in range(16)])[:, None]).float()
    with torch.no_grad():
        want = load_gl_module(path)(faces, known).numpy()
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"image": faces.numpy(), "known": known.numpy()})[0]
    assert np.abs(got - want).max() / np.abs(want).max() <= 1e-5
    assert bundle.manifest["gl"]["relative_error_vs_torch"] <= 1e-5


def test_shipped_gl_fills_the_center_hole_better_than_telea(shared_data):
    """The trained completion network knows faces: on 32 held-out faces its center-hole PSNR
    beats OpenCV's Telea fill."""
    from inpaint.eval.baselines import BASELINES
    from inpaint.eval.metrics import psnr
    from inpaint.imageio import Picture
    from inpaint.masks import center_mask
    from inpaint.runtime.complete import Inpainter
    faces = ((_val_faces(shared_data, 32).numpy().transpose(0, 2, 3, 1) + 1) * 127.5).round().astype(np.uint8)
    hole = center_mask(64) < 0.5
    done = Inpainter.from_bundle().complete_gl([Picture(f, None, "RGB") for f in faces], [hole] * 32,
                                               framing="whole")
    gl = [psnr(c.picture.pixels / 255.0, f / 255.0, hole) for c, f in zip(done, faces)]
    telea = [psnr(BASELINES["telea"](f / 255.0, ~hole), f / 255.0, hole) for f in faces]
    assert np.mean(gl) > np.mean(telea) + 0.5, (np.mean(gl), np.mean(telea))
