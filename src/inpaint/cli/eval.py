"""inpaint-eval: PSNR/SSIM of our completion, SE and classical baselines on a held-out split."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from inpaint.cli.common import positive_ints, torch_device, user_errors


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
@click.option("--data", required=True, type=click.Path(path_type=Path),
              help="Zip or folder of images at the model resolution (e.g. celeba64/val.zip).")
@click.option("-n", "--n", "n", type=click.IntRange(min=1), default=500, help="Images drawn from the split (seeded).")
@click.option("--skip", type=click.IntRange(min=0), default=0,
              help="Leave out the first SKIP images of the seeded draw: --skip 500 gives a tuning set "
                   "disjoint from the default 500.")
@click.option("--masks", default="center,pattern", callback=_csv(("center", "pattern", "random", "half")),
              help="Comma-separated mask kinds: center, pattern, random (80% pixels), half.")
@click.option("--methods", default="ours,se,tv,lr,telea,ns,biharmonic,mean",
              callback=_csv(("ours", "se", "tv", "lr", "telea", "ns", "biharmonic", "mean")),
              help="ours: joint D + PD prior; se: Yeh et al. (global D prior only); tv; lr (low rank); "
                   "telea, ns (OpenCV); biharmonic (scikit-image); mean (mean colour).")
@click.option("--seed", type=int, default=0, help="Picks the images, the masks and the restarts.")
@click.option("--init", "inits", default="random", callback=_csv(("random", "encoder")),
              help="Starts of ours/se, comma-separated: random (z ~ U[-1, 1]) and/or encoder (the "
                   "model's latent encoder; reported as ours+encoder, se+encoder).")
@click.option("--iterations", type=click.IntRange(min=1), default=None,
              help="Adam steps for ours/se [default: each start's own, 1000 random, 100 encoder].")
@click.option("--restarts", type=click.IntRange(min=1), default=None, help="Starts per image for ours/se [default: 4].")
@click.option("--batch", type=click.IntRange(min=1), default=64, help="Images per optimisation batch.")
@click.option("--lr", type=float, default=None, help="Adam step size on z for ours/se.")
@click.option("--prior-weight", type=float, default=None, help="lambda on the prior loss (ours and se).")
@click.option("--consistency-weight", type=float, default=None, help="mu on the consistency loss (ours).")
@click.option("--norm", type=click.Choice(["l1", "l2"]), default=None, help="Contextual loss norm (ours and se).")
@click.option("--curve", default="", callback=lambda c, p, v: positive_ints(v, "50,100,200", allow_empty=True),
              help="Comma-separated iteration counts (e.g. 50,100,200): also score ours/se after each, "
                   "from the same run.")
@click.option("--curve-plot", type=click.Path(path_type=Path),
              help="Write PSNR/SSIM against iterations as a PNG here (needs --curve).")
@click.option("--weights", type=click.Path(path_type=Path), help="Model weights [default: the shipped model].")
@click.option("--device", default="cpu", show_default=True, callback=lambda ctx, param, v: torch_device(v),
              help="cpu, or cuda[:N]: on a GPU, ours/se run the GPU runtime (the search with its state on the device).")
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Write all results as JSON.")
@click.option("--grids", type=click.Path(path_type=Path), help="Directory for comparison_<mask>.png grids.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@user_errors
def main(data, n, skip, masks, methods, seed, inits, iterations, restarts, batch, lr, prior_weight, consistency_weight, norm,
         curve, curve_plot, weights, device, json_path, grids, quiet):
    """Evaluate inpainting quality: PSNR and SSIM over the whole image and over the hole.

    \b
    Example:
      inpaint-eval --data celeba64/val.zip -n 500 --json results.json --grids docs/
    """
    from inpaint.eval.harness import (EvalSettings, comparisons, evaluate, markdown_curve, markdown_paired,
                                      markdown_table)

    if curve_plot and not curve:
        raise click.UsageError("--curve-plot needs --curve (the iteration counts to plot)")

    overrides = tuple((k, v) for k, v in (("lr", lr), ("prior_weight", prior_weight),
                                          ("consistency_weight", consistency_weight), ("norm", norm))
                      if v is not None)
    settings = EvalSettings(data=str(data), n=n, skip=skip, masks=masks, methods=methods, seed=seed,
                            inits=inits, iterations=iterations, restarts=restarts, batch=batch,
                            weights=str(weights) if weights else None, device=device, overrides=overrides,
                            curve=curve)
    results = evaluate(settings, progress=not quiet and sys.stderr.isatty(), grid_dir=grids)
    if json_path:
        from inpaint.atomic import write_atomic
        write_atomic(json_path, lambda tmp: tmp.write_text(json.dumps(results, indent=2)))
    if curve_plot:
        from inpaint.eval.figures import quality_curve
        quality_curve(curve_plot, results)
    click.echo(markdown_table(results))
    pairs = comparisons(results) if n > 1 else []
    if pairs:
        click.echo("\nPaired over the same images (mean ± 95% confidence interval):")
    for a, b in pairs:
        click.echo("\n" + markdown_paired(results, a, b))
    if "curve" in results:
        click.echo("\nPSNR / SSIM (whole image) against iterations:\n\n" + markdown_curve(results))
    click.echo(f"\n{n} images, wall time {results['wall_seconds']} s", err=True)


if __name__ == "__main__":
    main()
