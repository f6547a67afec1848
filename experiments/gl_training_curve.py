"""GL's training curve from a run's log.jsonl: the MSE over the hole (smoothed) against steps, the
three phases shaded, and the discriminator's loss and scores from its phase on; the wall time is
on a second axis.

    python experiments/gl_training_curve.py runs/gl/log.jsonl docs/gl_training.png

Prints one line per phase: its steps, wall time and last smoothed values.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

PHASE_COLOURS = {"completion": "#e8f0fa", "discriminator": "#fbeee0", "joint": "#e8f5e8"}


def smooth(values: np.ndarray, n: int = 20) -> np.ndarray:
    """Running mean over the last n entries (fewer at the start)."""
    c = np.cumsum(np.insert(values, 0, 0.0))
    idx = np.arange(1, len(values) + 1)
    lo = np.maximum(idx - n, 0)
    return (c[idx] - c[lo]) / (idx - lo)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("log", type=Path)
    ap.add_argument("out", type=Path)
    args = ap.parse_args()
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from inpaint.atomic import write_atomic
    rows = [json.loads(line) for line in args.log.read_text().splitlines() if line.strip()]
    steps = np.array([r["step"] for r in rows])
    wall = np.array([r["wall_time"] for r in rows])
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True, height_ratios=(3, 2))
    for phase, colour in PHASE_COLOURS.items():
        at = [r["step"] for r in rows if r["phase"] == phase]
        if at:
            for ax in (top, bottom):
                ax.axvspan(min(at) - 10, max(at), color=colour, lw=0)
            top.text((min(at) + max(at)) / 2, 1.0, phase, ha="center", va="top", fontsize=9,
                     transform=top.get_xaxis_transform())
            last = [r for r in rows if r["phase"] == phase][-1]
            first = [r for r in rows if r["phase"] == phase][0]
            print(f"{phase}: steps {first['step'] - 10}-{last['step']}, wall {first['wall_time']:.0f}-"
                  f"{last['wall_time']:.0f} s, last mse {last['mse']:.4f}"
                  + (f", loss_d {last['loss_d']:.3f}" if "loss_d" in last else ""))
    top.plot(steps, [r["mse"] for r in rows], color="#9bb", lw=0.6, label="hole MSE (every 10 steps)")
    top.plot(steps, smooth(np.array([r["mse"] for r in rows])), color="#036", lw=1.5, label="running mean of 20 (200 steps)")
    top.set_ylabel("MSE over the hole ([-1, 1] scale)")
    top.set_yscale("log")
    top.legend(loc="lower left", fontsize=8)
    d_rows = [r for r in rows if "loss_d" in r]
    if d_rows:
        ds = np.array([r["step"] for r in d_rows])
        bottom.plot(ds, smooth(np.array([r["loss_d"] for r in d_rows])), color="#a40", label="D loss (BCE, real + fake)")
        bottom.plot(ds, smooth(np.array([r["d_real"] for r in d_rows])), color="#080", lw=1, label="D(real)")
        bottom.plot(ds, smooth(np.array([r["d_fake"] for r in d_rows])), color="#808", lw=1, label="D(completed)")
        bottom.legend(loc="upper left", fontsize=8)
    bottom.set_xlabel("training step (batch 32)")
    bottom.set_ylabel("discriminator")
    wall_ax = top.secondary_xaxis("top", functions=(lambda s: np.interp(s, steps, wall) / 60,
                                                    lambda m: np.interp(m * 60, wall, steps)))
    wall_ax.set_xlabel(f"wall time (min); {wall[-1] / 60:.0f} min in all")
    fig.tight_layout()
    write_atomic(args.out, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    print(f"{args.out}: {len(rows)} log lines, {steps[-1]} steps, {wall[-1]:.0f} s")


if __name__ == "__main__":
    main()
