"""A real HTTP server receiving webhooks: checks signatures, can fail (500), stall, or be down.

The server runs in a thread on a free loopback port. ``mode`` decides each answer:
``ok`` (200), ``fail`` (500) or ``stall`` (sleep past the client's read timeout, then 200
to nobody). ``stop()`` closes the port (connection refused) and ``start()`` opens it again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .ports import free_port


@dataclass
class Received:
    """One request as the sink saw it."""

    key: str
    body: dict[str, Any]
    signature_ok: bool
    answered: int  # status sent; 0 when stalled (the client had given up)
    path: str = "/hook"


@dataclass
class WebhookSink:
    """The server; ``accepted`` is what a receiver de-duplicating by idempotency key keeps."""

    secret: str
    stall_s: float = 1.0
    mode: str = "ok"
    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> WebhookSink:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                ts = self.headers.get("X-Camwatch-Timestamp", "")
                expected = "sha256=" + hmac.new(sink.secret.encode(), ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
                ok = hmac.compare_digest(expected, self.headers.get("X-Camwatch-Signature", ""))
                key = self.headers.get("Idempotency-Key", "")
                mode = sink.mode
                status = 0
                if mode == "stall":
                    time.sleep(sink.stall_s)
                else:
                    status = 200 if mode == "ok" and ok else (401 if not ok else 500)
                with sink._lock:
                    sink.received.append(Received(key, json.loads(raw), ok, status, self.path))
                try:
                    self.send_response(status or 200)
                    self.end_headers()
                except OSError:
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def answered_ok(self) -> dict[str, int]:
        """Idempotency key -> how many times the sink answered 200 for it."""
        counts: dict[str, int] = {}
        with self._lock:
            for r in self.received:
                if r.answered == 200:
                    counts[r.key] = counts.get(r.key, 0) + 1
        return counts
