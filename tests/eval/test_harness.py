import dataclasses
import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from inpaint.cli.eval import main
from inpaint.eval.harness import EvalSettings, evaluate, mask_for
from inpaint.eval.tables import markdown_curve, markdown_table
from inpaint.spec import DEFAULT_ITERATIONS

def _settings(split, weights, **kw):
    base = dict(data=str(split), n=4, masks=("center", "pattern"), methods=("ours", "se", "telea", "mean"),
                iterations=3, restarts=1, batch=3, weights=str(weights))
    return EvalSettings(**{**base, **kw})


def test_table_has_every_pair_and_is_deterministic(small_split, tiny_weights, tmp_path):
    a = evaluate(_settings(small_split, tiny_weights), progress=False, grid_dir=tmp_path)
    b = evaluate(_settings(small_split, tiny_weights), progress=False)
    assert set(a["table"]) == {"center", "pattern"}
    for kind in a["table"]:
        assert set(a["table"][kind]) == {"ours", "se", "telea", "mean"}
        for method, r in a["table"][kind].items():
            assert r["psnr"] == b["table"][kind][method]["psnr"]
            assert 5 < r["psnr"]["mean"] < 60 and 0 < r["ssim"]["mean"] <= 1
            assert r["psnr_hole"]["mean"] < r["psnr"]["mean"]      # errors live in the hole
    # telea on smooth faces beats a flat mean colour
    assert a["table"]["center"]["telea"]["psnr"]["mean"] > a["table"]["center"]["mean"]["psnr"]["mean"]
    grid = Image.open(tmp_path / "comparison_center.png")
    assert grid.width == 2 * (6 * 66 + 2)                          # input, 4 methods, truth
    assert "| center | telea |" in markdown_table(a)


def test_every_method_sees_the_same_mask_per_image():
    assert np.array_equal(mask_for("pattern", 64, 0, 5), mask_for("pattern", 64, 0, 5))
    assert not np.array_equal(mask_for("pattern", 64, 0, 5), mask_for("pattern", 64, 0, 6))


def test_cli_writes_json_and_prints_the_table(small_split, tiny_weights, tmp_path):
    result = CliRunner().invoke(main, ["--data", str(small_split), "-n", "3", "--masks", "center",
                                       "--methods", "ours,telea", "--iterations", "2", "--restarts", "1",
                                       "--weights", str(tiny_weights), "--json", str(tmp_path / "r.json"),
                                       "--quiet"])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "r.json").read_text())
    assert len(data["images"]) == 3 and "ours" in data["table"]["center"]
    assert "| center | ours |" in result.stdout


def test_cli_refuses_unknown_method_and_too_many_images(small_split, tmp_path):
    r = CliRunner().invoke(main, ["--data", str(small_split), "--methods", "ours,magic"])
    assert r.exit_code == 2 and "magic" in r.output
    r = CliRunner().invoke(main, ["--data", str(small_split), "-n", "100", "--methods", "telea", "--quiet"])
    assert r.exit_code == 2 and r.stderr.strip().startswith("error:") and "holds 8" in r.stderr


def test_cli_refuses_a_device_torch_cannot_use(small_split, tmp_path):
    import torch
    for device, message in (("gpu", "use cpu, cuda or cuda:N"), ("cpu:1", "use cpu, cuda or cuda:N"),
                            (f"cuda:{torch.cuda.device_count()}", "CUDA GPU(s) here; use --device cpu")):
        r = CliRunner().invoke(main, ["--data", str(small_split), "--device", device,
                                      "--json", str(tmp_path / "r.json")])
        assert r.exit_code == 2 and message in r.output, (device, r.output)
    assert not (tmp_path / "r.json").exists()


@pytest.mark.gpu
@pytest.mark.torch_cuda
def test_on_a_gpu_ours_runs_the_device_search_and_scores_as_on_the_cpu(small_split, tiny_weights):
    from inpaint.errors import InpaintError
    from inpaint.eval.fills import gan_inpainter, gan_settings
    from inpaint.kernels import build
    from inpaint.runtime.gpu import gpu_search
    try:
        build.cuda_core()
    except InpaintError as e:
        pytest.skip(str(e))
    s = _settings(small_split, tiny_weights, masks=("center",), methods=("ours",), iterations=6, curve=(2, 6))
    on_gpu = dataclasses.replace(s, device="cuda")
    assert gan_inpainter(on_gpu, gan_settings("ours", on_gpu)).search is gpu_search
    cpu, gpu = evaluate(s, progress=False), evaluate(on_gpu, progress=False)
    for k in (2, 6):   # the curve's fills come from the device search's kept iterates
        a, b = (r["curve"]["center"]["ours"][k]["per_image"]["psnr"] for r in (gpu, cpu))
        np.testing.assert_allclose(a, b, atol=0.1, err_msg=f"PSNR after {k} iterations")
    assert gpu["table"]["center"]["ours"]["iterations"] == cpu["table"]["center"]["ours"]["iterations"]


@pytest.mark.parametrize("search", ["z", "z+bn"])
def test_auto_on_a_cuda_device_picks_the_gpu_runtime_for_either_search(tiny_weights, monkeypatch, search):
    """Where the GPU runtime can run (as backends.unavailable tells), auto picks it for search z
    and z+bn alike; where it cannot, the host loop, with a warning saying why."""
    import warnings

    from inpaint import backends
    from inpaint.eval.fills import resolve_backend
    s = EvalSettings(data="x", weights=str(tiny_weights), device="cuda", overrides=(("search", search),))
    monkeypatch.setattr(backends, "unavailable", lambda row, place, model: "")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve_backend(s) == "gpu"
    monkeypatch.setattr(backends, "unavailable", lambda row, place, model: "cuda.core is not installed")
    with pytest.warns(UserWarning, match="the host loop searches on cuda, since the GPU runtime cannot: cuda.core"):
        assert resolve_backend(s) == "torch"


def test_overrides_reach_ours_but_se_keeps_its_prior():
    from inpaint.eval.fills import gan_settings
    s = EvalSettings(data="x", overrides=(("consistency_weight", 5.0), ("prior_weight", 0.5), ("norm", "l2")))
    ours, se = gan_settings("ours", s), gan_settings("se", s)
    assert (ours.prior, ours.consistency_weight, ours.prior_weight, ours.norm) == ("joint", 5.0, 0.5, "l2")
    assert (se.prior, se.consistency_weight, se.prior_weight, se.norm) == ("global", 0.0, 0.5, "l2")


def test_cli_search_z_bn_reaches_ours_and_se_and_is_recorded(small_split, tiny_weights, tmp_path):
    from inpaint.eval.fills import gan_settings
    s = EvalSettings(data="x", overrides=(("search", "z+bn"),))
    assert gan_settings("ours", s).search == gan_settings("se", s).search == "z+bn"
    runs = {}
    for search in ("z", "z+bn"):
        result = CliRunner().invoke(main, ["--data", str(small_split), "-n", "2", "--masks", "center", "--methods",
                                           "ours", "--iterations", "3", "--restarts", "1", "--search", search,
                                           "--weights", str(tiny_weights), "--json", str(tmp_path / "r.json"),
                                           "--quiet"])
        assert result.exit_code == 0, result.output
        runs[search] = json.loads((tmp_path / "r.json").read_text())
    assert ["search", "z+bn"] in runs["z+bn"]["settings"]["overrides"]
    assert runs["z"]["table"]["center"]["ours"]["psnr_hole"] != runs["z+bn"]["table"]["center"]["ours"]["psnr_hole"]


def test_skip_gives_a_disjoint_draw(small_split):
    from inpaint.eval.harness import pick_images
    first, _ = pick_images(str(small_split), 4, 64, 0)
    rest, _ = pick_images(str(small_split), 4, 64, 0, skip=4)
    assert sorted(first.tolist() + rest.tolist()) == list(range(8))
    with pytest.raises(Exception, match="after skipping 5"):
        pick_images(str(small_split), 4, 64, 0, skip=5)


def test_paired_difference_by_hand():
    from inpaint.eval.harness import paired
    a = {"per_image": {"psnr": [21.0, 22.0, 26.0]}}
    b = {"per_image": {"psnr": [20.0, 23.0, 23.0]}}
    p = paired(a, b, "psnr")                       # differences 1, -1, 3: mean 1, sd 2
    assert p["mean"] == pytest.approx(1.0) and p["wins"] == pytest.approx(2 / 3) and p["n"] == 3
    assert p["ci95"] == pytest.approx(1.96 * 2.0 / np.sqrt(3))
    with pytest.raises(ValueError, match="finite"):
        paired({"per_image": {"psnr": [np.inf, 1.0]}}, {"per_image": {"psnr": [1.0, 1.0]}}, "psnr")


def test_curve_ends_at_the_final_table_and_plots(small_split, tiny_weights, tmp_path):
    from inpaint.eval.figures import quality_curve
    r = evaluate(_settings(small_split, tiny_weights, masks=("center",), methods=("ours", "telea"),
                           iterations=3, curve=(1, 3)), progress=False)
    ours = r["table"]["center"]["ours"]
    assert set(r["curve"]["center"]) == {"ours"} and set(r["curve"]["center"]["ours"]) == {1, 3}
    assert r["curve"]["center"]["ours"][3]["per_image"] == ours["per_image"]
    assert len(ours["per_image"]["psnr"]) == 4
    quality_curve(tmp_path / "curve.png", json.loads(json.dumps(r)))   # as read back from --json
    assert Image.open(tmp_path / "curve.png").size[0] > 300
    with pytest.raises(ValueError, match="no curve"):
        quality_curve(tmp_path / "none.png", {"table": r["table"], "images": r["images"]})
    assert not (tmp_path / "none.png").exists()


def test_curve_table_gives_each_count_and_leaves_blank_where_a_start_stopped(small_split, tiny_weights):
    r = evaluate(_settings(small_split, tiny_weights, masks=("center",), methods=("ours",),
                           iterations=3, curve=(1, 3)), progress=False)
    read_back = json.loads(json.dumps(r))                             # counts become strings
    assert markdown_curve(read_back) == markdown_curve(r)
    at = {k: r["curve"]["center"]["ours"][k] for k in (1, 3)}
    header, rule, row = markdown_curve(r).splitlines()
    assert header == "| mask | method | 1 | 3 |"
    assert row == (f"| center | ours | {at[1]['psnr']['mean']:.2f} / {at[1]['ssim']['mean']:.3f} | "
                   f"{at[3]['psnr']['mean']:.2f} / {at[3]['ssim']['mean']:.3f} |")
    read_back["curve"]["center"]["early"] = {"1": read_back["curve"]["center"]["ours"]["1"]}
    assert markdown_curve(read_back).splitlines()[-1].endswith(" |  |")


def test_cli_curve_plot_needs_a_curve_and_prints_the_paired_table(small_split, tiny_weights, tmp_path):
    r = CliRunner().invoke(main, ["--data", str(small_split), "--curve-plot", str(tmp_path / "c.png")])
    assert r.exit_code == 2 and "--curve" in r.output and not (tmp_path / "c.png").exists()
    r = CliRunner().invoke(main, ["--data", str(small_split), "--curve", "5,x"])
    assert r.exit_code == 2 and "whole numbers like 50,100,200" in r.output
    r = CliRunner().invoke(main, ["--data", str(small_split), "-n", "3", "--masks", "center", "--methods",
                                  "ours,se", "--iterations", "2", "--restarts", "1", "--curve", "1,2",
                                  "--curve-plot", str(tmp_path / "c.png"), "--weights", str(tiny_weights),
                                  "--quiet"])
    assert r.exit_code == 0, r.output
    assert "PSNR ours − se" in r.stdout and (tmp_path / "c.png").exists()
    assert "against iterations" in r.stdout and "| center | se |" in r.stdout.split("against iterations")[1]


def test_both_starts_are_scored_side_by_side_each_to_its_own_iterations(small_split, tiny_encoder_weights, tmp_path):
    """--init random,encoder: ours from random z and from the encoder in one run, each with its
    own default iteration limit unless --iterations sets one, curves cut at that limit."""
    from inpaint.eval.fills import gan_settings
    from inpaint.eval.tables import comparisons
    s = _settings(small_split, tiny_encoder_weights, masks=("center",), methods=("ours", "telea"),
                  inits=("random", "encoder"), iterations=None, curve=(1, 3, 300))
    assert gan_settings("ours", s, "encoder").iteration_limit == DEFAULT_ITERATIONS["encoder"]
    assert gan_settings("ours", s, "random").iteration_limit == 1000
    r = evaluate(dataclasses.replace(s, iterations=3), progress=False)
    assert list(r["table"]["center"]) == ["ours", "ours+encoder", "telea"]
    assert set(r["curve"]["center"]) == {"ours", "ours+encoder"}
    assert set(r["curve"]["center"]["ours+encoder"]) == {1, 3}          # 300 is past the limit of 3
    assert r["table"]["center"]["ours"]["iterations"] == [3, 3]         # per batch of 3 images: 4 = 3 + 1
    assert "iterations" not in r["table"]["center"]["telea"]
    a, b = r["table"]["center"]["ours+encoder"], r["table"]["center"]["ours"]
    assert a["per_image"] != b["per_image"]                            # different starts, different fills
    assert comparisons(r) == [("ours+encoder", "ours")]
    result = CliRunner().invoke(main, ["--data", str(small_split), "-n", "3", "--masks", "center", "--methods",
                                       "ours", "--init", "random,encoder", "--iterations", "2", "--restarts", "1",
                                       "--weights", str(tiny_encoder_weights), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "PSNR ours+encoder − ours" in result.stdout
    result = CliRunner().invoke(main, ["--data", str(small_split), "--init", "zeros"])
    assert result.exit_code == 2 and "choose from auto, random, encoder" in result.output


def test_picked_zip_holds_the_draw_unchanged(small_split, tmp_path):
    import zipfile

    from inpaint.eval.harness import pick_images, write_picked
    out = tmp_path / "picked.zip"
    idx = write_picked(str(small_split), 5, 3, out, skip=1)
    drawn, images = pick_images(str(small_split), 5, 64, 3, skip=1)
    assert np.array_equal(idx, drawn)
    names = sorted(p.name for p in small_split.iterdir())
    with zipfile.ZipFile(out) as z:
        assert z.namelist() == [names[i] for i in idx]
        assert all(z.read(names[i]) == (small_split / names[i]).read_bytes() for i in idx)
    _, again = pick_images(str(out), 5, 64, 0)          # the zip is the whole draw
    assert np.array_equal(again, images)


def test_evaluations_of_one_draw_merge_mask_by_mask(small_split, tiny_weights):
    from inpaint.eval.merge import merge_results
    parts = [evaluate(_settings(small_split, tiny_weights, masks=(kind,), methods=("ours", "mean"), curve=(2,)),
                      progress=False) for kind in ("center", "pattern")]
    merged = merge_results(parts)
    assert list(merged["table"]) == ["center", "pattern"] == merged["settings"]["masks"]
    assert merged["table"]["pattern"]["mean"] == parts[1]["table"]["pattern"]["mean"]
    assert merged["curve"]["center"]["ours"] == parts[0]["curve"]["center"]["ours"]
    assert merged["wall_seconds"] == parts[0]["wall_seconds"] + parts[1]["wall_seconds"]
    with pytest.raises(ValueError, match="center/mean"):
        merge_results([parts[0], parts[0]])
    other = evaluate(_settings(small_split, tiny_weights, masks=("half",), methods=("mean",), seed=1), progress=False)
    with pytest.raises(ValueError, match="different images"):
        merge_results([parts[0], other])


def test_shards_of_a_draw_join_into_the_whole(small_split, tiny_weights):
    from inpaint.eval.merge import join_shards, merge_results
    whole = evaluate(_settings(small_split, tiny_weights, n=6, masks=("center",), methods=("mean", "telea")),
                     progress=False)
    shards = [merge_results([evaluate(_settings(small_split, tiny_weights, n=3, skip=skip, masks=(kind,),
                                                 methods=("ours", "mean", "telea"), curve=(2,)), progress=False)
                             for kind in ("center", "pattern")]) for skip in (3, 0)]
    joined = join_shards(shards)
    assert joined["images"] == whole["images"] == sorted(shards[0]["images"] + shards[1]["images"])
    assert joined["settings"]["n"] == 6 and joined["settings"]["skip"] == 0
    for method in ("mean", "telea"):
        got, want = joined["table"]["center"][method], whole["table"]["center"][method]
        assert got["per_image"] == want["per_image"]
        assert got["psnr"]["mean"] == pytest.approx(want["psnr"]["mean"], abs=1e-4)
        assert got["ssim"]["std"] == pytest.approx(want["ssim"]["std"], abs=1e-4)
    ours = joined["curve"]["pattern"]["ours"][2]
    assert len(ours["per_image"]["psnr"]) == 6
    assert ours["psnr"]["mean"] == pytest.approx(np.mean(ours["per_image"]["psnr"]))
    assert joined["table"]["center"]["ours"]["iterations"] == (shards[0]["table"]["center"]["ours"]["iterations"]
                                                               + shards[1]["table"]["center"]["ours"]["iterations"])
    with pytest.raises(ValueError, match="share images"):
        join_shards([shards[0], shards[0]])
    rest = evaluate(_settings(small_split, tiny_weights, n=2, skip=6, masks=("center",), methods=("mean",)),
                    progress=False)
    with pytest.raises(ValueError, match="pairs"):
        join_shards([shards[0], rest])


def test_the_default_start_is_what_inpaint_rt_complete_starts_from(small_split, tiny_weights, tiny_encoder_weights):
    """init "auto": the latent encoder where the model has one, else random z, as inpaint-rt."""
    from inpaint.eval.fills import resolve_inits
    from inpaint.eval.harness import EvalSettings
    from inpaint.inpainters import torch_inpainter
    for weights, start in ((tiny_encoder_weights, "encoder"), (tiny_weights, "random")):
        s = EvalSettings(str(small_split), weights=str(weights), methods=("ours",))
        assert s.inits == ("auto",)
        assert resolve_inits(s) == (torch_inpainter(weights).settings.init,) == (start,)
    s = EvalSettings(str(small_split), weights=str(tiny_encoder_weights), methods=("ours",), inits=("auto", "encoder"))
    assert resolve_inits(s) == ("encoder",)
    r = evaluate(_settings(small_split, tiny_encoder_weights, masks=("center",), methods=("ours",), inits=("auto",),
                           iterations=2, restarts=1), progress=False)
    assert list(r["table"]["center"]) == ["ours+encoder"] and tuple(r["settings"]["inits"]) == ("encoder",)
