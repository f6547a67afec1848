"""The GAN training loop: DCGAN recipe with a global D, a patch D and their fused score."""
from __future__ import annotations

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

from inpaint.atomic import remove_stale_temps
from inpaint.errors import CheckpointError, InpaintError, OutputError
from inpaint.spec import CHECKPOINT_FORMAT, ModelSpec
from inpaint.train import checkpoint
from inpaint.train.datasets import load_dataset
from inpaint.train.ema import EMA, standing_statistics
from inpaint.train.gan_step import StepOptions, gan_step
from inpaint.train.models import build_models
from inpaint.train.samples import sample_z, save_samples

LAST = "last.pt"
MONITORED = "monitored"            # the networks at each monitor point: monitored/step_NNNNNN.pt


@dataclass(frozen=True)
class TrainSettings:
    dataset: str                 # celeba | svhn | images
    data: str | None             # path; None with dry_run (synthetic images)
    out: str                     # run directory: last.pt, samples/, log.jsonl
    epochs: int = 25
    batch_size: int = 64
    lr: float = 2e-4             # DCGAN recipe: Adam(2e-4, beta1 0.5) for G and D
    beta1: float = 0.5
    lr_d: float | None = None    # D's own learning rate (two time scales); None: lr
    ema_decay: float | None = None   # keep an exponential moving average of G (what ships); None: none
    augment: tuple[str, ...] = ()    # DiffAugment policies for everything D sees (train/augment.py)
    precision: str = "fp32"      # or bf16: autocast (weights and Adam's state stay fp32)
    channels_last: bool = False  # the networks and images in channels-last memory order
    seed: int = 0
    device: str = "cpu"
    checkpoint_every: int = 200  # steps; a checkpoint is also written at every epoch end
    max_steps: int | None = None  # stop early (after this many steps in total)
    dry_run: bool = False
    init: str | None = None      # start G, D (and the average) from this model file instead of at random
    init_images: int = 0         # images the init model had seen before this run


def synthetic_images(n: int, resolution: int, seed: int) -> np.ndarray:
    """Smooth random colour fields: a tiny stand-in dataset for --dry-run and tests."""
    rng = np.random.default_rng(seed)
    low = rng.integers(0, 256, (n, 4, 4, 3)).astype(np.float32)
    up = np.kron(low, np.ones((1, resolution // 4, resolution // 4, 1), np.float32))
    return up.astype(np.uint8)


def resumed_settings(cls, state: dict, overrides: dict | None):
    """A resumed run's settings: its own, from its checkpoint, with the few that may change on
    resume (epochs, device, checkpoint_every, max_steps) taken from `overrides` where not None."""
    allowed = {"epochs", "device", "checkpoint_every", "max_steps"}
    changes = {k: v for k, v in (overrides or {}).items() if v is not None and k in allowed}
    return dataclasses.replace(cls(**state["settings"]), **changes)


def init_images_seen(path: str) -> int:
    """How many images the model in `path` (weights file, bundle or checkpoint) had seen in training."""
    payload = checkpoint.load(path)
    seen = payload.get("images_seen") or (payload.get("meta") or {}).get("images_seen")
    if seen is None:
        settings = payload.get("settings") or {}
        seen = payload.get("step", 0) * settings.get("batch_size", 0)
    return int(seen)


def load_init(path: str, spec: ModelSpec, g: torch.nn.Module, d: torch.nn.Module) -> dict | None:
    """Load G and D from a model file into g and d; returns the moving average to start from where
    the file is a training checkpoint that keeps one (a weights file's G is already the average)."""
    payload = checkpoint.load(path)
    if payload["spec"] != spec:
        raise CheckpointError(f"--init {path} holds a model of another shape ({payload['spec']}) than this "
                              f"run's ({spec}); drop --ngf/--ndf/--resolution or give a matching model")

    def fp32(sd: dict) -> dict:
        return {k: v.float() if v.is_floating_point() else v for k, v in sd.items()}
    try:
        g.load_state_dict(fp32(payload["G"])), d.load_state_dict(fp32(payload["D"]))
    except (RuntimeError, KeyError) as e:
        raise CheckpointError(f"--init {path}: weights do not fit the model ({str(e).splitlines()[0]})") from None
    return fp32(payload["G_ema"]) if "G_ema" in payload else None


def check_device(device: str) -> None:
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InpaintError("--device cuda asked for, but torch sees no CUDA GPU; use --device cpu "
                           "or install a CUDA build of PyTorch")


def training_images(settings, resolution: int, progress: bool) -> np.ndarray:
    """The run's images, uint8 (N, R, R, 3): its dataset, or synthetic ones for a dry run.
    settings: any run settings with dataset, data, dry_run, seed and batch_size."""
    if settings.dry_run:
        images = synthetic_images(64, resolution, settings.seed)
    else:
        images = load_dataset(settings.dataset, settings.data, resolution, progress)
    if len(images) < settings.batch_size:
        raise InpaintError(f"the dataset has {len(images)} images, fewer than one batch of "
                           f"{settings.batch_size}; lower --batch-size or add images")
    return images


def step_budget(settings, n_images: int) -> tuple[int, int]:
    """(steps per epoch, the run's last step) for epochs, batch_size and max_steps."""
    steps_per_epoch = n_images // settings.batch_size
    total = settings.epochs * steps_per_epoch
    return steps_per_epoch, total if settings.max_steps is None else min(total, settings.max_steps)


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The order of an epoch's images: it depends only on (seed, epoch), so a resumed run sees
    the same batches as one never interrupted."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))


def epoch_batches(data: torch.Tensor, settings, steps_per_epoch: int, start: int, total: int, device: str):
    """(step, epoch, real image batch) for the steps start..total-1, each epoch in epoch_order."""
    perm, perm_epoch = None, -1
    for step in range(start, total):
        epoch, i = divmod(step, steps_per_epoch)
        if epoch != perm_epoch:
            perm, perm_epoch = epoch_order(len(data), settings.seed, epoch), epoch
        yield step, epoch, image_batch(data, perm[i * settings.batch_size:(i + 1) * settings.batch_size], device)


def check_run_dir(out: Path, resume: bool) -> None:
    """Refuse to overwrite a run unless resuming (nothing is created yet)."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} is a file; give a directory for the run")
    if (out / LAST).exists() and not resume:
        raise OutputError(f"{out} already holds a training run ({LAST}); pass --resume to continue "
                          "it or choose another --out")
    if resume and not (out / LAST).exists():
        raise CheckpointError(f"nothing to resume: {out / LAST} does not exist; drop --resume to start")


def create_run_dir(out: Path) -> None:
    """Create the run directory and check that it can be written; clear temps of a killed run."""
    try:
        (out / "samples").mkdir(parents=True, exist_ok=True)
        probe = out / ".write-probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise OutputError(f"cannot write to {out} ({e.strerror}); choose a writable --out") from None
    remove_stale_temps(out)


def open_run(cls, settings, kind: str, resume: bool, overrides: dict | None, ranks):
    """The start every training loop shares: check the run directory (every rank looks before
    rank 0 writes anything), load the checkpoint to resume with the run's own settings (cls, a
    settings dataclass) and `overrides`, check the device and that the global batch splits over
    the ranks. Returns (settings, the checkpoint or None)."""
    from inpaint.train import distributed
    out = Path(settings.out)
    check_run_dir(out, resume)
    distributed.barrier(ranks)
    state = None
    if resume:
        state = checkpoint.load(out / LAST, kind)
        settings = resumed_settings(cls, state, overrides)
    check_device(settings.device)
    if settings.batch_size % ranks.world:
        raise InpaintError(f"--batch-size {settings.batch_size} (the global batch) does not split over "
                           f"{ranks.world} processes; give a multiple of {ranks.world}")
    return settings, state


def run_data(settings, resolution: int, progress: bool, out: Path, ranks) -> tuple[torch.Tensor, int, int]:
    """The run's images as a uint8 tensor (N, R, R, 3), steps per epoch and the last step; rank 0
    creates the run directory, and every rank waits for it."""
    from inpaint.train import distributed
    images = training_images(settings, resolution, progress)
    if ranks.main:
        create_run_dir(out)
    distributed.barrier(ranks)
    return (torch.from_numpy(images), *step_budget(settings, len(images)))


def ddp_wrapped(ranks, device: str, *modules):
    """Each module wrapped in DistributedDataParallel under torchrun (buffers not synced in the
    forward pass: distributed.average_buffers averages them at checkpoints), else as it is."""
    if not ranks.active:
        return modules
    from torch.nn.parallel import DistributedDataParallel
    ids = [ranks.local] if device.startswith("cuda") else None
    return tuple(DistributedDataParallel(m, device_ids=ids, forward_sync_buffers=False) for m in modules)


def image_batch(data: torch.Tensor, idx: torch.Tensor, device: str) -> torch.Tensor:
    """uint8 (B, H, W, 3) rows -> float (B, 3, H, W) in [-1, 1], half of them flipped left-right."""
    x = data[idx].to(device).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)
    flip = torch.rand(x.shape[0], device=device) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(3), x)


def train(settings: TrainSettings, spec: ModelSpec, resume: bool = False, progress: bool = True,
          log=print, overrides: dict | None = None, monitor=None) -> dict:
    """Train (or resume) a run; returns a summary. Checkpoints go to settings.out/last.pt.

    On resume the run's own settings and spec come from its checkpoint; `overrides` may change
    epochs, device, checkpoint_every and max_steps (entries that are None are ignored).

    Under torchrun (train.distributed) every rank runs this with DistributedDataParallel: each
    takes its share of every global batch of batch_size rows (the same batches, z and crops as
    one process would draw), the gradients are averaged, and rank 0 alone writes the checkpoints,
    the samples and the log.

    monitor: (step, {name: G}) -> dict, called on rank 0 every `monitor.every` steps and at the end
    with the generators in eval mode: "g" the trained one and, where the run keeps an average,
    "ema" (its standing statistics measured); its numbers go to monitor.jsonl (a curve of the
    prior's quality, e.g. KID of samples).
    """
    from inpaint.train import distributed
    return distributed.on_ranks(settings.device, lambda ranks, dev: _train(settings, spec, resume, progress, log,
                                                                           overrides, ranks, dev, monitor))


def _train(settings, spec, resume, progress, log, overrides, ranks, dev, monitor) -> dict:
    from inpaint.train import distributed
    if not ranks.main:
        progress, log = False, lambda *a, **k: None
    out = Path(settings.out)
    settings, state = open_run(TrainSettings, settings, checkpoint.CHECKPOINT_KIND, resume, overrides, ranks)
    if state is not None:
        spec = state["spec"]
    rows, batch = ranks.rows(settings.batch_size), settings.batch_size

    data, steps_per_epoch, total = run_data(settings, spec.resolution, progress, out, ranks)

    torch.manual_seed(settings.seed)
    g, d = build_models(spec)
    g.to(dev), d.to(dev)
    if settings.channels_last:
        g.to(memory_format=torch.channels_last), d.to(memory_format=torch.channels_last)
    g_train, d_train = ddp_wrapped(ranks, dev, g, d)
    opt_g = torch.optim.Adam(g.parameters(), settings.lr, betas=(settings.beta1, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), settings.lr_d or settings.lr, betas=(settings.beta1, 0.999))
    init_ema = load_init(settings.init, spec, g, d) if state is None and settings.init else None
    ema = EMA(g, settings.ema_decay) if settings.ema_decay else None
    if ema is not None and init_ema is not None:
        ema.load_state_dict(init_ema)
    options = StepOptions(settings.precision, tuple(settings.augment), settings.channels_last)
    fixed_z = sample_z(64, spec.z_dim, settings.seed)
    start, wall_before = 0, 0.0
    if state is not None:
        g.load_state_dict(state["G"]), d.load_state_dict(state["D"])
        if ema is not None:
            ema.load_state_dict(state["G_ema"])
        opt_g.load_state_dict(state["opt_G"]), opt_d.load_state_dict(state["opt_D"])
        torch.set_rng_state(state["rng"]["torch"])
        if dev.startswith("cuda") and "cuda" in state["rng"]:
            torch.cuda.set_rng_state(state["rng"]["cuda"])
        fixed_z, start, wall_before = state["fixed_z"], state["step"], state["wall_time"]
        log(f"resuming {out} from step {start}")
    log(f"{len(data)} images at {spec.resolution}x{spec.resolution}, {steps_per_epoch} steps per "
        f"epoch, training steps {start}..{total} on {dev}"
        + (f" x {ranks.world} processes ({settings.batch_size // ranks.world} rows each)" if ranks.active else "")
        + f"; global batch {settings.batch_size}, learning rate {settings.lr:g}"
        + (f" (D {settings.lr_d:g})" if settings.lr_d else "") + f", {settings.precision}"
        + (", channels last" if settings.channels_last else "")
        + (f", EMA {settings.ema_decay:g}" if ema else "") + (f", DiffAugment {','.join(options.augment)}"
                                                                if options.augment else "")
        + (f"; from {settings.init} ({settings.init_images:,} images seen)" if settings.init else ""))

    t0 = time.time()

    measured_at = [-1]                 # the step the EMA's standing statistics were measured at

    def shipped_g():
        """The generator that ships, ready to sample: the EMA with its standing statistics, or G."""
        if ema is None:
            return g
        if measured_at[0] != step:
            standing_statistics(ema.model, spec.z_dim, settings.seed)
            measured_at[0] = step
        return ema.model

    def models_state(step: int) -> dict:
        """What every checkpoint holds: the networks (and the average) with the run's facts."""
        extra = {"G_ema": shipped_g().state_dict()} if ema is not None else {}
        return {"format": CHECKPOINT_FORMAT, "kind": checkpoint.CHECKPOINT_KIND,
                "spec": spec.to_dict(), "settings": dataclasses.asdict(settings), "step": step,
                "images_seen": settings.init_images + step * settings.batch_size,
                "wall_time": wall_before + time.time() - t0,
                "G": g.state_dict(), "D": d.state_dict(), "processes": ranks.world, **extra}

    def save_checkpoint(step: int) -> None:
        distributed.average_buffers(ranks, g, d)
        if not ranks.main:
            distributed.barrier(ranks)
            return
        rng = {"torch": torch.get_rng_state()}
        if dev.startswith("cuda"):
            rng["cuda"] = torch.cuda.get_rng_state()
        checkpoint.save(out / LAST, {**models_state(step), "opt_G": opt_g.state_dict(),
                                     "opt_D": opt_d.state_dict(), "rng": rng, "fixed_z": fixed_z})
        distributed.barrier(ranks)       # no rank goes on before the checkpoint is whole

    def save_epoch_samples(epoch: int) -> Path:
        path = out / "samples" / f"epoch_{epoch:03d}.png"
        save_samples(shipped_g(), fixed_z, path)
        return path

    def watch(step: int) -> None:
        if monitor is None or not ranks.main:
            return
        generators = {"g": g, **({"ema": shipped_g()} if ema is not None else {})}
        was_training = g.training
        g.eval()
        try:
            numbers = monitor(step, generators)
        finally:
            g.train(was_training)
        row = {"step": step, "images_seen": settings.init_images + step * settings.batch_size, **numbers, "wall_time": round(wall_before + time.time() - t0, 1)}
        # the networks measured, kept so that the run's best point can be shipped (no optimiser state)
        checkpoint.save(out / MONITORED / f"step_{step:06d}.pt", models_state(step))
        with open(out / "monitor.jsonl", "a") as f:
            f.write(json.dumps(row) + "\n")
        log(f"step {step}: " + ", ".join(f"{k} {v}" for k, v in row.items() if k != "step"))

    bar = tqdm(total=total, initial=start, desc="training", unit="step", disable=not progress,
               dynamic_ncols=True)
    logfile = open(out / "log.jsonl", "a") if ranks.main else open(os.devnull, "w")
    step = start
    try:
        for step, epoch, real in epoch_batches(data, settings, steps_per_epoch, start, total, dev):
            z = (torch.rand(batch, spec.z_dim, device=dev) * 2 - 1)[rows]
            r = gan_step(g_train, d_train, d, opt_g, opt_d, real, z, spec.patch, rows, options)
            if ema is not None:
                ema.update(g)

            done = step + 1
            bar.update(1)
            if done % 10 == 0 or done == total:      # means over the ranks: the global batch's
                ld, lg, dr, df = distributed.mean(ranks, [r.loss_d.item(), r.loss_g.item(), r.d_real.item(),
                                                          r.d_fake.item()])
                stats = {"step": done, "epoch": epoch + 1, "loss_d": round(ld, 4), "loss_g": round(lg, 4),
                         "d_real": round(dr, 3), "d_fake": round(df, 3),
                         "wall_time": round(wall_before + time.time() - t0, 1)}
                bar.set_postfix({k: stats[k] for k in ("loss_d", "loss_g", "d_real", "d_fake")})
                logfile.write(json.dumps(stats) + "\n")
                logfile.flush()
            epoch_end = done % steps_per_epoch == 0
            if done % settings.checkpoint_every == 0 or epoch_end or done == total:
                save_checkpoint(done)
                if epoch_end and ranks.main:
                    save_epoch_samples(done // steps_per_epoch)
            if monitor is not None and (done % monitor.every == 0 or done == total):
                watch(done)
    finally:
        bar.close()
        logfile.close()
    if start < total and ranks.main:
        final_samples = save_epoch_samples(-(-total // steps_per_epoch))
    else:
        final_samples = None
    distributed.average_buffers(ranks, g, d)
    digests = distributed.gather(ranks, distributed.weights_digest(g, d))
    summary = {"out": str(out), "step": total, "resumed_from": start,
               "wall_time": round(wall_before + time.time() - t0, 1),
               "checkpoint": str(out / LAST), "samples": str(final_samples) if final_samples else None,
               "rank": ranks.rank, "processes": ranks.world, "weights_sha256_by_rank": digests}
    log(f"done: step {total}, checkpoint {out / LAST}, wall time {summary['wall_time']} s")
    return summary
