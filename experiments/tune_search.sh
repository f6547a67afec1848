#!/usr/bin/env bash
# Choose the default search from the latent encoder's start, on a tuning set of the val split that
# is disjoint from the 500 evaluation images (images 500..500+N of the seed-0 draw). One
# inpaint-eval run per setting, each scoring ours and se after 1 (the start alone: no Adam step
# taken), 10, 25, 50 and 100 iterations from the same search; a finished setting is skipped, so a
# rerun resumes.
#   experiments/tune_search.sh OUTDIR [N]      -> OUTDIR/<setting>.json
#   python experiments/search_frontier.py OUTDIR --plot docs/results/search_frontier.png
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: experiments/tune_search.sh OUTDIR [N]}
n=${2:-64}
data=${INPAINT_DATA:-../shared/data/celeba64/val.zip}
mkdir -p "$out"
common=(--data "$data" -n "$n" --skip 500 --masks center,pattern --init encoder --iterations 100
        --curve 1,10,25,50,100 --batch 64 --lr 0.01 --quiet)
run() {  # name, then inpaint-eval arguments
    local name=$1; shift
    [ -f "$out/$name.json" ] && return 0
    echo "$(date +%T) $name" >&2
    inpaint-eval "${common[@]}" "$@" --json "$out/$name.json.tmp" > /dev/null
    mv "$out/$name.json.tmp" "$out/$name.json"
}
# restarts, at the weights of the time (r4 was the default then: 4 restarts x 100 steps of 0.01)
run r4 --methods ours,se --restarts 4
run r1 --methods ours,se --restarts 1
run r2 --methods ours,se --restarts 2
# the step size and the weights, one start
run r1_lr0.003 --methods ours,se --restarts 1 --lr 0.003
run r1_lr0.03  --methods ours,se --restarts 1 --lr 0.03
run r1_lr0.1   --methods ours,se --restarts 1 --lr 0.1
run r1_prior0.03 --methods ours,se --restarts 1 --prior-weight 0.03
run r1_prior0.3  --methods ours,se --restarts 1 --prior-weight 0.3
run r1_mu0   --methods ours --restarts 1 --consistency-weight 0
run r1_mu10  --methods ours --restarts 1 --consistency-weight 10
run r1_mu100 --methods ours --restarts 1 --consistency-weight 100
run r1_mu300 --methods ours --restarts 1 --consistency-weight 300
# finer steps around the chosen length, at the step size and between it and the next
run r1_k40       --methods ours,se --restarts 1 --iterations 40 --curve 15,20,25,30,35,40
run r1_lr0.02_k40 --methods ours,se --restarts 1 --iterations 40 --curve 15,20,25,30,35,40 --lr 0.02
echo "$(date +%T) done" >&2
