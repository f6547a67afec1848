"""inpaint-export: turn a checkpoint into a bundle of ONNX graphs (and TensorRT plans) for the runtime."""
from __future__ import annotations

from pathlib import Path

import click

from inpaint.cli.common import positive_ints, user_errors


@click.command(name="inpaint-export", context_settings={"help_option_names": ["-h", "--help"],
                                                       "show_default": True})
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path),
              help="Bundle directory to write (not needed when CHECKPOINT is a bundle and --engine is given).")
@click.option("--force", is_flag=True, help="Replace an existing bundle at --out.")
@click.option("--fp16", is_flag=True,
              help="Half-precision graphs (fp32 inputs and outputs) for strongly typed TensorRT; "
                   "reports each graph's error against fp32.")
@click.option("--engine", is_flag=True,
              help="Also build TensorRT plans for this GPU into <bundle>/engines/<gpu>-trt<version>/.")
@click.option("--batch-sizes", default="1,16,64", callback=lambda c, p, v: positive_ints(v, "1,16,64"),
              help="With --engine: one optimisation profile per size; batches up to the largest run.")
@click.option("--gl", "gl_checkpoint", type=click.Path(path_type=Path),
              help="A GL run's checkpoint (inpaint-train --gl): its completion network goes into the "
                   "bundle as one more graph (fp16 weights, fp32 arithmetic), checked against torch; "
                   "with CHECKPOINT a bundle and no --out, into that bundle.")
@click.option("--update", is_flag=True,
              help="With CHECKPOINT a bundle and no --out: add to it, in place, the graphs this inpaint "
                   "exports that it lacks (search z+bn's generator_bn and generator_bn_vjp, for a bundle "
                   "made before them), from its own weights; its weights file and other graphs stay as "
                   "they are.")
@user_errors
def main(checkpoint, out, force, fp16, engine, batch_sizes, gl_checkpoint, update):
    """Export CHECKPOINT (a training checkpoint, a weights file or a bundle) as a bundle: the
    generator, its vector-Jacobian product, the critics and the feature graph as ONNX with a
    dynamic batch axis, their weights and the torch state_dicts stored once in one weights file
    (in fp16 where every value is exact in fp16, as for the shipped model), and manifest.json with
    shapes and sha256 hashes. Given a bundle and --engine alone, builds its TensorRT plans.

    \b
    Examples:
      inpaint-export runs/celeba64/last.pt --out bundles/celeba64
      inpaint-export runs/celeba64/last.pt --out bundles/celeba64-fp16 --fp16 --engine
      inpaint-export bundles/celeba64 --engine --batch-sizes 1,16,256
      inpaint-export src/inpaint/weights/celeba64 --out bundles/celeba64-fp16 --fp16
      inpaint-export src/inpaint/weights/celeba64 --gl runs/gl/last.pt      # add GL to a bundle
      inpaint-export bundles/old --update        # add the graphs a bundle from an older inpaint lacks
      inpaint-rt complete face.png mask.png -o filled.png --bundle bundles/celeba64
    """
    from inpaint.errors import InpaintError
    from inpaint.runtime.bundle import MANIFEST

    log = lambda m: click.echo(m, err=True)   # noqa: E731
    if engine:   # fail before a long export, not after it
        from inpaint.runtime.engines.trt import import_tensorrt
        import_tensorrt()
    if (checkpoint / MANIFEST).is_file() and out in (None, checkpoint):
        if not (engine or gl_checkpoint or update) or fp16:
            raise InpaintError(f"{checkpoint} is already a bundle: give --engine to build its TensorRT "
                               "plans, --gl to add GL's graph, --update to add the graphs it lacks, or --out "
                               "DIR to export it anew")
        out = checkpoint
    else:
        if update:
            raise InpaintError("--update adds graphs to a bundle in place: give the bundle as CHECKPOINT, "
                               "without --out")
        if out is None:
            raise InpaintError("give --out DIR: where to write the bundle")
        from inpaint.export.bundle import write_bundle
        write_bundle(checkpoint, out, force=force, fp16=fp16, log=log)
    if update:
        from inpaint.export.bundle_update import add_missing_graphs
        add_missing_graphs(out, log=log)
    if gl_checkpoint:
        from inpaint.export.gl_graph import add_gl
        add_gl(gl_checkpoint, out, log=log)
    if engine:
        from inpaint.export.trt_builder import build_plans
        log(f"plans in {build_plans(out, batch_sizes, log=log)}")
    click.echo(str(out))
