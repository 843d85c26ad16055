"""The HTTP client the alert channels (webhook, LINE) send with: explicit timeouts, no redirects."""

from __future__ import annotations

import httpx

__all__ = ["alert_http_client"]


def alert_http_client(connect_timeout_s: float, read_timeout_s: float) -> httpx.Client:
    """A client whose connect (and pool wait) fails fast on a dead endpoint while read and write
    allow a slow receiver to store the alert; a redirect is an answer, never followed."""
    timeout = httpx.Timeout(
        read_timeout_s, connect=connect_timeout_s, read=read_timeout_s, write=read_timeout_s, pool=connect_timeout_s
    )
    return httpx.Client(timeout=timeout, follow_redirects=False)
