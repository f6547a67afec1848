"""inpaint-export: turn a checkpoint into a bundle of ONNX graphs for the runtime."""
from __future__ import annotations

from pathlib import Path

import click

from inpaint.cli.common import user_errors


@click.command(name="inpaint-export", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Bundle directory to write.")
@click.option("--force", is_flag=True, help="Replace an existing bundle at --out.")
@click.option("--fp16", is_flag=True,
              help="Half-precision graphs (fp32 inputs and outputs) for strongly typed TensorRT; "
                   "reports each graph's error against fp32.")
@user_errors
def main(checkpoint, out, force, fp16):
    """Export CHECKPOINT (a training checkpoint or a weights file) as a bundle: the generator, its
    vector-Jacobian product, the critics and the feature graph as ONNX with a dynamic batch axis,
    their weights stored once in weights.bin, and manifest.json with shapes and sha256 hashes.

    \b
    Example:
      inpaint-export runs/celeba64/last.pt --out bundles/celeba64
      inpaint-export runs/celeba64/last.pt --out bundles/celeba64-fp16 --fp16
      inpaint-rt complete face.png mask.png -o filled.png --bundle bundles/celeba64
    """
    from inpaint.export.bundle import write_bundle
    write_bundle(checkpoint, out, force=force, fp16=fp16, log=lambda m: click.echo(m, err=True))
    click.echo(str(out))
