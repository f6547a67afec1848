"""Bulk completion on a local Ray: the same pixels as inpaint-rt complete --batch, reruns skip what
exists, and a bad image is reported without stopping the others."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

ray = pytest.importorskip("ray", reason="bulk completion on Ray needs the [ray] extra: pip install -e '.[ray]'")
pytest.importorskip("ray.data", reason="bulk completion on Ray needs Ray Data: pip install -e '.[ray]'")

from inpaint.cli.rt import main  # noqa: E402
from inpaint.distributed import complete_dataset  # noqa: E402


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    yield
    ray.shutdown()


def folder(root, bad: bool):
    """Five pictures of two sizes with box masks (and a truncated PNG with a mask where `bad`)."""
    images, masks = root / "images", root / "masks"
    images.mkdir(parents=True)
    masks.mkdir()
    rng = np.random.default_rng(0)
    for i, (h, w) in enumerate([(64, 64), (80, 72), (64, 64), (96, 80), (70, 70)]):
        y, x = np.mgrid[0:h, 0:w]
        img = np.stack([128 + 60 * np.sin(x / (5 + i) + c) * np.cos(y / 8) for c in range(3)], -1)
        Image.fromarray(np.clip(img + rng.normal(0, 5, img.shape), 0, 255).astype(np.uint8)).save(images / f"p{i}.png")
        m = np.zeros((h, w), np.uint8)
        m[h // 4: h // 2 + 5, w // 4: 3 * w // 4] = 255
        Image.fromarray(m).save(masks / f"p{i}.png")
    if bad:
        data = (images / "p0.png").read_bytes()
        (images / "broken.png").write_bytes(data[: len(data) // 2])
        (masks / "broken.png").write_bytes((masks / "p0.png").read_bytes())
    return images, masks


def test_ray_completes_like_the_batch_command_skips_on_rerun_and_reports_the_bad(tmp_path, local_ray):
    good_images, good_masks = folder(tmp_path / "good", bad=False)
    reference = tmp_path / "reference"
    result = CliRunner().invoke(main, ["complete", "--batch", str(good_images), "--masks", str(good_masks),
                                       "-o", str(reference), "--quiet"])
    assert result.exit_code == 0, result.output

    images, masks = folder(tmp_path / "mixed", bad=True)
    out = tmp_path / "out"
    first = complete_dataset(images, out, masks, concurrency=2, batch_size=2)
    assert first["done"] == 5 and first["skipped"] == 0
    assert [f["image"].rsplit("/", 1)[-1] for f in first["failed"]] == ["broken.png"]
    assert "truncated" in first["failed"][0]["error"]
    assert not (out / "broken.png").exists()
    for i in range(5):
        assert (out / f"p{i}.png").read_bytes() == (reference / f"p{i}.png").read_bytes(), f"p{i}.png"

    (out / "p3.png").unlink()
    again = complete_dataset(images, out, masks, concurrency=2, batch_size=2)
    assert again["done"] == 1 and again["skipped"] == 4 and len(again["failed"]) == 1
    assert (out / "p3.png").read_bytes() == (reference / "p3.png").read_bytes()


def test_the_cli_form_reports_failures_and_exits_2(tmp_path, local_ray):
    images, masks = folder(tmp_path, bad=True)
    result = CliRunner().invoke(main, ["complete", "--batch", str(images), "--masks", str(masks),
                                       "-o", str(tmp_path / "out"), "--ray", "--quiet"])
    assert result.exit_code == 2
    assert "failed: " in result.output and "broken.png" in result.output and "5 completed" in result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"p{i}.png" for i in range(5)]


def test_the_cli_form_names_each_bad_image_and_writes_the_others_as_the_batch_command_does(tmp_path, local_ray):
    """--ray over good images among bad ones (a mask of another size, refused as it is read; a
    mask that leaves nothing known at the model's resolution, refused by the search of its batch):
    each bad one is named with its error and nothing is written for it; the good ones get the
    bytes that --batch writes for a folder of them alone."""
    images, masks = folder(tmp_path / "good", bad=False)
    reference = tmp_path / "reference"
    common = ["--framing", "whole", "--iterations", "4", "--quiet"]
    result = CliRunner().invoke(main, ["complete", "--batch", str(images), "--masks", str(masks),
                                       "-o", str(reference), *common])
    assert result.exit_code == 0, result.output
    Image.fromarray(np.full((40, 40), 255, np.uint8)).save(masks / "q.png")
    (images / "q.png").write_bytes((images / "p0.png").read_bytes())
    sparse = np.full((128, 128), 255, np.uint8)
    sparse[::2, ::2] = 0
    Image.fromarray(sparse).save(masks / "r.png")
    Image.open(images / "p3.png").resize((128, 128)).save(images / "r.png")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["complete", "--batch", str(images), "--masks", str(masks),
                                       "-o", str(out), "--ray", *common])
    assert result.exit_code == 2, result.output
    failed = {line.split(": ", 2)[1].rsplit("/", 1)[-1]: line for line in result.output.splitlines()
              if line.startswith("failed: ")}
    assert sorted(failed) == ["q.png", "r.png"], result.output
    assert "40x40" in failed["q.png"] and "no known pixel" in failed["r.png"]
    assert "5 completed" in result.output and "2 failed" in result.output
    assert sorted(p.name for p in out.iterdir()) == [f"p{i}.png" for i in range(5)]
    for i in range(5):
        assert (out / f"p{i}.png").read_bytes() == (reference / f"p{i}.png").read_bytes(), f"p{i}.png"
