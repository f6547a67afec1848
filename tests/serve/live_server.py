"""A live inpaint-rt serve on loopback (the shipped model on ONNX Runtime), in a thread."""
from __future__ import annotations

import socket
import threading
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """uvicorn serving create_app in a thread; .url is its base URL, .batcher its batcher."""

    def __init__(self, max_batch: int = 16, max_wait_ms: float = 20, max_queue: int = 64,
                 max_upload_mb: float = 20):
        import uvicorn
        from inpaint.runtime.complete import Inpainter
        from inpaint.serve.app import create_app
        from inpaint.serve.service import batcher_for, model_info
        base = Inpainter.from_bundle()
        self.batcher = batcher_for(base, max_batch, max_wait_ms, max_queue)
        app = create_app(self.batcher, model_info(base, "ort"), max_upload_mb)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.batcher.close()
