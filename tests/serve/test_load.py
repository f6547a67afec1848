"""The serve load test (benchmarks/serve_load.py) in miniature: concurrent clients with bad
requests among the good, every answer checked against its solo result."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("INPAINT_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.mark.skipif(not (DATA / "celeba_aligned_sample").is_dir() or not (DATA / "celeba64").is_dir(),
                    reason=f"the load test's pictures come from {DATA} (celeba64, celeba_aligned_sample), absent here")
def test_concurrent_clients_get_their_solo_results_and_bad_requests_4xx(tmp_path):
    pytest.importorskip("fastapi", reason="inpaint-rt serve needs the [serve] extra")
    out = tmp_path / "load.json"
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "serve_load.py"), "--clients", "4",
                           "--requests", "20", "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(out.read_text())
    assert result["failures"] == [] and result["alive_after"]
    for phase in result["phases"].values():
        assert phase["answered"] == phase["requests"] == 20 and phase["bad"] == 2
