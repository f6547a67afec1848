"""inpaint-rt complete: the input kinds it accepts, and a clear refusal for each bad input."""
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from inpaint.cli.rt import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FAST = ["--iterations", "3", "--restarts", "2", "--quiet"]


def run(weights, *args):
    return CliRunner().invoke(main, ["complete", *map(str, args), "--weights", str(weights), *FAST])


def face(size=(64, 64)) -> np.ndarray:
    return np.asarray(Image.open(EXAMPLES / "astronaut.png").convert("RGB").resize(size, Image.LANCZOS))


def save(path, array, **kw):
    Image.fromarray(array).save(path, **kw)
    return path


def center_hole(h, w):
    m = np.zeros((h, w), np.uint8)
    m[h // 4:3 * h // 4, w // 4:3 * w // 4] = 255
    return m


def assert_known_unchanged(out, original, hole):
    filled = np.asarray(Image.open(out))
    assert filled.shape == original.shape
    assert np.array_equal(filled[~hole], original[~hole])
    assert not np.array_equal(filled[hole], original[hole])    # the hole was filled with something


def test_64x64_face(tiny_weights, tmp_path):
    img = face()
    result = run(tiny_weights, save(tmp_path / "f.png", img), save(tmp_path / "m.png", center_hole(64, 64)),
                 "-o", tmp_path / "out.png", "--report", tmp_path / "r.json")
    assert result.exit_code == 0, result.output
    assert_known_unchanged(tmp_path / "out.png", img, center_hole(64, 64) > 0)
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["images"][0]["iterations"] == 3 and report["settings"]["restarts"] == 2


def test_178x218_face_with_a_free_form_stroke(tiny_weights, tmp_path):
    img = face((178, 218))
    stroke = Image.new("L", (178, 218), 0)
    from PIL import ImageDraw
    ImageDraw.Draw(stroke).line([(20, 30), (90, 120), (150, 60), (160, 200)], fill=255, width=9)
    stroke = np.asarray(stroke)
    result = run(tiny_weights, save(tmp_path / "f.png", img), save(tmp_path / "m.png", stroke),
                 "-o", tmp_path / "out.png")
    assert result.exit_code == 0, result.output
    assert_known_unchanged(tmp_path / "out.png", img, stroke > 0)


def test_rgba_with_transparent_holes_and_no_mask(tiny_weights, tmp_path):
    img = face()
    alpha = np.full((64, 64), 255, np.uint8)
    alpha[10:30, 20:50] = 0
    rgba = np.dstack([img, alpha])
    result = run(tiny_weights, save(tmp_path / "f.png", rgba), "-o", tmp_path / "out.png")
    assert result.exit_code == 0, result.output
    out = np.asarray(Image.open(tmp_path / "out.png"))
    hole = alpha == 0
    assert out.shape == (64, 64, 4) and np.array_equal(out[~hole], rgba[~hole])
    assert np.all(out[hole, 3] == 255)                             # the filled pixels are opaque


def test_grayscale_image(tiny_weights, tmp_path):
    img = np.asarray(Image.fromarray(face((96, 96))).convert("L"))
    result = run(tiny_weights, save(tmp_path / "f.png", img), save(tmp_path / "m.png", center_hole(96, 96)),
                 "-o", tmp_path / "out.png")
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "out.png").mode == "L"
    assert_known_unchanged(tmp_path / "out.png", img, center_hole(96, 96) > 0)


def test_jpeg_with_a_soft_mask(tiny_weights, tmp_path):
    save(tmp_path / "f.jpg", face(), quality=90)
    img = np.asarray(Image.open(tmp_path / "f.jpg"))
    soft = np.tile(np.linspace(0, 255, 64).astype(np.uint8), (64, 1))   # left dark, right bright
    result = run(tiny_weights, tmp_path / "f.jpg", save(tmp_path / "m.png", soft), "-o", tmp_path / "out.png")
    assert result.exit_code == 0, result.output
    assert_known_unchanged(tmp_path / "out.png", img, soft >= 128)


def test_batch_form(tiny_weights, tmp_path):
    (tmp_path / "in").mkdir(), (tmp_path / "masks").mkdir()
    for name in ("a", "b", "c"):
        save(tmp_path / "in" / f"{name}.png", face())
        save(tmp_path / "masks" / f"{name}.png", center_hole(64, 64))
    result = run(tiny_weights, "--batch", tmp_path / "in", "--masks", tmp_path / "masks", "-o", tmp_path / "out",
                 "--report", tmp_path / "r.json")
    assert result.exit_code == 0, result.output
    for name in ("a", "b", "c"):
        assert_known_unchanged(tmp_path / "out" / f"{name}.png", face(), center_hole(64, 64) > 0)
    report = json.loads((tmp_path / "r.json").read_text())
    rate = len(report["images"]) / (report["total_seconds"] - report["load_seconds"])
    assert report["images_per_second"] == pytest.approx(rate, rel=1e-3)
    assert "3 images in" in result.stderr and f"{report['images_per_second']:.2f} images/s" in result.stderr


# ---- bad input: one line on stderr, exit code 2, no traceback, no output file ----

def _refused(result, out: Path, *words):
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    assert not (out.exists() and out.is_file())
    assert not list(out.parent.glob(".tmp-*"))
    for w in words:
        assert w in lines[0], lines[0]


@pytest.fixture
def good(tmp_path):
    return save(tmp_path / "good.png", face()), save(tmp_path / "mask.png", center_hole(64, 64))


def test_missing_image(tiny_weights, tmp_path, good):
    out = tmp_path / "out.png"
    _refused(run(tiny_weights, tmp_path / "nope.png", good[1], "-o", out), out, "not found")


def test_missing_mask(tiny_weights, tmp_path, good):
    out = tmp_path / "out.png"
    _refused(run(tiny_weights, good[0], tmp_path / "nope.png", "-o", out), out, "not found")


def test_unreadable_file(tiny_weights, tmp_path, good):
    (tmp_path / "dir.png").mkdir()
    out = tmp_path / "out.png"
    _refused(run(tiny_weights, tmp_path / "dir.png", good[1], "-o", out), out, "directory")


def test_truncated_png(tiny_weights, tmp_path, good):
    data = good[0].read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    out = tmp_path / "out.png"
    _refused(run(tiny_weights, tmp_path / "cut.png", good[1], "-o", out), out, "truncated")


def test_not_an_image(tiny_weights, tmp_path, good):
    (tmp_path / "notes.png").write_text("hello")
    out = tmp_path / "out.png"
    _refused(run(tiny_weights, tmp_path / "notes.png", good[1], "-o", out), out, "not an image")


def test_mask_of_another_size(tiny_weights, tmp_path, good):
    out = tmp_path / "out.png"
    small = save(tmp_path / "small.png", center_hole(32, 32))
    _refused(run(tiny_weights, good[0], small, "-o", out), out, "32x32", "64x64")


def test_mask_with_nothing_to_fill(tiny_weights, tmp_path, good):
    out = tmp_path / "out.png"
    empty = save(tmp_path / "empty.png", np.zeros((64, 64), np.uint8))
    _refused(run(tiny_weights, good[0], empty, "-o", out), out, "no pixel to fill")


def test_mask_with_nothing_known(tiny_weights, tmp_path, good):
    out = tmp_path / "out.png"
    full = save(tmp_path / "full.png", np.full((64, 64), 255, np.uint8))
    _refused(run(tiny_weights, good[0], full, "-o", out), out, "nothing is known")


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_16_bit_image_is_written_at_16_bits_with_its_known_samples(tiny_weights, tmp_path, good, channels):
    """Grey, RGB and RGBA 16-bit PNGs: completed at 8 bits, written back at 16 (OpenCV reads
    them: BGR order), every known sample as it was, the fill at 8 bits x 257."""
    import cv2
    out, deep = tmp_path / "out.png", tmp_path / "deep.png"
    rng = np.random.default_rng(channels)
    samples = rng.integers(1, 65535, (64, 64, channels), dtype=np.uint16)
    cv2.imwrite(str(deep), samples[..., 0] if channels == 1 else samples)
    r = run(tiny_weights, deep, good[1], "-o", out)
    assert r.exit_code == 0, r.output
    written = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert written.dtype == np.uint16 and written.reshape(64, 64, -1).shape[2] == channels
    written = written.reshape(64, 64, channels)
    hole = np.asarray(Image.open(good[1]).convert("L")) >= 128
    np.testing.assert_array_equal(written[~hole], samples[~hole])
    assert (written[hole][:, :min(channels, 3)] % 257 == 0).all()
    if channels == 4:
        assert (written[hole][:, 3] == 65535).all()


def test_decompression_bomb(tiny_weights, tmp_path, good, monkeypatch):
    import inpaint.imageio.decode
    monkeypatch.setattr(inpaint.imageio.decode, "MAX_PIXELS", 1000)
    out = tmp_path / "out.png"
    _refused(run(tiny_weights, good[0], good[1], "-o", out), out, "limit")


def test_output_path_is_a_directory(tiny_weights, tmp_path, good):
    (tmp_path / "outdir").mkdir()
    result = run(tiny_weights, good[0], good[1], "-o", tmp_path / "outdir")
    _refused(result, tmp_path / "outdir" / "x.png", "directory")
    assert list((tmp_path / "outdir").iterdir()) == []


def test_no_mask_and_no_alpha(tiny_weights, tmp_path, good):
    out = tmp_path / "out.png"
    _refused(run(tiny_weights, good[0], "-o", out), out, "no mask given")


def test_ort_backend_from_a_bundle(tiny_bundle, tmp_path):
    img = face()
    result = CliRunner().invoke(main, ["complete", str(save(tmp_path / "f.png", img)),
                                       str(save(tmp_path / "m.png", center_hole(64, 64))), "-o",
                                       str(tmp_path / "out.png"), "--bundle", str(tiny_bundle),
                                       "--backend", "ort", "--report", str(tmp_path / "r.json"), *FAST])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r.json").read_text())["engine"] == "ort"
    assert_known_unchanged(tmp_path / "out.png", img, center_hole(64, 64) > 0)


def test_corrupt_bundle_is_one_line(tiny_bundle, tmp_path, good):
    import shutil
    bad = tmp_path / "bad"
    shutil.copytree(tiny_bundle, bad)
    (bad / "generator.onnx").write_bytes(b"garbage")
    out = tmp_path / "out.png"
    result = CliRunner().invoke(main, ["complete", str(good[0]), str(good[1]), "-o", str(out),
                                       "--bundle", str(bad), *FAST])
    _refused(result, out, "sha256")


def test_gpu_backend_without_a_gpu_runtime_says_why(tiny_weights, tmp_path, good):
    import importlib.util

    import torch
    if importlib.util.find_spec("cuda") and torch.cuda.is_available():
        pytest.skip("this machine can run the GPU runtime")
    out = tmp_path / "out.png"
    result = run(tiny_weights, *good, "-o", out, "--backend", "gpu")
    _refused(result, out, "--backend gpu")


@pytest.mark.parametrize("value", ["face", "1,2", "1,2,0", "a,b,c", "10,10,-4"])
def test_bad_framing_is_refused_in_one_line(tiny_weights, tmp_path, value):
    img = face()
    result = run(tiny_weights, save(tmp_path / "f.png", img), save(tmp_path / "m.png", center_hole(64, 64)),
                 "-o", tmp_path / "out.png", "--framing", value)
    assert result.exit_code == 2
    assert result.output.startswith("error: --framing") and "X,Y,SIZE" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out.png").exists()


def test_framing_square_outside_the_image_is_refused(tiny_weights, tmp_path):
    img = face()
    result = run(tiny_weights, save(tmp_path / "f.png", img), save(tmp_path / "m.png", center_hole(64, 64)),
                 "-o", tmp_path / "out.png", "--framing", "100,0,30")
    assert result.exit_code == 2 and "outside" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out.png").exists()


def test_given_framing_partly_outside_with_report_and_debug_picture(tiny_weights, tmp_path):
    img = face((120, 100))
    hole = np.zeros((100, 120), np.uint8)
    hole[40:60, 10:40] = 255
    result = run(tiny_weights, save(tmp_path / "f.png", img), save(tmp_path / "m.png", hole),
                 "-o", tmp_path / "out.png", "--framing", "-10,20,70", "--report", tmp_path / "r.json",
                 "--debug-framing", tmp_path / "framing.png")
    assert result.exit_code == 0, result.output
    assert_known_unchanged(tmp_path / "out.png", img, hole > 0)
    framing = json.loads((tmp_path / "r.json").read_text())["images"][0]["framing"]
    assert framing["how"] == "given" and framing["box"] == [-10, 20, 70] and framing["hole_inside"] == 1.0
    drawn = np.asarray(Image.open(tmp_path / "framing.png").convert("RGB")).astype(int)
    assert drawn.shape == img.shape
    green = (drawn[..., 1] > 200) & (drawn[..., 0] < 60)
    assert green[20, 0:59].mean() > 0.9 and green[89, 0:59].mean() > 0.9     # the square's top and bottom edges


def test_no_face_falls_back_to_the_whole_image_and_says_so(tiny_weights, tmp_path):
    rng = np.random.default_rng(0)
    img = np.asarray(Image.fromarray(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)).resize((96, 96), Image.BICUBIC))
    result = CliRunner().invoke(main, ["complete", str(save(tmp_path / "f.png", img)),
                                       str(save(tmp_path / "m.png", center_hole(96, 96))), "-o", str(tmp_path / "out.png"),
                                       "--weights", str(tiny_weights), "--iterations", "3", "--restarts", "1",
                                       "--report", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    notes = [line for line in result.output.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "no face found" in notes[0] and "whole image" in notes[0]
    framing = json.loads((tmp_path / "r.json").read_text())["images"][0]["framing"]
    assert framing["how"] == "whole (fallback)" and framing["box"] is None


def test_method_se_searches_with_the_global_prior_alone(tiny_weights, tmp_path):
    """--method se is Yeh et al.'s search (D's own head, no consistency term): another objective
    than ours from the same start."""
    img = face()
    args = [save(tmp_path / "f.png", img), save(tmp_path / "m.png", center_hole(64, 64))]
    losses = {}
    for method in ("ours", "se"):
        result = run(tiny_weights, *args, "-o", tmp_path / f"{method}.png", "--method", method,
                     "--report", tmp_path / f"{method}.json")
        assert result.exit_code == 0, result.output
        report = json.loads((tmp_path / f"{method}.json").read_text())
        assert report["method"] == method
        losses[method] = report["images"][0]["loss"]
    assert report["settings"]["prior"] == "global" and report["settings"]["consistency_weight"] == 0.0
    assert_known_unchanged(tmp_path / "se.png", img, center_hole(64, 64) > 0)
    assert losses["ours"] != losses["se"]           # another objective


@pytest.mark.parametrize("backend", ["torch", "ort"])
def test_search_z_bn_completes_an_example_image(tiny_weights, tiny_bundle, tmp_path, backend):
    img = face()
    model = ["--weights", str(tiny_weights)] if backend == "torch" else ["--bundle", str(tiny_bundle)]
    result = CliRunner().invoke(main, ["complete", str(save(tmp_path / "f.png", img)),
                                       str(save(tmp_path / "m.png", center_hole(64, 64))), "-o",
                                       str(tmp_path / "out.png"), "--search", "z+bn", "--backend", backend, *model,
                                       "--report", str(tmp_path / "r.json"), *FAST])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["settings"]["search"] == "z+bn" and report["engine"] == backend
    assert report["images"][0]["iterations"] == 3
    assert_known_unchanged(tmp_path / "out.png", img, center_hole(64, 64) > 0)


def test_search_is_refused_with_method_gl(tiny_weights, tmp_path, good):
    result = run(tiny_weights, *good, "-o", tmp_path / "o.png", "--method", "gl", "--search", "z+bn")
    assert result.exit_code == 2 and "--search is for the searches" in result.output


def test_batch_reports_each_bad_image_and_writes_the_others(tmp_path):
    """--batch over good images among bad ones (a mask of another size and a truncated file,
    refused as they are read; a mask that leaves nothing known at the model's resolution, refused
    by the search of its batch): each bad one is named on stderr with its error and nothing is
    written for it; the good ones are written with the pixels a folder of them alone gets; exit 2."""
    def folder(root, bad: bool):
        (root / "in").mkdir(parents=True), (root / "masks").mkdir()
        for name, size in (("a", (64, 64)), ("c", (80, 72)), ("e", (96, 96))):
            save(root / "in" / f"{name}.png", face(size))
            save(root / "masks" / f"{name}.png", center_hole(size[1], size[0]))
        if bad:
            save(root / "in" / "b.png", face()), save(root / "masks" / "b.png", center_hole(32, 32))
            data = (root / "in" / "a.png").read_bytes()
            (root / "in" / "d.png").write_bytes(data[: len(data) // 2])
            save(root / "masks" / "d.png", center_hole(64, 64))
            sparse = np.full((128, 128), 255, np.uint8)
            sparse[::2, ::2] = 0
            save(root / "in" / "f.png", face((128, 128))), save(root / "masks" / "f.png", sparse)
        return root

    def batch(root, *more):
        return CliRunner().invoke(main, ["complete", "--batch", str(root / "in"), "--masks", str(root / "masks"),
                                         "-o", str(root / "out"), "--backend", "ort", "--framing", "whole",
                                         "--iterations", "3", "--restarts", "2", "--quiet", *more])
    reference = batch(folder(tmp_path / "good", bad=False))
    assert reference.exit_code == 0, reference.output
    mixed = folder(tmp_path / "mixed", bad=True)
    result = batch(mixed, "--report", str(tmp_path / "r.json"))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    failed = {line.split(": ", 2)[1].rsplit("/", 1)[-1]: line for line in result.stderr.splitlines()
              if line.startswith("failed: ")}
    assert sorted(failed) == ["b.png", "d.png", "f.png"], result.stderr
    assert "32x32" in failed["b.png"] and "truncated" in failed["d.png"] and "no known pixel" in failed["f.png"]
    assert "3 images in" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == ("error: 3 image(s) could not be completed (listed above); "
                                                      "the others are written")
    assert sorted(p.name for p in (mixed / "out").iterdir()) == ["a.png", "c.png", "e.png"]
    for name in ("a", "c", "e"):
        assert (mixed / "out" / f"{name}.png").read_bytes() == (tmp_path / "good" / "out" / f"{name}.png").read_bytes()
    report = json.loads((tmp_path / "r.json").read_text())
    assert [Path(r["image"]).name for r in report["images"]] == ["a.png", "c.png", "e.png"]
    assert [Path(r["image"]).name for r in report["failed"]] == ["b.png", "d.png", "f.png"]
