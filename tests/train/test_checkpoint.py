import pytest
import torch

from inpaint.errors import CheckpointError
from inpaint.spec import CHECKPOINT_FORMAT, ModelSpec
from inpaint.train import checkpoint
from inpaint.train.models import build_models


def _payload(spec: ModelSpec) -> dict:
    g, d = build_models(spec)
    return {"format": CHECKPOINT_FORMAT, "kind": checkpoint.CHECKPOINT_KIND, "spec": spec.to_dict(),
            "step": 7, "G": g.state_dict(), "D": d.state_dict()}


def test_roundtrip_loads_with_weights_only(tmp_path):
    spec = ModelSpec(resolution=32, ngf=8, ndf=8)
    payload = _payload(spec)
    checkpoint.save(tmp_path / "c.pt", payload)
    raw = torch.load(tmp_path / "c.pt", weights_only=True)
    assert raw["step"] == 7
    back = checkpoint.load(tmp_path / "c.pt", checkpoint.CHECKPOINT_KIND)
    assert back["spec"] == spec
    for k, v in payload["G"].items():
        assert torch.equal(back["G"][k], v)
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]   # no temp file left behind


def test_fp16_weights_rebuild_the_models(tmp_path):
    spec = ModelSpec(resolution=32, ngf=8, ndf=8)
    payload = _payload(spec)
    checkpoint.save(tmp_path / "w.pt", checkpoint.to_weights({**payload, "spec": spec}))
    raw = torch.load(tmp_path / "w.pt", weights_only=True)
    assert all(v.dtype == torch.float16 for v in raw["G"].values() if v.is_floating_point())
    spec2, g, d = checkpoint.load_models(tmp_path / "w.pt")
    assert spec2 == spec and not g.training
    z = torch.rand(2, spec.z_dim) * 2 - 1
    ref, _ = build_models(spec)
    ref.load_state_dict(payload["G"])
    assert torch.allclose(g(z), ref.eval()(z), atol=2e-2)   # fp16 storage, fp32 compute


def test_other_format_version_is_refused(tmp_path):
    payload = _payload(ModelSpec(resolution=32, ngf=8, ndf=8))
    payload["format"] = CHECKPOINT_FORMAT + 1
    torch.save(payload, tmp_path / "new.pt")
    with pytest.raises(CheckpointError, match="format"):
        checkpoint.load(tmp_path / "new.pt")


def test_truncated_file_is_refused(tmp_path):
    checkpoint.save(tmp_path / "c.pt", _payload(ModelSpec(resolution=32, ngf=8, ndf=8)))
    data = (tmp_path / "c.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a readable"):
        checkpoint.load(tmp_path / "cut.pt")


def test_not_a_checkpoint(tmp_path):
    torch.save({"some": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not an inpaint checkpoint"):
        checkpoint.load(tmp_path / "other.pt")


def test_failed_save_keeps_the_old_file(tmp_path):
    target = tmp_path / "c.pt"
    checkpoint.save(target, _payload(ModelSpec(resolution=32, ngf=8, ndf=8)))
    before = target.read_bytes()

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        checkpoint.save(target, {"format": CHECKPOINT_FORMAT, "x": Unpicklable()})
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]
