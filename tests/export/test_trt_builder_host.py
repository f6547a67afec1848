"""build_plans against a stand-in for TensorRT's builder: the plans replace the old ones whole or
not at all, on the device asked for (the real builder: tests/test_trt.py)."""
import hashlib
import json
from types import SimpleNamespace

import pytest

from inpaint.export import trt_builder
from inpaint.runtime import cuda
from inpaint.runtime.bundle import BUNDLE_FORMAT, load_bundle
from inpaint.runtime.engines.trt_plans import PLANS_META, load_plans_meta
from inpaint.spec import ModelSpec

GPU = "Host GPU"
IO = {"inputs": [{"name": "z", "dtype": "float32", "shape": ["batch", 4]}],
      "outputs": [{"name": "x", "dtype": "float32", "shape": ["batch", 3]}]}


class FakeBuilderTensorRT:
    """The part of tensorrt build_plans uses; the network of `fail` does not build."""

    __version__ = "10.99.0"
    NetworkDefinitionCreationFlag = SimpleNamespace(STRONGLY_TYPED=0)

    class Logger:
        WARNING = 2

        def __init__(self, level):
            pass

    def __init__(self, fail=None):
        self.fail, self.built = fail, []

    def Builder(self, logger):
        fake = self

        class Config:
            def create_timing_cache(self, data):
                return SimpleNamespace(serialize=lambda: b"timing " + data[:16])

            def set_timing_cache(self, cache, ignore_mismatch):
                pass

            def add_optimization_profile(self, profile):
                pass

        class Builder:
            def create_builder_config(self):
                return Config()

            def create_network(self, flags):
                return SimpleNamespace(source=None)

            def create_optimization_profile(self):
                return SimpleNamespace(set_shape=lambda *shapes: None)

            def build_serialized_network(self, network, config):
                name = network.source.split("/")[-1].removesuffix(".onnx")
                fake.built.append(name)
                return None if name == fake.fail else f"plan of {name} by build {id(fake)}".encode()
        return Builder()

    def OnnxParser(self, network, logger):
        def parse(path):
            network.source = path
            return True
        return SimpleNamespace(parse_from_file=parse, num_errors=0)


@pytest.fixture
def bundle(tmp_path, monkeypatch):
    """A two-graph bundle of placeholder files (the builder stand-in does not read them), and the
    devices build_plans selects."""
    root = tmp_path / "bundle"
    root.mkdir()
    graphs = {}
    for name in ("generator", "features"):
        (root / f"{name}.onnx").write_bytes(name.encode())
        graphs[name] = {"file": f"{name}.onnx", "sha256": hashlib.sha256(name.encode()).hexdigest(), **IO}
    (root / "weights.bin").write_bytes(b"w")
    manifest = {"format": BUNDLE_FORMAT, "spec": ModelSpec().to_dict(), "graphs": graphs,
                "weights": {"file": "weights.bin", "sha256": hashlib.sha256(b"w").hexdigest()}}
    (root / "manifest.json").write_text(json.dumps(manifest))
    devices = []
    monkeypatch.setattr(cuda, "set_device", devices.append)
    monkeypatch.setattr(cuda, "gpu", lambda device=0: (GPU, (9, 0)))
    return SimpleNamespace(root=root, devices=devices)


def _build(monkeypatch, root, batch_sizes, fail=None, device=0):
    fake = FakeBuilderTensorRT(fail)
    monkeypatch.setattr(trt_builder, "import_tensorrt", lambda: fake)
    return trt_builder.build_plans(root, batch_sizes, device=device, log=lambda m: None), fake


def test_a_failed_rebuild_leaves_the_old_plans_as_they_were(bundle, monkeypatch):
    plans, first = _build(monkeypatch, bundle.root, [1, 4])
    before = {p.name: p.read_bytes() for p in plans.iterdir()}
    assert set(before) == {"generator.plan", "features.plan", PLANS_META, "timing.cache"}
    with pytest.raises(RuntimeError, match="could not build features"):
        _build(monkeypatch, bundle.root, [1, 8], fail="features")
    assert {p.name: p.read_bytes() for p in plans.iterdir()} == before   # no new plan beside old plans.json
    assert [p.name for p in plans.parent.iterdir()] == [plans.name]      # and no temporary left behind
    _, meta = load_plans_meta(load_bundle(bundle.root), GPU, FakeBuilderTensorRT.__version__)
    assert meta["batch_sizes"] == [1, 4]


def test_a_rebuild_replaces_every_plan_and_reuses_the_timing_cache(bundle, monkeypatch):
    plans, _ = _build(monkeypatch, bundle.root, [1, 4])
    again, second = _build(monkeypatch, bundle.root, [1, 8], device=1)
    assert again == plans and bundle.devices == [0, 1]
    assert json.loads((plans / PLANS_META).read_text())["profiles"] == [[1, 1, 1], [2, 8, 8]]
    assert (plans / "generator.plan").read_bytes() == f"plan of generator by build {id(second)}".encode()
    assert (plans / "timing.cache").read_bytes().startswith(b"timing timing")   # read back, then extended
    assert [p.name for p in plans.parent.iterdir()] == [plans.name]
