"""Optimised graphs kept between processes: the same numbers, and nothing stale or broken used."""
import numpy as np
import pytest

from inpaint.masks import make_mask
from inpaint.runtime.bundle import load_bundle
from inpaint.runtime.engines import ort_cache
from inpaint.runtime.engines.ort import OrtEngine
from inpaint.runtime.optimise import initial_z
from inpaint.runtime.problem import make_problem
from inpaint.runtime.user_cache import CACHE_ENV

GRAPHS = ("generator", "generator_vjp", "features", "critic_joint_consistency")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache" / ort_cache.SUBDIR


def _outputs(engine):
    z = initial_z(2, 100, 0)
    y = np.random.default_rng(1).uniform(-1, 1, (2, 3, 64, 64)).astype(np.float32)
    p = make_problem(y, np.stack([make_mask("pattern", 64, i) for i in range(2)]), 32)
    x = engine.generator(z)
    t = engine.target_features(p.y * p.known, p.box)
    lp, lf, g = engine.critic(x, p.known, p.box, t, "joint", 0.5, 2.0)
    return [x, lp, lf, g, engine.generator_vjp(g)]


def test_the_cached_graphs_give_the_same_numbers(tiny_bundle, cache, monkeypatch):
    bundle = load_bundle(tiny_bundle)
    made = _outputs(OrtEngine(bundle, threads=1))
    assert len(list(cache.glob("*.onnx"))) == len(GRAPHS)
    assert not list(cache.glob(".*"))                       # no temp file left behind
    monkeypatch.setattr(OrtEngine, "_optimise", lambda *a: pytest.fail("optimised again despite the cache"))
    loaded = _outputs(OrtEngine(bundle, threads=1))
    monkeypatch.undo()
    monkeypatch.setenv(CACHE_ENV, "off")
    plain = _outputs(OrtEngine(bundle, threads=1))
    for a, b, c in zip(made, loaded, plain):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def test_a_damaged_cached_graph_is_made_anew(tiny_bundle, cache):
    bundle = load_bundle(tiny_bundle)
    good = OrtEngine(bundle, threads=1).generator(initial_z(1, 100, 0))
    path = ort_cache.cache_path(bundle.graph_io("generator")["sha256"], bundle.manifest["weights"]["sha256"], "fp32",
                                OrtEngine(bundle)._ort.__version__)
    path.write_bytes(b"not a graph")
    np.testing.assert_array_equal(OrtEngine(bundle, threads=1).generator(initial_z(1, 100, 0)), good)
    assert path.stat().st_size > 1000                       # replaced by a real graph


def test_the_key_holds_the_graph_the_runtime_and_the_cpu(cache, monkeypatch):
    base = ort_cache.cache_path("a" * 64, "w" * 64, "fp32", "1.0")
    assert base.parent == cache
    assert len({base, ort_cache.cache_path("b" * 64, "w" * 64, "fp32", "1.0"),
                ort_cache.cache_path("a" * 64, "v" * 64, "fp32", "1.0"),
                ort_cache.cache_path("a" * 64, "w" * 64, "fp16", "1.0"),
                ort_cache.cache_path("a" * 64, "w" * 64, "fp32", "1.1")}) == 5
    ort_cache.cpu_signature.cache_clear()
    monkeypatch.setattr(ort_cache.platform, "machine", lambda: "another-cpu")
    try:
        assert ort_cache.cache_path("a" * 64, "w" * 64, "fp32", "1.0") != base
    finally:
        ort_cache.cpu_signature.cache_clear()


def test_cache_off_keeps_nothing(tiny_bundle, tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, "off")
    assert ort_cache.cache_path("a" * 64, "w" * 64, "fp32", "1.0") is None
    OrtEngine(load_bundle(tiny_bundle), threads=1).generator(initial_z(1, 100, 0))
    assert not (tmp_path / "cache").exists()


def test_graphs_unused_for_a_month_are_removed_when_one_is_saved(tiny_bundle, cache):
    import os
    cache.mkdir(parents=True)
    stale, recent = cache / ("0" * 32 + ".onnx"), cache / ("1" * 32 + ".onnx")
    for f, days in ((stale, ort_cache.UNUSED_DAYS + 1), (recent, ort_cache.UNUSED_DAYS - 1)):
        f.write_bytes(b"x")
        t = os.path.getmtime(f) - days * 86400
        os.utime(f, (t, t))
    OrtEngine(load_bundle(tiny_bundle), threads=1).generator(initial_z(1, 100, 0))
    assert not stale.exists() and recent.exists()


def test_a_cache_that_cannot_be_written_only_costs_the_saving(tiny_bundle, cache, tmp_path, monkeypatch):
    bundle = load_bundle(tiny_bundle)
    expected = OrtEngine(bundle, threads=1).generator(initial_z(1, 100, 0))
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "other"))
    monkeypatch.setattr(ort_cache, "writing_path", lambda final: tmp_path / "missing" / "dir" / "g.onnx")
    np.testing.assert_array_equal(OrtEngine(bundle, threads=1).generator(initial_z(1, 100, 0)), expected)
    assert not (tmp_path / "missing").exists() and not list((tmp_path / "other").rglob("*.onnx"))


def test_a_broken_bundle_graph_still_says_so(tiny_bundle, cache, tmp_path):
    import shutil
    from inpaint.runtime.bundle import BundleError
    bad = tmp_path / "bad"
    shutil.copytree(tiny_bundle, bad)
    bundle = load_bundle(bad)
    (bad / "generator.onnx").write_bytes(b"garbage")
    with pytest.raises(BundleError, match="cannot load"):
        OrtEngine(bundle, threads=1).generator(initial_z(1, 100, 0))


def test_two_models_of_one_shape_do_not_share_a_cached_graph(tiny_bundle, cache, tmp_path):
    """Same graph files, other weights (a model retrained and exported again): its own numbers."""
    import hashlib
    import json
    import shutil
    other = tmp_path / "other"
    shutil.copytree(tiny_bundle, other)
    w = np.frombuffer((other / "weights.bin").read_bytes(), np.float32) * np.float32(0.5)
    (other / "weights.bin").write_bytes(w.tobytes())
    m = json.loads((other / "manifest.json").read_text())
    m["weights"]["sha256"] = hashlib.sha256(w.tobytes()).hexdigest()
    (other / "manifest.json").write_text(json.dumps(m))
    z = initial_z(1, 100, 0)
    first = OrtEngine(load_bundle(tiny_bundle), threads=1).generator(z)
    second = OrtEngine(load_bundle(other), threads=1).generator(z)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(second, OrtEngine(load_bundle(other), threads=1).generator(z))
