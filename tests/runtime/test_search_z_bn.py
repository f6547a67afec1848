"""Search z+bn in the host loop: z and a bounded per-image modulation of G's batch norms."""
from pathlib import Path

import numpy as np
import pytest

from inpaint.errors import InpaintError
from inpaint.imageio import read_image
from inpaint.masks import make_mask
from inpaint.runtime.bundle import load_bundle
from inpaint.runtime.complete import Inpainter
from inpaint.runtime.engines.ort import OrtEngine
from inpaint.runtime.ops import CpuOps
from inpaint.runtime.optimise import optimise, search_start
from inpaint.runtime.problem import make_problem
from inpaint.spec import InpaintSettings, search_size
from inpaint.torch_engines.eager import TorchEngine

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _problem(n=3, seed=0):
    y = np.random.default_rng(seed).uniform(-1, 1, (n, 3, 64, 64)).astype(np.float32)
    return make_problem(y, np.stack([make_mask(("center", "pattern")[i % 2], 64, i) for i in range(n)]), 32)


def test_the_start_is_z_with_no_modulation():
    from inpaint.spec import ModelSpec
    spec, z = ModelSpec(), np.random.default_rng(0).uniform(-1, 1, (2, 100)).astype(np.float32)
    v = search_start(z, spec, "z+bn")
    assert v.shape == (2, 2020) and v.dtype == np.float32 and np.array_equal(v[:, :100], z) and not v[:, 100:].any()
    assert np.array_equal(search_start(z, spec, "z"), z) and search_start(z, spec, "z") is not z
    assert np.array_equal(search_start(v, spec, "z+bn"), v)        # a whole v is taken as it is
    with pytest.raises(ValueError, match="columns for search z"):
        search_start(v, spec, "z")


def test_the_first_iterate_is_search_zs_exactly(tiny_bundle):
    """u = 0 at the start: the first iteration's image and losses are search z's, bit for bit,
    and the loop's variable holds v, its modulation still 0 there."""
    engine, p = OrtEngine(load_bundle(tiny_bundle), threads=1), _problem()
    z, bn = (optimise(engine, CpuOps(), p, InpaintSettings(iterations=1, search=s)) for s in ("z", "z+bn"))
    assert np.array_equal(z.x, bn.x) and np.array_equal(z.loss, bn.loss)
    assert bn.z.shape == (3, search_size(engine.spec, "z+bn")) and np.array_equal(bn.z[:, :100], z.z)
    assert not bn.z[:, 100:].any()


def test_the_modulation_moves_within_its_bounds(tiny_weights):
    engine = TorchEngine.from_weights(tiny_weights)
    done = optimise(engine, CpuOps(), _problem(2), InpaintSettings(iterations=40, lr=0.2, patience=100,
                                                                   search="z+bn"))
    u = done.z[:, engine.spec.z_dim:]
    assert np.abs(u).max() == 1.0 and np.abs(u).mean() > 0.05      # clipped to [-1, 1], and used


def test_fills_agree_across_engines(tiny_encoder_bundle, tiny_encoder_weights):
    """ONNX Runtime on the bundle and torch on the weights: the same search z+bn from the
    encoder's start, to rounding."""
    settings = InpaintSettings(iterations=8, restarts=2, search="z+bn")
    picture = read_image(EXAMPLES / "astronaut64.png")
    hole = make_mask("center", 64, 0) < 0.5
    engines = (OrtEngine(load_bundle(tiny_encoder_bundle), threads=1), TorchEngine.from_weights(tiny_encoder_weights))
    a, b = (Inpainter(e, settings=settings).complete(picture, hole, framing="whole") for e in engines)
    assert a.z.shape == (search_size(engines[0].spec, "z+bn"),)
    assert np.allclose(a.z, b.z, atol=1e-4)
    assert np.abs(a.raw.astype(int) - b.raw.astype(int)).max() <= 1
    assert a.report["loss"] == pytest.approx(b.report["loss"], rel=1e-4)


def test_z_bn_lowers_the_objective_search_z_reaches():
    """The shipped model, its default search from the encoder (30 steps): on a face with a
    center and a pattern hole, z+bn ends at a lower loss than z alone (measured: 58 -> 40 and
    116 -> 72)."""
    picture = read_image(EXAMPLES / "astronaut64.png")
    loss = {}
    for search in ("z", "z+bn"):
        inpainter = Inpainter.from_bundle(settings=InpaintSettings(search=search), threads=1)
        done = inpainter.complete_many([picture] * 2, [make_mask(k, 64, 0) < 0.5 for k in ("center", "pattern")],
                                       framing="whole")
        loss[search] = np.array([c.report["loss"] for c in done])
        assert all(c.report["iterations"] == inpainter.settings.iterations for c in done)
    assert np.all(loss["z+bn"] < 0.85 * loss["z"]), loss


class _ZAloneEngine:
    """An engine without check_search: the Engine protocol has it run search z alone."""
    name, has_encoder = "custom", False


def test_an_engine_without_the_search_refuses_it_naming_the_backends_that_run_it():
    Inpainter(_ZAloneEngine(), settings=InpaintSettings(search="z"))
    with pytest.raises(InpaintError, match="the custom backend searches z alone; for search z\\+bn use "
                                           "--backend ort, trt, torch, gpu or gpu-trt"):
        Inpainter(_ZAloneEngine(), settings=InpaintSettings(search="z+bn"))


def test_the_default_searches_z_bn_where_the_model_runs_it_and_z_elsewhere(tiny_bundle, tmp_path):
    """search "auto" (the default): z+bn on a bundle with its graphs, z on an engine or a bundle
    (exported before z+bn existed) without them."""
    import json
    import shutil

    assert InpaintSettings().search == "auto"
    assert Inpainter(OrtEngine(load_bundle(tiny_bundle))).settings.search == "z+bn"
    assert Inpainter(_ZAloneEngine()).settings.search == "z"
    old = tmp_path / "old"
    shutil.copytree(tiny_bundle, old)
    manifest = json.loads((old / "manifest.json").read_text())
    for name in ("generator_bn", "generator_bn_vjp"):
        (old / manifest["graphs"].pop(name)["file"]).unlink()
    (old / "manifest.json").write_text(json.dumps(manifest))
    engine = OrtEngine(load_bundle(old), threads=1)
    assert Inpainter(engine).settings.search == "z"
    done = optimise(engine, CpuOps(), _problem(1), InpaintSettings(iterations=2))   # the loop resolves auto too
    assert done.z.shape == (1, engine.spec.z_dim)
    bn = optimise(OrtEngine(load_bundle(tiny_bundle), threads=1), CpuOps(), _problem(1), InpaintSettings(iterations=2))
    assert bn.z.shape == (1, search_size(engine.spec, "z+bn"))
