"""The GPU check's staging (scripts/gpu_check.sh): each stage under its own limit, its record written
when it ends, a stopped stage's processes gone, and a summary that names what failed or never ran.
These run on the CPU with ordinary commands standing in for the GPU stages."""
import importlib.util
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _script(name):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gpu_stage = _script("gpu_stage")
gpu_check_summary = _script("gpu_check_summary")


class Sink:
    def __init__(self):
        self.data = b""

    def write(self, b):
        self.data += b

    def flush(self):
        pass


def _gone(pid: int) -> bool:
    """Not running: no such process, or a zombie left for init to reap."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_a_stage_records_its_time_exit_code_and_output(tmp_path):
    sink = Sink()
    record = gpu_stage.run_stage(tmp_path, "demo", 30, ["sh", "-c", "echo hello; echo oops >&2; exit 3"], sink)
    assert record["exit_code"] == 3 and not record["stopped"]
    assert json.loads((tmp_path / "stage_demo.json").read_text()) == record
    log = (tmp_path / "demo.log").read_text()
    assert "hello" in log and "oops" in log
    assert b"hello" in sink.data


def test_a_stage_past_its_limit_is_stopped_with_its_children(tmp_path):
    pid_file = tmp_path / "child.pid"
    t0 = time.perf_counter()
    record = gpu_stage.run_stage(tmp_path, "slow", 1.0,
                                 ["sh", "-c", f"sleep 60 & echo $! > {pid_file}; wait"], Sink())
    assert time.perf_counter() - t0 < 1.0 + gpu_stage.GRACE_S
    assert record["stopped"] and record["exit_code"] == gpu_stage.STOPPED
    assert 1.0 <= record["seconds"] < 1.0 + gpu_stage.GRACE_S
    child = int(pid_file.read_text())
    time.sleep(0.2)
    assert _gone(child)


def test_a_stage_that_ignores_sigterm_is_killed_after_the_grace(tmp_path):
    record = gpu_stage.run_stage(tmp_path, "stubborn", 0.5, ["sh", "-c", "trap '' TERM; sleep 60"], Sink())
    assert record["stopped"]
    assert 0.5 + gpu_stage.GRACE_S - 0.5 <= record["seconds"] < 0.5 + gpu_stage.GRACE_S + 2


def test_a_command_that_cannot_start_is_a_failed_stage(tmp_path):
    record = gpu_stage.run_stage(tmp_path, "missing", 5, ["/nonexistent/command"], Sink())
    assert record["exit_code"] == 127
    assert "could not start" in (tmp_path / "missing.log").read_text()


def test_the_cli_returns_the_stage_exit_code(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPTS / "gpu_stage.py"), str(tmp_path), "x", "10", "--",
                           "sh", "-c", "exit 4"], capture_output=True, text=True)
    assert done.returncode == 4
    assert "== stage x:" in done.stdout and "failed (exit 4)" in done.stdout
    bad = subprocess.run([sys.executable, str(SCRIPTS / "gpu_stage.py"), str(tmp_path), "x", "10", "sh"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "usage" in bad.stderr


def test_the_stage_limits_fit_seven_minutes_and_the_summary_knows_every_stage():
    text = (SCRIPTS / "gpu_check.sh").read_text()
    stages = re.findall(r"^stage (\w+) (\d+) ", text, re.M)
    assert tuple(name for name, _ in stages) == gpu_check_summary.STAGES
    worst = sum(int(limit) for _, limit in stages) + len(stages) * gpu_stage.GRACE_S
    assert worst <= 7 * 60


def test_the_summary_counts_tests_names_failures_and_stages_that_never_ran(tmp_path):
    tests = tmp_path / "t" / "test_sample.py"
    tests.parent.mkdir()
    tests.write_text("import pytest\n"
                     "def test_ok(): pass\n"
                     "def test_bad(): assert False\n"
                     "@pytest.mark.skip(reason='needs a GPU')\n"
                     "def test_skipped(): pass\n")
    out = tmp_path / "out"
    gpu_stage.run_stage(out, "device", 10, ["sh", "-c", "exit 0"], Sink())
    gpu_stage.run_stage(out, "tests", 60, [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                           str(tests), "--junitxml", str(out / "tests.xml")], Sink())
    done = subprocess.run([sys.executable, str(SCRIPTS / "gpu_check_summary.py"), str(out)],
                          capture_output=True, text=True, check=True)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["tests"]["passed"] == 1 and summary["tests"]["failures"] == 1
    assert summary["tests"]["skipped"] == 1 and summary["tests"]["skip_reasons"] == ["needs a GPU"]
    assert [t.split("::")[-1] for t in summary["tests"]["failed"]] == ["test_bad"]
    assert summary["stages"]["parity"] is None
    md = (out / "summary.md").read_text()
    assert md.strip() == done.stdout.strip()
    assert "| tests |" in md and "failed (exit 1)" in md
    assert "| parity | - | - | did not run |" in md and "| wall | - | - | did not run |" in md


def test_the_tracked_tree_fits_what_a_gpu_check_carries():
    """The GPU machine takes the working tree along, 64 MiB at most: the tracked files stay under 40 MiB."""
    repo = SCRIPTS.parent
    listed = subprocess.run(["git", "-C", str(repo), "ls-files", "-z"], capture_output=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    total = sum((repo / name).stat().st_size for name in listed.stdout.decode().split("\0")
                if name and (repo / name).is_file())
    assert total <= 40 * 2**20, f"tracked files take {total / 2**20:.1f} MiB"
