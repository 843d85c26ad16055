"""How the publisher's paho client is built, and the guard its callbacks run under.

Kept apart from agent/publisher.py (the session rules): TLS, credentials, back-off and the
in-flight window are connection plumbing, the same for every session and every broker move.
"""

from __future__ import annotations

import functools
import logging
import ssl
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from .publisher_settings import PublisherSettings

__all__ = ["MAX_IN_FLIGHT", "guarded", "new_client", "tls_context"]

# The publisher's logger: operators and the demo filter on "agent.publisher".
logger = logging.getLogger("agent.publisher")

P = ParamSpec("P")
R = TypeVar("R")

# Messages awaiting PUBACK before the worker waits: enough to fill a 4G link's
# round trip, small enough that a disconnect strands little in paho's memory.
MAX_IN_FLIGHT = 16


class _RetryChatter(logging.Filter):
    """Drop paho's "Client is not connected" line, logged at ERROR on every reconnect attempt:
    the publisher logs the disconnect and agent.failover the moves, each once per change."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Client is not connected")


_PAHO_LOGGER = logging.getLogger("agent.publisher.paho")
_PAHO_LOGGER.addFilter(_RetryChatter())


def guarded(func: Callable[P, R]) -> Callable[P, R | None]:
    """Log and swallow any exception: paho's network thread must never die in a callback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | None:
        try:
            return func(*args, **kwargs)
        except Exception:
            logger.exception("publisher: %s failed", func.__name__)
            return None

    return wrapper


def tls_context(s: PublisherSettings) -> ssl.SSLContext:
    """TLS 1.2 or newer against the configured CA, with the client certificate for mutual TLS."""
    context = ssl.create_default_context(cafile=s.ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if s.cert_file and s.key_file:
        context.load_cert_chain(s.cert_file, s.key_file)
    return context


def new_client(s: PublisherSettings, context: Callable[[], ssl.SSLContext]) -> mqtt.Client:
    """A paho client for this site, not yet connected; the caller sets callbacks and will."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=s.client_id or s.site,
        clean_session=True,  # the outbox, not the broker session, keeps undelivered events
        protocol=mqtt.MQTTv311,
    )
    if s.username is not None:
        client.username_pw_set(s.username, s.password)
    if s.tls:
        client.tls_set_context(context())
    client.reconnect_delay_set(s.reconnect_min_s, s.reconnect_max_s)
    client.max_inflight_messages_set(MAX_IN_FLIGHT)
    client.enable_logger(_PAHO_LOGGER)
    return client
