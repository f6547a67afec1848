#!/usr/bin/env bash
# The docs/RESULTS.md quality table: 500 images of the CelebA val split, center and pattern holes,
# every method, with ours/se also scored after 25..300 iterations (the trade-off curve).
#   experiments/evaluate_val.sh [OUTDIR [inpaint-eval options...]]   (default docs/results; ~75 min on 2 cores)
set -euo pipefail
out=${1:-docs/results}
shift || true
data=${INPAINT_DATA:-../shared/data/celeba64/val.zip}
mkdir -p "$out"
inpaint-eval --data "$data" -n 500 --masks center,pattern \
    --methods ours,se,tv,lr,telea,ns,biharmonic,mean --init random --iterations 300 --restarts 1 \
    --curve 25,50,100,200,300 --curve-plot "$out/quality_vs_iterations.png" \
    --json "$out/val500.json" "$@" | tee "$out/val500.md"
