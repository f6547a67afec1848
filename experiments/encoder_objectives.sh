#!/usr/bin/env bash
# The latent encoder trained against the search's own objective, against the shipped one.
# Fine-tunes the shipped model's E (pixel losses) for STEPS steps against ours' objective
# (contextual + joint prior + consistency at E's z, through the frozen G and D) and against SE's
# (contextual + D's own prior), then scores each at the default search (1 start x 30 steps of 0.02)
# on the tuning images (the val split's images 500..500+N of the seed-0 draw, disjoint from the 500
# evaluation images), center and pattern holes, beside the shipped model on the same images.
# Training resumes from its last checkpoint and finished evaluations are skipped, so a rerun
# resumes:
#   experiments/encoder_objectives.sh OUTDIR [N]      (runs in runs/encoder-<objective>)
#   python experiments/compare_runs.py OUTDIR shipped:ours+encoder   (and shipped:se+encoder)
# Environment: STEPS (1200, about two epochs of the 37,540 training images), LR (Adam's step size,
# 1e-4), TAG (appended to the runs' and results' names, for another LR), DATA, VAL.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: experiments/encoder_objectives.sh OUTDIR [N]}
n=${2:-320}
steps=${STEPS:-1200}
lr=${LR:-1e-4}
tag=${TAG:-}
train_zip=${DATA:-../shared/data/celeba64/train.zip}
val_zip=${VAL:-../shared/data/celeba64/val.zip}
mkdir -p "$out"
for objective in ours se; do
    run=runs/encoder-$objective$tag
    resume=()
    [ -f "$run/last.pt" ] && resume=(--resume)
    echo "$(date +%T) training $run" >&2
    inpaint-train --encoder --objective "$objective" --lr "$lr" --data "$train_zip" --out "$run" \
        --max-steps "$steps" --checkpoint-every 100 --quiet "${resume[@]}"
    cp "$run/log.jsonl" "$out/train_log_$objective$tag.jsonl"
done
evaluate() {  # name, then inpaint-eval arguments
    local name=$1; shift
    [ -f "$out/$name.json" ] && return 0
    echo "$(date +%T) evaluating $name" >&2
    inpaint-eval --data "$val_zip" -n "$n" --skip 500 --masks center,pattern --batch 64 --quiet \
        "$@" --json "$out/$name.json.tmp" > /dev/null
    mv "$out/$name.json.tmp" "$out/$name.json"
}
evaluate shipped --methods ours,se
evaluate "encoder-ours$tag" --methods ours --weights "runs/encoder-ours$tag/last.pt"
evaluate "encoder-se$tag" --methods se --weights "runs/encoder-se$tag/last.pt"
