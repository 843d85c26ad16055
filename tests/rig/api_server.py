"""Serve a FastAPI app with a real uvicorn on a free loopback port, in a thread, for one test."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from tests.rig.ports import free_port, wait_for_port


@contextmanager
def serve(app: Any, *, timeout: float = 15.0) -> Iterator[str]:
    """Run ``app`` until the block ends; yield its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    try:
        wait_for_port(port, "127.0.0.1", timeout)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        deadline = time.monotonic() + timeout
        while thread.is_alive() and time.monotonic() < deadline:
            thread.join(0.1)
