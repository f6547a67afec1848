"""Add a trained latent encoder to a shipped model.

    python scripts/ship_encoder.py runs/encoder/last.pt --name celeba64 --machine "..."

Checks that the run's G and D are the shipped model's, bit for bit, then exports
src/inpaint/weights/NAME/ again with E added (fp16, like G and D) and the run's facts in its meta
under "encoder"; prints those facts, as JSON, for the model card.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch

from inpaint.export.bundle import write_bundle
from inpaint.export.gl_graph import gl_kept
from inpaint.train import checkpoint
from inpaint.weights import HERE

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path, help="the encoder run's last.pt")
    ap.add_argument("--name", default="celeba64")
    ap.add_argument("--machine", required=True, help="where the encoder was trained, for the model card")
    args = ap.parse_args()

    run = checkpoint.load(args.run, checkpoint.ENCODER_CHECKPOINT_KIND)
    target = HERE / args.name
    shipped = checkpoint.load(target, checkpoint.WEIGHTS_KIND)     # the bundle's fp16 state_dicts
    for part in ("G", "D"):
        if run[part].keys() != shipped[part].keys() or not all(
                torch.equal(run[part][k].to(shipped[part][k].dtype), shipped[part][k]) for k in shipped[part]):
            raise SystemExit(f"{args.run} was trained against another {part} than {target}; "
                             "train the encoder with --weights pointing at the shipped model")
    settings = run["settings"]
    facts = {"machine": args.machine, "steps": run["step"], "batch_size": settings["batch_size"],
             "images_seen": 2 * run["step"] * settings["batch_size"], "epochs_of_real_images":
             round(run["step"] / _steps_per_epoch(settings, shipped["spec"].resolution), 2),
             "wall_time_s": round(run["wall_time"]), "lr": settings["lr"], "width": run["encoder"]["width"],
             "latent_weight": settings["latent_weight"], "seed": settings["seed"], "torch": str(torch.__version__),
             "run_sha256": checkpoint.sha256_path(args.run)}
    payload = {**shipped, "spec": shipped["spec"].to_dict(),
               "E": {k: v.to(torch.float16) if v.is_floating_point() else v for k, v in run["E"].items()},
               "encoder": {"width": run["encoder"]["width"]},
               "meta": {**shipped.get("meta", {}), "encoder": facts}}
    with tempfile.TemporaryDirectory() as tmp:     # the weights file exists only to be exported
        source = Path(tmp) / f"{args.name}.pt"
        checkpoint.save(source, payload)
        with gl_kept(target):
            write_bundle(source, target, force=True)
    print(json.dumps({**facts, "bundle": str(target.relative_to(REPO)),
                      "bytes": sum(f.stat().st_size for f in target.iterdir())}, indent=2))


def _steps_per_epoch(settings: dict, resolution: int) -> int:
    """Steps per epoch of the run's real images (the CelebA train split unless it was a dry run)."""
    if settings.get("dry_run") or not settings.get("data"):
        return 64 // settings["batch_size"]
    from inpaint.train.datasets import load_dataset
    return len(load_dataset(settings["dataset"], settings["data"], resolution, progress=False)) // settings["batch_size"]


if __name__ == "__main__":
    main()
