import numpy as np
import pytest
import torch

from inpaint.runtime.ops import AdamState, CpuOps


@pytest.mark.parametrize("norm", ["l1", "l2"])
@pytest.mark.parametrize("shape", [(1, 3, 8, 8), (5, 3, 7, 11)])
def test_contextual_loss_and_gradient_match_autograd(norm, shape):
    rng = np.random.default_rng(1)
    x, y = rng.uniform(-1, 1, shape).astype(np.float32), rng.uniform(-1, 1, shape).astype(np.float32)
    w = rng.uniform(0, 1, (shape[0], 1, *shape[2:])).astype(np.float32)
    w[..., :2, :] = 0          # a "hole" with zero weight
    loss, grad = CpuOps.contextual(x, y, w, norm)
    xt = torch.from_numpy(x).double().requires_grad_(True)
    d = xt - torch.from_numpy(y).double()
    per = (torch.from_numpy(w).double() * (d.abs() if norm == "l1" else d * d)).sum((1, 2, 3))
    per.sum().backward()
    np.testing.assert_allclose(loss, per.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(grad, xt.grad.numpy(), rtol=1e-5, atol=1e-7)
    assert np.all(grad[..., :2, :] == 0)


def test_contextual_rejects_unknown_norm():
    a = np.zeros((1, 3, 2, 2), np.float32)
    with pytest.raises(ValueError, match="l1"):
        CpuOps.contextual(a, a, a[:, :1], "l3")


def test_adam_matches_torch_and_clips():
    rng = np.random.default_rng(2)
    z = rng.uniform(-1, 1, (3, 100)).astype(np.float32)
    zt = torch.from_numpy(z.copy()).requires_grad_(True)
    opt = torch.optim.Adam([zt], lr=0.05, betas=(0.9, 0.999), eps=1e-8)
    state = AdamState.zeros_like(z)
    for _ in range(5):
        g = rng.normal(size=z.shape).astype(np.float32)
        CpuOps.adam(z, g, state, 0.05, 0.9, 0.999)
        zt.grad = torch.from_numpy(g)
        opt.step()
        with torch.no_grad():
            zt.clamp_(-1, 1)
    np.testing.assert_allclose(z, zt.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert z.min() >= -1 and z.max() <= 1 and state.t == 5
    assert np.isclose(np.abs(z), 1).any()     # some coordinates were clipped


def test_adam_keeps_a_nan_gradient_as_a_nan_z():
    """The reference the adam kernel follows: np.clip leaves a NaN a NaN (a bound would hide it)."""
    z = np.zeros((2, 4), np.float32)
    grad = np.ones_like(z)
    grad[1, 2] = np.nan
    CpuOps.adam(z, grad, AdamState.zeros_like(z), 10.0, 0.9, 0.999)
    assert np.isnan(z[1, 2]) and np.count_nonzero(np.isnan(z)) == 1
    assert (z[~np.isnan(z)] == -1).all()            # the others step past -1 and are clipped
