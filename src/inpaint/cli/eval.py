"""inpaint-eval: PSNR/SSIM of our completion, SE and classical baselines on a held-out split of
crops, or (--photos) of the model on whole photos framed three ways."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from click.core import ParameterSource

from inpaint.cli.backend_option import backend_option
from inpaint.cli.common import positive_ints, search_option, torch_device, user_errors
from inpaint.errors import InpaintError
from inpaint.spec import DEFAULT_ITERATIONS

CROP_METHODS = ("ours", "se", "gl", "tv", "lr", "telea", "ns", "biharmonic", "mean")
CROP_DEFAULT_N = 500
# options of one mode only: given in the other, they are refused rather than ignored
CROP_ONLY = ("data", "skip", "masks", "inits", "search", "lr", "prior_weight", "consistency_weight", "norm", "curve",
             "curve_plot", "weights", "device", "backend", "kid_reference", "kid_reference_n")
PHOTO_ONLY = ("holes", "sets", "parts", "framing_only", "scales")
NOT_FRAMING_ONLY = ("methods", "iterations", "restarts", "batch", "grids")


def _csv(choices):
    def parse(ctx, param, value):
        items = tuple(v.strip() for v in value.split(",") if v.strip())
        bad = [v for v in items if v not in choices]
        if bad or not items:
            raise click.BadParameter(f"{', '.join(bad) or 'nothing given'}; choose from {', '.join(choices)}")
        return items
    return parse


@click.command(name="inpaint-eval", context_settings={"help_option_names": ["-h", "--help"],
                                                     "show_default": True})
@click.option("--data", type=click.Path(path_type=Path),
              help="Zip or folder of images at the model resolution (e.g. celeba64/val.zip).")
@click.option("--photos", type=click.Path(path_type=Path),
              help="Zip or folder of whole aligned CelebA photos (178x218 img_align_celeba files, or that "
                   "shape scaled): runs the photo evaluation instead of the crop one.")
@click.option("-n", "--n", "n", type=click.IntRange(min=1), default=None,
              help="Images drawn (seeded) [default: 500 crops; all the photos].")
@click.option("--skip", type=click.IntRange(min=0), default=0,
              help="Leave out the first SKIP images of the seeded draw: --skip 500 gives a tuning set "
                   "disjoint from the default 500.")
@click.option("--masks", default="center,pattern", callback=_csv(("center", "pattern", "random", "half")),
              help="Comma-separated mask kinds: center, pattern, random (80% pixels), half.")
@click.option("--methods", default=None,
              help="Crops [default: all]: ours: joint D + PD prior; se: Yeh et al. (global D prior only); gl: "
                   "Iizuka et al.'s completion network (one forward pass, the bundle's GL graph); tv; "
                   "lr (low rank); telea, ns (OpenCV); biharmonic (scikit-image); mean (mean colour). "
                   "Photos [default: all]: whole (the photo squeezed to the model's square), found (the "
                   "square the framer finds), true (the training square: the upper bound), telea, biharmonic.")
@click.option("--holes", default="face,eyes,mouth,strokes,hair,background,eyes_brows,upper_face",
              help="Photos: hole kinds; hair and background lie off the face, the others on it "
                   "(eyes_brows: two brush strokes across both eyes and brows; upper_face: a block of 40% "
                   "of the face's square over eyes, brows and nose).")
@click.option("--sets", default="aligned,reframed",
              help="Photos: aligned (as they are) and/or reframed (scaled, shifted, cropped or edge-padded "
                   "at random).")
@click.option("--seed", type=int, default=0, help="Picks the images, the masks and the restarts.")
@click.option("--init", "inits", default="auto", callback=_csv(("auto", "random", "encoder")),
              help="Starts of ours/se, comma-separated: random (z ~ U[-1, 1]) and/or encoder (the "
                   "model's latent encoder; reported as ours+encoder, se+encoder); auto: what "
                   "inpaint-rt complete starts from, the encoder where the model has one.")
@click.option("--iterations", type=click.IntRange(min=1), default=None,
              help=f"Adam steps for ours/se [default: each start's own, {DEFAULT_ITERATIONS['random']} random, "
                   f"{DEFAULT_ITERATIONS['encoder']} encoder].")
@click.option("--restarts", type=click.IntRange(min=1), default=None,
              help="Starts per image for ours/se or the photo model methods [default: each start's "
                   "own, 4 random, 1 encoder].")
@click.option("--batch", type=click.IntRange(min=1), default=64, help="Images per optimisation batch.")
@search_option(default=None)
@click.option("--lr", type=float, default=None,
              help="Adam step size on z for ours/se [default: each start's own, 0.01 random, 0.02 encoder].")
@click.option("--prior-weight", type=float, default=None, help="lambda on the prior loss (ours and se).")
@click.option("--consistency-weight", type=float, default=None, help="mu on the consistency loss (ours).")
@click.option("--norm", type=click.Choice(["l1", "l2"]), default=None, help="Contextual loss norm (ours and se).")
@click.option("--curve", default="", callback=lambda c, p, v: positive_ints(v, "50,100,200", allow_empty=True),
              help="Comma-separated iteration counts (e.g. 50,100,200): also score ours/se after each, "
                   "from the same run.")
@click.option("--curve-plot", type=click.Path(path_type=Path),
              help="Write PSNR/SSIM against iterations as a PNG here (needs --curve).")
@click.option("--weights", type=click.Path(path_type=Path), help="Model weights, or a bundle [default: the shipped model]; gl reads its graph from a bundle "
                   "(the shipped one unless --weights is a bundle).")
@click.option("--device", default="cpu", show_default=True, callback=lambda ctx, param, v: torch_device(v),
              help="cpu, or cuda[:N]: on a GPU, ours/se run the GPU runtime (the search with its state on the device).")
@backend_option("gpu on a CUDA --device where the GPU runtime can run, else torch (on --device)")
@click.option("--metrics", default="psnr,ssim", callback=_csv(("psnr", "ssim", "identity", "landmarks", "kid")),
              help="Comma-separated measures: psnr, ssim (whole image and hole); identity (distance of "
                   "dlib's face descriptors of the fill and the truth, and the share under 0.6, dlib's "
                   "same-person threshold); landmarks (mean distance of dlib's 68 landmarks from the "
                   "truth's over the inter-ocular distance; its predictor's training data, iBUG 300-W, "
                   "is for non-commercial use); kid (KID of the fills' descriptors against real faces, "
                   "crops only). The face measures need the faces extra: pip install 'inpaint[faces]'.")
@click.option("--kid-reference", type=click.Path(path_type=Path),
              help="Real faces for KID: a zip or folder of crops at the model resolution [default: the "
                   "--data split]; images named as evaluated ones are left out.")
@click.option("--kid-reference-n", type=click.IntRange(min=2), default=2000,
              help="How many reference faces KID draws (seeded; all where fewer remain).")
@click.option("--samples", type=click.IntRange(min=2), default=None,
              help="Score the prior itself instead of completions: KID of this many of the model's samples "
                   "against --kid-reference-n real faces of --kid-reference (or --data), beside the floor "
                   "(as many other real faces against the same ones). Needs the faces extra.")
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Write all results as JSON.")
@click.option("--grids", type=click.Path(path_type=Path),
              help="Directory for comparison_<mask>.png grids (photos: photos_<set>_<hole>.png).")
@click.option("--parts", type=click.Path(path_type=Path),
              help="Photos: write each (set, hole) part here when done (with --framing-only each (scale, set)); "
                   "a rerun skips the parts present.")
@click.option("--framing-only", is_flag=True,
              help="Photos: run only the framer; report how often it finds the true square (fast).")
@click.option("--scales", default=None,
              help="With --framing-only: run every problem at these times its size too, comma-separated "
                   "(e.g. 0.25,1,5,25; 25 turns a 178x218 photo into 4450x5450) [default: 1].")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@user_errors
def main(data, photos, n, skip, masks, methods, holes, sets, seed, inits, iterations, restarts, batch, search, lr,
         prior_weight, consistency_weight, norm, curve, curve_plot, weights, device, backend, metrics, kid_reference,
         kid_reference_n, samples, json_path, grids, parts, framing_only, scales, quiet):
    """Evaluate inpainting quality: PSNR and SSIM over the whole image and over the hole.

    With --data: crops at the model resolution, ours and se against classical baselines.
    --metrics adds what faces need beside PSNR and SSIM: identity, landmarks and KID (dlib's
    networks, measured against the truth's face box, found once on the truth).

    With --photos: whole aligned photos, as they are and reframed at random, with holes on the face
    (face, eyes, mouth, strokes) and off it (hair, background). The model fills each hole seeing the
    whole photo (whole), the square the framer finds (found) or the true training square (true),
    against telea and biharmonic; PSNR and SSIM over the hole at full resolution, the framer's found
    rate and IoU with the true square, and found - whole, found - true paired over the photos.
    --framing-only runs only the framer. A full run takes about an hour on a CPU: give --parts to
    keep each finished part and resume.

    \b
    Examples:
      inpaint-eval --data celeba64/val.zip -n 500 --json results.json --grids docs/
      inpaint-eval --data celeba64/val.zip -n 100 --methods ours,gl --metrics psnr,ssim,identity,landmarks,kid
      inpaint-eval --photos img_align_celeba_sample.zip --parts runs/photos --json photos.json
      inpaint-eval --photos img_align_celeba_sample.zip --framing-only
      inpaint-eval --samples 2000 --kid-reference celeba64/val.zip --weights runs/celeba64/last.pt
    """
    ctx = click.get_current_context()
    progress = not quiet and sys.stderr.isatty()
    if samples is not None:
        if photos is not None:
            raise click.UsageError("--samples scores the model's samples against crops; leave out --photos")
        return _prior(samples, kid_reference or data, kid_reference_n, weights, seed, device, json_path, progress)
    if photos is not None:
        _refuse(ctx, CROP_ONLY, "is for the crop evaluation (--data); leave it out with --photos")
        if framing_only:
            _refuse(ctx, NOT_FRAMING_ONLY + ("metrics",), "has no use with --framing-only (no completions run)")
        if "kid" in metrics:
            raise click.BadParameter("kid is for the crop evaluation (--data): the photos are too few for "
                                     "it; use identity and landmarks with --photos", param_hint="'--metrics'")
        return _photos(photos, n, methods, holes, sets, seed, iterations, restarts, batch, metrics, json_path,
                       grids, parts, framing_only, progress, scales)
    if data is None:
        raise click.UsageError("give --data (a split of crops) or --photos (whole aligned photos)")
    _refuse(ctx, PHOTO_ONLY, "is for the photo evaluation; give --photos with it")
    methods = _crop_methods(ctx, methods)
    n = n or CROP_DEFAULT_N
    from inpaint.eval.harness import EvalSettings, evaluate
    from inpaint.eval.tables import report

    if curve_plot and not curve:
        raise click.UsageError("--curve-plot needs --curve (the iteration counts to plot)")

    overrides = tuple((k, v) for k, v in (("search", search), ("lr", lr), ("prior_weight", prior_weight),
                                          ("consistency_weight", consistency_weight), ("norm", norm))
                      if v is not None)
    settings = EvalSettings(data=str(data), n=n, skip=skip, masks=masks, methods=methods, seed=seed,
                            inits=inits, iterations=iterations, restarts=restarts, batch=batch,
                            weights=str(weights) if weights else None, device=device, backend=backend,
                            overrides=overrides,
                            curve=curve, metrics=metrics,
                            kid_reference=str(kid_reference) if kid_reference else None,
                            kid_reference_n=kid_reference_n)
    results = evaluate(settings, progress=progress, grid_dir=grids)
    if json_path:
        from inpaint.atomic import write_atomic
        # compact: every image's scores make an indented file several times larger
        write_atomic(json_path, lambda tmp: tmp.write_text(json.dumps(results, separators=(",", ":"))))
    if curve_plot:
        from inpaint.eval.figures import quality_curve
        quality_curve(curve_plot, results)
    click.echo(report(results))
    click.echo(f"\n{n} images, wall time {results['wall_seconds']} s", err=True)


def _prior(samples, reference, reference_n, weights, seed, device, json_path, progress):
    """inpaint-eval --samples: the prior's KID against real faces, with its floor."""
    if reference is None:
        raise click.UsageError("--samples needs real faces: give --kid-reference (or --data), e.g. celeba64/val.zip")
    from inpaint.eval.prior import prior_kid
    from inpaint.eval.tables import KID_SCALE
    from inpaint.train.checkpoint import load_models
    from inpaint.weights import shipped_bundle
    g = load_models(weights or shipped_bundle())[1].to(device)
    result = prior_kid(g, str(reference), samples, reference_n, seed, progress=progress)
    result["weights"] = str(weights) if weights else "the shipped model"
    if json_path:
        from inpaint.atomic import write_atomic
        write_atomic(json_path, lambda tmp: tmp.write_text(json.dumps(result, indent=2)))
    for name, k in (("samples", result["samples"]), ("other real faces (the floor)", result["floor"])):
        click.echo(f"KID x 10³ of {result['n']} {name} against {result['reference_n']} real faces: "
                   f"{KID_SCALE * k['value']:.2f} [{KID_SCALE * k['low']:.2f}, {KID_SCALE * k['high']:.2f}] (95%)")


def _param(ctx: click.Context, name: str) -> click.Parameter:
    return next(p for p in ctx.command.params if p.name == name)


def _crop_methods(ctx: click.Context, value: str | None) -> tuple[str, ...]:
    """--methods in crop mode, refused as its callback did before --photos made it mode-dependent."""
    param = _param(ctx, "methods")
    try:
        return _csv(CROP_METHODS)(ctx, param, value or ",".join(CROP_METHODS))
    except click.BadParameter as e:
        e.ctx, e.param = ctx, param      # so the message names --methods, as click does for a callback
        raise


def _refuse(ctx: click.Context, names: tuple[str, ...], why: str) -> None:
    """InpaintError for the first of these options given on the command line."""
    for name in names:
        if ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE:
            raise InpaintError(f"{_param(ctx, name).opts[-1]} {why}")


def _items(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def _photos(photos, n, methods, holes, sets, seed, iterations, restarts, batch, metrics, json_path, grids, parts,
            framing_only, progress, scales=None):
    """The photo evaluation: run (or resume) it, write the JSON, print the tables."""
    if scales is not None and not framing_only:
        raise click.UsageError("--scales is for --framing-only (the completions run at the photos' own size)")
    try:
        factors = tuple(float(v) for v in scales.split(",")) if scales else (1.0,)
    except ValueError:
        raise click.BadParameter(f"{scales!r}: give numbers separated by commas, e.g. 0.25,1,5,25",
                                 param_hint="'--scales'") from None
    from inpaint.eval.photos import METHODS, PhotoSettings, evaluate_photos, frame_photos
    from inpaint.eval.photos_report import (GOOD_IOU, acceptance, markdown_framing, markdown_framing_by_size,
                                            markdown_outside, markdown_paired, markdown_quality)
    settings = PhotoSettings(photos=str(photos), n=n, holes=_items(holes), sets=_items(sets),
                             methods=_items(methods) if methods is not None else METHODS, seed=seed,
                             iterations=iterations, restarts=restarts, batch=batch, metrics=metrics,
                             scales=factors)
    if framing_only:
        results = frame_photos(settings, progress=progress, parts=parts)
    else:
        results = evaluate_photos(settings, parts=parts, progress=progress, grid_dir=grids)
    if json_path:
        from inpaint.atomic import write_atomic
        write_atomic(json_path, lambda tmp: tmp.write_text(json.dumps(results, separators=(",", ":"))))
    if results["table"]:
        click.echo(markdown_quality(results))
    if "framing" in results:
        click.echo("\nFraming: the framer's square against the true one (IoU 0 where it fell back):\n\n"
                   + markdown_framing(results))
        if len(settings.scales) > 1:
            click.echo(f"\nWithin IoU {GOOD_IOU} of the true square (found at all), by size:\n\n"
                       + markdown_framing_by_size(results))
        click.echo("\n" + (acceptance(results) or ""))
    paired = markdown_paired(results) if results["table"] else None
    if paired:
        click.echo("\nPaired over the same photos (mean ± 95% confidence interval):\n\n" + paired)
    outside = markdown_outside(results) if results["table"] else None
    if outside:
        click.echo("\nHole pixels past the found square, filled by Telea, against the whole-image path "
                   "there (PSNR over those pixels, paired):\n\n" + outside)
    computed = "" if framing_only else (f", {len(results['computed_parts'])} of "
                                        f"{len(settings.sets) * len(settings.holes)} parts computed")
    click.echo(f"\n{len(results['photos'])} photos{computed}, wall time {results['wall_seconds']} s", err=True)


if __name__ == "__main__":
    main()
