"""Merge inpaint-eval JSON files into one, with its tables: files of the same images (one per mask,
say) side by side, and those groups, shards of one draw over disjoint images (by --skip), joined.

    python scripts/merge_evals.py OUT.json A.json B.json ... [--curve-plot curve.png]

Prints the quality table and the paired comparisons as inpaint-eval does. Refuses files whose
images overlap without being the same, a (mask, method) pair twice for the same images, and shards
that differ in their masks and methods.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from inpaint.atomic import write_atomic
from inpaint.eval.merge import join_shards, merge_results
from inpaint.eval.tables import report


def merge(parts: list[dict]) -> dict:
    """Group the parts by their images, merge each group mask by mask, then join the groups."""
    groups: dict[tuple, list[dict]] = {}
    for p in parts:
        groups.setdefault(tuple(p["images"]), []).append(p)
    merged = [merge_results(g) for g in groups.values()]
    return merged[0] if len(merged) == 1 else join_shards(merged)


def _fail(message: str) -> None:
    print(f"merge_evals: {message}", file=sys.stderr)
    sys.exit(2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("parts", type=Path, nargs="+")
    ap.add_argument("--curve-plot", type=Path)
    args = ap.parse_args()
    missing = [str(p) for p in args.parts if not p.is_file()]
    if missing:
        _fail(f"no such file: {', '.join(missing)}; run the evaluations first")
    try:
        merged = merge([json.loads(p.read_text()) for p in args.parts])
    except ValueError as e:
        _fail(str(e))
    write_atomic(args.out, lambda tmp: tmp.write_text(json.dumps(merged, separators=(",", ":"))))
    if args.curve_plot:
        from inpaint.eval.figures import quality_curve
        quality_curve(args.curve_plot, merged)
    print(report(merged))
    print(f"\n{len(merged['images'])} images, wall time {merged['wall_seconds']:.0f} s in all")


if __name__ == "__main__":
    main()
