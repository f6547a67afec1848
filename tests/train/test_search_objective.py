"""The search's objective in torch (for training E against it) is the runtime's, term by term."""
import numpy as np
import pytest
import torch

from inpaint.masks import make_mask
from inpaint.runtime.ops import CpuOps
from inpaint.runtime.optimise import initial_z
from inpaint.runtime.problem import make_problem
from inpaint.spec import InpaintSettings, method_settings
from inpaint.torch_engines.eager import TorchEngine
from inpaint.train.search_objective import search_losses


@pytest.mark.parametrize("objective, norm", [("ours", "l1"), ("se", "l1"), ("ours", "l2")])
def test_the_terms_are_the_runtime_loops(tiny_weights, objective, norm):
    import dataclasses
    settings = dataclasses.replace(method_settings(objective), norm=norm, prior_weight=0.5)
    engine = TorchEngine.from_weights(tiny_weights)
    y = np.random.default_rng(0).uniform(-1, 1, (3, 3, 64, 64)).astype(np.float32)
    p = make_problem(y, np.stack([make_mask(k, 64, i) for i, k in enumerate(("center", "pattern", "random"))]), 32)
    z = initial_z(3, 100, 1)
    x = engine.generator(z)
    lc, _ = CpuOps.contextual(x, p.y, p.weights, norm)
    target = engine.target_features(p.y * p.known, p.box)
    lp, lf, _ = engine.critic(x, p.known, p.box, target, settings.prior, settings.prior_weight,
                              settings.consistency_weight)
    t = {k: torch.from_numpy(v) for k, v in (("y", p.y), ("known", p.known), ("w", p.weights), ("box", p.box))}
    with torch.no_grad():
        terms = search_losses(engine.g, engine.d, torch.from_numpy(z), t["y"], t["known"], t["w"], t["box"], settings)
    np.testing.assert_allclose(terms["contextual"].numpy(), lc, rtol=1e-5)
    np.testing.assert_allclose(terms["prior"].numpy(), lp, rtol=1e-5)
    np.testing.assert_allclose(terms["consistency"].numpy(), lf, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(terms["loss"].numpy(), lc + settings.prior_weight * lp
                               + settings.consistency_weight * lf, rtol=1e-5)
    assert (objective == "se") == (settings.prior == "global" and settings.consistency_weight == 0)


def test_method_settings_refuse_another_objective():
    assert method_settings("ours") == InpaintSettings()
    with pytest.raises(ValueError, match="objective"):
        method_settings("pixel")
