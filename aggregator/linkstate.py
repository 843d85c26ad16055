"""Log an MQTT connection's state once per change, naming the broker and the cause.

paho retries a refused or lost connection by itself (``reconnect_delay_set``). Left alone it
says nothing useful: with its logger attached, every retry logs "Client is not connected.
Socket: None" without a host. Here the first failure names the broker, the cause and the
retry pace; the recovery is said once; the retries in between are debug lines only.
"""

from __future__ import annotations

import logging
import socket
import ssl
import sys
import time

__all__ = ["LinkState", "describe_error"]

logger = logging.getLogger(__name__)


def describe_error(err: BaseException | None) -> str:
    """A short cause for a failed connect: ``connection refused``, ``host name not resolved``..."""
    if isinstance(err, ConnectionRefusedError):
        return "connection refused"
    if isinstance(err, socket.gaierror):
        return f"host name not resolved ({err.strerror})"
    if isinstance(err, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({err.verify_message})"
    if isinstance(err, ssl.SSLError):
        return f"TLS failed ({err.reason or err})"
    if isinstance(err, TimeoutError):
        return "timed out"
    if isinstance(err, OSError):
        return err.strerror or str(err) or type(err).__name__
    return "no answer"


class LinkState:
    """One MQTT connection's up/down state; each method is called from paho's callbacks.

    >>> link = LinkState("ingest", "mqtts://broker:8883", retry_min_s=1, retry_max_s=30)
    >>> client.on_connect_fail = lambda client, userdata: link.failed_now()
    """

    def __init__(self, who: str, url: str, *, retry_min_s: float, retry_max_s: float) -> None:
        self.who = who
        self.url = url
        self._retry = (retry_min_s, retry_max_s)
        self._down_since: float | None = None  # monotonic time of the first failure of this outage
        self._failures = 0
        self.stopping = False  # set before a clean disconnect: it is not a failure

    @property
    def down(self) -> bool:
        """Whether the connection is in a failure state (failed or lost, not yet back)."""
        return self._down_since is not None

    def up(self, detail: str = "") -> None:
        """The broker accepted the connection (CONNACK success); ``detail`` ends the log line."""
        more = f" ({detail})" if detail else ""
        if self._down_since is not None:
            logger.warning("%s: MQTT broker %s reachable again after %d failed attempts, %.0f s%s", self.who,
                           self.url, self._failures, time.monotonic() - self._down_since, more)  # fmt: skip
        else:
            logger.info("%s: connected to MQTT broker %s%s", self.who, self.url, more)
        self._down_since, self._failures = None, 0

    def failed(self, cause: str) -> None:
        """A connection attempt failed (logged on the first failure of an outage only)."""
        self._failures += 1
        if self._down_since is not None:
            logger.debug("%s: MQTT broker %s: still failing (%s, attempt %d)", self.who, self.url, cause, self._failures)
            return
        self._down_since = time.monotonic()
        logger.error("%s: cannot reach MQTT broker %s: %s; retrying in %g s, then up to every %g s",
                     self.who, self.url, cause, *self._retry)  # fmt: skip

    def failed_now(self) -> None:
        """paho's ``on_connect_fail``: called inside paho's ``except OSError``, so the
        exception being handled is the cause (paho does not pass it)."""
        self.failed(describe_error(sys.exc_info()[1]))

    def lost(self, reason: str) -> None:
        """An established connection ended (``on_disconnect``)."""
        if self.stopping or self._down_since is not None:
            return
        self._down_since = time.monotonic()
        logger.error("%s: lost MQTT broker %s: %s; reconnecting (every %g s to %g s)",
                     self.who, self.url, reason, *self._retry)  # fmt: skip
