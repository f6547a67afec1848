import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from inpaint.cli.eval import main
from inpaint.errors import InpaintError
from inpaint.eval.photo_problems import STROKE_AREA, STROKE_WIDTH, Photo, make_hole, problems, true_box
from inpaint.eval.photos import PhotoSettings, evaluate_photos
from inpaint.runtime.framing.geometry import Box, hole_inside

SAMPLE = "celeba_aligned_sample/img_align_celeba_sample.zip"
ALIGNED = (218, 178)                      # (H, W)
CORNERS = {(255, 0, 0): (0, 0), (0, 255, 0): (1, 0), (0, 0, 255): (0, 1), (255, 255, 0): (1, 1)}
MAGENTA = np.array([255, 0, 255])
GREY = 128


def _bounds(hole):
    ys, xs = np.nonzero(hole)
    return xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()


@pytest.mark.parametrize("scale", [1, 2])
def test_holes_have_their_stated_sizes_and_places(scale):
    shape = (ALIGNED[0] * scale, ALIGNED[1] * scale)
    sizes = {"face": (54, 54), "eyes": (68, 24), "mouth": (40, 24), "hair": (78, 40), "background": (30, 80)}
    places = {"face": (62, 82), "eyes": (55, 100), "mouth": (69, 140), "hair": (50, 10), "background": (0, 60)}
    box = true_box(shape)
    assert box.to_list() == [35.0 * scale, 55.0 * scale, 108.0 * scale]
    for index in range(8):
        for kind, (w, h) in sizes.items():
            hole = make_hole(kind, shape, seed=0, index=index)
            x, y, bw, bh = _bounds(hole)
            assert (bw, bh) == (w * scale, h * scale) and hole.sum() == bw * bh, kind
            assert abs(x - places[kind][0] * scale) <= 3 * scale and abs(y - places[kind][1] * scale) <= 3 * scale
            assert x >= 0 and y >= 0 and x + bw <= shape[1] and y + bh <= shape[0]
            inside = hole_inside(box, hole)           # the mouth reaches a little below the square
            assert inside >= 0.8 if kind in ("face", "eyes", "mouth") else inside <= 0.25, (kind, inside)
        x, y, bw, bh = _bounds(make_hole("strokes", shape, 0, index))
        reach = STROKE_WIDTH[1] // 2 + 1
        assert (STROKE_AREA[0] - reach) * scale <= x and x + bw <= (STROKE_AREA[2] + reach) * scale
        assert (STROKE_AREA[1] - reach) * scale <= y and y + bh <= (STROKE_AREA[3] + reach) * scale
    face = make_hole("face", ALIGNED, 0, 3)
    assert face.sum() / true_box(ALIGNED).size ** 2 == pytest.approx(0.25)
    assert np.array_equal(face, make_hole("face", ALIGNED, 0, 3))              # every method sees it
    assert not np.array_equal(make_hole("strokes", ALIGNED, 0, 3), make_hole("strokes", ALIGNED, 0, 4))


def _marked_photo(index: int) -> Photo:
    """Grey, with a coloured 8x8 marker centred on each corner of the true square and the face
    hole's pixels painted magenta."""
    rgb = np.full((*ALIGNED, 3), GREY, np.uint8)
    box = true_box(ALIGNED)
    for colour, (i, j) in CORNERS.items():
        cx, cy = round(box.x + i * box.size), round(box.y + j * box.size)
        rgb[cy - 4:cy + 4, cx - 4:cx + 4] = colour
    rgb[make_hole("face", ALIGNED, 0, index)] = MAGENTA
    return Photo(f"{index}.png", index, rgb)


def _share(rgb, colour):
    """How much of each pixel is `colour` blended with the grey (0 to 1), as resampling mixes them."""
    d = np.asarray(colour, float) - GREY
    return np.clip((rgb.astype(float) - GREY) @ d / (d @ d), 0, 1)


def test_reframing_moves_the_true_square_and_the_hole_with_the_photo():
    photos = [_marked_photo(i) for i in range(24)]
    checked = 0
    for p in problems(photos, "reframed", "face", seed=0):
        h, w = p.hole.shape
        scale = p.box.size / 108
        assert 0.6 <= scale <= 1.6
        cx, cy = p.box.center                       # the square's center in the middle 60%
        assert 0.2 * w - 0.5 <= cx <= 0.8 * w + 0.5 and 0.2 * h - 0.5 <= cy <= 0.8 * h + 0.5
        for colour, (i, j) in CORNERS.items():      # each marker's centre lies on its corner
            x, y = p.box.x + i * p.box.size, p.box.y + j * p.box.size
            r = int(10 * scale)
            if r <= x < w - r and r <= y < h - r:
                x0, y0 = int(x) - r, int(y) - r
                share = _share(p.rgb[y0:y0 + 2 * r, x0:x0 + 2 * r], colour)
                ys, xs = np.mgrid[0:2 * r, 0:2 * r] + 0.5
                centre = (x0 + (share * xs).sum() / share.sum(), y0 + (share * ys).sum() / share.sum())
                # a square scaled by the width's and height's mean rounding: up to 0.3 px off
                assert np.abs(np.subtract(centre, (x, y))).max() < 0.4, (p.index, colour, centre, (x, y))
                checked += 1
        # the hole is where the magenta went (a pixel half magenta lies on its edge: either way)
        magenta = _share(p.rgb, MAGENTA)
        wrong = (p.hole & (magenta < 0.4)) | (~p.hole & (magenta > 0.6))
        assert p.hole.any() and wrong.sum() <= 0.02 * (p.hole & ~_erode(p.hole)).sum(), (p.index, wrong.sum())
    assert checked > 40


def _erode(m):
    out = m.copy()
    for axis in (0, 1):
        for step in (1, -1):
            out &= np.roll(m, step, axis)
    return out


def test_a_reframed_hole_is_never_cut_away_and_the_draw_repeats():
    photos = [_marked_photo(i) for i in range(30)]
    for kind in ("hair", "background"):
        a = problems(photos, "reframed", kind, seed=1)
        assert all(p.hole.any() for p in a)
        b = problems(photos, "reframed", kind, seed=1)
        assert all(np.array_equal(x.rgb, y.rgb) and x.box == y.box for x, y in zip(a, b))


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory):
    """Three 178x218 smooth random pictures (no face there to find)."""
    d = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for i in range(3):
        coarse = Image.fromarray(rng.integers(0, 256, (15, 12, 3)).astype(np.uint8))
        coarse.resize((ALIGNED[1], ALIGNED[0]), Image.BICUBIC).save(d / f"{i:03d}.png")
    return d


class Counting:
    """An Inpainter that counts its complete_many calls."""

    def __init__(self, inner):
        self.inner, self.calls = inner, 0

    def complete_many(self, *args, **kwargs):
        self.calls += 1
        return self.inner.complete_many(*args, **kwargs)


def test_parts_are_written_then_reused_and_other_settings_are_refused(photo_folder, tmp_path):
    from inpaint.runtime.complete import Inpainter
    s = PhotoSettings(photos=str(photo_folder), holes=("face", "hair"), methods=("whole", "telea"),
                      iterations=2, restarts=1)
    inner = Inpainter.from_bundle(settings=s.inpaint_settings())
    first = Counting(inner)
    a = evaluate_photos(s, parts=tmp_path, inpainter=first)
    assert first.calls == 4 and sorted(p.name for p in tmp_path.glob("*.json")) == [
        "aligned_face.json", "aligned_hair.json", "reframed_face.json", "reframed_hair.json"]
    again = Counting(inner)
    b = evaluate_photos(s, parts=tmp_path, inpainter=again)
    assert again.calls == 0 and b["computed_parts"] == [] and b["records"] == a["records"]
    assert b["table"] == a["table"]
    (tmp_path / "reframed_hair.json").unlink()
    third = Counting(inner)
    c = evaluate_photos(s, parts=tmp_path, inpainter=third)
    assert third.calls == 1 and c["computed_parts"] == ["reframed_hair"] and c["records"] == a["records"]
    with pytest.raises(InpaintError, match=r"other settings \(iterations differ\)"):
        evaluate_photos(PhotoSettings(**{**s.__dict__, "iterations": 3}), parts=tmp_path, inpainter=Counting(inner))


@pytest.fixture
def framing_net(monkeypatch, tmp_path):
    """The shipped framing network where it is there; else a stand-in that keeps every guess as
    it is (no shift; the log side ratio that undoes the views' mean log side), so the found
    framing is the face detector's first guess."""
    from inpaint.runtime.framing import network as framing
    if framing.FRAMING_MODEL.is_file():
        return framing.FRAMING_MODEL
    onnx = pytest.importorskip("onnx", reason="building a stand-in framing network needs onnx")
    from onnx import TensorProto, helper, numpy_helper
    weight = numpy_helper.from_array(np.zeros((4 * 32 * 32, 3), np.float32), "w")
    keep = numpy_helper.from_array(np.array([0, 0, -np.mean(np.log(framing.VIEW_SIDES))], np.float32), "keep")
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["view"], ["flat"], axis=1), helper.make_node("MatMul", ["flat", "w"], ["zero"]),
         helper.make_node("Add", ["zero", "keep"], ["out"])],
        "keep_framing", [helper.make_tensor_value_info("view", TensorProto.FLOAT, ["batch", 4, 32, 32])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["batch", 3])], [weight, keep])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "framing.onnx"
    onnx.save(model, str(path))
    monkeypatch.setattr(framing, "FRAMING_MODEL", path)
    return path


def test_cli_on_real_photos_writes_json_with_framing_and_tables(shared_data, framing_net, tmp_path):
    out = tmp_path / "r.json"
    r = CliRunner().invoke(main, ["--photos", str(shared_data / SAMPLE), "-n", "2", "--holes",
                                  "face,mouth,hair,background", "--iterations", "2", "--restarts", "1",
                                  "--json", str(out), "--grids", str(tmp_path / "grids"), "--quiet"])
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text())
    assert {"settings", "settings_hash", "photos", "records", "table", "framing"} <= set(data)
    assert len(data["photos"]) == 2 and len(data["records"]) == 2 * 2 * 4
    for rec in data["records"]:
        assert set(rec["scores"]) == {"whole", "found", "true", "telea", "biharmonic"}
        assert 0.0 <= rec["framing"]["iou"] <= 1.0
        assert rec["framing"]["how"] in ("found", "whole (fallback)")
        assert (rec["framing"]["iou"] > 0) == (rec["framing"]["how"] == "found")
    assert any(rec["framing"]["how"] == "found" for rec in data["records"])   # the found path ran
    for rec in data["records"]:
        if "outside" in rec:
            assert rec["framing"]["how"] == "found" and 0 < rec["outside"]["pixels"] <= rec["hole_pixels"]
            assert set(rec["outside"]["psnr"]) == {"whole", "found", "telea", "biharmonic"}
    assert set(data["table"]["reframed"]) == {"face", "mouth", "hair", "background", "face holes", "off-face holes"}
    assert 0.0 <= data["framing"]["all sets"]["face holes"]["found"] <= 1.0
    assert "| face holes |" in r.stdout and "PSNR found − whole" in r.stdout
    assert "face holes: IoU ≥ 0.8 for at least" in r.stdout and "weakest: " in r.stdout
    assert (tmp_path / "grids" / "photos_reframed_face.png").is_file()


def test_framing_only_runs_the_framer_alone(shared_data, framing_net, tmp_path):
    out = tmp_path / "f.json"
    r = CliRunner().invoke(main, ["--photos", str(shared_data / SAMPLE), "-n", "3", "--holes", "face,eyes",
                                  "--framing-only", "--json", str(out), "--quiet"])
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text())
    assert data["mode"] == "framing-only" and data["table"] == {} and len(data["records"]) == 2 * 2 * 3
    assert all("scores" not in rec and 0 <= rec["framing"]["iou"] <= 1 for rec in data["records"])
    assert data["framing"]["all sets"]["face holes"]["n"] == 12
    assert "face holes: IoU ≥ 0.8 for at least" in r.stdout


def test_framing_only_keeps_each_scale_and_set_as_a_part_and_resumes(shared_data, framing_net, tmp_path):
    args = ["--photos", str(shared_data / SAMPLE), "-n", "2", "--holes", "face", "--sets", "aligned",
            "--framing-only", "--scales", "0.5,2", "--parts", str(tmp_path / "parts"), "--quiet"]
    r = CliRunner().invoke(main, [*args, "--json", str(tmp_path / "a.json")])
    assert r.exit_code == 0, r.output
    first = json.loads((tmp_path / "a.json").read_text())
    assert sorted(p.name for p in (tmp_path / "parts").iterdir()) == ["framing_0.5x_aligned.json",
                                                                    "framing_2x_aligned.json"]
    assert [rec["scale"] for rec in first["records"]] == [0.5, 0.5, 2.0, 2.0]
    by_size = r.stdout[r.stdout.index("by size:"):]
    assert "| hole | aligned 0.5x | aligned 2x |" in by_size
    face = first["framing"]["aligned 2x"]["face"]
    assert f"{face['iou_good']:.1%} ({face['found']:.0%})" in by_size.splitlines()[4]
    # a part read back is used as it is: a marked record shows it was not recomputed
    part = tmp_path / "parts" / "framing_2x_aligned.json"
    body = json.loads(part.read_text())
    body["records"][0]["framing"]["iou"] = 0.123
    part.write_text(json.dumps(body))
    r = CliRunner().invoke(main, [*args, "--json", str(tmp_path / "b.json")])
    assert r.exit_code == 0, r.output
    second = json.loads((tmp_path / "b.json").read_text())
    assert second["records"][2]["framing"]["iou"] == 0.123
    assert second["records"][:2] == first["records"][:2]
    # other hole kinds make other parts: the old ones are refused, not mixed in
    r = CliRunner().invoke(main, [*args[:5], "face,eyes", *args[6:]])
    assert r.exit_code == 2 and "computed with other settings (holes differ)" in r.stderr, r.output


def test_outside_hole_is_the_hole_past_the_found_square():
    from inpaint.eval.photos import outside_hole
    from inpaint.runtime.framing.result import WHOLE, Framing
    hole = np.zeros((40, 50), bool)
    hole[5:25, 10:30] = True
    outside = outside_hole(Framing(Box(15, 0, 20), "found"), hole)     # the square covers x 15-34, y 0-19
    expected = hole.copy()
    expected[0:20, 15:35] = False
    assert np.array_equal(outside, expected) and outside.sum() == 20 * 20 - 15 * 15
    assert outside_hole(Framing(Box(0, 0, 40), "found"), hole) is None      # the hole wholly inside
    assert outside_hole(WHOLE, hole) is None


def test_cli_photo_mode_refuses_bad_input_in_one_line(photo_folder):
    for args, message in ((["--methods", "whole,magic"], "--methods: magic; choose from whole, found"),
                          (["--holes", "nose"], "--holes: nose"),
                          (["--masks", "center"], "--masks is for the crop evaluation"),
                          (["--framing-only", "--iterations", "3"], "--iterations has no use with --framing-only"),
                          (["-n", "9"], "holds 3")):
        r = CliRunner().invoke(main, ["--photos", str(photo_folder), "--quiet", *args])
        assert r.exit_code == 2, (args, r.output)
        assert r.stderr.startswith("error:") and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert message in r.stderr, r.stderr
    r = CliRunner().invoke(main, ["--methods", "telea"])
    assert r.exit_code == 2 and "give --data" in r.output


def test_acceptance_holds_every_face_hole_kind_set_and_scale_to_the_mark():
    from inpaint.eval.photos_report import acceptance, summarise

    def records(scale, kind, good, n=10, set_name="aligned"):
        return [{"set": set_name, "hole": kind, "scale": scale,
                 "framing": {"how": "found", "iou": 0.9 if i < good else 0.7, "seconds": 0.1}} for i in range(n)]
    s = PhotoSettings(photos="x", holes=("face", "upper_face", "hair"), sets=("aligned",), scales=(1.0, 5.0))
    rows = (records(1.0, "face", 10) + records(1.0, "upper_face", 9) + records(5.0, "face", 10)
            + records(5.0, "upper_face", 10) + records(1.0, "hair", 0) + records(5.0, "hair", 0))
    line = acceptance(summarise(rows, s))
    assert line.endswith("pass") and "at least 90.0% of each kind" in line and "aligned 1x upper_face" in line
    rows[10 + 9 - 1]["framing"]["iou"] = 0.5            # 8 of 10 upper_face holes at 1x: under 90%
    line = acceptance(summarise(rows, s))
    assert line.endswith("FAIL") and "80.0%" in line and "weakest: aligned 1x upper_face" in line
