"""Search z+bn's graphs (generator_bn, generator_bn_vjp) against torch autograd, and adding them
to a bundle exported before them."""
import json
import shutil

import numpy as np
import pytest
import torch

from inpaint.errors import InpaintError
from inpaint.export.graphs import GeneratorBNGraph, GeneratorBNVJPGraph
from inpaint.runtime.bundle import load_bundle
from inpaint.runtime.complete import Inpainter
from inpaint.runtime.engines.ort import OrtEngine
from inpaint.runtime.optimise import initial_z, search_start
from inpaint.spec import InpaintSettings, search_size
from inpaint.torch_engines.eager import TorchEngine

BN_GRAPHS = ("generator_bn", "generator_bn_vjp")


@pytest.fixture(scope="module")
def torch_engine(tiny_weights):
    return TorchEngine.from_weights(tiny_weights)


def _rel(a, b):
    return float(np.linalg.norm(np.asarray(a, np.float64) - b) / max(np.linalg.norm(b), 1e-30))


def _v(spec, batch, seed):
    """z and a modulation of every channel, all in [-1, 1]."""
    return np.random.default_rng(seed).uniform(-1, 1, (batch, search_size(spec, "z+bn"))).astype(np.float32)


def _g_x(batch, seed):
    return np.random.default_rng(seed).normal(size=(batch, 3, 64, 64)).astype(np.float32)


@pytest.mark.parametrize("batch", [1, 16])
def test_the_modules_match_autograd(torch_engine, batch):
    v, g_x = _v(torch_engine.spec, batch, batch), _g_x(batch, batch)
    x_ref = torch_engine.generator(v)
    gv_ref = torch_engine.generator_vjp(g_x)
    assert gv_ref.shape == v.shape
    with torch.no_grad():
        x, *kept = GeneratorBNGraph(torch_engine.g)(torch.from_numpy(v))
        g_v = GeneratorBNVJPGraph(torch_engine.g)(*kept, torch.from_numpy(v), x, torch.from_numpy(g_x))
    assert _rel(x.numpy(), x_ref) < 1e-6
    z_dim = torch_engine.spec.z_dim
    for part in (slice(0, z_dim), slice(z_dim, None)):      # z's gradient and the modulation's, each
        assert _rel(g_v.numpy()[:, part], gv_ref[:, part]) <= 1e-5


@pytest.mark.parametrize("batch", [1, 16])
def test_onnx_runtime_matches_autograd(tiny_bundle, torch_engine, batch):
    """The exported graphs, fp32, on ONNX Runtime: x and g_v within 1e-5 relative of torch."""
    engine = OrtEngine(load_bundle(tiny_bundle), threads=1)
    v, g_x = _v(engine.spec, batch, 10 + batch), _g_x(batch, 10 + batch)
    x, x_ref = engine.generator(v), torch_engine.generator(v)
    assert _rel(x, x_ref) <= 1e-5
    g_v, gv_ref = engine.generator_vjp(g_x), torch_engine.generator_vjp(g_x)
    z_dim = engine.spec.z_dim
    for part in (slice(0, z_dim), slice(z_dim, None)):
        assert _rel(g_v[:, part], gv_ref[:, part]) <= 1e-5


def test_no_modulation_draws_what_search_z_draws_exactly(tiny_bundle, torch_engine):
    """v = [z, 0]: the same image as z, bit for bit, on ONNX Runtime and on torch; the first
    Adam step's gradient with respect to z is search z's too (to rounding)."""
    z = initial_z(3, torch_engine.spec.z_dim, 4)
    v = search_start(z, torch_engine.spec, "z+bn")
    assert v.shape == (3, search_size(torch_engine.spec, "z+bn")) and not v[:, 100:].any()
    g_x = _g_x(3, 4)
    for engine in (OrtEngine(load_bundle(tiny_bundle), threads=1), torch_engine):
        x_bn = engine.generator(v)
        g_v = engine.generator_vjp(g_x)
        x = engine.generator(z)
        assert np.array_equal(x_bn, x), engine.name
        assert _rel(g_v[:, :100], engine.generator_vjp(g_x)) < 1e-6


def test_the_manifest_lists_the_graphs_with_their_signatures(tiny_bundle):
    m = json.loads((tiny_bundle / "manifest.json").read_text())
    width = search_size(load_bundle(tiny_bundle).spec, "z+bn")
    assert m["graphs"]["generator_bn"]["inputs"] == [{"name": "v", "dtype": "float32", "shape": ["batch", width]}]
    assert [o["name"] for o in m["graphs"]["generator_bn"]["outputs"]][-4:] == ["norm0", "norm1", "norm2", "norm3"]
    assert m["graphs"]["generator_bn_vjp"]["outputs"] == [{"name": "g_v", "dtype": "float32",
                                                           "shape": ["batch", width]}]


def _old_bundle(tiny_bundle, path):
    """tiny_bundle as an inpaint before search z+bn wrote it: without the graphs."""
    shutil.copytree(tiny_bundle, path)
    m = json.loads((path / "manifest.json").read_text())
    for name in BN_GRAPHS:
        (path / m["graphs"].pop(name)["file"]).unlink()
    (path / "manifest.json").write_text(json.dumps(m, indent=2))
    return path


def test_an_old_bundle_refuses_search_z_bn_naming_the_fix(tiny_bundle, tmp_path):
    old = _old_bundle(tiny_bundle, tmp_path / "old")
    engine = OrtEngine(load_bundle(old), threads=1)
    Inpainter(engine, settings=InpaintSettings(search="z"))                 # search z runs as before
    with pytest.raises(InpaintError, match="no graphs for search z\\+bn.*re-export it with inpaint-export"):
        Inpainter(engine, settings=InpaintSettings(search="z+bn"))


@pytest.fixture(scope="module")
def tiny_fp16_bundle(tiny_weights, tmp_path_factory):
    from inpaint.export.bundle import write_bundle
    out = tmp_path_factory.mktemp("bundle") / "tiny_fp16"
    write_bundle(tiny_weights, out, fp16=True, log=lambda m: None)
    return out


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_update_adds_the_graphs_leaving_every_other_file_as_it_was(precision, tiny_bundle, tiny_fp16_bundle,
                                                                   torch_engine, tmp_path):
    from inpaint.export.bundle_update import add_missing_graphs
    fresh = tiny_bundle if precision == "fp32" else tiny_fp16_bundle
    old = _old_bundle(fresh, tmp_path / "old")
    before = {p.name: p.read_bytes() for p in old.iterdir() if p.name != "manifest.json"}
    lines = []
    assert add_missing_graphs(old, log=lines.append) == list(BN_GRAPHS)
    assert {p.name: p.read_bytes() for p in old.iterdir() if p.name in before} == before
    m = json.loads((old / "manifest.json").read_text())
    new = json.loads((fresh / "manifest.json").read_text())
    for name in BN_GRAPHS:     # what a fresh export writes, weights at the same offsets
        assert (old / f"{name}.onnx").read_bytes() == (fresh / f"{name}.onnx").read_bytes()
        assert m["graphs"][name] == new["graphs"][name]
        if precision == "fp16":
            assert m["fp16_error"][name] == pytest.approx(new["fp16_error"][name])
    assert m["updates"][-1]["added"] == list(BN_GRAPHS)
    v = _v(torch_engine.spec, 2, 3)
    tolerance = 1e-5 if precision == "fp32" else 1e-2
    assert _rel(OrtEngine(load_bundle(old), threads=1).generator(v), torch_engine.generator(v)) <= tolerance
    assert add_missing_graphs(old, log=lines.append) == []


def test_the_cli_updates_a_bundle_in_place(tiny_bundle, tmp_path):
    from click.testing import CliRunner

    from inpaint.cli.export import main
    old = _old_bundle(tiny_bundle, tmp_path / "old")
    result = CliRunner().invoke(main, [str(old), "--update"])
    assert result.exit_code == 0, result.output
    assert set(BN_GRAPHS) <= set(load_bundle(old).manifest["graphs"])
    result = CliRunner().invoke(main, [str(tiny_bundle), "--update", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "--update adds graphs to a bundle in place" in result.output
