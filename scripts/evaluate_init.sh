#!/usr/bin/env bash
# The docs/RESULTS.md comparison of the two starts of the search: ours from random z at its default
# (1,000 iterations, 4 restarts) against ours from the latent encoder at its default (100
# iterations, 4 restarts), on the val split's center and pattern holes, with PSNR/SSIM against
# iterations for both from the same runs. One inpaint-eval run per mask, merged at the end.
#   scripts/evaluate_init.sh [OUTDIR [inpaint-eval options...]]     (default docs/results)
# Environment: N images (500); DEVICE (cpu; cuda on a GPU); MASKS ("center pattern");
# SET, the evaluation set (runs/val$N.zip: the seeded draw of N images, written from SPLIT,
# ../shared/data/celeba64/val.zip, when missing: scripts/pick_eval_set.py); EVAL (inpaint-eval).
# On the GPU machine (the set carried, nothing installed): run with carry ["runs/val500.zip"]
#   PYTHONPATH=src DEVICE=cuda EVAL="python3 -m inpaint.cli.eval" scripts/evaluate_init.sh $OUT --batch 128
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/results}
shift || true
n=${N:-500}
set_zip=${SET:-runs/val$n.zip}
eval_cmd=${EVAL:-inpaint-eval}
[ -f "$set_zip" ] || python3 scripts/pick_eval_set.py "${SPLIT:-../shared/data/celeba64/val.zip}" "$set_zip" -n "$n"
mkdir -p "$out"
parts=()
for mask in ${MASKS:-center pattern}; do
    $eval_cmd --data "$set_zip" -n "$n" --masks "$mask" --methods ours --init random,encoder \
        --curve 25,50,100,250,500,750,1000 --device "${DEVICE:-cpu}" \
        --json "$out/init${n}_$mask.json" "$@" | tee "$out/init${n}_$mask.md"
    parts+=("$out/init${n}_$mask.json")
done
python3 scripts/merge_evals.py "$out/init$n.json" "${parts[@]}" --curve-plot "$out/init_curve.png" \
    | tee "$out/init$n.md"
