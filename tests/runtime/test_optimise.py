import numpy as np
import pytest
import torch
import torch.nn.functional as F

from inpaint.masks import center_mask, make_mask
from inpaint.runtime.ops import CpuOps
from inpaint.runtime.optimise import Search, initial_z, optimise
from inpaint.runtime.problem import make_problem
from inpaint.spec import InpaintSettings
from inpaint.torch_engines.eager import TorchEngine
from inpaint.train.models import crop_patches


@pytest.fixture(scope="module")
def engine(tiny_weights):
    return TorchEngine.from_weights(tiny_weights)


def _problem(engine, n=2, kind="center"):
    z_true = initial_z(n, engine.spec.z_dim, 123)
    y = engine.generator(z_true)                      # a target the generator can reach exactly
    known = np.stack([make_mask(kind, 64, i) for i in range(n)])
    return make_problem(y, known, engine.spec.patch)


def _objective_grad(engine, problem, z, lam, mu, prior, norm, use_w=True):
    """The whole objective written directly in torch; its gradient w.r.t. z by autograd."""
    g, d = engine.g, engine.d
    zt = torch.from_numpy(z).requires_grad_(True)
    x = g(zt)
    y, m = torch.from_numpy(problem.y), torch.from_numpy(problem.known)
    w = torch.from_numpy(problem.weights) * (1.0 if use_w else 0.0)
    box = torch.from_numpy(problem.box)
    diff = x - y
    lc = (w * (diff.abs() if norm == "l1" else diff * diff)).sum((1, 2, 3))

    def feats(img):
        return d(img, crop_patches(img, box[:, 0], box[:, 1], engine.spec.patch))
    logit = d.global_branch(x)[1][:, 0] if prior == "global" else feats(x).joint[:, 0]
    lp = -F.softplus(logit)
    s, t = feats(x * m), feats(y * m)
    lf = ((s.global_features - t.global_features) ** 2).flatten(1).mean(1) + \
         ((s.patch_features - t.patch_features) ** 2).flatten(1).mean(1)
    (lc + lam * lp + mu * lf).sum().backward()
    return zt.grad.numpy(), (lc + lam * lp + mu * lf).detach().numpy()


@pytest.mark.parametrize("lam, mu, prior, norm, use_w", [
    (0.003, 0.0, "joint", "l1", True),     # the default objective
    (0.003, 0.1, "joint", "l2", True),     # with consistency, L2
    (1.0, 0.0, "joint", "l1", False),      # W = 0: the prior alone
    (1.0, 0.0, "global", "l1", False),     # SE's prior alone
    (0.0, 1.0, "joint", "l1", False),      # the consistency term alone
])
def test_loop_gradient_matches_autograd_of_the_objective(engine, lam, mu, prior, norm, use_w):
    problem = _problem(engine)
    if not use_w:
        problem = type(problem)(problem.y, problem.known, problem.weights * 0, problem.box)
    z = initial_z(problem.batch, engine.spec.z_dim, 7)
    target = engine.target_features(problem.y * problem.known, problem.box) if mu else None
    x = engine.generator(z)
    lc, g_c = CpuOps.contextual(x, problem.y, problem.weights, norm)
    lp, lf, g_d = engine.critic(x, problem.known, problem.box, target, prior, lam, mu)
    g_z = engine.generator_vjp(g_c + g_d)
    ref, ref_loss = _objective_grad(engine, problem, z, lam, mu, prior, norm, use_w)
    np.testing.assert_allclose(lc + lam * lp + mu * lf, ref_loss, rtol=1e-5, atol=1e-7)
    assert np.abs(ref).max() > 0
    np.testing.assert_allclose(g_z, ref, rtol=1e-4, atol=1e-5 * np.abs(ref).max())


def test_optimiser_lowers_the_loss_on_a_fixed_problem(engine):
    problem = _problem(engine, n=2, kind="pattern")
    settings = InpaintSettings(iterations=60, restarts=1, lr=0.05, patience=1000, search="z")
    search = optimise(engine, CpuOps(), problem, settings)
    assert search.iterations == 60 and len(search.history) == 60
    assert search.history[-1] < 0.5 * search.history[0]
    assert np.all(search.loss <= search.history[0] * 2) and search.z.min() >= -1 and search.z.max() <= 1
    # the reported best is what that z gives
    np.testing.assert_allclose(engine.generator(search.z), search.x, atol=1e-5)


def test_early_stop_on_a_plateau(engine):
    settings = InpaintSettings(iterations=500, restarts=1, lr=1e-6, patience=5, rel_tol=1e-3)
    search = optimise(engine, CpuOps(), _problem(engine, 1), settings)
    assert search.iterations == 6


def test_best_of_keeps_the_lowest_loss_per_image():
    b, k = 2, 3
    loss = np.array([5.0, 1.0, 3.0, 0.5, 2.0, 0.1])
    rows = np.arange(b * k, dtype=np.float32)
    s = Search(rows[:, None], rows[:, None, None, None], loss, loss, loss, loss, 1, 0.0)
    best = s.best_of(k)
    assert best.loss.tolist() == [1.0, 0.1] and best.z[:, 0].tolist() == [1.0, 5.0]


def test_restarts_differ_and_are_seeded():
    a, b = initial_z(4, 100, 0), initial_z(4, 100, 0)
    assert np.array_equal(a, b) and not np.allclose(a[0], a[1])
    assert a.min() >= -1 and a.max() <= 1


def test_kept_iterates_are_what_a_shorter_search_returns(engine):
    problem = _problem(engine, n=2, kind="pattern")
    settings = InpaintSettings(iterations=12, restarts=1, lr=0.05, patience=1000, search="z")
    search = optimise(engine, CpuOps(), problem, settings, keep=(4, 12, 40))
    short = optimise(engine, CpuOps(), problem, InpaintSettings(iterations=4, restarts=1, lr=0.05, patience=1000, search="z"))
    np.testing.assert_array_equal(search.kept[4][0], short.x)
    np.testing.assert_array_equal(search.kept[4][1], short.loss)
    assert np.all(search.kept[12][1] <= search.kept[4][1]) and np.any(search.kept[12][1] < search.kept[4][1])
    # a count past the end of the search (here 40 > 12) holds the final best
    for k in (12, 40):
        np.testing.assert_array_equal(search.kept[k][0], search.x)


def test_best_of_picks_each_kept_iterate_by_its_own_loss():
    rows = np.arange(4, dtype=np.float32)
    final = np.array([1.0, 2.0, 4.0, 3.0])
    early = np.array([5.0, 4.0, 1.0, 2.0])
    s = Search(rows[:, None], rows[:, None, None, None], final, final, final, final, 1, 0.0,
               kept={3: (rows[:, None, None, None] + 10, early)})
    best = s.best_of(2)
    assert best.x[:, 0, 0, 0].tolist() == [0.0, 3.0]
    assert best.kept[3][0][:, 0, 0, 0].tolist() == [11.0, 12.0] and best.kept[3][1].tolist() == [4.0, 1.0]
