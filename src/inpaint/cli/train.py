"""inpaint-train: train the generator and the joint discriminator (PyTorch)."""
from __future__ import annotations

import dataclasses
import json
import sys

import click

from inpaint.cli.common import user_errors
from inpaint.errors import InpaintError
from inpaint.spec import METHODS


@click.command(name="inpaint-train", context_settings={"help_option_names": ["-h", "--help"],
                                                      "show_default": True})
@click.option("--dataset", type=click.Choice(["celeba", "svhn", "images"]), default="celeba",
              help="celeba: a zip or folder of raw img_align_celeba files (cropped 108, resized) or of "
                   "ready crops; svhn: the official *_32x32.mat or an .npz with X; images: any images "
                   "(center square, resized).")
@click.option("--data", type=click.Path(), help="Dataset path (zip, folder, .mat or .npz).")
@click.option("--out", type=click.Path(), required=True,
              help="Run directory: last.pt, samples/epoch_NNN.png, log.jsonl.")
@click.option("--resolution", type=click.Choice(["32", "64"]), default=None,
              help="Image side [default: 64 for celeba and images, 32 for svhn].")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="[default: 25; 2 with --dry-run; on --resume: the run's own]")
@click.option("--batch-size", type=click.IntRange(min=2), default=None, help="[default: 64; 16 with --dry-run]")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Adam step size [default: 2e-4 for G and D; 5e-4 for --encoder].")
@click.option("--beta1", type=click.FloatRange(0, 1, max_open=True), default=0.5, help="Adam beta1.")
@click.option("--lr-d", type=click.FloatRange(min=0, min_open=True), default=None,
              help="D's own Adam step size (two time scales) [default: --lr].")
@click.option("--ema-decay", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=None,
              help="Keep an exponential moving average of G with this decay (e.g. 0.999); the average is "
                   "what the run's checkpoint ships, samples and the monitor see [default: none].")
@click.option("--augment", default="none",
              help="DiffAugment for everything D sees, real and generated: comma-separated color, "
                   "translation, cutout, or none.")
@click.option("--precision", type=click.Choice(["fp32", "bf16"]), default="fp32",
              help="bf16: autocast the networks to bfloat16 (weights and Adam's state stay fp32); fast on "
                   "CPUs with AVX-512 BF16 or AMX and on GPUs.")
@click.option("--channels-last", is_flag=True,
              help="Keep the networks and images in channels-last memory order (faster convolutions on "
                   "CPUs: with bf16, 165 against 142 images/s on 2 cores here; benchmarks/RESULTS.md).")
@click.option("--monitor-kid", type=click.Path(), default=None,
              help="Real faces (e.g. celeba64/val.zip): every --monitor-every steps, log KID of the generator's "
                   "samples against them in dlib's face-descriptor space to monitor.jsonl (needs the faces extra).")
@click.option("--monitor-every", type=click.IntRange(min=1), default=2000, help="Steps between KID measurements.")
@click.option("--monitor-samples", type=click.IntRange(min=2), default=500, help="Samples per KID measurement.")
@click.option("--ngf", type=click.IntRange(min=4), default=64, help="Generator width.")
@click.option("--ndf", type=click.IntRange(min=4), default=64, help="Discriminator width.")
@click.option("--seed", type=int, default=0)
@click.option("--device", default=None, help="cpu, cuda or cuda:N [default: cpu; on --resume: the run's own].")
@click.option("--checkpoint-every", type=click.IntRange(min=1), default=None,
              help="Steps between checkpoints, also written at each epoch end [default: 200].")
@click.option("--max-steps", type=click.IntRange(min=1), default=None, help="Stop after this many steps.")
@click.option("--encoder", is_flag=True,
              help="Train the latent encoder E of a trained model (its G frozen) instead of the GAN: "
                   "the run's last.pt is then that model plus E, ready for inpaint-export.")
@click.option("--weights", type=click.Path(), default=None,
              help="With --encoder: the model whose generator E inverts [default: the shipped model].")
@click.option("--latent-weight", type=click.FloatRange(min=0), default=1.0,
              help="With --encoder: weight of the latent loss on generated images.")
@click.option("--objective", type=click.Choice(["pixel", *METHODS]), default="pixel",
              help="With --encoder: what E learns. pixel: G(E(...)) close to the whole image and, on "
                   "generated images, E's z close to the true z; ours / se: the search's own objective "
                   "at E's z (contextual + prior + consistency through the frozen G and D; se: D's own "
                   "prior alone), starting from the model's encoder where it has one.")
@click.option("--gl", is_flag=True,
              help="Train the GL baseline (Iizuka et al. 2017: a completion network with a global + local "
                   "discriminator) instead of the GAN: C on the MSE alone, then D alone, then both.")
@click.option("--width", type=click.IntRange(min=4), default=None,
              help="With --gl: the completion network's first width (16x16 layers have 4x) [default: 32].")
@click.option("--tc-steps", type=click.IntRange(min=0), default=None,
              help="With --gl: steps of the completion network on the MSE alone [default: 3000].")
@click.option("--td-steps", type=click.IntRange(min=0), default=None,
              help="With --gl: steps of the discriminator alone after them [default: 400].")
@click.option("--alpha", type=click.FloatRange(min=0), default=None,
              help="With --gl: weight of the adversarial loss in the joint phase [default: 4e-4].")
@click.option("--init", "init", type=click.Path(), default=None,
              help="Start G, D and the average from this model (a weights file, a bundle such as "
                   "src/inpaint/weights/celeba64, or a run's checkpoint) instead of at random: a new run "
                   "that trains the model further (Adam's state starts fresh). With --encoder: E starts from "
                   "this model's encoder (e.g. the one of the generator's previous version).")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
@click.option("--dry-run", is_flag=True,
              help="Smoke test: a tiny synthetic dataset, 2 epochs, done in seconds on a CPU.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@user_errors
def main(dataset, data, out, resolution, epochs, batch_size, lr, beta1, lr_d, ema_decay, augment, precision,
         channels_last, monitor_kid, monitor_every, monitor_samples, ngf, ndf, seed, device,
         checkpoint_every, max_steps, encoder, weights, latent_weight, objective, gl, width, tc_steps, td_steps, alpha, init, resume, dry_run, quiet):
    """Train the DCGAN generator G with a global discriminator D and a patch discriminator PD,
    fused into one joint score.

    \b
    Examples:
      inpaint-train --dry-run --out runs/smoke
      inpaint-train --dataset celeba --data celeba64/train.zip --out runs/celeba64
      inpaint-train --data celeba64/train.zip --out runs/prior --ema-decay 0.999 --augment color,translation,cutout \
          --precision bf16 --channels-last --monitor-kid celeba64/val.zip
      inpaint-train --out runs/celeba64 --resume
      inpaint-train --data celeba64/train.zip --out runs/more --init src/inpaint/weights/celeba64 --ema-decay 0.999
      inpaint-train --encoder --data celeba64/train.zip --out runs/encoder   # E for the shipped model
      inpaint-train --encoder --weights runs/more/last.pt --init src/inpaint/weights/celeba64 --epochs 1 \
          --data celeba64/train.zip --out runs/encoder-more    # E of a G trained further, from the old E
      inpaint-train --encoder --objective ours --lr 1e-4 --data celeba64/train.zip --out runs/encoder-ours
      inpaint-train --gl --data celeba64/train.zip --out runs/gl             # the GL baseline
    """
    from inpaint.spec import ModelSpec
    from inpaint.train.datasets import DEFAULT_RESOLUTION
    from inpaint.train.loop import TrainSettings, train

    if not (data or dry_run or resume):
        raise click.UsageError("give --data PATH (or --dry-run for a synthetic smoke test)")
    gl_only = {"--width": width, "--tc-steps": tc_steps, "--td-steps": td_steps, "--alpha": alpha}
    if not gl and any(v is not None for v in gl_only.values()):
        raise click.UsageError(f"{next(k for k, v in gl_only.items() if v is not None)} belongs to --gl")
    if gl and encoder:
        raise click.UsageError("--gl and --encoder train different things; give one of them")
    gan_only = {"--lr-d": lr_d, "--ema-decay": ema_decay, "--augment": augment != "none",
                "--precision": precision != "fp32", "--channels-last": channels_last, "--monitor-kid": monitor_kid}
    given = next((k for k, v in gan_only.items() if v), None)
    if given and (gl or encoder):
        raise click.UsageError(f"{given} belongs to the GAN's training, not to {'--gl' if gl else '--encoder'}")
    if init and gl:
        raise click.UsageError("--init belongs to the GAN's training and to --encoder, not to --gl")
    if init and resume:
        raise click.UsageError("--init cannot change on --resume: it starts a new run")
    if given and given != "--monitor-kid" and resume:
        raise click.UsageError(f"{given} cannot change on --resume: the run keeps its own recipe (see its log's "
                               "first line); start a new run to change it")
    if gl:
        return _train_gl(dataset, data, out, epochs, batch_size, lr, beta1, seed, device, checkpoint_every,
                         max_steps, width, tc_steps, td_steps, alpha, resume, dry_run, quiet)
    if encoder:
        return _train_encoder(dataset, data, out, epochs, batch_size, lr, seed, device, checkpoint_every,
                              max_steps, weights, latent_weight, objective, init, resume, dry_run, quiet)
    if weights:
        raise click.UsageError("--weights belongs to --encoder (the model whose generator it inverts)")
    init_images = 0
    if init:
        from inpaint.train.loop import init_images_seen
        init_images = init_images_seen(init)       # also says clearly when the file is not a model
    res = int(resolution) if resolution else DEFAULT_RESOLUTION[dataset]
    overrides = _resume_overrides(epochs, device, checkpoint_every, max_steps)
    try:
        spec = ModelSpec(resolution=res, ngf=ngf, ndf=ndf)
    except ValueError as e:
        raise InpaintError(str(e)) from None
    from inpaint.train.augment import parse_policy
    try:
        policy = parse_policy(augment)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="'--augment'") from None
    settings = TrainSettings(dataset=dataset, data=data, out=out, epochs=epochs or (2 if dry_run else 25),
                             batch_size=batch_size or (16 if dry_run else 64), lr=lr or 2e-4, beta1=beta1,
                             lr_d=lr_d, ema_decay=ema_decay, augment=policy, precision=precision,
                             channels_last=channels_last,
                             seed=seed, device=device or "cpu", checkpoint_every=checkpoint_every or 200,
                             max_steps=max_steps, dry_run=dry_run, init=init, init_images=init_images)
    monitor = None
    if monitor_kid:
        from inpaint.eval.prior import PriorMonitor
        monitor = PriorMonitor(monitor_kid, every=monitor_every, n=monitor_samples, seed=seed)
    summary = train(settings, spec, resume=resume, progress=not quiet and sys.stderr.isatty(),
                    log=lambda m: click.echo(m, err=True), overrides=overrides, monitor=monitor)
    if summary["rank"] == 0:               # under torchrun, one summary for the job
        click.echo(json.dumps(summary))


def _resume_overrides(epochs, device, checkpoint_every, max_steps) -> dict:
    """What --resume may change of a run's own settings (None: keep the run's)."""
    return {"epochs": epochs, "device": device, "checkpoint_every": checkpoint_every, "max_steps": max_steps}


def _train_encoder(dataset, data, out, epochs, batch_size, lr, seed, device, checkpoint_every, max_steps,
                   weights, latent_weight, objective, init, resume, dry_run, quiet):
    from inpaint.train.encoder_loop import EncoderSettings, train_encoder

    defaults = EncoderSettings(out=out)
    settings = EncoderSettings(out=out, weights=weights, dataset=dataset, data=data,
                               epochs=epochs or (1 if dry_run else defaults.epochs),
                               batch_size=batch_size or (16 if dry_run else defaults.batch_size),
                               lr=lr or defaults.lr, latent_weight=latent_weight, objective=objective,
                               seed=seed, device=device or "cpu",
                               checkpoint_every=checkpoint_every or defaults.checkpoint_every,
                               max_steps=max_steps, dry_run=dry_run, init=init)
    overrides = _resume_overrides(epochs, device, checkpoint_every, max_steps)
    summary = train_encoder(settings, resume=resume, progress=not quiet and sys.stderr.isatty(),
                            log=lambda m: click.echo(m, err=True), overrides=overrides)
    if summary["rank"] == 0:
        click.echo(json.dumps(summary))


def _train_gl(dataset, data, out, epochs, batch_size, lr, beta1, seed, device, checkpoint_every, max_steps,
              width, tc_steps, td_steps, alpha, resume, dry_run, quiet):
    from inpaint.train.gl_loop import GLSettings, train_gl

    d = GLSettings(out=out)
    settings = GLSettings(out=out, dataset=dataset, data=data, epochs=epochs or (1 if dry_run else d.epochs),
                          batch_size=batch_size or (16 if dry_run else d.batch_size), lr=lr or d.lr, beta1=beta1,
                          width=width or (8 if dry_run else d.width),
                          tc_steps=d.tc_steps if tc_steps is None else tc_steps,
                          td_steps=d.td_steps if td_steps is None else td_steps,
                          alpha=d.alpha if alpha is None else alpha, seed=seed, device=device or "cpu",
                          checkpoint_every=checkpoint_every or d.checkpoint_every, max_steps=max_steps,
                          dry_run=dry_run)
    if dry_run and tc_steps is None and td_steps is None:     # let a dry run reach every phase
        settings = dataclasses.replace(settings, tc_steps=1, td_steps=1)
    overrides = _resume_overrides(epochs, device, checkpoint_every, max_steps)
    summary = train_gl(settings, resume=resume, progress=not quiet and sys.stderr.isatty(),
                       log=lambda m: click.echo(m, err=True), overrides=overrides)
    if summary["rank"] == 0:
        click.echo(json.dumps(summary))


if __name__ == "__main__":
    main()
