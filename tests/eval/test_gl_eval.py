"""inpaint-eval's gl method and the paper's table (PSNR and SSIM averaged over two masks)."""
from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner

from inpaint.eval.harness import EvalSettings, evaluate
from inpaint.eval.tables import markdown_averaged


@pytest.fixture(scope="module")
def gl_bundle(tiny_bundle, tmp_path_factory):
    from inpaint.export.gl_graph import add_gl
    from inpaint.train.gl_loop import GLSettings, train_gl
    root = tmp_path_factory.mktemp("glb")
    train_gl(GLSettings(out=str(root / "run"), dry_run=True, batch_size=8, width=8, tc_steps=2, td_steps=1,
                        max_steps=4), progress=False, log=lambda *a: None)
    b = root / "bundle"
    shutil.copytree(tiny_bundle, b)
    add_gl(root / "run" / "last.pt", b, log=lambda m: None)
    return b


def test_gl_is_scored_and_the_averaged_table_is_the_mean_of_the_masks(small_split, gl_bundle):
    s = EvalSettings(data=str(small_split), n=6, masks=("center", "pattern"), methods=("gl", "mean"),
                     weights=str(gl_bundle), batch=4)
    r = evaluate(s, progress=False)
    gl, mean = (r["table"]["center"][m]["per_image"]["psnr"] for m in ("gl", "mean"))
    assert len(gl) == 6 and gl != mean
    table = markdown_averaged(r)
    row = next(line for line in table.splitlines() if line.startswith("| gl |"))
    want_psnr = (r["table"]["center"]["gl"]["psnr"]["mean"] + r["table"]["pattern"]["gl"]["psnr"]["mean"]) / 2
    want_ssim = (r["table"]["center"]["gl"]["ssim"]["mean"] + r["table"]["pattern"]["gl"]["ssim"]["mean"]) / 2
    assert row == f"| gl | {want_psnr:.2f} | {want_ssim:.3f} |"
    assert markdown_averaged({**r, "table": {"center": r["table"]["center"]}}) is None   # needs both masks


def test_cli_prints_the_paper_table(small_split, gl_bundle):
    from inpaint.cli.eval import main
    r = CliRunner().invoke(main, ["--data", str(small_split), "-n", "4", "--methods", "gl,telea",
                                  "--weights", str(gl_bundle), "--quiet"])
    assert r.exit_code == 0, r.output
    assert "the paper's table" in r.output and "| gl |" in r.output.split("paper's table")[1]


def test_gl_without_a_gl_graph_is_refused_with_the_fix(small_split, tiny_bundle):
    from inpaint.cli.eval import main
    r = CliRunner().invoke(main, ["--data", str(small_split), "-n", "2", "--methods", "gl",
                                  "--weights", str(tiny_bundle), "--quiet"])
    assert r.exit_code == 2 and "inpaint-export BUNDLE --gl" in r.stderr
