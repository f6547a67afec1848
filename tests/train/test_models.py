import pytest
import torch

from inpaint.spec import ModelSpec
from inpaint.train.models import Generator, JointDiscriminator, build_models, crop_patches


@pytest.mark.parametrize("res", [32, 64])
def test_generator_shapes_and_range(res):
    spec = ModelSpec(resolution=res)
    g = Generator(spec).eval()
    z = torch.rand(5, spec.z_dim) * 2 - 1
    x = g(z)
    assert x.shape == (5, 3, res, res)
    assert x.abs().max() <= 1.0


@pytest.mark.parametrize("res", [32, 64])
def test_discriminator_branch_and_joint_shapes(res):
    spec = ModelSpec(resolution=res)
    _, d = build_models(spec)
    image = torch.randn(3, 3, res, res)
    patch = torch.randn(3, 3, res // 2, res // 2)
    s = d(image, patch)
    assert s.joint.shape == s.global_.shape == s.patch.shape == (3, 1)
    # D: one stride-2 stage per halving down to 4x4, widest layer 8*ndf (64) or 4*ndf (32).
    assert s.global_features.shape == (3, spec.ndf * (8 if res == 64 else 4), 4, 4)
    # PD sees half the side, so it has one stage less.
    assert s.patch_features.shape == (3, spec.ndf * (4 if res == 64 else 2), 4, 4)
    # fusion: 2048 hidden units from both branches' reduced features, then one logit
    assert d.fuse[0].out_features == 2048
    assert d.fuse[0].in_features == 2 * spec.fuse_channels * 16


def test_patch_branch_rejects_wrong_crop_size():
    spec = ModelSpec(resolution=64)
    _, d = build_models(spec)
    with pytest.raises(RuntimeError):
        d(torch.randn(1, 3, 64, 64), torch.randn(1, 3, 64, 64))


def test_joint_score_depends_on_both_branches():
    torch.manual_seed(0)
    spec = ModelSpec(resolution=32)
    _, d = build_models(spec)
    d.eval()
    image, patch = torch.randn(2, 3, 32, 32), torch.randn(2, 3, 16, 16)
    base = d(image, patch).joint
    assert not torch.allclose(base, d(image, patch + 0.5).joint)
    assert not torch.allclose(base, d(image + 0.5, patch).joint)


def test_crop_patches_matches_slicing():
    x = torch.randn(4, 3, 12, 12)
    top = torch.tensor([0, 3, 6, 2])
    left = torch.tensor([6, 0, 1, 4])
    crops = crop_patches(x, top, left, 6)
    for b in range(4):
        assert torch.equal(crops[b], x[b, :, top[b]:top[b] + 6, left[b]:left[b] + 6])


def test_spec_rejects_unsupported_resolution():
    with pytest.raises(ValueError):
        ModelSpec(resolution=48)
