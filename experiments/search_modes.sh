#!/usr/bin/env bash
# What the search changes: z alone against z+bn (z and a per-image scale and shift of every
# batch-norm channel of G), ours from the encoder at the defaults, beside GL, on a tuning set of the
# val split disjoint from the 500 evaluation images (images 500..500+N of the seed-0 draw), center
# and pattern holes, with the face measures. One inpaint-eval run per search, kept and skipped
# when its JSON is there; compare them paired with experiments/compare_runs.py.
#   experiments/search_modes.sh OUTDIR [N]     (default N 200; about 20 min per search on 2 cores)
set -euo pipefail
out=${1:?usage: experiments/search_modes.sh OUTDIR [N]}
n=${2:-200}
data=${INPAINT_DATA:-../shared/data/celeba64/val.zip}
mkdir -p "$out"
for search in z z+bn; do
    name=search_${search/+/_}
    [ -f "$out/$name.json" ] && continue
    echo "$(date +%T) $name" >&2
    inpaint-eval --data "$data" -n "$n" --skip 500 --methods ours,gl --masks center,pattern \
        --search "$search" --metrics psnr,ssim,identity,landmarks --json "$out/$name.json" > "$out/$name.log"
done
echo "$(date +%T) done" >&2
