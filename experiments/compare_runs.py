"""Paired comparison of inpaint-eval runs on the same images: each run's GAN method against a base.

    python experiments/compare_runs.py DIR [BASE]     (BASE: a run name in DIR, default se_l1;
                                                   RUN:METHOD for one method of a run, e.g.
                                                   shipped:se+encoder; else its first)

Prints one markdown row per run, method and mask: PSNR and SSIM, and their difference from BASE
over the same images (mean ± 95% confidence half-width).
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from inpaint.eval.harness import paired


def main() -> None:
    folder = Path(sys.argv[1])
    def natural(p: Path):      # ours_l1_mu30 before ours_l1_mu100
        return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.stem)]
    runs = {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"), key=natural)}
    base_name, _, base_method = (sys.argv[2] if len(sys.argv) > 2 else "se_l1").partition(":")
    base = runs[base_name]
    print("| run | method | mask | PSNR (dB) | SSIM | PSNR − base (dB) | SSIM − base |")
    print("|---|---|---|---|---|---|---|")
    for kind in ("center", "pattern"):
        b = base["table"][kind][base_method] if base_method else next(iter(base["table"][kind].values()))
        for name, run in runs.items():
            for method, entry in run["table"].get(kind, {}).items():
                p, q = paired(entry, b, "psnr"), paired(entry, b, "ssim")
                print(f"| {name} | {method} | {kind} | {entry['psnr']['mean']:.2f} | {entry['ssim']['mean']:.4f} | "
                      f"{p['mean']:+.3f} ± {p['ci95']:.3f} | {q['mean']:+.4f} ± {q['ci95']:.4f} |")


if __name__ == "__main__":
    main()
