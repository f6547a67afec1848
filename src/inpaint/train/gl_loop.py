"""Training GL (train.gl): the paper's three phases, scaled to 64x64 and a small CPU.

1. steps [0, tc_steps): the completion network C alone, on the mean squared error over the hole;
2. steps [tc_steps, tc_steps + td_steps): the context discriminator D alone, real images against
   C's completions (C fixed);
3. the rest: both, C on the MSE + alpha x the adversarial loss (non-saturating), D as in phase 2.

Holes are drawn per image from encoder_loop.MaskSampler's mix (the evaluation's center and pattern
holes, boxes of random size and position, random pixels, halves), each from its own seeded
generator. D's local branch sees the 32x32 window around each hole (gl.hole_windows), the same
window on the real image. The checkpoint holds C, D, both optimisers and the random states, so a
run resumes where it stopped; the log has one line of losses every 10 steps. Under torchrun every
rank takes its rows of each global batch, as train.loop does for the GAN.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from inpaint.spec import CHECKPOINT_FORMAT
from inpaint.train import checkpoint
from inpaint.train.encoder_loop import MaskSampler
from inpaint.train.gl import CompletionNet, ContextDiscriminator, GLInpainter, hole_windows, mean_filled
from inpaint.train.loop import LAST, ddp_wrapped, epoch_batches, open_run, run_data
from inpaint.train.models import crop_patches, init_weights

GL_CHECKPOINT_KIND = checkpoint.GL_CHECKPOINT_KIND
RESOLUTION = 64
LOCAL = 32            # the local discriminator's window
PHASES = ("completion", "discriminator", "joint")


@dataclass(frozen=True)
class GLSettings:
    out: str                      # run directory: last.pt, log.jsonl, samples/
    dataset: str = "celeba"
    data: str | None = None       # None with dry_run
    epochs: int = 6
    batch_size: int = 32
    lr: float = 5e-4              # Adam for C and D
    beta1: float = 0.5
    width: int = 32               # C's first layer; D's branches start at the same width
    tc_steps: int = 3000          # phase 1: C on the MSE alone
    td_steps: int = 400           # phase 2: D alone
    alpha: float = 4e-4           # weight of the adversarial loss on C in phase 3
    seed: int = 0
    device: str = "cpu"
    checkpoint_every: int = 200
    max_steps: int | None = None
    dry_run: bool = False


def phase_of(settings: GLSettings, step: int) -> str:
    if step < settings.tc_steps:
        return "completion"
    return "discriminator" if step < settings.tc_steps + settings.td_steps else "joint"


def hole_mse(out: torch.Tensor, real: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the hole's pixels (all three channels)."""
    hole = 1 - known
    return ((out - real).square() * hole).sum() / (3 * hole.sum()).clamp_min(1)


def _bce(logit: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logit, torch.full_like(logit, target))


def train_gl(settings: GLSettings, resume: bool = False, progress: bool = True, log=print,
             overrides: dict | None = None) -> dict:
    """Train (or resume) a GL run; returns a summary. Checkpoints go to settings.out/last.pt."""
    from inpaint.train import distributed
    return distributed.on_ranks(settings.device, lambda ranks, dev: _train_gl(
        settings, resume, progress, log, overrides, ranks, dev))


def _train_gl(settings, resume, progress, log, overrides, ranks, dev) -> dict:
    from inpaint.errors import InpaintError
    from inpaint.train import distributed

    if not ranks.main:
        progress, log = False, lambda *a, **k: None
    out = Path(settings.out)
    settings, state = open_run(GLSettings, settings, GL_CHECKPOINT_KIND, resume, overrides, ranks)
    if settings.width % 2:
        raise InpaintError(f"GL width must be even, got {settings.width}")
    rows, batch = ranks.rows(settings.batch_size), settings.batch_size

    data, steps_per_epoch, total = run_data(settings, RESOLUTION, progress, out, ranks)

    torch.manual_seed(settings.seed)
    c, d = CompletionNet(settings.width), ContextDiscriminator(settings.width)
    c.apply(init_weights), d.apply(init_weights)
    c.to(dev), d.to(dev)
    c_train, d_train = ddp_wrapped(ranks, dev, c, d)
    opt_c = torch.optim.Adam(c.parameters(), settings.lr, betas=(settings.beta1, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), settings.lr, betas=(settings.beta1, 0.999))
    masks = MaskSampler(RESOLUTION, settings.seed)
    preview = _preview_batch(data.numpy(), settings.seed)
    start, wall_before = 0, 0.0
    if state is not None:
        c.load_state_dict(state["GL"]), d.load_state_dict(state["D"])
        opt_c.load_state_dict(state["opt_GL"]), opt_d.load_state_dict(state["opt_D"])
        torch.set_rng_state(state["rng"]["torch"])
        masks.rng.bit_generator.state = state["rng"]["masks"]
        start, wall_before = state["step"], state["wall_time"]
        log(f"resuming {out} from step {start} ({phase_of(settings, start)} phase)")
    log(f"GL width {settings.width}: {len(data)} images, {steps_per_epoch} steps per epoch, training steps "
        f"{start}..{total} on {dev}"
        + (f" x {ranks.world} processes ({batch // ranks.world} rows each)" if ranks.active else "")
        + f"; global batch {batch}, learning rate {settings.lr:g}; phases: C alone to step "
        f"{settings.tc_steps}, D alone to {settings.tc_steps + settings.td_steps}, then both "
        f"(alpha {settings.alpha:g})")

    t0 = time.time()

    def save_checkpoint(step: int) -> None:
        distributed.average_buffers(ranks, c, d)
        if not ranks.main:
            distributed.barrier(ranks)
            return
        checkpoint.save(out / LAST, {
            "format": CHECKPOINT_FORMAT, "kind": GL_CHECKPOINT_KIND,
            "settings": dataclasses.asdict(settings), "step": step,
            "wall_time": wall_before + time.time() - t0, "gl": {"width": settings.width, "step": step},
            "GL": c.state_dict(), "D": d.state_dict(),
            "opt_GL": opt_c.state_dict(), "opt_D": opt_d.state_dict(),
            "rng": {"torch": torch.get_rng_state(), "masks": masks.rng.bit_generator.state},
            "processes": ranks.world})
        _save_preview(c, preview, out / "samples" / f"step_{step:06d}.png")
        distributed.barrier(ranks)

    c.train(), d.train()
    bar = tqdm(total=total, initial=start, desc="GL", unit="step", disable=not progress, dynamic_ncols=True)
    logfile = open(out / "log.jsonl", "a") if ranks.main else open(os.devnull, "w")
    try:
        for step, epoch, real in epoch_batches(data, settings, steps_per_epoch, start, total, dev):
            phase = phase_of(settings, step)
            known = masks.batch(batch).to(dev)[rows]
            real = real[rows]
            top, left = hole_windows(known, LOCAL)
            parts = {}
            with torch.no_grad() if phase == "discriminator" else contextlib.nullcontext():
                filled = c_train(mean_filled(real, known), known)
            completed = real * known + filled * (1 - known)
            if phase != "completion":              # D: real -> 1, completed -> 0
                fake = completed.detach()
                s_real = d_train(real, crop_patches(real, top, left, LOCAL))
                s_fake = d_train(fake, crop_patches(fake, top, left, LOCAL))
                loss_d = _bce(s_real, 1.0) + _bce(s_fake, 0.0)
                opt_d.zero_grad(set_to_none=True)
                loss_d.backward()
                opt_d.step()
                parts.update(loss_d=loss_d.item(), d_real=torch.sigmoid(s_real).mean().item(),
                             d_fake=torch.sigmoid(s_fake).mean().item())
            if phase != "discriminator":           # C: the MSE over the hole (+ alpha x adversarial)
                mse = hole_mse(filled, real, known)
                loss_c = mse
                if phase == "joint":
                    d.requires_grad_(False)
                    adv = _bce(d(completed, crop_patches(completed, top, left, LOCAL)), 1.0)
                    d.requires_grad_(True)
                    loss_c = mse + settings.alpha * adv
                    parts["adv"] = adv.item()
                opt_c.zero_grad(set_to_none=True)
                loss_c.backward()
                opt_c.step()
                parts["mse"] = mse.item()
            else:
                parts["mse"] = hole_mse(filled, real, known).item()

            done = step + 1
            bar.update(1)
            if done % 10 == 0 or done == total:
                names = sorted(parts)
                parts = dict(zip(names, distributed.mean(ranks, [parts[k] for k in names])))
                stats = {"step": done, "epoch": epoch + 1, "phase": phase,
                         **{k: round(v, 5) for k, v in parts.items()},
                         "wall_time": round(wall_before + time.time() - t0, 1)}
                bar.set_postfix({k: stats[k] for k in ("mse", "loss_d", "adv") if k in stats})
                logfile.write(json.dumps(stats) + "\n")
                logfile.flush()
            if done % settings.checkpoint_every == 0 or done % steps_per_epoch == 0 or done == total:
                save_checkpoint(done)
    finally:
        bar.close()
        logfile.close()
    distributed.average_buffers(ranks, c, d)
    summary = {"out": str(out), "step": total, "resumed_from": start,
               "wall_time": round(wall_before + time.time() - t0, 1), "checkpoint": str(out / LAST),
               "rank": ranks.rank, "processes": ranks.world,
               "weights_sha256_by_rank": distributed.gather(ranks, distributed.weights_digest(c, d))}
    log(f"done: step {total}, checkpoint {out / LAST}, wall time {summary['wall_time']} s")
    return summary


def _preview_batch(images: np.ndarray, seed: int, n: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """n fixed training images with fixed holes (four center, four pattern), for the sample sheets."""
    from inpaint.masks import center_mask, pattern_mask
    rng = np.random.default_rng(seed + 7)
    pick = rng.choice(len(images), min(n, len(images)), replace=False)
    x = torch.from_numpy(images[pick]).permute(0, 3, 1, 2).float().div(127.5).sub(1)
    m = [center_mask(RESOLUTION) if i % 2 == 0 else pattern_mask(RESOLUTION, rng) for i in range(len(pick))]
    return x, torch.from_numpy(np.stack(m))[:, None].float()


@torch.no_grad()
def _save_preview(c: CompletionNet, preview: tuple[torch.Tensor, torch.Tensor], path: Path) -> None:
    """Three rows: the holed inputs (hole grey), C's completions (eval mode), the originals."""
    from inpaint.grid import save_grid, to_uint8
    x, m = preview
    was = c.training
    c.eval()
    dev = next(c.parameters()).device
    done = GLInpainter(c)(x.to(dev), m.to(dev)).cpu()
    c.train(was)
    save_grid(to_uint8(torch.cat([x * m, done, x]).numpy()), path, ncol=len(x), scale=2)


def load_gl(path: str | Path) -> CompletionNet:
    """The completion network of a GL checkpoint or weights file, in eval mode, fp32."""
    from inpaint.errors import CheckpointError
    payload = checkpoint.load(path)
    if "GL" not in payload:
        raise CheckpointError(f"{path} holds no GL completion network; train one with inpaint-train --gl")
    net = CompletionNet(int(payload["gl"]["width"]))
    try:
        net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in payload["GL"].items()})
    except (RuntimeError, KeyError) as e:
        raise CheckpointError(f"{path}: GL weights do not fit its width ({str(e).splitlines()[0]})") from None
    return net.eval()

