#!/usr/bin/env bash
# Everything GPU-related in one call, on a bare GPU machine that has PyTorch (no network needed):
# the gpu-marked tests (kernel parity, engines, CUDA graphs, the GPU runtime), with results as
# JUnit XML and a JSON summary, then inpaint-bench on the GPU (JSON, markdown table and plot) and
# the wall time of inpaint-rt complete on the GPU runtime, all in OUTDIR.
#   scripts/gpu_check.sh OUTDIR            (BENCH_BATCHES=1,4,16,64,256 for more batch sizes)
set -uo pipefail
out=${1:?usage: scripts/gpu_check.sh OUTDIR}
mkdir -p "$out"
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
python3 - <<'PY' > "$out/device.json"
import json, torch
print(json.dumps({"torch": torch.__version__, "cuda": torch.version.cuda,
                  "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}))
PY
python3 -m pytest -q -m gpu tests -p no:cacheprovider --junitxml "$out/gpu_tests.xml" 2>&1 | tee "$out/gpu_tests.log"
status=${PIPESTATUS[0]}
python3 - "$out" "$status" <<'PY'
import json, sys, xml.etree.ElementTree as ET
out, status = sys.argv[1], int(sys.argv[2])
root = ET.parse(f"{out}/gpu_tests.xml").getroot()
suite = root if root.tag == "testsuite" else root.find("testsuite")
summary = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
summary.update(json.load(open(f"{out}/device.json")), exit_code=status)
json.dump(summary, open(f"{out}/gpu_check.json", "w"), indent=2)
print(json.dumps(summary))
PY
backends=eager,compile,gpu
python3 -c "import tensorrt" 2>/dev/null && backends=$backends,trt
python3 -m inpaint.cli.bench --device cuda --backends "$backends" --batch "${BENCH_BATCHES:-1,16,256}" \
    --json "$out/bench_gpu.json" --markdown "$out/bench_gpu.md" --plot "$out/bench_gpu.png" 2>&1 | tee "$out/bench_gpu.log"
bench_status=${PIPESTATUS[0]}
python3 scripts/gpu_wall_time.py "$out" 2>&1 | tee "$out/gpu_wall_time.log"
wall_status=${PIPESTATUS[0]}
[ "$status" -ne 0 ] && exit "$status"
[ "$bench_status" -ne 0 ] && exit "$bench_status"
exit "$wall_status"
