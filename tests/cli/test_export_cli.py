import json

import pytest
from click.testing import CliRunner

from inpaint.cli.export import main


def _has_tensorrt():
    try:
        import tensorrt  # noqa: F401
        return True
    except ImportError:
        return False


@pytest.mark.skipif(_has_tensorrt(), reason="checks the message shown where tensorrt is missing")
def test_engine_without_tensorrt_says_so_before_exporting(tiny_weights, tmp_path):
    r = CliRunner().invoke(main, [str(tiny_weights), "--out", str(tmp_path / "b"), "--engine"])
    assert r.exit_code == 2 and "tensorrt is not installed" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "b").exists()


def test_bad_batch_sizes_and_missing_out(tiny_weights, tmp_path):
    r = CliRunner().invoke(main, [str(tiny_weights), "--out", str(tmp_path / "b"), "--batch-sizes", "0,4"])
    assert r.exit_code == 2 and "at least 1" in r.output
    r = CliRunner().invoke(main, [str(tiny_weights), "--out", str(tmp_path / "b"), "--batch-sizes", ","])
    assert r.exit_code == 2 and "at least 1" in r.output
    r = CliRunner().invoke(main, [str(tiny_weights)])
    assert r.exit_code == 2 and "--out" in r.stderr and not list(tmp_path.iterdir())


def test_a_bundle_builds_its_plans_in_place_or_exports_anew_elsewhere(tiny_bundle, tmp_path):
    r = CliRunner().invoke(main, [str(tiny_bundle), "--fp16"])
    assert r.exit_code == 2 and "already a bundle" in r.stderr and "--out" in r.stderr
    r = CliRunner().invoke(main, [str(tiny_bundle), "--out", str(tmp_path / "again")])
    assert r.exit_code == 0, r.output
    ours, source = (json.loads((b / "manifest.json").read_text()) for b in (tmp_path / "again", tiny_bundle))
    assert ours["model"]["tensors"] == source["model"]["tensors"]
    assert ours["weights"]["sha256"] == source["weights"]["sha256"]     # the same weights, byte for byte


def test_fp16_export_logs_each_graph_and_its_error(tiny_weights, tmp_path):
    r = CliRunner().invoke(main, [str(tiny_weights), "--out", str(tmp_path / "b16"), "--fp16"])
    assert r.exit_code == 0, r.output
    manifest = json.loads((tmp_path / "b16" / "manifest.json").read_text())
    for name in manifest["graphs"]:
        assert f"exported {name} " in r.stderr and f"fp16 error {name} " in r.stderr
    assert r.stdout.strip() == str(tmp_path / "b16")
