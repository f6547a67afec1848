#!/usr/bin/env bash
# The default search against the one it replaced, and ours against SE at the new default, on the
# 500 evaluation images (runs/val500.zip: scripts/pick_eval_set.py's seeded draw of the val split),
# center and pattern holes. One inpaint-eval run per (shard of 100 images, mask, search), each kept
# under OUTDIR/parts and skipped when its JSON is there, so an interrupted run resumes:
#   old: ours from the encoder at the old default, 4 restarts x 100 iterations of step 0.01 (with
#        the 25 and 50 points of the same searches);
#   new: ours and se at today's defaults (inpaint-eval's defaults are inpaint-rt complete's).
# Then the parts are merged (OUTDIR/old.json, OUTDIR/new.json) and paired image by image:
#   experiments/evaluate_defaults.sh [OUTDIR]      (default docs/results/defaults500)
#   python experiments/compare_defaults.py OUTDIR
# Environment: SHARDS (5), MASKS ("center pattern"), SET (runs/val500.zip), EVAL (inpaint-eval),
# PARTS ("old new": which searches to run).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/results/defaults500}
n=500
shards=${SHARDS:-5}
per=$((n / shards))
set_zip=${SET:-runs/val500.zip}
eval_cmd=${EVAL:-inpaint-eval}
[ -f "$set_zip" ] || python3 scripts/pick_eval_set.py "${SPLIT:-../shared/data/celeba64/val.zip}" "$set_zip" -n "$n"
mkdir -p "$out/parts"
for which in ${PARTS:-new old}; do
    case $which in
        old) args=(--methods ours --init encoder --restarts 4 --iterations 100 --lr 0.01 --curve 25,50,100 --batch 25) ;;
        new) args=(--methods ours,se --batch 100) ;;
        *) echo "evaluate_defaults.sh: PARTS holds old and/or new, not $which" >&2; exit 2 ;;
    esac
    for ((k = 0; k < shards; k++)); do
        for mask in ${MASKS:-center pattern}; do
            part="$out/parts/${which}_shard$k-of-${shards}_$mask.json"
            [ -f "$part" ] && { echo "$part: done already"; continue; }
            echo "$(date +%T) $part" >&2
            $eval_cmd --data "$set_zip" -n "$per" --skip $((k * per)) --masks "$mask" "${args[@]}" \
                --quiet --json "$part.tmp" > /dev/null
            mv "$part.tmp" "$part"
        done
    done
    python3 scripts/merge_evals.py "$out/$which.json" "$out"/parts/"${which}"_shard*.json > "$out/$which.md"
done
