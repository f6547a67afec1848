"""The prior's training curve from a GAN run directory: KID of samples against real faces (from
monitor.jsonl: the trained G and its moving average, with their 95% intervals) against images
seen, and the losses and D's scores (log.jsonl, running means) below.

    python scripts/prior_training_curve.py runs/prior docs/results/prior/training_curve.png [--batch 64]
    python scripts/prior_training_curve.py runs/prior out.png --reference 0.0123   # a line: e.g. the shipped G's KID

Prints the last KID row and the images seen.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

KID_SCALE = 1000


def smooth(values: np.ndarray, n: int = 50) -> np.ndarray:
    """Running mean over the last n entries (fewer at the start)."""
    c = np.cumsum(np.insert(values, 0, 0.0))
    idx = np.arange(1, len(values) + 1)
    lo = np.maximum(idx - n, 0)
    return (c[idx] - c[lo]) / (idx - lo)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--batch", type=int, default=64, help="the run's global batch (images per step)")
    ap.add_argument("--images-before", type=int, default=0,
                    help="images the run's --init model had seen (its log's first line): the curve starts there")
    ap.add_argument("--reference", type=float, action="append", default=[],
                    help="a KID to draw as a horizontal line (e.g. the shipped G's), repeatable")
    ap.add_argument("--reference-label", action="append", default=[])
    args = ap.parse_args()
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from inpaint.atomic import write_atomic
    monitor, log = read_jsonl(args.run / "monitor.jsonl"), read_jsonl(args.run / "log.jsonl")
    if not log:
        raise SystemExit(f"prior_training_curve: no log.jsonl in {args.run}: is it a run directory?")
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6.5), sharex=True, height_ratios=(3, 2))
    for name, colour, label in (("g", "#c63", "G as trained"), ("ema", "#036", "moving average of G")):
        rows = [r for r in monitor if f"kid_{name}" in r]
        if not rows:
            continue
        seen = (args.images_before + np.array([r["step"] * args.batch for r in rows])) / 1e6
        value = KID_SCALE * np.array([r[f"kid_{name}"] for r in rows])
        low = KID_SCALE * np.array([r[f"kid_{name}_low"] for r in rows])
        high = KID_SCALE * np.array([r[f"kid_{name}_high"] for r in rows])
        top.fill_between(seen, low, high, color=colour, alpha=0.15, lw=0)
        top.errorbar(seen, value, yerr=(value - low, high - value), fmt="o-", color=colour, ms=3, capsize=2,
                     lw=1, label=f"{label} ({rows[-1]['kid_samples']} samples)")
    for i, ref in enumerate(args.reference):
        text = args.reference_label[i] if i < len(args.reference_label) else f"reference {i + 1}"
        top.axhline(KID_SCALE * ref, color="#555", ls="--", lw=1)
        top.text(0.99, KID_SCALE * ref, text, ha="right", va="bottom", fontsize=8,
                 transform=top.get_yaxis_transform())
    top.set_ylabel("KID x 10³ of samples vs real faces\n(dlib descriptors; 95% interval)")
    top.set_ylim(bottom=min(0.0, top.get_ylim()[0]))   # linear, from the floor (0) up
    top.legend(fontsize=8)
    steps = (args.images_before + np.array([r["step"] for r in log]) * args.batch) / 1e6
    for key, colour in (("loss_d", "#a33"), ("loss_g", "#33a")):
        bottom.plot(steps, smooth(np.array([r[key] for r in log])), color=colour, lw=1, label=f"{key} (running mean)")
    twin = bottom.twinx()
    for key, colour in (("d_real", "#393"), ("d_fake", "#999")):
        twin.plot(steps, smooth(np.array([r[key] for r in log])), color=colour, lw=1, ls=":", label=key)
    twin.set_ylim(0, 1)
    twin.set_ylabel("D's score (fused)")
    bottom.set_ylabel("loss (sum of three BCEs)")
    bottom.set_xlabel("images seen (millions)")
    bottom.legend(loc="upper left", fontsize=8)
    twin.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    write_atomic(args.out, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    last = log[-1]
    print(f"{args.run}: step {last['step']}, {args.images_before + last['step'] * args.batch:,} images seen, "
          f"wall {last['wall_time'] / 3600:.2f} h" + (f"; last monitor row {monitor[-1]}" if monitor else ""))


if __name__ == "__main__":
    main()
