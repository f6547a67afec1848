"""One stage of the GPU check under its own time limit, so that a stage that overruns costs only itself.

The command's output goes to the terminal and to OUTDIR/NAME.log as it comes; when the command ends
or is stopped, OUTDIR/stage_NAME.json records the seconds it took, its limit, its exit code and
whether it was stopped, and one line says so. A stopped stage gets SIGTERM, then SIGKILL 5 s later,
sent to its whole process group (pytest's or a benchmark's children go with it).

    python3 scripts/gpu_stage.py OUTDIR NAME LIMIT_S -- COMMAND [ARGS...]

Exit code: the command's, or 124 when the limit stopped it.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

GRACE_S = 5.0          # between SIGTERM and SIGKILL
STOPPED = 124          # the exit code of a stopped stage, as timeout(1) gives


def _copy(stream, log, sink) -> None:
    for line in iter(stream.readline, b""):
        log.write(line)
        log.flush()
        sink.write(line)
        sink.flush()


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


def run_stage(outdir: Path, name: str, limit_s: float, command: list[str], sink=None) -> dict:
    """Run `command` for at most limit_s seconds; returns (and writes) the stage's record."""
    sink = sink or sys.stdout.buffer
    outdir.mkdir(parents=True, exist_ok=True)
    started = time.time()
    t0 = time.perf_counter()
    with open(outdir / f"{name}.log", "wb") as log:
        try:
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        except OSError as e:
            log.write(f"could not start {command[0]}: {e}\n".encode())
            record = {"stage": name, "command": command, "limit_s": limit_s, "seconds": 0.0,
                      "exit_code": 127, "stopped": False, "started": started}
            return _write(outdir, record)
        reader = threading.Thread(target=_copy, args=(process.stdout, log, sink), daemon=True)
        reader.start()
        stopped = False
        try:
            code = process.wait(timeout=limit_s)
        except subprocess.TimeoutExpired:
            stopped = True
            _signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout=GRACE_S)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()
            code = STOPPED
        seconds = time.perf_counter() - t0
        _signal_group(process, signal.SIGKILL)     # children the command left behind
        reader.join(timeout=GRACE_S)
    record = {"stage": name, "command": command, "limit_s": limit_s, "seconds": round(seconds, 2),
              "exit_code": code, "stopped": stopped, "started": started}
    return _write(outdir, record)


def _write(outdir: Path, record: dict) -> dict:
    path = outdir / f"stage_{record['stage']}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2))
    os.replace(tmp, path)
    verdict = ("stopped at its limit" if record["stopped"]
               else "ok" if record["exit_code"] == 0 else f"failed (exit {record['exit_code']})")
    print(f"== stage {record['stage']}: {record['seconds']:.1f} s of {record['limit_s']:g} s, {verdict}",
          flush=True)
    return record


def main(argv: list[str]) -> int:
    if len(argv) < 5 or argv[3] != "--":
        print("usage: gpu_stage.py OUTDIR NAME LIMIT_S -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    record = run_stage(Path(argv[0]), argv[1], float(argv[2]), argv[4:])
    return record["exit_code"]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
