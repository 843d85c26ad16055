"""RTSP DESCRIBE preflight and credential handling in URIs (issue 3: RTSP 401 -> auth_failed).

The RTSP peer here is a hand-written asyncio server (a unit test of one module); the real
gst-rtsp-server is exercised in tests/integration/test_agent_checks_faults.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Awaitable, Callable

import pytest

from agent.frames import with_credentials
from agent.rtsp import _authorization, describe, ping
from protocol import redact_uri

pytestmark = pytest.mark.timeout(30)


def test_digest_matches_rfc2617_example() -> None:
    params = {"realm": "testrealm@host.com", "nonce": "dcd98b7102dd2f0e8b11d0f600bfb0c093", "qop": "auth"}
    header = _authorization("digest", params, "/dir/index.html", "Mufasa", "Circle Of Life", method="GET")
    assert 'response="6629fae49393a05397450978507c4ef1"' in header


def test_basic_header() -> None:
    assert _authorization("basic", {}, "/", "Aladdin", "open sesame") == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def serve(handler: Handler) -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def digest_camera(password: str) -> Handler:
    """A camera that demands digest auth (no qop, like many RTSP servers)."""
    realm, nonce = "IP Camera", "abc123"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = (await reader.readuntil(b"\r\n\r\n")).decode()
            except asyncio.IncompleteReadError:
                break
            cseq = re.search(r"CSeq: (\d+)", head)
            uri = head.split()[1]
            auth = re.search(r'response="([0-9a-f]+)"', head)
            ha1 = hashlib.md5(f"admin:{realm}:{password}".encode()).hexdigest()
            ha2 = hashlib.md5(f"DESCRIBE:{uri}".encode()).hexdigest()
            good = hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()
            if auth and auth.group(1) == good:
                sdp = "v=0\r\n"
                writer.write(f"RTSP/1.0 200 OK\r\nCSeq: {cseq and cseq.group(1)}\r\n"
                             f"Content-Length: {len(sdp)}\r\n\r\n{sdp}".encode())
            else:
                writer.write(f"RTSP/1.0 401 Unauthorized\r\nCSeq: {cseq and cseq.group(1)}\r\n"
                             f'WWW-Authenticate: Basic realm="{realm}"\r\n'
                             f'WWW-Authenticate: Digest realm="{realm}", nonce="{nonce}"\r\n\r\n'.encode())
            await writer.drain()
        writer.close()

    return handle


def test_describe_answers_digest_challenge() -> None:
    async def go() -> tuple[int, int, int]:
        server, port = await serve(digest_camera("pw"))
        async with server:
            uri = f"rtsp://127.0.0.1:{port}/Streaming/101"
            ok = await describe(uri, "admin", "pw", timeout_s=5)
            bad = await describe(uri, "admin", "wrong", timeout_s=5)
            none = await describe(uri, "", "", timeout_s=5)
            return ok.status, bad.status, none.status
    assert asyncio.run(go()) == (200, 401, 401)


def test_describe_classifies_silence_refusal_and_junk() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    async def html(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n<html>no</html>")
        await writer.drain()
        writer.close()

    async def go() -> list[str]:
        out = []
        for handler in (silent, html):
            server, port = await serve(handler)
            async with server:
                answer = await describe(f"rtsp://127.0.0.1:{port}/x", "", "", timeout_s=0.5)
                out.append(answer.error)
            server.close()
        out.append((await describe(f"rtsp://127.0.0.1:{port}/x", "", "", timeout_s=2)).error)
        return out
    silent_err, junk_err, refused_err = asyncio.run(go())
    assert silent_err == "timeout"
    assert junk_err.startswith("protocol")
    assert refused_err == "refused"


def test_credentials_are_quoted_into_the_uri_and_redactable() -> None:
    uri = with_credentials("rtsp://10.0.0.14:554/Streaming/101?x=1", "ad:min", "p@ss/w rd")
    assert uri == "rtsp://ad%3Amin:p%40ss%2Fw%20rd@10.0.0.14:554/Streaming/101?x=1"
    assert redact_uri(uri) == "rtsp://10.0.0.14:554/Streaming/101?x=1"
    assert with_credentials("rtsp://[fe80::1]/s", "u", "p") == "rtsp://u:p@[fe80::1]/s"
    assert with_credentials("rtsp://10.0.0.1/s", "", "") == "rtsp://10.0.0.1/s"


def test_ping_counts_any_rtsp_answer_as_alive() -> None:
    async def go() -> tuple[int, str]:
        server, port = await serve(digest_camera("pw"))  # answers 401 to anything unauthenticated
        async with server:
            alive = await ping(f"rtsp://127.0.0.1:{port}/s", timeout_s=5)
        server.close()
        gone = await ping(f"rtsp://127.0.0.1:{port}/s", timeout_s=5)
        return alive.status, gone.error
    assert asyncio.run(go()) == (401, "refused")
