"""Which broker the agent uses now: an ordered list, moved along Sparkplug-style (issue 17).

The list is the provincial broker first, then the national brokers as fallbacks. The agent
moves to the next broker when the one it uses has been unusable for ``failover_after_s``:
unreachable, or reachable but with no retained host state saying the primary host is online
(Sparkplug B 3.0: an edge node moves on when the primary host is offline on its server). On a
fallback it probes the preferred (first) broker every ``return_check_s``; when the preferred
broker answers and its host state says online, the agent goes back.

Moving is exact: events leave the outbox only on the primary's acks, every new session begins
with a birth and replays the outbox, and the centre de-duplicates by (site, event id).

Each change is logged once (the move, the return, the probe that failed the first time);
repeated failures of the same kind are debug lines.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from protocol import HostState, ProtocolError, decode
from protocol.topics import HOST_STATE_TOPIC

__all__ = ["BrokerList", "Endpoint", "ProbeSettings", "probe_host_online"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One broker address."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


class BrokerList:
    """The ordered brokers, the one in use, and when to move on or go back (monotonic seconds).

    >>> brokers = BrokerList([Endpoint("mqtt-50", 8883), Endpoint("mqtt-a", 8883)], 30, 60)
    >>> brokers.usable(now)      # connected and the host online: stay
    >>> brokers.unusable(now, "host offline")
    >>> brokers.move_due(now)    # True once unusable for failover_after_s
    """

    def __init__(
        self, brokers: Sequence[Endpoint], failover_after_s: float, return_check_s: float, *, who: str = "agent"
    ) -> None:
        if not brokers:
            raise ValueError("at least one broker")
        self.brokers = tuple(brokers)
        self.failover_after_s = failover_after_s
        self.return_check_s = return_check_s
        self.who = who
        self.index = 0
        self._bad_since: float | None = None
        self._cause = ""
        self._next_probe = 0.0
        self._probe_failed_logged = False

    @property
    def current(self) -> Endpoint:
        return self.brokers[self.index]

    @property
    def on_fallback(self) -> bool:
        return self.index != 0

    def usable(self, now: float) -> None:
        """The broker in use is connected and the primary host is online there."""
        if self._bad_since is not None:
            logger.debug("%s: broker %s usable again", self.who, self.current)
        self._bad_since = None

    def unusable(self, now: float, cause: str) -> None:
        """The broker in use cannot be used now (``cause``: unreachable, host offline...)."""
        if self._bad_since is None:
            self._bad_since = now
        self._cause = cause

    def move_due(self, now: float) -> bool:
        """Whether the broker in use has been unusable long enough to move on."""
        return (
            len(self.brokers) > 1 and self._bad_since is not None and now - self._bad_since >= self.failover_after_s
        )

    def move_next(self, now: float) -> Endpoint:
        """Move to the next broker in the ring (logged once per move)."""
        old = self.current
        self.index = (self.index + 1) % len(self.brokers)
        logger.warning("%s: broker %s unusable for %.0f s (%s); moving to %s (%s)", self.who, old,
                       now - (self._bad_since or now), self._cause, self.current,
                       "fallback" if self.on_fallback else "preferred")  # fmt: skip
        self._bad_since = now  # the new broker gets its own failover_after_s
        self._next_probe = now + self.return_check_s
        self._probe_failed_logged = False
        return self.current

    def probe_due(self, now: float) -> bool:
        """Whether to probe the preferred broker now (only on a fallback, every return_check_s)."""
        return self.on_fallback and now >= self._next_probe

    def probed(self, now: float, ok: bool) -> None:
        """The probe's answer; a failed probe is logged the first time only."""
        self._next_probe = now + self.return_check_s
        if not ok and not self._probe_failed_logged:
            logger.info("%s: preferred broker %s not ready yet (unreachable or host offline); "
                        "checking every %g s", self.who, self.brokers[0], self.return_check_s)  # fmt: skip
            self._probe_failed_logged = True

    def back_to_preferred(self, now: float) -> Endpoint:
        """Go back to the preferred broker (it answered and its host is online)."""
        old = self.current
        self.index = 0
        self._bad_since = None
        self._probe_failed_logged = False
        logger.warning("%s: preferred broker %s and its host are back; leaving fallback %s", self.who, self.current, old)
        return self.current


@dataclass(frozen=True, slots=True)
class ProbeSettings:
    """How to log in to a broker for a probe: the agent's own credentials and TLS."""

    client_id: str
    username: str | None
    password: str | None
    tls: bool
    context: Callable[[], ssl.SSLContext] | None
    timeout_s: float


def probe_host_online(endpoint: Endpoint, settings: ProbeSettings, newer_than: float | None = None) -> bool:
    """Connect to ``endpoint``, read the retained host state, disconnect; True if it says online.

    Bounded by ``settings.timeout_s`` in all (connect, SUBACK, retained message). ``newer_than``
    (a POSIX timestamp) ignores a state older than one the agent already saw elsewhere.
    """
    answer = threading.Event()
    online: list[bool] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=settings.client_id, clean_session=True,
                         protocol=mqtt.MQTTv311)  # fmt: skip
    if settings.username is not None:
        client.username_pw_set(settings.username, settings.password)
    if settings.tls and settings.context is not None:
        client.tls_set_context(settings.context())

    def on_connect(c: mqtt.Client, userdata: object, flags: object, reason: ReasonCode, props: object) -> None:
        if reason.is_failure:
            answer.set()
            return
        c.subscribe(HOST_STATE_TOPIC, qos=1)

    def on_message(c: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        try:
            state = decode(HostState, message.payload)
        except ProtocolError:
            return
        if newer_than is None or state.ts.timestamp() >= newer_than:
            online.append(state.online)
            answer.set()

    client.on_connect = on_connect
    client.on_message = on_message
    client.connect_timeout = settings.timeout_s
    deadline = time.monotonic() + settings.timeout_s
    try:
        client.connect(endpoint.host, endpoint.port, keepalive=max(5, int(settings.timeout_s) + 5))
    except (OSError, ssl.SSLError, ValueError) as err:
        logger.debug("probe of %s failed: %s", endpoint, err)
        return False
    client.loop_start()
    try:
        answer.wait(max(0.0, deadline - time.monotonic()))
    finally:
        client.disconnect()
        client.loop_stop()
    return bool(online) and online[-1]
