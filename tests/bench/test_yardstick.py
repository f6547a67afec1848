"""The eager yardstick minimises the same loss, with the same steps, as the runtime's search."""
import numpy as np
import pytest

from inpaint.masks import make_mask
from inpaint.runtime.ops import CpuOps
from inpaint.runtime.optimise import initial_z, optimise
from inpaint.runtime.problem import make_problem
from inpaint.spec import InpaintSettings
from inpaint.torch_engines.eager import TorchEngine


@pytest.mark.parametrize("norm, prior, mu", [("l1", "joint", 30.0), ("l2", "global", 0.0)])
def test_yardstick_takes_the_runtime_steps(tiny_weights, norm, prior, mu):
    from inpaint.bench.yardstick import EagerSearch
    from inpaint.train.checkpoint import load_models
    spec, g, d = load_models(tiny_weights)
    engine = TorchEngine(spec, g, d)
    y = engine.generator(initial_z(3, spec.z_dim, 7))
    p = make_problem(y, np.stack([make_mask(k, 64, 1) for k in ("center", "pattern", "random")]), spec.patch)
    settings = InpaintSettings(iterations=4, restarts=1, patience=100, search="z", norm=norm, prior=prior,
                               consistency_weight=mu, lr=0.05)
    z0 = initial_z(3, spec.z_dim, 0)
    eager = EagerSearch(g, d, p, settings, z0)
    losses = [eager.loss()]
    for _ in range(3):
        eager.step()
        losses.append(eager.loss())
    ours = optimise(engine, CpuOps(), p, settings, z=z0)
    np.testing.assert_allclose([l.mean() for l in losses], ours.history, rtol=1e-5)
    assert not np.allclose(losses[0], losses[-1])            # the steps moved z
    assert np.abs(eager.z.detach().numpy()).max() <= 1.0
