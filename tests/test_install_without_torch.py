"""An edge install: `pip install .` in a fresh venv without torch, then a completion on ORT."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_fresh_venv_without_torch_completes_an_example(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py, rt = venv / "bin" / "python", venv / "bin" / "inpaint-rt"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    install = subprocess.run([str(py), "-m", "pip", "install", "-q", str(REPO)], env=env,
                             capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-2000:]
    assert subprocess.run([str(py), "-c", "import torch"], env=env, capture_output=True).returncode != 0
    out, report = tmp_path / "filled.png", tmp_path / "report.json"
    run = subprocess.run([str(rt), "complete", "examples/astronaut_photo.jpg", "examples/astronaut_photo_mask.png",
                          "-o", str(out), "--iterations", "5", "--restarts", "1", "--quiet", "--report", str(report)],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    filled = np.asarray(Image.open(out))
    original = np.asarray(Image.open(REPO / "examples" / "astronaut_photo.jpg").convert("RGB"))
    hole = np.asarray(Image.open(REPO / "examples" / "astronaut_photo_mask.png")) > 127
    assert np.array_equal(filled[~hole], original[~hole])
    framing = json.loads(report.read_text())["images"][0]["framing"]     # the framer runs without torch too
    assert framing["how"] == "found", framing
