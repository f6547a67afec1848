"""The serve tests' shared live server."""
from __future__ import annotations

import pytest

pytest.importorskip("fastapi", reason="inpaint-rt serve needs the [serve] extra: pip install -e '.[serve]'")
pytest.importorskip("uvicorn", reason="inpaint-rt serve needs the [serve] extra: pip install -e '.[serve]'")

from live_server import LiveServer  # noqa: E402


@pytest.fixture(scope="session")
def live_server():
    server = LiveServer()
    yield server
    server.close()
