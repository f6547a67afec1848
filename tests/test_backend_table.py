"""One table of backends: every command offers its rows by the same names, and a row added to it
is offered, and built by its own engine factory, in inpaint-rt complete and serve, inpaint-bench,
inpaint-eval and on Ray."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from inpaint import backends
from inpaint.cli import bench, eval as eval_cli, rt

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
FAKE_ABOUT = "a stand-in that the test adds to the table"


@pytest.fixture
def fake(monkeypatch):
    """A row "fake" added to the table: the host loop on ONNX Runtime, built by a factory that
    records each call and names its engine "fake"."""
    calls = []

    def engine(model, place, ops):
        from inpaint.runtime.bundle import load_bundle
        from inpaint.runtime.engines.ort import OrtEngine
        calls.append((Path(model), place))
        built = OrtEngine(load_bundle(model), 1)
        built.name = "fake"
        return built

    row = backends.Backend("fake", FAKE_ABOUT, backends.HOST, "bundle", engine)
    monkeypatch.setattr(backends, "BACKENDS", backends.BACKENDS + (row,))
    return calls


def _choices(command, option: str) -> tuple[str, ...]:
    (param,) = [p for p in command.params if p.name == option]
    return tuple(param.type.choices)


def test_every_command_offers_the_tables_names():
    names = backends.names()
    assert names == ("trt", "ort", "torch", "gpu", "gpu-trt")
    for command in (rt.complete, rt.serve, eval_cli.main):
        assert _choices(command, "backend") == ("auto", *names)
    from inpaint.bench.runners import YARDSTICKS, names as bench_names
    assert bench_names() == YARDSTICKS + names and not set(YARDSTICKS) & set(names)


def test_a_row_added_to_the_table_is_offered_everywhere(fake):
    for command, args in ((rt.main, ["complete", "--help"]), (rt.main, ["serve", "--help"]),
                          (eval_cli.main, ["--help"]), (bench.main, ["--help"])):
        result = CliRunner().invoke(command, args)
        shown = " ".join(result.output.split())           # as wrapped to the terminal's width
        assert result.exit_code == 0 and f"fake: {FAKE_ABOUT}" in shown, (args, result.output)
        if command is not bench.main:
            assert "--backend [auto|trt|ort|torch|gpu|gpu-trt|fake]" in shown
    assert "fake" in _choices(rt.serve, "backend") and "fake" in _choices(eval_cli.main, "backend")
    from inpaint.bench.runners import names as bench_names
    assert bench_names()[-1] == "fake"
    assert not fake                       # offering a row builds nothing


def test_inpaint_rt_complete_builds_the_rows_engine(fake, tiny_bundle, tmp_path):
    face = np.asarray(Image.open(EXAMPLES / "astronaut.png").convert("RGB").resize((64, 64)))
    hole = np.zeros((64, 64), np.uint8)
    hole[16:48, 16:48] = 255
    Image.fromarray(face).save(tmp_path / "f.png")
    Image.fromarray(hole).save(tmp_path / "m.png")
    result = CliRunner().invoke(rt.main, ["complete", str(tmp_path / "f.png"), str(tmp_path / "m.png"),
                                          "-o", str(tmp_path / "out.png"), "--backend", "fake", "--bundle",
                                          str(tiny_bundle), "--iterations", "2", "--restarts", "1", "--quiet",
                                          "--report", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r.json").read_text())["engine"] == "fake"
    assert [model for model, _ in fake] == [tiny_bundle]


def test_inpaint_rt_serve_builds_the_rows_engine_and_reports_it(fake, tiny_bundle, monkeypatch):
    pytest.importorskip("fastapi")
    uvicorn = pytest.importorskip("uvicorn")
    from fastapi.testclient import TestClient
    served = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.setdefault("app", app))
    result = CliRunner().invoke(rt.main, ["serve", "--backend", "fake", "--bundle", str(tiny_bundle), "--port", "0",
                                          "--quiet"])
    assert result.exit_code == 0, result.output
    model = TestClient(served["app"]).get("/v1/model").json()
    assert (model["backend"], model["engine"]) == ("fake", "fake")
    assert [model for model, _ in fake] == [tiny_bundle]


def test_inpaint_bench_times_the_row(fake, tiny_bundle, tiny_weights, tmp_path):
    result = CliRunner().invoke(bench.main, ["--backends", "fake", "--batch", "2", "--iterations", "2", "--warmup", "1",
                                             "--search-iterations", "2", "--rounds", "1", "--bundle", str(tiny_bundle),
                                             "--weights", str(tiny_weights), "--json", str(tmp_path / "b.json")])
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "b.json").read_text())["rows"]
    assert [(r["backend"], r["batch"]) for r in rows] == [("fake", 2)] and rows[0]["iteration_ms"]["n"] == 2
    assert [model for model, _ in fake] == [tiny_bundle]
    assert fake[0][1].threads is None and fake[0][1].device == "cpu"


def test_inpaint_eval_searches_on_the_row(fake, tiny_bundle, tmp_path):
    split = tmp_path / "split"
    split.mkdir()
    face = np.asarray(Image.open(EXAMPLES / "astronaut.png").convert("RGB"))
    for i in range(3):
        Image.fromarray(np.ascontiguousarray(face[i * 4:i * 4 + 96, :96])).resize((64, 64)).save(split / f"{i}.png")
    result = CliRunner().invoke(eval_cli.main, ["--data", str(split), "-n", "2", "--masks", "center", "--methods", "ours",
                                                "--iterations", "2", "--restarts", "1", "--weights", str(tiny_bundle),
                                                "--backend", "fake", "--json", str(tmp_path / "e.json"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "e.json").read_text())["settings"]["backend"] == "fake"
    assert [model for model, _ in fake] == [tiny_bundle]


def test_a_ray_actor_builds_the_row(fake, tiny_bundle):
    from inpaint.distributed.ray_complete import Completer
    from inpaint.spec import InpaintSettings
    actor = Completer(str(tiny_bundle), asdict(InpaintSettings(iterations=2, restarts=1)), 1, False, "whole",
                      backend="fake")
    assert actor.inpainter.engine.name == "fake"
    assert [(model, place.device, place.threads) for model, place in fake] == [(tiny_bundle, "cpu", 1)]


def test_a_row_is_checked_by_what_it_needs(fake, tiny_bundle, monkeypatch):
    """A row's modules, its GPU and what it loads are checked from the table, with the fix named."""
    from inpaint.errors import InpaintError
    from inpaint.inpainters import inpainter_for
    row = backends.get("fake")
    needy = backends.Backend("fake", FAKE_ABOUT, backends.HOST, "bundle", row.engine, ("no_such_module",), gpu=True)
    monkeypatch.setattr(backends, "BACKENDS", backends.BACKENDS[:-1] + (needy,))
    with pytest.raises(InpaintError, match="--backend fake: runs on a GPU, not with --device cpu"):
        inpainter_for("fake", tiny_bundle, device="cpu")
    with pytest.raises(InpaintError, match="--backend fake: needs no_such_module: pip install no_such_module"):
        inpainter_for("fake", tiny_bundle)
    with pytest.raises(InpaintError, match="--weights is for --backend torch or gpu; give --bundle DIR for fake"):
        inpainter_for("fake", weights=tiny_bundle)
    with pytest.raises(InpaintError, match="unknown backend 'nope'; choose from auto, trt, ort, torch, gpu, gpu-trt, fake"):
        inpainter_for("nope")
    assert not fake
