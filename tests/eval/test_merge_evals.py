import json
import subprocess
import sys
from pathlib import Path

import pytest

from inpaint.eval.harness import EvalSettings, evaluate

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "merge_evals.py"


def _write(path: Path, **kw) -> Path:
    path.write_text(json.dumps(evaluate(EvalSettings(methods=("mean", "telea"), **kw), progress=False)))
    return path


def _merge(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def parts(small_split, tmp_path_factory):
    """Two shards of a six-image draw, each as one file per mask, as JSON on disk."""
    d = tmp_path_factory.mktemp("parts")
    return {(skip, kind): _write(d / f"s{skip}_{kind}.json", data=str(small_split), n=3, skip=skip, masks=(kind,))
            for skip in (0, 3) for kind in ("center", "pattern")}


def test_files_of_masks_and_shards_merge_into_the_whole_draw(parts, small_split, tmp_path):
    whole = evaluate(EvalSettings(data=str(small_split), n=6, masks=("center", "pattern"), methods=("mean", "telea")),
                     progress=False)
    out = tmp_path / "merged.json"
    result = _merge(out, *parts.values())
    assert result.returncode == 0, result.stderr
    merged = json.loads(out.read_text())
    assert merged["images"] == whole["images"]
    for kind in ("center", "pattern"):
        for method in ("mean", "telea"):
            assert merged["table"][kind][method]["per_image"] == whole["table"][kind][method]["per_image"]
    assert "6 images" in result.stdout and "| pattern | telea |" in result.stdout


def test_bad_parts_are_refused_with_a_reason_and_nothing_written(parts, tmp_path):
    out = tmp_path / "merged.json"
    result = _merge(out, parts[0, "center"], tmp_path / "missing.json")
    assert result.returncode == 2 and "no such file" in result.stderr and "missing.json" in result.stderr
    result = _merge(out, parts[0, "center"], parts[0, "center"])
    assert result.returncode == 2 and "center/mean" in result.stderr
    result = _merge(out, parts[0, "center"], parts[3, "center"], parts[3, "pattern"])
    assert result.returncode == 2 and "pairs" in result.stderr
    assert not out.exists()
