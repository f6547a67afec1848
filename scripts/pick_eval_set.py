"""Copy the images an evaluation draws from a split into a small zip, to carry to another machine.

    python scripts/pick_eval_set.py ../shared/data/celeba64/val.zip eval/val500.zip [-n 500] [--seed 0]

The zip holds the files of `inpaint-eval --data SPLIT -n N --seed SEED`'s draw, unchanged, so
`inpaint-eval --data eval/val500.zip -n N` scores the same images (its masks are drawn by
position in the zip, so pattern masks differ from those of a run on the whole split).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from inpaint.eval.harness import write_picked


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("split", type=Path, help="zip or folder of the split's images")
    ap.add_argument("out", type=Path, help="the zip to write")
    ap.add_argument("-n", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip", type=int, default=0)
    args = ap.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    idx = write_picked(str(args.split), args.n, args.seed, args.out, args.skip)
    print(f"{args.out}: {len(idx)} images of {args.split}, {args.out.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
