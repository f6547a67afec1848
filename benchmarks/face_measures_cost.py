"""What the face measures of inpaint-eval --metrics cost per image on this machine.

    python benchmarks/face_measures_cost.py [--data ../shared/data/celeba64/val.zip] [-n 100]

On n 64x64 val crops, each step timed per image (median and the 10th-90th percentiles):
- truth: the truth's anchor, once per image for all methods (detector, both landmark
  predictors, descriptor);
- fill, landmarks only (--metrics landmarks): the 68 landmarks in the truth's box;
- fill, identity (--metrics identity or kid): the landmarks and the descriptor;
- KID: one method's 500 descriptors against 2,000 reference ones, with its 200-draw bootstrap
  (random unit vectors: the cost does not depend on their values).
The models load once, untimed. Writes benchmarks/results/face_measures_cost_cpu.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from inpaint.bench.timing import seconds_each, summary

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "results" / "face_measures_cost_cpu.json"


def per_image(fn, items) -> dict[str, float]:
    """Median, 10th and 90th percentile seconds of fn(item) over the items."""
    s = summary(seconds_each(fn, items), (10, 90))
    return {k: s[k] for k in ("median", "p10", "p90", "n")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "celeba64" / "val.zip"))
    ap.add_argument("-n", type=int, default=100)
    args = ap.parse_args()

    from inpaint.eval.baselines import BASELINES
    from inpaint.eval.faces import FaceMeasures
    from inpaint.eval.harness import mask_for, pick_images
    from inpaint.eval.kid import kid

    _, images = pick_images(args.data, args.n, 64, seed=0, skip=500)     # beside the 500 evaluation images
    measures = FaceMeasures()
    measures.anchor(images[0])                                          # loads every model
    anchors = [measures.anchor(im) for im in images]
    fills = [np.rint(255 * BASELINES["telea"](im / 255.0, mask_for("center", 64, 0, i) > 0.5)).astype(np.uint8)
             for i, im in enumerate(images)]
    rows = {
        "truth (anchor)": per_image(measures.anchor, images),
        "fill, landmarks only": per_image(lambda i: measures.measure(fills[i], anchors[i], describe=False),
                                          range(len(images))),
        "fill, identity and landmarks": per_image(lambda i: measures.measure(fills[i], anchors[i]),
                                                  range(len(images))),
    }
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(500, 128)), rng.normal(size=(2000, 128))
    t0 = time.perf_counter()
    kid(x / np.linalg.norm(x, axis=1, keepdims=True), y / np.linalg.norm(y, axis=1, keepdims=True))
    kid_seconds = time.perf_counter() - t0
    import dlib
    result = {"machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
              "cpu_count": len(os.sched_getaffinity(0)), "date": time.strftime("%Y-%m-%d"),
              "dlib": dlib.__version__, "images": args.n, "seconds_per_image": rows,
              "kid_500_vs_2000_seconds": kid_seconds}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    print("| step | median per image (ms) | 10th-90th percentile (ms) |\n|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {1000 * r['median']:.1f} | {1000 * r['p10']:.1f}-{1000 * r['p90']:.1f} |")
    print(f"\nKID of 500 against 2,000 descriptors with its bootstrap: {kid_seconds:.2f} s  ({OUT.relative_to(REPO)})")


if __name__ == "__main__":
    main()
