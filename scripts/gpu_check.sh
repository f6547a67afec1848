#!/usr/bin/env bash
# The GPU check: everything GPU-related in one call on a bare GPU machine (PyTorch, cuda-python,
# cuda.core and onnxruntime there; no network, nothing installed from this repo: src/ is put on
# PYTHONPATH). Stages, each under its own time limit (scripts/gpu_stage.py), each writing
# OUTDIR/stage_NAME.json and NAME.log as soon as it ends, so a stage that overruns costs only itself:
#   device   what it runs on (GPU, driver, torch, cuda.core, NVRTC)          -> device.json
#   tests    the gpu-marked tests: kernel parity, device search, engines     -> tests.xml (JUnit)
#   parity   a GPU completion against ONNX Runtime's, same seed              -> parity.json
#   bench    inpaint-bench, eager and gpu (gpu-trt where tensorrt imports), batch 1, 16, 256
#                                                                             -> bench.json/.md/.png
#   compile  inpaint-bench, eager and torch.compile at batch 1               -> compile.json/.md
#   wall     wall time of inpaint-rt complete --backend gpu                  -> gpu_wall_time.json
# then OUTDIR/summary.json and summary.md (scripts/gpu_check_summary.py). The limits add up to
# 390 s, and each stage's stop takes at most 5 s more: the whole check ends within 7 minutes.
#   scripts/gpu_check.sh OUTDIR        exit code 0 when every stage passed
set -uo pipefail
out=${1:?usage: scripts/gpu_check.sh OUTDIR}
mkdir -p "$out" && out=$(cd "$out" && pwd)
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
py=${PYTHON:-python3}
start=$(date +%s)
failed=()
stage() {   # stage NAME LIMIT_S COMMAND...
    local name=$1 limit=$2
    shift 2
    "$py" scripts/gpu_stage.py "$out" "$name" "$limit" -- "$@" || failed+=("$name")
}
backends=eager,gpu
"$py" -c "import tensorrt" 2>/dev/null && backends=$backends,gpu-trt

stage device 20 "$py" scripts/gpu_device.py "$out/device.json"
stage tests 100 "$py" -m pytest -q -m gpu tests -p no:cacheprovider --junitxml "$out/tests.xml"
stage parity 45 "$py" scripts/gpu_parity.py "$out/parity.json"
stage bench 105 "$py" -m inpaint.cli.bench --device cuda --backends "$backends" --batch 1,16,256 \
    --iterations 20 --rounds 2 --search-iterations 100 \
    --json "$out/bench.json" --markdown "$out/bench.md" --plot "$out/bench.png"
stage compile 75 "$py" -m inpaint.cli.bench --device cuda --backends eager,compile --batch 1 \
    --iterations 20 --rounds 2 --search-iterations 100 --json "$out/compile.json" --markdown "$out/compile.md"
stage wall 45 "$py" scripts/gpu_wall_time.py "$out"

"$py" scripts/gpu_check_summary.py "$out"
echo "== gpu check: $(( $(date +%s) - start )) s in all; failed: ${failed[*]:-none}"
[ ${#failed[@]} -eq 0 ]
