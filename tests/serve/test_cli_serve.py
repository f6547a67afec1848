"""inpaint-rt serve from the command line: it starts and answers, and refuses a busy port."""
from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

httpx = pytest.importorskip("httpx", reason="the serve tests need httpx (the [dev] extra)")

from live_server import free_port  # noqa: E402


def test_serve_starts_answers_and_stops():
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "inpaint.cli.rt", "serve", "--port", str(port), "--quiet"],
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                assert server.poll() is None, server.stderr.read()
                assert time.monotonic() < deadline, "the server did not start within a minute"
                time.sleep(0.2)
        assert health.json()["ok"]
        assert httpx.get(f"http://127.0.0.1:{port}/v1/model").json()["engine"] == "ort"
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert f"http://127.0.0.1:{port}/" in server.stderr.read()


def test_serve_on_a_busy_port_is_one_line_and_exit_2():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "inpaint.cli.rt", "serve", "--port", str(port)],
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: cannot listen on 127.0.0.1:") and "--port" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
