"""The new default search against the old one, and ours against SE, paired image by image on the
images of experiments/evaluate_defaults.sh.

    python experiments/compare_defaults.py docs/results/defaults500 [--json OUT]

Rows: new ours − old ours, new se − old ours, new ours − new se; for PSNR and SSIM over the whole
image and over the hole: mean difference ± 95% confidence half-width (1.96 standard errors of the
per-image differences) and the share of images where the first is higher.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from inpaint.eval.harness import paired

METRICS = ("psnr", "ssim", "psnr_hole", "ssim_hole")


def comparisons(old: dict, new: dict) -> list[dict]:
    out = []
    for kind in new["table"]:
        if old["images"] != new["images"]:
            raise SystemExit("old and new runs are not of the same images")
        o = old["table"][kind]["ours+encoder"]
        n_ours, n_se = new["table"][kind]["ours+encoder"], new["table"][kind]["se+encoder"]
        for name, a, b in (("new ours − old ours", n_ours, o), ("new se − old ours", n_se, o),
                           ("new ours − new se", n_ours, n_se)):
            out.append({"mask": kind, "comparison": name, "n": len(a["per_image"]["psnr"]),
                        **{m: paired(a, b, m) for m in METRICS},
                        "seconds": (a["seconds"], b["seconds"])})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    old = json.loads((args.folder / "old.json").read_text())
    new = json.loads((args.folder / "new.json").read_text())
    rows = comparisons(old, new)
    print("| mask | comparison | PSNR (dB) | SSIM | PSNR hole (dB) | SSIM hole | first better (PSNR) | seconds |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        cells = [f"{r[m]['mean']:+.3f} ± {r[m]['ci95']:.3f}" if "psnr" in m else
                 f"{r[m]['mean']:+.4f} ± {r[m]['ci95']:.4f}" for m in METRICS]
        print(f"| {r['mask']} | {r['comparison']} | {' | '.join(cells)} | {r['psnr']['wins']:.0%} | "
              f"{r['seconds'][0]:.0f} vs {r['seconds'][1]:.0f} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
