"""The layers of docs/LAYERS.md hold: import-linter checks pyproject.toml's contracts, lazy imports included."""
import sys
from pathlib import Path

import pytest
from importlinter.cli import EXIT_STATUS_SUCCESS, lint_imports

REPO = Path(__file__).resolve().parents[1]


def test_every_import_contract_is_kept(capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(sys, "path", list(sys.path))   # lint_imports puts the working directory on it
    status = lint_imports(config_filename=str(REPO / "pyproject.toml"), no_cache=True, no_logo=True)
    assert status == EXIT_STATUS_SUCCESS, capsys.readouterr().out


def test_the_contracts_cover_every_subpackage():
    """A new module of inpaint gets a layer: every one stands in the layers contract."""
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    (layers,) = [c for c in config["contracts"] if c["type"] == "layers"]
    named = {name.strip() for layer in layers["layers"] for name in layer.split("|")}
    src = REPO / "src" / "inpaint"
    modules = {p.stem for p in src.glob("*.py") if p.stem != "__init__"}
    modules |= {p.parent.name for p in src.glob("*/__init__.py")}
    assert modules == named
