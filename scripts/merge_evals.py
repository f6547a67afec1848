"""Merge inpaint-eval JSON files of the same images (one per mask, say) into one, with its tables.

    python scripts/merge_evals.py OUT.json A.json B.json ... [--curve-plot curve.png]

Prints the quality table and the paired comparisons as inpaint-eval does. Refuses files of other
images or with a (mask, method) pair in common.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from inpaint.atomic import write_atomic
from inpaint.eval.harness import comparisons, markdown_paired, markdown_table, merge_results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("parts", type=Path, nargs="+")
    ap.add_argument("--curve-plot", type=Path)
    args = ap.parse_args()
    try:
        merged = merge_results([json.loads(p.read_text()) for p in args.parts])
    except ValueError as e:
        raise SystemExit(f"merge_evals: {e}") from None
    write_atomic(args.out, lambda tmp: tmp.write_text(json.dumps(merged, indent=2)))
    if args.curve_plot:
        from inpaint.eval.figures import quality_curve
        quality_curve(args.curve_plot, merged)
    print(markdown_table(merged))
    pairs = comparisons(merged)
    if pairs:
        print("\nPaired over the same images (mean ± 95% confidence interval):")
    for a, b in pairs:
        print("\n" + markdown_paired(merged, a, b))
    print(f"\n{len(merged['images'])} images, wall time {merged['wall_seconds']:.0f} s in all")


if __name__ == "__main__":
    main()
