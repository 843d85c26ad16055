"""A local server answering ``POST /v2/bot/message/push`` as the LINE Messaging API does.

Shipped with the demo (``deploy/demo.py`` routes its alerts to one, so the delivery log shows
LINE messages without a LINE account) and used by the tests (``tests/rig/line_api.py``).

It checks what LINE checks before accepting a push: the ``Authorization: Bearer`` channel
access token, a JSON body of ``to`` (a U/C/R id of 32 hex digits) and one to five messages,
a text of at most 5,000 characters, image URLs that are HTTPS and at most 2,000 characters,
and an ``X-Line-Retry-Key`` that is a UUID. It answers with LINE's status codes and JSON
error shapes: 401 for a bad token, 400 with ``details`` for a bad body, 409 with
``X-Line-Accepted-Request-Id`` for a retry key already accepted, 200 with ``sentMessages``.
``throttle(n, retry_after)`` makes the next ``n`` pushes answer 429 with that Retry-After.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["DEMO_GROUP", "PUSH", "LineApi", "Push", "add_demo_route", "demo_line_env"]

PUSH = "/v2/bot/message/push"
_TO = re.compile(r"^[UCR][0-9a-f]{32}$")
_AUTH_FAILED = "Authentication failed. Confirm that the access token in the authorization header is valid."


@dataclass
class Push:
    """One request as the server saw it."""

    authorization: str
    retry_key: str
    body: Any
    status: int

    @property
    def texts(self) -> list[str]:
        return [m["text"] for m in self.body.get("messages", []) if m.get("type") == "text"]

    @property
    def images(self) -> list[str]:
        return [m["originalContentUrl"] for m in self.body.get("messages", []) if m.get("type") == "image"]


def _length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _problems(body: Any) -> list[dict[str, str]]:
    """LINE's ``details`` for a push body (empty when it would be accepted)."""
    if not isinstance(body, dict):
        return [{"message": "must be an object", "property": ""}]
    out: list[dict[str, str]] = []
    if not isinstance(body.get("to"), str) or not _TO.match(body["to"]):
        out.append({"message": "Invalid 'to'", "property": "to"})
    messages = body.get("messages")
    if not isinstance(messages, list) or not 1 <= len(messages) <= 5:
        return [*out, {"message": "Size must be between 1 and 5", "property": "messages"}]
    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        kind = m.get("type") if isinstance(m, dict) else None
        if kind == "text":
            if not isinstance(m.get("text"), str) or not 1 <= _length(m["text"]) <= 5000:
                out.append({"message": "Length must be between 1 and 5000", "property": f"{where}.text"})
        elif kind == "image":
            for key in ("originalContentUrl", "previewContentUrl"):
                url = m.get(key)
                if not isinstance(url, str) or not url.startswith("https://") or len(url) > 2000:
                    out.append({"message": "Must be a valid HTTPS URL of at most 2000 characters",
                                "property": f"{where}.{key}"})  # fmt: skip
        else:
            out.append({"message": "Invalid message type", "property": f"{where}.type"})
    return out


@dataclass
class LineApi:
    """The server; ``pushes`` holds every request, ``accepted`` the ones shown to a chat."""

    token: str
    port: int = 0  # 0: any free port (the server records the one it got)
    pushes: list[Push] = field(default_factory=list)
    _accepted_keys: dict[str, str] = field(default_factory=dict)
    _throttle: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def accepted(self) -> list[Push]:
        with self._lock:
            return [p for p in self.pushes if p.status == 200]

    def throttle(self, times: int, retry_after: str) -> None:
        """Answer the next ``times`` pushes 429 with this Retry-After header."""
        with self._lock:
            self._throttle += [retry_after] * times

    def _answer(self, auth: str, key: str, raw: bytes, content_type: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        if auth != f"Bearer {self.token}":
            return 401, {"message": _AUTH_FAILED}, {}
        if key:
            try:
                uuid.UUID(key)
            except ValueError:
                return 400, {"message": "The retry key is not a UUID"}, {}
            if key in self._accepted_keys:
                return 409, {"message": "The retry key is already accepted"}, {
                    "X-Line-Accepted-Request-Id": self._accepted_keys[key]}
        if self._throttle:
            return 429, {"message": "The API rate limit has been exceeded. Try again later."}, {
                "Retry-After": self._throttle.pop(0)}
        if not content_type.startswith("application/json"):
            return 400, {"message": "The request body must be JSON"}, {}
        try:
            body = json.loads(raw)
        except ValueError:
            return 400, {"message": "The request body could not be parsed as JSON"}, {}
        problems = _problems(body)
        if problems:
            return 400, {"message": f"The request body has {len(problems)} error(s)", "details": problems}, {}
        request_id = str(uuid.uuid4())
        if key:
            self._accepted_keys[key] = request_id
        sent = [{"id": str(uuid.uuid4().int)[:18], "quoteToken": uuid.uuid4().hex} for _ in body["messages"]]
        return 200, {"sentMessages": sent}, {"X-Line-Request-Id": request_id}

    def start(self) -> LineApi:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                auth = self.headers.get("Authorization", "")
                key = self.headers.get("X-Line-Retry-Key", "")
                headers: dict[str, str] = {}
                if self.path != PUSH:
                    status, answer = 404, {"message": "Not found"}
                else:
                    with api._lock:
                        status, answer, headers = api._answer(auth, key, raw, self.headers.get("Content-Type", ""))
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = None
                with api._lock:
                    api.pushes.append(Push(auth, key, body, status))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = int(self._server.server_address[1])
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


# --- the demo's LINE alerts -------------------------------------------------------------------

# The demo's LINE group (a LINE group id is "C" and 32 hex digits).
DEMO_GROUP = "C" + "de3015" + "0" * 26
ROUTE_TIMEOUT_S = 10.0


def demo_line_env(line: LineApi, token_variable: str = "CAMWATCH_DEMO_LINE_TOKEN") -> dict[str, str]:
    """Settings that send the aggregator's LINE alerts to ``line`` (the token passed by reference)."""
    return {
        token_variable: line.token,
        "CAMWATCH_LINE__BASE_URL": line.url,
        "CAMWATCH_LINE__CHANNEL_ACCESS_TOKEN": f"env:{token_variable}",
    }


def add_demo_route(url: str, admin_token: str, target: str = DEMO_GROUP) -> int:
    """Create the national alert route to the demo's LINE group through the API; its id."""
    body = json.dumps({"name": "demo LINE group", "channel": "line", "target": target}).encode()
    req = urllib.request.Request(f"{url}/api/v1/alert-routes", data=body, method="POST", headers={
        "Authorization": f"Bearer {admin_token}", "Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(req, timeout=ROUTE_TIMEOUT_S) as res:
        return int(json.loads(res.read())["id"])
