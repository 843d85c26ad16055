"""What the maker-API backends share: one HTTP client shape, safe XML, device times.

Every request has the recorder's explicit timeout (connect, read, write, pool) and digest
auth when a credential is configured (Hikvision and Dahua both answer digest; neither ever
gets a password in a URL). Failures become :class:`RecordingError` naming the recorder and
the request, never the password. XML is parsed without entities or network access.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
from lxml import etree

from .base import RecordingError
from .settings import RecorderConfig

__all__ = ["MAX_REPLY_BYTES", "children", "device_time", "make_client", "parse_xml", "request_text", "text_of"]

# A storage or search answer is a few KiB; a megabyte is not a recorder talking.
MAX_REPLY_BYTES = 1_000_000
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=False)


def make_client(config: RecorderConfig, login: tuple[str, str] | None) -> httpx.AsyncClient:
    """An HTTP client for one recorder: base URL, digest auth, every timeout explicit."""
    scheme = "https" if config.https else "http"
    host = f"[{config.address}]" if ":" in config.address else config.address
    return httpx.AsyncClient(
        base_url=f"{scheme}://{host}:{config.http_port()}",
        auth=httpx.DigestAuth(*login) if login is not None else None,
        timeout=httpx.Timeout(config.timeout_s),
        verify=config.verify_tls,
        follow_redirects=False,
    )


async def request_text(client: httpx.AsyncClient, recorder: str, method: str, path: str, *,
                       content: str | None = None, params: dict[str, str] | None = None) -> str:
    """One request; the reply body as text, or RecordingError saying what went wrong."""
    try:
        reply = await client.request(method, path, content=content, params=params)
    except httpx.TimeoutException as err:
        raise RecordingError(f"recorder {recorder}: no answer to {path} in time") from err
    except httpx.HTTPError as err:
        raise RecordingError(f"recorder {recorder}: {path}: {type(err).__name__}") from err
    if reply.status_code in (401, 403):
        raise RecordingError(f"recorder {recorder}: credentials refused for {path}")
    if reply.status_code >= 400:
        raise RecordingError(f"recorder {recorder}: HTTP {reply.status_code} to {path}")
    if len(reply.content) > MAX_REPLY_BYTES:
        raise RecordingError(f"recorder {recorder}: {path} answered {len(reply.content)} bytes")
    return reply.text


def parse_xml(text: str, recorder: str, what: str) -> etree._Element:
    """Parse a reply as XML; RecordingError (not a crash) when it is not."""
    try:
        return etree.fromstring(text.strip().encode("utf-8"), _PARSER)
    except etree.XMLSyntaxError as err:
        raise RecordingError(f"recorder {recorder}: {what} is not valid XML: {str(err)[:120]}") from err


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def children(node: etree._Element, name: str) -> Iterator[etree._Element]:
    """Descendants named ``name`` in any namespace (makers use three for the same schema)."""
    for found in node.iter():
        if _local(found.tag) == name:
            yield found


def text_of(node: etree._Element, name: str) -> str:
    """Text of the first descendant named ``name`` in any namespace, "" when absent."""
    for found in children(node, name):
        return (found.text or "").strip()
    return ""


def device_time(text: str, offset_h: float | None) -> datetime | None:
    """A recorder's time stamp as UTC; naive local times shifted by ``offset_h`` (None = UTC)."""
    text = text.strip().replace(" ", "T", 1)
    if not text:
        return None
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC) - timedelta(hours=offset_h or 0.0)
    return stamp.astimezone(UTC)
