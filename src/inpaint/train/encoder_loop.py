"""Training the latent encoder E against a frozen generator G.

objective "pixel" (the default, how the shipped E was trained): every step sees two half batches,
each with its own random masks:
- generated images x = G(z), z ~ U[-1, 1]: z is known, so E(known * x, known) is pulled to z
  (latent loss) and G(E(...)) to x (image loss);
- real training images y: G(E(known * y, known)) is pulled to the whole of y (image loss), the
  hole included, so E learns to guess what is missing.
The image loss is the mean absolute error over every pixel. G stays in eval mode with its
weights fixed; the gradient reaches E through it.

objective "ours" or "se": E is trained against the search's own objective at E's z (contextual +
prior + consistency through the frozen G and D: train.search_objective), on real images with
random masks, the search amortised into E; "ours" with the joint prior and the consistency term,
"se" with D's own prior alone. Such a run starts from the model's own encoder where it has one.

The run's checkpoint holds G and D as they came (so inpaint-export and the runtime read it like
any model file) plus E, its optimiser and the run's settings, so it resumes exactly.
"""
from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from inpaint.masks import box_mask, center_mask, half_mask, pattern_mask, random_pixels_mask
from inpaint.spec import CHECKPOINT_FORMAT, METHODS
from inpaint.train import checkpoint
from inpaint.train.encoder import ENCODER_WIDTH, build_encoder
from inpaint.train.loop import LAST, ddp_wrapped, epoch_batches, open_run, run_data

# How often each kind of hole appears in training: the evaluation's center and pattern holes
# most, and holes of other shapes so that E also starts well on a user's own mask.
MASK_MIX = {"center": 0.3, "pattern": 0.3, "box": 0.2, "random": 0.1, "half": 0.1}
PATTERN_POOL = 2048   # pattern masks drawn once; each use flips and transposes one at random


@dataclass(frozen=True)
class EncoderSettings:
    out: str                      # run directory: last.pt, log.jsonl
    weights: str | None = None    # the model whose G is inverted; None: the shipped model
    dataset: str = "celeba"
    data: str | None = None       # real images; None with dry_run
    epochs: int = 3
    batch_size: int = 64          # real images per step (as many generated ones again)
    lr: float = 5e-4
    latent_weight: float = 1.0    # weight of the latent loss on generated images
    objective: str = "pixel"      # "pixel", or the search's objective: "ours" or "se"
    width: int = ENCODER_WIDTH
    seed: int = 0
    device: str = "cpu"
    checkpoint_every: int = 200
    max_steps: int | None = None
    dry_run: bool = False
    init: str | None = None       # start E from this model's encoder (e.g. the one of G's previous version)


class MaskSampler:
    """Random masks M (1 = known) of the kinds in MASK_MIX, from its own seeded generator."""

    def __init__(self, size: int, seed: int):
        self.size = size
        self.rng = np.random.default_rng(seed)
        pool_rng = np.random.default_rng(seed + 1)
        self.patterns = np.stack([pattern_mask(size, pool_rng) for _ in range(PATTERN_POOL)])
        self.kinds, p = zip(*MASK_MIX.items())
        self.p = np.asarray(p) / sum(p)

    def one(self) -> np.ndarray:
        kind = self.kinds[self.rng.choice(len(self.kinds), p=self.p)]
        if kind == "center":
            return center_mask(self.size)
        if kind == "half":   # any of the four halves
            return np.rot90(half_mask(self.size), int(self.rng.integers(4))).copy()
        if kind == "box":
            return box_mask(self.size, self.rng)
        if kind == "random":
            return random_pixels_mask(self.size, self.rng, float(self.rng.uniform(0.5, 0.9)))
        m = self.patterns[self.rng.integers(PATTERN_POOL)]
        if self.rng.random() < 0.5:
            m = m.T
        return np.flip(m, tuple(np.flatnonzero(self.rng.random(2) < 0.5))).copy()

    def batch(self, n: int) -> torch.Tensor:
        return torch.from_numpy(np.stack([self.one() for _ in range(n)]))[:, None]   # (n, 1, R, R)


def encoder_losses(e, g, real: torch.Tensor, m_real: torch.Tensor, z: torch.Tensor, m_fake: torch.Tensor,
                   latent_weight: float) -> tuple[torch.Tensor, dict]:
    """The training objective of one step and its parts (floats), for real and generated images."""
    with torch.no_grad():
        fake = g(z)
    images, known = torch.cat([real, fake]), torch.cat([m_real, m_fake])
    z_hat = e(images * known, known)
    recon = g(z_hat)
    err = (recon - images).abs().flatten(1).mean(1)
    n = real.shape[0]
    image_real, image_fake = err[:n].mean(), err[n:].mean()
    latent = (z_hat[n:] - z).square().mean()
    loss = image_real + image_fake + latent_weight * latent
    return loss, {"loss": loss.item(), "image_real": image_real.item(), "image_fake": image_fake.item(),
                  "latent": latent.item()}


def objective_losses(e, g, d, real: torch.Tensor, m: torch.Tensor, objective: str) -> tuple[torch.Tensor, dict]:
    """The search's objective at E's z, averaged over the batch, and its parts (floats)."""
    from inpaint.runtime.problem import make_problem
    from inpaint.spec import method_settings
    from inpaint.train.search_objective import search_losses
    settings = method_settings(objective)
    p = make_problem(real.detach().cpu().numpy(), m.cpu().numpy(), d.spec.patch, settings.window)
    known = torch.from_numpy(p.known).to(real.device)
    z_hat = e(real * known, known)
    terms = search_losses(g, d, z_hat, real, known, torch.from_numpy(p.weights).to(real.device),
                          torch.from_numpy(p.box).to(real.device), settings)
    parts = {k: v.mean() for k, v in terms.items()}
    return parts["loss"], {k: v.item() for k, v in parts.items()}


def train_encoder(settings: EncoderSettings, resume: bool = False, progress: bool = True, log=print,
                  overrides: dict | None = None) -> dict:
    """Train (or resume) an encoder run; returns a summary. Checkpoints go to settings.out/last.pt.

    Under torchrun every rank trains E with DistributedDataParallel on its rows of each global
    batch (the same images, masks and z one process would draw), as train.loop does for the GAN.
    """
    from inpaint.train import distributed
    return distributed.on_ranks(settings.device, lambda ranks, dev: _train_encoder(
        settings, resume, progress, log, overrides, ranks, dev))


def _train_encoder(settings, resume, progress, log, overrides, ranks, dev) -> dict:
    from inpaint.train import distributed
    from inpaint.train.checkpoint import load_models
    from inpaint.weights import shipped_bundle

    if not ranks.main:
        progress, log = False, lambda *a, **k: None
    out = Path(settings.out)
    settings, state = open_run(EncoderSettings, settings, checkpoint.ENCODER_CHECKPOINT_KIND, resume, overrides,
                               ranks)
    rows, batch = ranks.rows(settings.batch_size), settings.batch_size
    source = Path(settings.weights) if settings.weights else shipped_bundle()
    model_file = out / LAST if resume else source
    if settings.objective not in ("pixel", *METHODS):
        from inpaint.errors import InpaintError
        raise InpaintError(f"encoder objective must be pixel, ours or se, got {settings.objective!r}")
    spec, g, d = load_models(model_file)
    payload = checkpoint.load(model_file)
    g.to(dev).requires_grad_(False)
    d.to(dev).requires_grad_(False)

    data, steps_per_epoch, total = run_data(settings, spec.resolution, progress, out, ranks)

    torch.manual_seed(settings.seed)
    e = build_encoder(spec, settings.width).to(dev)
    if state is None and (settings.init or settings.objective != "pixel"):
        from inpaint.train.checkpoint import load_encoder
        start_from = Path(settings.init) if settings.init else source
        own = load_encoder(start_from)
        if settings.init and (own is None or own.width != settings.width):
            from inpaint.errors import CheckpointError
            raise CheckpointError(f"--init {start_from} has no encoder of width {settings.width} to start from; "
                                  "give a model with one (e.g. the shipped bundle) or drop --init")
        if own is not None and own.width == settings.width:
            e.load_state_dict(own.state_dict())
            log(f"starting from the encoder of {start_from.name}")
    (e_train,) = ddp_wrapped(ranks, dev, e)
    opt = torch.optim.Adam(e.parameters(), settings.lr, betas=(0.9, 0.999))
    masks = MaskSampler(spec.resolution, settings.seed)
    start, wall_before = 0, 0.0
    if state is not None:
        e.load_state_dict(state["E"])
        opt.load_state_dict(state["opt_E"])
        torch.set_rng_state(state["rng"]["torch"])
        masks.rng.bit_generator.state = state["rng"]["masks"]
        start, wall_before = state["step"], state["wall_time"]
        log(f"resuming {out} from step {start}")
    log(f"encoder for {source.name}: {len(data)} real images at {spec.resolution}x{spec.resolution}, "
        f"{steps_per_epoch} steps per epoch, training steps {start}..{total} on {dev}"
        + (f" x {ranks.world} processes ({batch // ranks.world} rows each)" if ranks.active else "")
        + f"; global batch {batch}, learning rate {settings.lr:g}")

    t0 = time.time()

    def save_checkpoint(step: int) -> None:
        distributed.average_buffers(ranks, e)
        if not ranks.main:
            distributed.barrier(ranks)
            return
        checkpoint.save(out / LAST, {
            "format": CHECKPOINT_FORMAT, "kind": checkpoint.ENCODER_CHECKPOINT_KIND,
            "spec": spec.to_dict(), "settings": dataclasses.asdict(settings), "step": step,
            "wall_time": wall_before + time.time() - t0,
            "G": payload["G"], "D": payload["D"], "E": e.state_dict(),
            "encoder": {"width": settings.width, "step": step},
            "source": payload.get("source", {"file": source.name,
                                             "sha256": checkpoint.sha256_path(source)}),
            "opt_E": opt.state_dict(),
            "rng": {"torch": torch.get_rng_state(), "masks": masks.rng.bit_generator.state},
            "processes": ranks.world})
        distributed.barrier(ranks)

    e.train()
    bar = tqdm(total=total, initial=start, desc="encoder", unit="step", disable=not progress,
               dynamic_ncols=True)
    logfile = open(out / "log.jsonl", "a") if ranks.main else open(os.devnull, "w")
    try:
        for step, epoch, real in epoch_batches(data, settings, steps_per_epoch, start, total, dev):
            # the draws are made for the global batch on every rank, each taking its rows
            if settings.objective == "pixel":
                z = (torch.rand(batch, spec.z_dim, device=dev) * 2 - 1)[rows]
                m = masks.batch(2 * batch).to(dev)
                loss, parts = encoder_losses(e_train, g, real[rows], m[:batch][rows], z, m[batch:][rows],
                                             settings.latent_weight)
            else:
                loss, parts = objective_losses(e_train, g, d, real[rows], masks.batch(batch).to(dev)[rows],
                                               settings.objective)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

            done = step + 1
            bar.update(1)
            if done % 10 == 0 or done == total:      # means over the ranks: the global batch's
                parts = dict(zip(parts, distributed.mean(ranks, list(parts.values()))))
                stats = {"step": done, "epoch": epoch + 1, **{k: round(v, 5) for k, v in parts.items()},
                         "wall_time": round(wall_before + time.time() - t0, 1)}
                bar.set_postfix({k: stats[k] for k in ("image_real", "image_fake", "latent", "contextual",
                                                       "prior", "consistency") if k in stats})
                logfile.write(json.dumps(stats) + "\n")
                logfile.flush()
            if done % settings.checkpoint_every == 0 or done % steps_per_epoch == 0 or done == total:
                save_checkpoint(done)
    finally:
        bar.close()
        logfile.close()
    distributed.average_buffers(ranks, e)
    summary = {"out": str(out), "step": total, "resumed_from": start,
               "wall_time": round(wall_before + time.time() - t0, 1), "checkpoint": str(out / LAST),
               "rank": ranks.rank, "processes": ranks.world,
               "weights_sha256_by_rank": distributed.gather(ranks, distributed.weights_digest(e))}
    log(f"done: step {total}, checkpoint {out / LAST}, wall time {summary['wall_time']} s")
    return summary
