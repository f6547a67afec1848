"""G with a per-image scale and shift of its batch-norm channels (search z+bn), in PyTorch."""
import pytest
import torch
import torch.nn as nn

from inpaint.spec import ModelSpec, generator_norms, modulation_size, search_of_size, search_size
from inpaint.train.models import Generator
from inpaint.train.modulated import ModulatedGenerator, modulated_generator_forward, split_modulation


@pytest.mark.parametrize("spec", [ModelSpec(), ModelSpec(resolution=32), ModelSpec(ngf=8)])
def test_modulation_size_counts_every_batch_norm_channel_of_g(spec):
    norms = [m.num_features for m in Generator(spec).modules() if isinstance(m, nn.BatchNorm2d)]
    assert list(generator_norms(spec)) == norms
    assert modulation_size(spec) == 2 * sum(norms)
    assert search_size(spec, "z") == spec.z_dim and search_size(spec, "z+bn") == spec.z_dim + 2 * sum(norms)
    assert search_of_size(spec, spec.z_dim + 2 * sum(norms)) == "z+bn"
    with pytest.raises(ValueError, match="numbers for this model"):
        search_of_size(spec, spec.z_dim + 1)


def test_shipped_shape_has_1920_modulation_numbers():
    assert generator_norms(ModelSpec()) == (512, 256, 128, 64) and modulation_size(ModelSpec()) == 1920


def _g():
    torch.manual_seed(0)
    spec = ModelSpec(ngf=8)
    g = Generator(spec).eval()
    for bn in [m for m in g.modules() if isinstance(m, nn.BatchNorm2d)]:
        bn.running_mean.uniform_(-0.2, 0.2)
        bn.running_var.uniform_(0.5, 2.0)
    return spec, g


def test_no_modulation_is_g_of_z_exactly():
    spec, g = _g()
    z = torch.rand(3, spec.z_dim) * 2 - 1
    v = torch.cat([z, torch.zeros(3, modulation_size(spec))], 1)
    with torch.no_grad():
        assert torch.equal(modulated_generator_forward(g, v), g(z))


def test_modulation_scales_and_shifts_each_norm_per_image():
    """u_b of the last norm's channel c moves only image b's activations there: the modulated
    forward equals G with that norm's bias raised by 0.5 for that image."""
    spec, g = _g()
    z = torch.rand(2, spec.z_dim) * 2 - 1
    v = torch.cat([z, torch.zeros(2, modulation_size(spec))], 1)
    c = sum(generator_norms(spec))
    v[1, spec.z_dim + c + c - 1] = 1.0            # image 1, shift of the last norm's last channel
    with torch.no_grad():
        got = modulated_generator_forward(g, v)
        assert torch.equal(got[0], g(z[:1])[0])
        last = [m for m in g.modules() if isinstance(m, nn.BatchNorm2d)][-1]
        last.bias[-1] += 0.5
        assert torch.allclose(got[1], g(z[1:])[0], atol=1e-6)
    z_part, scales, shifts = split_modulation(v, spec)
    assert torch.equal(z_part, z) and [s.shape[1] for s in scales] == list(generator_norms(spec))
    assert shifts[-1][1, -1].item() == 0.5 and scales[0].eq(1).all()


def test_autograd_matches_a_finite_difference():
    """The gradient with respect to v, along a random direction, against a central difference
    (in float64): z and the modulation both receive it."""
    spec, g = _g()
    g = g.double()
    v = (torch.rand(2, search_size(spec, "z+bn"), dtype=torch.float64) * 1.6 - 0.8).requires_grad_(True)
    w = torch.randn(2, 3, 64, 64, dtype=torch.float64)
    (ModulatedGenerator(g)(v) * w).sum().backward()
    assert v.grad[:, :spec.z_dim].abs().sum() > 0 and v.grad[:, spec.z_dim:].abs().sum() > 0
    for part in (slice(0, spec.z_dim), slice(spec.z_dim, None)):
        d = torch.zeros_like(v)
        d[:, part] = torch.randn_like(v[:, part])
        with torch.no_grad():
            fd = ((modulated_generator_forward(g, v + 1e-6 * d) - modulated_generator_forward(g, v - 1e-6 * d))
                  * w).sum() / 2e-6
        assert torch.isclose((v.grad * d).sum(), fd, rtol=1e-6)


def test_wrong_width_is_refused():
    spec, g = _g()
    with pytest.raises(ValueError, match="columns"):
        modulated_generator_forward(g, torch.zeros(1, spec.z_dim))


def test_settings_take_only_the_known_searches():
    from inpaint.spec import InpaintSettings
    assert InpaintSettings().search == "auto" and InpaintSettings(search="z+bn").search == "z+bn"
    with pytest.raises(ValueError, match="search must be one of auto, z, z\\+bn"):
        InpaintSettings(search="bn")
