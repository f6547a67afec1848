"""The README's first command: its example files exist and the command runs on the shipped model."""
import shlex
from pathlib import Path

from click.testing import CliRunner
from PIL import Image

from inpaint.cli.rt import main

REPO = Path(__file__).resolve().parents[1]


def _first_block() -> list[str]:
    text = (REPO / "README.md").read_text()
    block = text.split("```bash", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line and not line.startswith("#")]


def test_readme_starts_with_setup_and_run_then_tests():
    setup, tests = _first_block()
    assert "pip install torch==2.13.0" in setup and "inpaint-rt complete" in setup
    ci = (REPO / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1] == tests                      # CI runs exactly the README's test command


def test_readme_completion_command_runs(tmp_path, monkeypatch):
    setup = _first_block()[0]
    args = shlex.split(setup.split("inpaint-rt", 1)[1])
    assert args[0] == "complete"
    out = args.index("-o") + 1
    args[out] = str(tmp_path / "filled.png")
    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(main, args + ["--iterations", "2", "--restarts", "1", "--quiet"])
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "filled.png").size == Image.open(REPO / args[1]).size
