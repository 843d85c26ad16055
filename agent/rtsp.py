"""Small RTSP requests that OpenCV cannot make: OPTIONS (alive?) and DESCRIBE (why not?).

OpenCV holds one process-wide lock for a whole FFmpeg open, so a camera that accepts and
never answers would stall every other camera's open. :func:`ping` (one OPTIONS, async, no
lock) weeds those out first. When a grab fails, :func:`describe` (with basic or digest
auth, as the camera asks) tells the installer whether the password is wrong, the path is
wrong or the camera does not speak RTSP at all; it is never sent when the grab works.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

__all__ = ["DescribeResult", "describe", "ping"]

# Enough for any real camera's DESCRIBE answer (SDP is a few hundred bytes).
_MAX_HEADER_BYTES = 16384
_AUTH_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^,\s]*))')


@dataclass(frozen=True, slots=True)
class DescribeResult:
    """Outcome of a DESCRIBE: ``status`` is the RTSP code, 0 when no answer came."""

    status: int
    reason: str
    error: str = ""  # "refused", "timeout", "protocol" when status is 0

    @property
    def auth_failed(self) -> bool:
        """The camera refused the credentials (or demanded some and none were given)."""
        return self.status == 401


def _challenge(headers: dict[str, list[str]]) -> tuple[str, dict[str, str]] | None:
    offers = headers.get("www-authenticate", [])
    # Prefer digest: it never sends the password.
    for offer in sorted(offers, key=lambda o: not o.lower().startswith("digest")):
        scheme, _, rest = offer.partition(" ")
        params = {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
                  for m in _AUTH_PARAM.finditer(rest)}
        return scheme.lower(), params
    return None


def _authorization(scheme: str, params: dict[str, str], uri: str, user: str, password: str,
                   method: str = "DESCRIBE") -> str:
    if scheme == "basic":
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        return f"Basic {token}"
    realm, nonce = params.get("realm", ""), params.get("nonce", "")
    ha1 = hashlib.md5(f"{user}:{realm}:{password}".encode()).hexdigest()  # noqa: S324 (RFC 2069)
    ha2 = hashlib.md5(f"{method}:{uri}".encode()).hexdigest()  # noqa: S324
    if "auth" in params.get("qop", "").split(","):
        cnonce, nc = "0a4f113b", "00000001"
        response = hashlib.md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}".encode()).hexdigest()  # noqa: S324
        extra = f', qop=auth, nc={nc}, cnonce="{cnonce}"'
    else:
        response = hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()  # noqa: S324
        extra = ""
    return (f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
            f'response="{response}"{extra}')


async def _request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, uri: str, cseq: int, auth: str | None,
    method: str = "DESCRIBE",
) -> tuple[int, str, dict[str, list[str]]]:
    lines = [f"{method} {uri} RTSP/1.0", f"CSeq: {cseq}", "User-Agent: camwatch-agent"]
    if method == "DESCRIBE":
        lines.append("Accept: application/sdp")
    if auth:
        lines.append(f"Authorization: {auth}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    if len(head) > _MAX_HEADER_BYTES:
        raise ValueError("answer headers too long")
    text = head.decode("latin-1").split("\r\n")
    match = re.match(r"RTSP/\d\.\d (\d{3}) ?(.*)", text[0])
    if not match:
        raise ValueError("not an RTSP answer")
    headers: dict[str, list[str]] = {}
    for line in text[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers.setdefault(name.strip().lower(), []).append(value.strip())
    length = int((headers.get("content-length") or ["0"])[0] or 0)
    if 0 < length <= _MAX_HEADER_BYTES:
        await reader.readexactly(length)
    return int(match.group(1)), match.group(2), headers


def _clean(uri: str) -> tuple[str, int, str]:
    parts = urlsplit(uri)
    host, port = parts.hostname or "", parts.port or 554
    return host, port, urlunsplit((parts.scheme, f"{host}:{port}", parts.path or "/", parts.query, ""))


async def ping(uri: str, *, timeout_s: float) -> DescribeResult:
    """Send one OPTIONS: any RTSP answer (even 401) proves the server is alive.

    Cheaper than DESCRIBE for the camera, and unlike DESCRIBE it never makes a server
    prepare (and then tear down) the media for a client that is about to leave.
    """
    host, port, clean = _clean(uri)
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection(host, port)
            try:
                status, reason, _ = await _request(reader, writer, clean, 1, None, "OPTIONS")
                return DescribeResult(status, reason)
            finally:
                writer.close()
    except TimeoutError:
        return DescribeResult(0, "", "timeout")
    except ConnectionRefusedError:
        return DescribeResult(0, "", "refused")
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as err:
        return DescribeResult(0, "", f"protocol: {type(err).__name__}")


async def describe(uri: str, username: str, password: str, *, timeout_s: float) -> DescribeResult:
    """Send DESCRIBE to ``uri`` (answering one auth challenge) within ``timeout_s`` in all."""
    host, port, clean = _clean(uri)
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection(host, port)
            try:
                status, reason, headers = await _request(reader, writer, clean, 1, None)
                challenge = _challenge(headers)
                if status == 401 and challenge is not None and (username or password):
                    auth = _authorization(*challenge, clean, username, password)
                    status, reason, headers = await _request(reader, writer, clean, 2, auth)
                return DescribeResult(status, reason)
            finally:
                writer.close()
    except TimeoutError:
        return DescribeResult(0, "", "timeout")
    except ConnectionRefusedError:
        return DescribeResult(0, "", "refused")
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as err:
        return DescribeResult(0, "", f"protocol: {type(err).__name__}")
