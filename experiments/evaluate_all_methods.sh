#!/usr/bin/env bash
# Every method of inpaint-eval on the 500 evaluation images (runs/val500.zip: scripts/pick_eval_set.py's
# seeded draw of the val split), center and pattern holes, at today's defaults: ours and se (the
# search from the encoder), gl (the bundle's GL graph), tv, lr and the classical fills. One
# inpaint-eval run per (mask, group of methods), kept under OUTDIR/parts and skipped when its JSON
# is there, so an interrupted run resumes; then merged into OUTDIR/all.json and OUTDIR/all.md
# (the per-mask rows, the paper's averaged table and the paired comparisons).
#   experiments/evaluate_all_methods.sh [OUTDIR]      (default docs/results/all500)
#   METRICS=psnr,ssim,identity,landmarks,kid experiments/evaluate_all_methods.sh docs/results/faces500
# Environment: MASKS ("center pattern"), SET (runs/val500.zip), EVAL (inpaint-eval), WEIGHTS (a
# bundle; default the shipped one), METRICS (inpaint-eval --metrics; default psnr,ssim; the face
# measures need the faces extra), SPLIT (the val split SET is drawn from, and KID's reference:
# its faces outside SET).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/results/all500}
set_zip=${SET:-runs/val500.zip}
eval_cmd=${EVAL:-inpaint-eval}
split=${SPLIT:-../shared/data/celeba64/val.zip}
[ -f "$set_zip" ] || python3 scripts/pick_eval_set.py "$split" "$set_zip" -n 500
weights=()
[ -n "${WEIGHTS:-}" ] && weights=(--weights "$WEIGHTS")
measures=(--metrics "${METRICS:-psnr,ssim}")
[[ "${METRICS:-}" == *kid* ]] && measures+=(--kid-reference "$split")
mkdir -p "$out/parts"
groups="ours,se gl tv lr telea,ns,biharmonic,mean"
parts=()
for mask in ${MASKS:-center pattern}; do
    for methods in $groups; do
        part="$out/parts/${mask}_${methods//,/-}.json"
        parts+=("$part")
        [ -f "$part" ] && { echo "$part: done already"; continue; }
        echo "$(date +%T) $part" >&2
        $eval_cmd --data "$set_zip" -n 500 --masks "$mask" --methods "$methods" --batch 100 "${weights[@]}" "${measures[@]}" \
            --quiet --json "$part.tmp" > /dev/null
        mv "$part.tmp" "$part"
    done
done
python3 scripts/merge_evals.py "$out/all.json" "${parts[@]}" > "$out/all.md"
cat "$out/all.md"
