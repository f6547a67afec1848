#!/usr/bin/env bash
# Choose the completion defaults on a tuning set of the val split that is disjoint from the
# evaluation set: images 500..500+N of the seed-0 draw (the evaluation uses the first 500).
#   experiments/tune.sh OUTDIR [N]      -> OUTDIR/<setting>.json, one inpaint-eval run per setting
set -euo pipefail
out=${1:?usage: experiments/tune.sh OUTDIR [N]}
n=${2:-64}
data=${INPAINT_DATA:-../shared/data/celeba64/val.zip}
mkdir -p "$out"
common=(--data "$data" -n "$n" --skip 500 --masks center,pattern --init random --iterations 300 --restarts 1 --quiet)
run() {  # name, then inpaint-eval arguments
    local name=$1; shift
    [ -f "$out/$name.json" ] && return 0      # resumable: finished settings are kept
    echo "$(date +%T) $name" >&2
    inpaint-eval "${common[@]}" "$@" --json "$out/$name.json" > /dev/null
}
run se_l1          --methods se --norm l1
run ours_l1_mu0    --methods ours --norm l1 --consistency-weight 0
run ours_l2_mu0    --methods ours --norm l2 --consistency-weight 0
run ours_l1_mu1    --methods ours --norm l1 --consistency-weight 1
run ours_l1_mu10   --methods ours --norm l1 --consistency-weight 10
run ours_l1_mu100  --methods ours --norm l1 --consistency-weight 100
run ours_l1_mu30   --methods ours --norm l1 --consistency-weight 30
run ours_l1_mu300  --methods ours --norm l1 --consistency-weight 300
echo "$(date +%T) done" >&2
