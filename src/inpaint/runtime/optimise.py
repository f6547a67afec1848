"""The latent-vector search, written once against an Engine and Ops."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from inpaint.runtime.engines import Engine, searched
from inpaint.runtime.ops import AdamState
from inpaint.runtime.problem import Problem
from inpaint.spec import InpaintSettings, ModelSpec, search_size


@dataclass
class Search:
    """Outcome for every row of the batch (images x restarts): the best iterate each one reached."""

    z: np.ndarray            # (B, width) the best search variable seen per row: z (B, z_dim), or
                             # v = [z, u] (B, z_dim + 2C) for search z+bn
    x: np.ndarray            # (B, 3, R, R) G(z) for it
    loss: np.ndarray         # (B,) total loss at that z
    contextual: np.ndarray   # (B,)
    prior: np.ndarray        # (B,) log(1 - D(G(z)))
    consistency: np.ndarray  # (B,)
    iterations: int
    seconds: float
    history: list[float] = field(default_factory=list)  # mean total loss per iteration
    kept: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    # iteration k -> (x, loss) of the best iterate among the first k, for the k asked for in `keep`

    def best_of(self, restarts: int) -> "Search":
        """Keep, for each image, the restart with the lowest loss (rows are image-major)."""
        def pick(loss):
            return loss.reshape(-1, restarts).argmin(1) + np.arange(len(loss) // restarts) * restarts
        p = pick(self.loss)
        kept = {k: (x[pick(loss)], loss[pick(loss)]) for k, (x, loss) in self.kept.items()}
        return Search(self.z[p], self.x[p], self.loss[p], self.contextual[p], self.prior[p],
                      self.consistency[p], self.iterations, self.seconds, self.history, kept)


def initial_z(batch: int, z_dim: int, seed: int) -> np.ndarray:
    """z ~ U[-1, 1]^z_dim, seeded."""
    return np.random.default_rng(seed).uniform(-1, 1, (batch, z_dim)).astype(np.float32)


def search_start(z: np.ndarray, spec: ModelSpec, search: str) -> np.ndarray:
    """The search variable at z (B, z_dim), a new float32 array: z itself, or for search z+bn
    v = [z, 0] (no modulation: G(z) exactly). A z already as wide as the search's is copied."""
    width = search_size(spec, search)
    if z.shape[1] not in (spec.z_dim, width):
        raise ValueError(f"z must have {spec.z_dim} (or {width}) columns for search {search}, got {z.shape[1]}")
    pad = np.zeros((z.shape[0], width - z.shape[1]), np.float32)
    return np.concatenate([z.astype(np.float32), pad], axis=1)


def optimise(engine: Engine, ops, problem: Problem, settings: InpaintSettings,
             z: np.ndarray | None = None, on_step: Callable[[int, float], None] | None = None,
             keep: tuple[int, ...] = (), on_best: Callable[[int, Search], None] | None = None) -> Search:
    """Minimise contextual + lambda * prior + mu * consistency over z with Adam, clipping z to [-1, 1].

    settings.search says what is searched: z, or for z+bn v = [z, u] (u, G's batch-norm
    modulation, starting at 0: search_start); `z` (B, z_dim) is where z starts.

    Every row of `problem` is solved independently (the losses are per-sample sums), so images and
    restarts share one batch. Stops early once the mean loss improves by less than rel_tol over
    `patience` steps. For each k in `keep`, Search.kept[k] holds the best iterate of the first k
    steps (the final best where the search stopped before k): quality against iterations in one run.
    on_best(k, best) sees the best iterates of the first k steps after every step (best's arrays
    are updated in place afterwards: copy what is kept).
    """
    t0 = time.perf_counter()
    settings = searched(engine, settings)
    lam, mu = settings.prior_weight, settings.consistency_weight
    z = search_start(initial_z(problem.batch, engine.spec.z_dim, settings.seed) if z is None else z,
                     engine.spec, settings.search)
    target = engine.target_features(problem.y * problem.known, problem.box) if mu else None
    adam = AdamState.zeros_like(z)
    best = None
    history: list[float] = []
    it = 0
    for it in range(1, settings.iteration_limit + 1):
        x = engine.generator(z)
        lc, g_c = ops.contextual(x, problem.y, problem.weights, settings.norm)
        lp, lf, g_d = engine.critic(x, problem.known, problem.box, target, settings.prior, lam, mu)
        loss = lc + lam * lp + mu * lf
        if best is None:
            best = Search(*(a.copy() for a in (z, x, loss, lc, lp, lf)), 0, 0.0)
        else:
            better = loss < best.loss
            for name, new in (("z", z), ("x", x), ("loss", loss), ("contextual", lc), ("prior", lp),
                              ("consistency", lf)):
                getattr(best, name)[better] = new[better]
        history.append(float(loss.mean()))
        if it in keep:
            best.kept[it] = (best.x.copy(), best.loss.copy())
        if on_step is not None:
            on_step(it, history[-1])
        if on_best is not None:
            on_best(it, best)
        if it > settings.patience and \
                history[-1 - settings.patience] - history[-1] < settings.rel_tol * abs(history[-1 - settings.patience]):
            break
        ops.adam(z, engine.generator_vjp(g_c + g_d), adam, settings.step_size, settings.beta1, settings.beta2)
    for k in keep:
        best.kept.setdefault(k, (best.x.copy(), best.loss.copy()))
    best.iterations, best.seconds, best.history = it, time.perf_counter() - t0, history
    return best
