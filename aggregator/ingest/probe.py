"""Is an MQTT broker alive? TCP (TLS) connect, an anonymous MQTT CONNECT, any CONNACK means yes.

Why anonymous and by hand, not a paho client with the ingest's login: the shipped brokers run
``use_username_as_clientid true``, so a probe logged in as the ingest's user would take over (and
with a clean session, wipe) the ingest's own persistent session. An anonymous CONNECT sends no
credentials at all; a broker with ``allow_anonymous false`` still answers with a CONNACK
("not authorised"), which proves it is up and speaking MQTT. Every step has an explicit timeout.
"""

from __future__ import annotations

import secrets
import socket
import ssl

from aggregator.linkstate import describe_error

__all__ = ["probe_broker"]

_CONNACK = 0x20
_DISCONNECT = b"\xe0\x00"
_KEEPALIVE_S = 10


def _connect_packet() -> bytes:
    """An MQTT 3.1.1 CONNECT: clean session, no will, no user name or password."""
    client_id = f"camwatch-probe-{secrets.token_hex(4)}".encode()  # 23 bytes: within 3.1.1's limit
    body = b"\x00\x04MQTT\x04\x02" + _KEEPALIVE_S.to_bytes(2, "big") + len(client_id).to_bytes(2, "big") + client_id
    return bytes([0x10, len(body)]) + body


def _read(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def probe_broker(host: str, port: int, *, tls: ssl.SSLContext | None, timeout_s: float) -> str | None:
    """None when the broker answered a CONNECT with a CONNACK (accepted or not), else the cause."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as raw:
            raw.settimeout(timeout_s)
            sock = tls.wrap_socket(raw, server_hostname=host) if tls is not None else raw
            try:
                sock.sendall(_connect_packet())
                answer = _read(sock, 4)
                if len(answer) < 4 or answer[0] != _CONNACK:
                    return "no CONNACK (not an MQTT broker, or it closed the connection)"
                if answer[3] == 0:  # accepted (an anonymous broker): leave politely
                    sock.sendall(_DISCONNECT)
                return None
            finally:
                if sock is not raw:
                    sock.close()
    except (OSError, ValueError) as err:  # ssl.SSLError and TimeoutError are OSErrors
        return describe_error(err)
