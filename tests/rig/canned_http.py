"""A real HTTP server answering with stored device replies (captured or written fixtures).

It runs in a thread on a free loopback port. ``route(method, path_with_query, body)``
returns ``(status, content type, body)``; with ``login`` set, every request must carry
HTTP digest authentication (RFC 7616, MD5, qop=auth) as Hikvision and Dahua demand, and
a wrong answer gets 401 again. ``requests`` records what the client asked, in order.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .ports import free_port

__all__ = ["CannedHttp", "Route"]

Route = Callable[[str, str, bytes], tuple[int, str, bytes]]
REALM = "camwatch-test"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - HTTP digest is MD5 by definition


def _digest_fields(header: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in header[len("Digest "):].split(","):
        key, _, value = part.strip().partition("=")
        out[key] = value.strip('"')
    return out


class CannedHttp:
    """The server; ``url`` is its base, ``port`` its loopback port."""

    def __init__(self, route: Route, login: tuple[str, str] | None = None) -> None:
        self.route = route
        self.login = login
        self.port = free_port()
        self.requests: list[tuple[str, str, bytes]] = []
        self.refused = 0
        self._nonce = secrets.token_hex(8)
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _authorised(self, method: str, header: str | None) -> bool:
        if self.login is None:
            return True
        if not header or not header.startswith("Digest "):
            return False
        f = _digest_fields(header)
        user, password = self.login
        if f.get("username") != user or f.get("nonce") != self._nonce:
            return False
        ha1 = _md5(f"{user}:{REALM}:{password}")
        ha2 = _md5(f"{method}:{f.get('uri', '')}")
        want = _md5(f"{ha1}:{self._nonce}:{f.get('nc', '')}:{f.get('cnonce', '')}:{f.get('qop', '')}:{ha2}")
        return f.get("response") == want

    def start(self) -> CannedHttp:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if not outer._authorised(self.command, self.headers.get("Authorization")):
                    outer.refused += 1
                    self.send_response(401)
                    self.send_header("WWW-Authenticate",
                                     f'Digest realm="{REALM}", qop="auth", nonce="{outer._nonce}", algorithm=MD5')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                outer.requests.append((self.command, self.path, body))
                status, kind, reply = outer.route(self.command, self.path, body)
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                self._answer()

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                self._answer()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
