"""GL's graph in a bundle: exported from a GL run, equal to torch, run by every runtime path."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from inpaint.errors import InpaintError
from inpaint.export.gl_graph import add_gl, example_inputs, fp16_rounded, load_gl_module
from inpaint.runtime.bundle import load_bundle
from inpaint.train.gl import GLInpainter
from inpaint.train.gl_loop import GLSettings, load_gl, train_gl


@pytest.fixture(scope="module")
def gl_checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("gl") / "run"
    train_gl(GLSettings(out=str(out), dry_run=True, batch_size=8, width=8, tc_steps=2, td_steps=1,
                        max_steps=5), progress=False, log=lambda *a: None)
    return out / "last.pt"


@pytest.fixture
def bundle(tiny_bundle, tmp_path):
    b = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, b)
    return b


def _ort(path, image, known):
    import onnxruntime as ort
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"image": image.numpy(), "known": known.numpy()})[0]


def test_graph_matches_torch_and_holds_the_weights_once_in_fp16_but_its_biases(gl_checkpoint, bundle):
    entry = add_gl(gl_checkpoint, bundle, log=lambda m: None)
    b = load_bundle(bundle)                                   # hashes verified, GL's included
    path = b.graph_path("gl")
    reference = GLInpainter(fp16_rounded(load_gl(gl_checkpoint)))
    image, known = example_inputs(6, seed=5)
    with torch.no_grad():
        want = reference(image, known).numpy()
    got = _ort(path, image, known)
    assert np.abs(got - want).max() / np.abs(want).max() <= 1e-5
    assert entry["relative_error_vs_torch"] <= 1e-5 and entry["width"] == 8 and entry["weights"] == "fp16"
    # the module rebuilt from the graph's own initializers is the fp16-rounded network
    rebuilt = load_gl_module(path).state_dict()
    for k, v in reference.state_dict().items():
        if v.is_floating_point():
            assert torch.equal(rebuilt[k], v), k
    import onnx

    from inpaint.export.fold import unfolded_operands
    model = onnx.load(str(path))
    biases = {n.input[2] for n in model.graph.node if n.op_type in ("Conv", "ConvTranspose") and len(n.input) > 2}
    assert biases and {i.name for i in model.graph.initializer if i.data_type == onnx.TensorProto.FLOAT} <= biases
    assert any(i.data_type == onnx.TensorProto.FLOAT16 for i in model.graph.initializer)
    assert unfolded_operands(model) == []          # what TensorRT's parser needs as initializers is one
    # known pixels pass through unchanged
    k = known.numpy().astype(bool).repeat(3, 1)
    assert np.array_equal(got[k], image.numpy()[k])
    assert b.manifest["graphs"]["gl"]["external"] == [] and b.flops("gl") > 0


def test_exporting_again_replaces_the_graph_and_leaves_no_other_file(gl_checkpoint, bundle):
    add_gl(gl_checkpoint, bundle, log=lambda m: None)
    first = set(p.name for p in bundle.iterdir())
    add_gl(gl_checkpoint, bundle, log=lambda m: None)
    assert set(p.name for p in bundle.iterdir()) == first
    load_bundle(bundle)


def test_export_cli_adds_gl_and_refuses_a_checkpoint_without_it(gl_checkpoint, bundle, tiny_weights):
    from inpaint.cli.export import main
    before = (bundle / "manifest.json").read_bytes()
    r = CliRunner().invoke(main, [str(bundle), "--gl", str(tiny_weights)])
    assert r.exit_code == 2 and "inpaint-train --gl" in r.stderr
    assert (bundle / "manifest.json").read_bytes() == before
    assert not [p for p in bundle.iterdir() if p.name.startswith(("gl", ".tmp"))]
    r = CliRunner().invoke(main, [str(bundle), "--gl", str(gl_checkpoint)])
    assert r.exit_code == 0, r.output
    assert "gl" in json.loads((bundle / "manifest.json").read_text())["graphs"]


def test_inpainter_fills_only_the_hole_and_the_runtimes_agree(gl_checkpoint, bundle):
    from inpaint.imageio import Picture
    from inpaint.inpainters import torch_inpainter
    from inpaint.runtime.complete import Inpainter
    add_gl(gl_checkpoint, bundle, log=lambda m: None)
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    hole = np.zeros((64, 64), bool)
    hole[20:44, 16:40] = True
    outs = {}
    for name, inpainter in (("ort", Inpainter.from_bundle(bundle)), ("torch", torch_inpainter(bundle))):
        (c,) = inpainter.complete_gl([Picture(pixels, None, "RGB")], [hole], framing="whole")
        assert np.array_equal(c.picture.pixels[~hole], pixels[~hole])
        assert c.report["method"] == "gl" and c.z.size == 0
        outs[name] = c.picture.pixels.astype(int)
    assert np.abs(outs["ort"] - outs["torch"]).max() <= 1


def test_a_bundle_without_gl_says_how_to_add_it(tiny_bundle):
    from inpaint.imageio import Picture
    from inpaint.runtime.complete import Inpainter
    with pytest.raises(InpaintError, match="inpaint-export BUNDLE --gl"):
        Inpainter.from_bundle(tiny_bundle).complete_gl([Picture(np.zeros((64, 64, 3), np.uint8), None, "RGB")],
                                                       [np.ones((64, 64), bool)], framing="whole")


def test_rt_cli_method_gl(gl_checkpoint, bundle, tmp_path):
    from PIL import Image

    from inpaint.cli.rt import main
    add_gl(gl_checkpoint, bundle, log=lambda m: None)
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(tmp_path / "im.png")
    mask = np.zeros((64, 64), np.uint8)
    mask[10:30, 10:30] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    args = ["complete", str(tmp_path / "im.png"), str(tmp_path / "mask.png"), "--bundle", str(bundle),
            "--method", "gl", "--framing", "whole"]
    r = CliRunner().invoke(main, [*args, "-o", str(tmp_path / "a.png"), "--iterations", "5"])
    assert r.exit_code == 2 and "--iterations" in r.output and not (tmp_path / "a.png").exists()
    r = CliRunner().invoke(main, [*args, "-o", str(tmp_path / "b.png"), "--report", str(tmp_path / "r.json")])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "r.json").read_text())["method"] == "gl"
    assert Image.open(tmp_path / "b.png").size == (64, 64)


def test_a_new_export_of_the_model_keeps_the_bundles_gl_graph(gl_checkpoint, bundle, tiny_weights):
    from inpaint.export.bundle import write_bundle
    from inpaint.export.gl_graph import gl_kept
    add_gl(gl_checkpoint, bundle, log=lambda m: None)
    before = load_bundle(bundle).manifest
    image, known = example_inputs(2, seed=3)
    want = _ort(load_bundle(bundle).graph_path("gl"), image, known)
    with gl_kept(bundle):
        write_bundle(tiny_weights, bundle, force=True, log=lambda m: None)
    after = load_bundle(bundle)                                   # every hash verified, GL's included
    assert after.manifest["graphs"]["gl"] == before["graphs"]["gl"] and after.manifest["gl"] == before["gl"]
    np.testing.assert_array_equal(_ort(after.graph_path("gl"), image, known), want)
    assert sorted(p.name for p in bundle.iterdir()) == sorted(
        {"manifest.json", *(g["file"] for g in after.manifest["graphs"].values()), after.manifest["weights"].get(
            "stored", after.manifest["weights"])["file"]})
    # a bundle without GL is exported as before
    plain = bundle.parent / "plain"
    with gl_kept(plain):
        write_bundle(tiny_weights, plain, log=lambda m: None)
    assert "gl" not in load_bundle(plain).manifest["graphs"]
