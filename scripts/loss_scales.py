"""How large each term's gradient with respect to the image is, per unit weight, at a random z.

    python scripts/loss_scales.py [N]      (N tuning images of the val split, default 16)

Compares the contextual loss (L1 and L2) with the prior (joint and global) and the consistency
loss, each at weight 1: the ratio says what weight makes a term matter. Uses the tuning images
(--skip 500 of the seed-0 draw), center and pattern masks, the shipped model on eager PyTorch.
"""
from __future__ import annotations

import sys

import numpy as np

from inpaint.eval.harness import mask_for, pick_images
from inpaint.runtime.ops import CpuOps
from inpaint.runtime.optimise import initial_z
from inpaint.runtime.problem import make_problem
from inpaint.torch_engines.eager import TorchEngine
from inpaint.weights import shipped_bundle

DATA = "../shared/data/celeba64/val.zip"


def norm(g: np.ndarray) -> float:
    """Mean over the batch of each sample's gradient norm."""
    return float(np.linalg.norm(g.reshape(len(g), -1), axis=1).mean())


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    engine = TorchEngine.from_weights(shipped_bundle())
    idx, images = pick_images(DATA, n, 64, 0, skip=500)
    y = images.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1
    x = engine.generator(initial_z(n, 100, 1))
    print("| mask | contextual L1 | contextual L2 | prior, joint | prior, global | consistency |")
    print("|---|---|---|---|---|---|")
    for kind in ("center", "pattern"):
        p = make_problem(y, np.stack([mask_for(kind, 64, 0, int(i)) for i in idx]), engine.spec.patch)
        target = engine.target_features(p.y * p.known, p.box)
        cells = [norm(CpuOps.contextual(x, p.y, p.weights, nrm)[1]) for nrm in ("l1", "l2")]
        cells += [norm(engine.critic(x, p.known, p.box, target, prior, 1.0, 0.0)[2]) for prior in ("joint", "global")]
        cells.append(norm(engine.critic(x, p.known, p.box, target, "joint", 0.0, 1.0)[2]))
        print(f"| {kind} | " + " | ".join(f"{c:.3g}" for c in cells) + " |")


if __name__ == "__main__":
    main()
