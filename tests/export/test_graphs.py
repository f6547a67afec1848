"""The adjoint graphs against torch autograd (through the eager engine)."""
import numpy as np
import pytest
import torch

from inpaint.export.adjoint import crop, selector, uncrop
from inpaint.export.graphs import CriticGraph, FeaturesGraph, GeneratorGraph, GeneratorVJPGraph
from inpaint.masks import make_mask
from inpaint.runtime.optimise import initial_z
from inpaint.runtime.problem import make_problem
from inpaint.torch_engines.eager import TorchEngine


@pytest.fixture(scope="module")
def engine(tiny_weights):
    return TorchEngine.from_weights(tiny_weights)


def _rel(a, b):
    return float(np.linalg.norm(np.asarray(a, np.float64) - b) / max(np.linalg.norm(b), 1e-30))


def _problem(engine, batch):
    y = np.random.default_rng(batch).uniform(-1, 1, (batch, 3, 64, 64)).astype(np.float32)
    known = np.stack([make_mask(("center", "pattern")[i % 2], 64, i) for i in range(batch)])
    return make_problem(y, known, engine.spec.patch)


@pytest.mark.parametrize("batch", [1, 16])
def test_generator_vjp_matches_autograd(engine, batch):
    z = initial_z(batch, engine.spec.z_dim, 3)
    g_x = np.random.default_rng(batch).normal(size=(batch, 3, 64, 64)).astype(np.float32)
    x_ref = engine.generator(z)
    gz_ref = engine.generator_vjp(g_x)
    fwd, vjp = GeneratorGraph(engine.g), GeneratorVJPGraph(engine.g)
    with torch.no_grad():
        x, *saved = fwd(torch.from_numpy(z))
        gz = vjp(*saved, x, torch.from_numpy(g_x))
    assert _rel(x.numpy(), x_ref) < 1e-6
    assert _rel(gz.numpy(), gz_ref) < 1e-5


@pytest.mark.parametrize("batch", [1, 16])
@pytest.mark.parametrize("prior, lam, mu", [("joint", 0.003, 0.1), ("joint", 1.0, 0.0), ("global", 1.0, 0.0),
                                            ("joint", 0.0, 1.0)])
def test_critic_matches_autograd(engine, batch, prior, lam, mu):
    p = _problem(engine, batch)
    x = engine.generator(initial_z(batch, engine.spec.z_dim, 5))
    target = engine.target_features(p.y * p.known, p.box)
    ref = engine.critic(x, p.known, p.box, target, prior, lam, mu)
    graph = CriticGraph(engine.d, prior, consistency=bool(mu))
    with torch.no_grad():
        out = graph(torch.from_numpy(x), torch.from_numpy(p.known), torch.from_numpy(p.box),
                    *target, torch.tensor([lam, mu]))
    assert _rel(out[0].numpy(), ref[0]) < 1e-6
    if mu:
        assert _rel(out[1].numpy(), ref[1]) < 1e-5
    assert np.abs(ref[2]).max() > 0
    assert _rel(out[2].numpy(), ref[2]) < 1e-5


def test_features_graph_matches_engine(engine):
    p = _problem(engine, 3)
    ref = engine.target_features(p.y * p.known, p.box)
    with torch.no_grad():
        out = FeaturesGraph(engine.d)(torch.from_numpy(p.y * p.known), torch.from_numpy(p.box))
    for a, b in zip(out, ref):
        assert _rel(a.numpy(), b.numpy()) < 1e-6


def test_crop_and_uncrop_are_adjoint():
    torch.manual_seed(0)
    x, g = torch.randn(3, 2, 10, 10), torch.randn(3, 2, 4, 4)
    rows, cols = selector(torch.tensor([0, 3, 6]), 4, 10), selector(torch.tensor([6, 1, 2]), 4, 10)
    c = crop(x, rows, cols)
    assert torch.equal(c[1], x[1, :, 3:7, 1:5])
    assert torch.allclose((c * g).sum(), (x * uncrop(g, rows, cols)).sum(), rtol=1e-5)


def test_the_stacked_critic_computes_what_the_two_passes_do(tiny_weights):
    """x and known * x through the trunks as one batch of 2B: the same losses and gradient."""
    import torch

    from inpaint.export.graphs import CriticGraph
    from inpaint.export.onnx_graphs import example_inputs
    from inpaint.train.checkpoint import load_models
    spec, g, d = load_models(tiny_weights)
    args = example_inputs("critic_joint_consistency", spec, g, d, batch=3)
    with torch.no_grad():
        stacked = CriticGraph(d, "joint", True).eval()(*args)
        passes = CriticGraph(d, "joint", True, stacked=False).eval()(*args)
    for a, b in zip(stacked, passes):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert stacked[2].abs().max() > 0
