import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from inpaint.cli.train import main
from inpaint.spec import CHECKPOINT_FORMAT
from inpaint.train import checkpoint

TINY = ["--resolution", "32", "--ngf", "8", "--ndf", "8", "--quiet"]


def run(*args):
    return CliRunner().invoke(main, list(args))


def assert_one_line_error(result, *words):
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    for w in words:
        assert w in lines[0]


def test_dry_run_writes_checkpoint_and_sample_grid(tmp_path):
    result = run("--dry-run", "--out", str(tmp_path / "run"), "--quiet")
    assert result.exit_code == 0, result.output
    ck = checkpoint.load(tmp_path / "run" / "last.pt", checkpoint.CHECKPOINT_KIND)
    assert ck["step"] == 8 and ck["spec"].resolution == 64
    grid = np.asarray(Image.open(tmp_path / "run" / "samples" / "epoch_002.png"))
    assert grid.shape == (8 * 66 + 2, 8 * 66 + 2, 3)      # 64 samples of 64x64, 2-pixel gaps
    assert grid[2:66, 2:66].std() > 0                       # a sample, not blank padding


def test_help_shows_examples():
    result = run("--help")
    assert result.exit_code == 0
    assert "--dry-run" in result.output and "inpaint-train --dataset celeba" in result.output


def test_missing_dataset(tmp_path):
    result = run("--data", str(tmp_path / "missing.zip"), "--out", str(tmp_path / "run"), *TINY)
    assert_one_line_error(result, "not found", "missing.zip")
    assert not (tmp_path / "run" / "last.pt").exists()


def test_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    result = run("--dataset", "images", "--data", str(tmp_path / "empty"), "--out",
                 str(tmp_path / "run"), *TINY)
    assert_one_line_error(result, "no images found")
    assert not (tmp_path / "run").exists()     # nothing created for a run that never started


def test_corrupt_zip(tmp_path):
    (tmp_path / "train.zip").write_bytes(b"PK\x03\x04garbage")
    result = run("--data", str(tmp_path / "train.zip"), "--out", str(tmp_path / "run"), *TINY)
    assert_one_line_error(result, "corrupt")


def test_existing_run_is_not_overwritten(tmp_path):
    out = tmp_path / "run"
    assert run("--dry-run", "--out", str(out), *TINY).exit_code == 0
    before = (out / "last.pt").read_bytes()
    result = run("--dry-run", "--out", str(out), *TINY)
    assert_one_line_error(result, "--resume")
    assert (out / "last.pt").read_bytes() == before


def test_resume_refuses_other_format_version(tmp_path):
    out = tmp_path / "run"
    assert run("--dry-run", "--out", str(out), *TINY).exit_code == 0
    ck = torch.load(out / "last.pt", weights_only=True)
    ck["format"] = CHECKPOINT_FORMAT + 1
    torch.save(ck, out / "last.pt")
    before = (out / "last.pt").read_bytes()
    result = run("--out", str(out), "--resume", "--epochs", "4", *TINY)
    assert_one_line_error(result, "format")
    assert (out / "last.pt").read_bytes() == before


def test_resume_without_checkpoint(tmp_path):
    result = run("--out", str(tmp_path / "run"), "--resume", *TINY)
    assert_one_line_error(result, "nothing to resume")


def test_unwritable_output_directory(tmp_path):
    (tmp_path / "file").write_text("a file, not a directory")
    result = run("--dry-run", "--out", str(tmp_path / "file" / "run"), *TINY)
    assert_one_line_error(result, "cannot write")


def test_no_data_is_a_usage_error(tmp_path):
    result = run("--out", str(tmp_path / "run"))
    assert result.exit_code == 2 and "--data" in result.output


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message given where there is no GPU")
def test_cuda_without_gpu(tmp_path):
    result = run("--dry-run", "--device", "cuda", "--out", str(tmp_path / "run"), *TINY)
    assert_one_line_error(result, "--device cpu")
    assert not (tmp_path / "run").exists()


def test_resume_extends_a_run_and_keeps_its_settings(tmp_path):
    out = tmp_path / "run"
    assert run("--dry-run", "--out", str(out), "--batch-size", "8", *TINY).exit_code == 0
    assert checkpoint.load(out / "last.pt")["step"] == 16            # 2 epochs of 64 / 8
    result = run("--out", str(out), "--resume", "--epochs", "3", "--quiet")
    assert result.exit_code == 0, result.output
    ck = checkpoint.load(out / "last.pt")
    assert ck["step"] == 24 and ck["settings"]["batch_size"] == 8 and ck["spec"].ngf == 8
    result = run("--out", str(out), "--resume", "--quiet")             # the run's own 3 epochs: done
    assert result.exit_code == 0 and checkpoint.load(out / "last.pt")["step"] == 24


def test_encoder_objective_from_the_command_line(tiny_encoder_weights, tmp_path):
    import json
    result = run("--encoder", "--objective", "se", "--weights", str(tiny_encoder_weights), "--dry-run",
                 "--max-steps", "5", "--batch-size", "8", "--out", str(tmp_path / "run"), "--quiet")
    assert result.exit_code == 0, result.output
    ck = checkpoint.load(tmp_path / "run" / "last.pt", checkpoint.ENCODER_CHECKPOINT_KIND)
    assert ck["settings"]["objective"] == "se" and ck["step"] == 5
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert log[-1]["consistency"] == 0.0 and log[-1]["contextual"] > 0
    bad = run("--encoder", "--objective", "psnr", "--dry-run", "--out", str(tmp_path / "bad"))
    assert bad.exit_code == 2 and "psnr" in bad.output


def test_gl_dry_run_and_its_options(tmp_path):
    import json
    result = run("--gl", "--dry-run", "--out", str(tmp_path / "gl"), "--quiet")
    assert result.exit_code == 0, result.output
    state = checkpoint.load(tmp_path / "gl" / "last.pt", checkpoint.GL_CHECKPOINT_KIND)
    assert state["gl"]["width"] == 8 and "GL" in state and "D" in state
    phases = {json.loads(line)["phase"] for line in (tmp_path / "gl" / "log.jsonl").read_text().splitlines()}
    assert "joint" in phases                  # a dry run reaches every phase
    r = run("--width", "16", "--dry-run", "--out", str(tmp_path / "x"))
    assert r.exit_code == 2 and "--width belongs to --gl" in r.output and not (tmp_path / "x").exists()
    r = run("--gl", "--encoder", "--dry-run", "--out", str(tmp_path / "y"))
    assert r.exit_code == 2 and "--gl and --encoder" in r.output
    r = run("--gl", "--dry-run", "--out", str(tmp_path / "gl"), "--quiet")       # no overwrite
    assert_one_line_error(r, "--resume")
    r = run("--gl", "--out", str(tmp_path / "gl"), "--resume", "--epochs", "2", "--max-steps", "6", "--quiet")
    assert r.exit_code == 0, r.output
    assert checkpoint.load(tmp_path / "gl" / "last.pt")["step"] == 6
