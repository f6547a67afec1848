"""The GPU check's results in one place: OUTDIR/summary.json and summary.md (markdown for
benchmarks/RESULTS.md: the device, each stage's time and verdict, failed tests, the parity table,
the benchmark tables and the wall time), from what the stages of scripts/gpu_check.sh wrote.

    python3 scripts/gpu_check_summary.py OUTDIR

A stage that wrote nothing (stopped early, or never started) is reported as such, not skipped.
"""
from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

STAGES = ("device", "tests", "parity", "bench", "compile", "wall")


def _json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def test_results(xml: Path) -> dict | None:
    """Counts and the ids of failed tests from pytest's JUnit XML."""
    try:
        root = ET.parse(xml).getroot()
    except (OSError, ET.ParseError):
        return None
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    counts = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    failed = [f"{case.get('classname')}::{case.get('name')}" for case in suite.iter("testcase")
              if case.find("failure") is not None or case.find("error") is not None]
    skipped = sorted({" ".join((case.find("skipped").get("message") or "").split())[:160]
                      for case in suite.iter("testcase") if case.find("skipped") is not None})
    return {**counts, "passed": counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"],
            "failed": failed, "skip_reasons": skipped}


def verdict(stage: dict | None) -> str:
    if stage is None:
        return "did not run"
    if stage["stopped"]:
        return f"stopped at {stage['limit_s']:g} s"
    return "ok" if stage["exit_code"] == 0 else f"failed (exit {stage['exit_code']})"


def summarise(out: Path) -> dict:
    stages = {name: _json(out / f"stage_{name}.json") for name in STAGES}
    return {"stages": stages, "device": _json(out / "device.json"), "tests": test_results(out / "tests.xml"),
            "parity": _json(out / "parity.json"), "bench": _json(out / "bench.json"),
            "compile": _json(out / "compile.json"), "wall": _json(out / "gpu_wall_time.json"),
            "total_s": round(sum(s["seconds"] for s in stages.values() if s), 1)}


def _device_line(device) -> str:
    if not device:
        return "device: unknown (the device stage wrote nothing)"
    torch = device.get("torch")
    name = torch.get("name") if isinstance(torch, dict) else None
    return (f"device: {name or 'no CUDA GPU for torch'}; nvidia-smi: {device.get('nvidia_smi')}; "
            f"torch {torch.get('version') if isinstance(torch, dict) else torch}; kernels: {device.get('kernels')}; "
            f"date {device.get('date')}")


def markdown(summary: dict, out: Path) -> str:
    lines = [f"# GPU check ({summary['total_s']} s of stages)", "", _device_line(summary["device"]), "",
             "| stage | seconds | limit (s) | result |", "| --- | ---: | ---: | --- |"]
    for name, stage in summary["stages"].items():
        seconds = f"{stage['seconds']:.1f}" if stage else "-"
        limit = f"{stage['limit_s']:g}" if stage else "-"
        lines.append(f"| {name} | {seconds} | {limit} | {verdict(stage)} |")
    tests = summary["tests"]
    if tests:
        lines += ["", f"tests: {tests['passed']} passed, {tests['failures'] + tests['errors']} failed, "
                      f"{tests['skipped']} skipped"]
        lines += [f"- failed: `{t}`" for t in tests["failed"]]
        lines += [f"- skipped: {r}" for r in tests["skip_reasons"]]
    parity = summary["parity"]
    if parity:
        lines += ["", "| problem | iterations ORT / GPU | raw mean abs diff | hole PSNR ORT / GPU (dB) | agree |",
                  "| --- | --- | ---: | --- | --- |"]
        lines += [f"| {r['problem']} | {r['iterations_ort']} / {r['iterations_gpu']} | {r['raw_mean_abs_diff']:.2e} "
                  f"| {r['hole_psnr_ort_db']:.2f} / {r['hole_psnr_gpu_db']:.2f} | {'yes' if r['agree'] else 'NO'} |"
                  for r in parity["problems"]]
    for name in ("bench", "compile"):
        table = out / f"{name}.md"
        if table.exists():
            lines += ["", f"{name}:", "", table.read_text().strip()]
    wall = summary["wall"]
    if wall:
        lines += ["", f"`inpaint-rt complete --backend gpu`: {wall['from_process_start_s']} s from process start, "
                      f"{wall['first_in_process_s']} s first in a process, {wall['warm_s']} s warm "
                      f"({wall['iterations']} iterations)"]
    return "\n".join(lines) + "\n"


def main() -> None:
    out = Path(sys.argv[1])
    summary = summarise(out)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    text = markdown(summary, out)
    (out / "summary.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
