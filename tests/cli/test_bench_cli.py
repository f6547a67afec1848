"""inpaint-bench on the tiny model: every figure written, ratios from the same run, clear refusals."""
import json

import pytest
from click.testing import CliRunner

from inpaint.cli.bench import main

QUICK = ("--batch", "1,3", "--iterations", "4", "--warmup", "1", "--search-iterations", "3", "--rounds", "2")


@pytest.fixture
def models(tiny_bundle, tiny_weights):
    return ("--bundle", str(tiny_bundle), "--weights", str(tiny_weights))


def test_eager_and_ort_side_by_side(models, tmp_path):
    out = tmp_path / "bench"
    result = CliRunner().invoke(main, ["--backends", "eager,ort", *QUICK, *models, "--json", f"{out}.json",
                                       "--markdown", f"{out}.md", "--plot", f"{out}.png"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "bench.json").read_text())
    rows = {(r["backend"], r["batch"]): r for r in report["rows"]}
    assert set(rows) == {(b, n) for b in ("eager", "ort") for n in (1, 3)}
    for (backend, batch), r in rows.items():
        t = r["iteration_ms"]
        assert 0 < t["min"] <= t["median"] <= t["p95"] <= t["max"] and t["n"] == 4
        assert r["search_s_per_image"] > 0
        eager = rows[("eager", batch)]["iteration_ms"]["median"]
        assert r["speedup_vs_eager"] == pytest.approx(eager / t["median"])
        assert r["gflops_per_s"] == pytest.approx(report["flops_per_sample_iteration"] * batch / t["median"] / 1e6)
    assert report["flops_per_sample_iteration"] > 0 and report["peak_gflops_per_s"]["float32"] > 0
    assert report["environment"]["onnxruntime"] and report["settings"]["backends"] == ["eager", "ort"]
    table = (tmp_path / "bench.md").read_text()
    assert table.count("\n| ") == 1 + 4 and "| ort | 3 |" in table       # header and one line per row
    assert (tmp_path / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_unknown_backend_is_a_usage_error(models):
    result = CliRunner().invoke(main, ["--backends", "eager,fast", *models])
    assert result.exit_code == 2 and "fast; choose from" in result.output


def test_a_backend_that_cannot_run_here_says_why(models):
    pytest.importorskip("torch")
    import importlib.util
    if importlib.util.find_spec("tensorrt"):
        pytest.skip("tensorrt is installed here")
    result = CliRunner().invoke(main, ["--backends", "trt", "--device", "cuda", *QUICK, *models])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: backend trt: ") and "tensorrt" in lines[0]
    result = CliRunner().invoke(main, ["--backends", "gpu-trt", *QUICK, *models])     # on the CPU
    assert result.exit_code == 2 and result.stderr.strip() == "error: backend gpu-trt: runs on a GPU, not with --device cpu"
