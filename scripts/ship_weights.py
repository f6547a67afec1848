"""Turn a training run into the shipped model: its bundle in the package and the sample sheet.

    python scripts/ship_weights.py runs/celeba64/last.pt --name celeba64 --machine "..."

Writes src/inpaint/weights/NAME/ (the bundle of the run's G and D cast to fp16: one weights file,
in fp16, for the ONNX graphs and for torch) and docs/samples_NAME.png (64 samples of the shipped
weights, z from seed 0), and prints the facts the model card quotes, as JSON.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
from pathlib import Path

import torch

from inpaint.export.bundle import write_bundle
from inpaint.export.gl_graph import gl_kept
from inpaint.train import checkpoint
from inpaint.train.samples import sample_z, save_samples
from inpaint.weights import HERE

REPO = Path(__file__).resolve().parents[1]
SAMPLE_SEED = 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--name", default="celeba64")
    ap.add_argument("--machine", required=True, help="where the run was trained, for the model card")
    ap.add_argument("--data", default="celeba64/train.zip (CelebA official train partition, 37,540 images)")
    args = ap.parse_args()

    ck = checkpoint.load(args.checkpoint, checkpoint.CHECKPOINT_KIND)
    settings = ck["settings"]
    images = None
    if settings.get("data"):
        from inpaint.train.datasets import load_dataset
        images = len(load_dataset(settings["dataset"], settings["data"], ck["spec"].resolution, progress=False))
    # a run started with --init trained a model further: its images count with the run's
    seen = settings.get("init_images", 0) + ck["step"] * settings["batch_size"]
    meta = {"data": args.data, "machine": args.machine, "steps": ck["step"],
            "batch_size": settings["batch_size"], "images_seen": seen,
            "epochs": round(seen / images, 2) if images else None,
            **({"init": settings["init"], "init_images": settings["init_images"]} if settings.get("init") else {}),
            "wall_time_s": round(ck["wall_time"]), "lr": settings["lr"], "beta1": settings["beta1"],
            "seed": settings["seed"], "torch": str(torch.__version__),
            "source_checkpoint_sha256": hashlib.sha256(args.checkpoint.read_bytes()).hexdigest()}
    out = HERE / args.name
    with tempfile.TemporaryDirectory() as tmp:     # the weights file exists only to be exported
        source = Path(tmp) / f"{args.name}.pt"
        checkpoint.save(source, checkpoint.to_weights(ck, torch.float16, meta))
        with gl_kept(out):
            write_bundle(source, out, force=True)

    spec, g, _ = checkpoint.load_models(out)
    grid = REPO / "docs" / f"samples_{args.name}.png"
    save_samples(g, sample_z(64, spec.z_dim, SAMPLE_SEED), grid)
    print(json.dumps({**meta, "bundle": str(out.relative_to(REPO)),
                      "bytes": sum(f.stat().st_size for f in out.iterdir()),
                      "samples": str(grid.relative_to(REPO))}, indent=2))


if __name__ == "__main__":
    main()
