"""Where plans live, which profile serves a batch, and every way a plan directory can be wrong."""
import json
import shutil

import pytest

from inpaint.runtime.bundle import BundleError, load_bundle
from inpaint.runtime.engines.trt_plans import (PLANS_META, device_tag, input_shapes, load_plans_meta,
                                               plans_dir, plans_meta, profile_for, profile_ranges)

GPU, TRT = "NVIDIA H100 80GB HBM3", "10.13.0.35"


def test_device_tag_is_a_safe_directory_name():
    assert device_tag(GPU, TRT) == "nvidia-h100-80gb-hbm3-trt10.13.0.35"
    assert "/" not in device_tag("a/b (c)", "11.0")


def test_profiles_cover_every_batch_and_each_is_tuned_for_its_size():
    ranges = profile_ranges([64, 1, 16, 16])
    assert ranges == [(1, 1, 1), (2, 16, 16), (17, 64, 64)]
    assert [profile_for(b, ranges) for b in (1, 2, 16, 17, 64)] == [0, 1, 1, 2, 2]
    with pytest.raises(BundleError, match="larger than the TensorRT plans allow"):
        profile_for(65, ranges)
    with pytest.raises(ValueError):
        profile_ranges([0, 4])


def test_input_shapes_fill_the_batch_axis(tiny_bundle):
    io = load_bundle(tiny_bundle).graph_io("critic_joint")
    shapes = input_shapes(io, 5)
    assert shapes["x"] == (5, 3, 64, 64) and shapes["box"] == (5, 2) and shapes["weights"] == (2,)


@pytest.fixture
def with_plans(tiny_bundle, tmp_path):
    """A copy of the tiny bundle with (empty) plan files and plans.json for GPU/TRT."""
    root = tmp_path / "b"
    shutil.copytree(tiny_bundle, root)
    bundle = load_bundle(root)
    d = plans_dir(root, GPU, TRT)
    d.mkdir(parents=True)
    meta = plans_meta(bundle, GPU, (9, 0), TRT, [1, 16])
    for g in meta["graphs"].values():
        (d / g["plan"]).write_bytes(b"plan")
    (d / PLANS_META).write_text(json.dumps(meta))
    return bundle, d, meta


def test_matching_plans_load(with_plans):
    bundle, d, meta = with_plans
    root, loaded = load_plans_meta(bundle, GPU, TRT)
    assert root == d and loaded["profiles"] == [[1, 1, 1], [2, 16, 16]]


def test_plans_for_another_gpu_or_tensorrt_are_refused_by_name(with_plans):
    bundle, d, _ = with_plans
    with pytest.raises(BundleError, match=r"plans only for nvidia-h100-80gb-hbm3-trt10\.13\.0\.35.*--engine"):
        load_plans_meta(bundle, "NVIDIA L4", TRT)
    with pytest.raises(BundleError, match="plans only for"):
        load_plans_meta(bundle, GPU, "11.4.0")


def test_renamed_plan_directory_is_caught(with_plans):
    bundle, d, _ = with_plans
    d.rename(plans_dir(bundle.root, "NVIDIA L4", TRT))     # copied to another GPU's name
    with pytest.raises(BundleError, match="built for NVIDIA H100 80GB HBM3 with TensorRT"):
        load_plans_meta(bundle, "NVIDIA L4", TRT)


def test_stale_missing_and_unreadable_plans_are_caught(with_plans):
    bundle, d, meta = with_plans
    meta["graphs"]["generator"]["source_sha256"] = "0" * 64
    (d / PLANS_META).write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="built from another generator graph"):
        load_plans_meta(bundle, GPU, TRT)
    meta["graphs"]["generator"]["source_sha256"] = bundle.manifest["graphs"]["generator"]["sha256"]
    (d / PLANS_META).write_text(json.dumps(meta))
    (d / "features.plan").unlink()
    with pytest.raises(BundleError, match="features.plan is missing"):
        load_plans_meta(bundle, GPU, TRT)
    (d / PLANS_META).write_text("{not json")
    with pytest.raises(BundleError, match="unreadable"):
        load_plans_meta(bundle, GPU, TRT)
    (d / PLANS_META).write_text(json.dumps({**meta, "format": 99}))
    with pytest.raises(BundleError, match="format 99"):
        load_plans_meta(bundle, GPU, TRT)


def test_bundle_without_plans(tiny_bundle):
    with pytest.raises(BundleError, match="has no TensorRT plans"):
        load_plans_meta(load_bundle(tiny_bundle), GPU, TRT)
