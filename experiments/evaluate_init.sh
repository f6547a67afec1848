#!/usr/bin/env bash
# The docs/RESULTS.md comparison of the two starts of the search: ours from random z at its default
# (1,000 iterations) against ours from the latent encoder at its default (100 iterations), on the
# val split's center and pattern holes, with PSNR/SSIM against iterations for both from the same
# runs. One inpaint-eval run per (shard of the images, mask), each kept under $OUTDIR/init${N}_parts
# and skipped when its JSON is already there, so an interrupted evaluation resumes where it
# stopped; the parts are merged at the end.
#   experiments/evaluate_init.sh [OUTDIR [inpaint-eval options...]]     (default docs/results)
# Environment: N images (500); SHARDS, the pieces N is cut into (1); DEVICE (cpu; cuda on a GPU);
# MASKS ("center pattern"); SET, the evaluation set (runs/val$N.zip: the seeded draw of N images,
# written from SPLIT, ../shared/data/celeba64/val.zip, when missing: scripts/pick_eval_set.py);
# EVAL (inpaint-eval).
# One start per image on this CPU, 100 images at a time (about 30 minutes per shard):
#   SHARDS=5 experiments/evaluate_init.sh docs/results --restarts 1 --batch 100
# The same on the GPU machine, finishing the shards not yet in docs/results/init500_parts (the set
# carried: carry ["runs/val500.zip"]; nothing installed there):
#   cp -r docs/results/init500_parts $OUT/ && SHARDS=5 PYTHONPATH=src DEVICE=cuda \
#     EVAL="python3 -m inpaint.cli.eval" experiments/evaluate_init.sh $OUT --restarts 1 --batch 100
# At the defaults (4 restarts) on the GPU machine, in one piece:
#   PYTHONPATH=src DEVICE=cuda EVAL="python3 -m inpaint.cli.eval" experiments/evaluate_init.sh $OUT --batch 128
# At the defaults on this CPU, the first 50 of those 500 images (about 25 minutes a part):
#   SET=runs/val500.zip N=50 SHARDS=2 experiments/evaluate_init.sh docs/results/restarts4 --batch 25
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/results}
shift || true
n=${N:-500}
shards=${SHARDS:-1}
if (( n % shards )); then echo "evaluate_init.sh: N=$n does not split into SHARDS=$shards equal pieces; pick a divisor of N" >&2; exit 2; fi
per=$((n / shards))
set_zip=${SET:-runs/val$n.zip}
eval_cmd=${EVAL:-inpaint-eval}
[ -f "$set_zip" ] || python3 scripts/pick_eval_set.py "${SPLIT:-../shared/data/celeba64/val.zip}" "$set_zip" -n "$n"
parts_dir="$out/init${n}_parts"
mkdir -p "$parts_dir"
parts=()
for ((k = 0; k < shards; k++)); do
    for mask in ${MASKS:-center pattern}; do
        part="$parts_dir/shard$k-of-${shards}_$mask.json"
        parts+=("$part")
        [ -f "$part" ] && { echo "$part: done already"; continue; }
        $eval_cmd --data "$set_zip" -n "$per" --skip $((k * per)) --masks "$mask" --methods ours \
            --init random,encoder --curve 25,50,100,250,500,750,1000 --device "${DEVICE:-cpu}" \
            --json "$part" "$@"
    done
done
python3 scripts/merge_evals.py "$out/init$n.json" "${parts[@]}" --curve-plot "$out/init_curve.png" \
    | tee "$out/init$n.md"
