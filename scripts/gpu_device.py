"""What the GPU check ran on: the GPU, its driver, torch, cuda.core and NVRTC, as JSON.

    python3 scripts/gpu_device.py OUT.json        (the first stage of scripts/gpu_check.sh)

Every field is read independently: one that cannot be read holds the reason, and the exit code is 1
when no CUDA GPU is usable at all.
"""
from __future__ import annotations

import json
import platform
import subprocess
import sys
import time
from pathlib import Path


def _read(what):
    try:
        return what()
    except Exception as e:   # a missing library, no driver, no GPU: the record says which
        return f"unreadable: {type(e).__name__}: {' '.join(str(e).split())[:200]}"


def _torch() -> dict:
    import torch
    out = {"version": torch.__version__, "cuda": torch.version.cuda, "available": torch.cuda.is_available()}
    if out["available"]:
        p = torch.cuda.get_device_properties(0)
        out.update(name=p.name, capability=f"{p.major}.{p.minor}", multiprocessors=p.multi_processor_count,
                   memory_gib=round(p.total_memory / 2**30, 1))
    return out


def _nvidia_smi() -> str:
    fields = "name,driver_version,memory.total,clocks.max.sm"
    return subprocess.run(["nvidia-smi", f"--query-gpu={fields}", "--format=csv,noheader"], capture_output=True,
                          text=True, timeout=15, check=True).stdout.strip()


def _kernels() -> dict:
    from importlib.metadata import version

    from inpaint.kernels import build
    return {"cuda_core": version("cuda-core"), "nvrtc": "%d.%d" % build.nvrtc_version(), "arch": build.device_arch(0)}


def main() -> int:
    out = Path(sys.argv[1])
    record = {"date": time.strftime("%Y-%m-%d"), "host": platform.node(), "python": platform.python_version(),
              "nvidia_smi": _read(_nvidia_smi), "torch": _read(_torch), "kernels": _read(_kernels)}
    out.write_text(json.dumps(record, indent=2))
    print(json.dumps(record, indent=2))
    usable = isinstance(record["kernels"], dict) or (isinstance(record["torch"], dict) and record["torch"]["available"])
    return 0 if usable else 1


if __name__ == "__main__":
    sys.exit(main())
