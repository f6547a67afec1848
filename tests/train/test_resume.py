"""Kill a training run with SIGKILL mid-way, then resume it."""
import json
import signal
import subprocess
import sys
import time

import torch

from inpaint.train import checkpoint

TINY = ["--dry-run", "--resolution", "32", "--ngf", "8", "--ndf", "8", "--batch-size", "16",
        "--checkpoint-every", "3", "--quiet"]


def _train(out, *extra):
    cmd = [sys.executable, "-c", "from inpaint.cli.train import main; main()", "--out", str(out),
           *TINY, *extra]
    return cmd


def test_sigkill_then_resume_continues_from_last_checkpoint(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen(_train(out, "--epochs", "100000"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    last = out / "last.pt"
    seen = []
    deadline = time.time() + 120
    try:
        # Read the checkpoint while it is being rewritten: every read must see a whole file.
        while time.time() < deadline and proc.poll() is None:
            if last.exists():
                seen.append(checkpoint.load(last)["step"])
                if seen[-1] >= 30:
                    break
            time.sleep(0.02)
        assert proc.poll() is None, proc.stderr.read().decode()
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert len(seen) > 3 and seen == sorted(seen)

    killed_at = checkpoint.load(last)["step"]
    assert killed_at >= 30 and (killed_at % 3 == 0 or killed_at % 4 == 0)  # checkpoint or epoch end
    result = subprocess.run(_train(out, "--resume", "--max-steps", str(killed_at + 10), "--epochs",
                                   "100000"), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"from step {killed_at}" in result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["resumed_from"] == killed_at and summary["step"] == killed_at + 10
    assert checkpoint.load(last)["step"] == killed_at + 10
    assert not list(out.glob(".tmp-*"))   # a temp file from the killed write is cleaned up

    # The resumed run is the run that was never interrupted: same data order, RNG and optimiser.
    straight = tmp_path / "straight"
    result = subprocess.run(_train(straight, "--max-steps", str(killed_at + 10), "--epochs",
                                   "100000"), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    a, b = checkpoint.load(last), checkpoint.load(straight / "last.pt")
    for k in a["G"]:
        torch.testing.assert_close(a["G"][k], b["G"][k], rtol=1e-4, atol=1e-5)
