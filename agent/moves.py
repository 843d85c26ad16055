"""The publisher's broker moves (agent.failover decides when; this does it): one concern kept
out of agent/publisher.py, which mixes it in.

* every worker pass: the broker in use is usable (connected, host online) or not; past
  ``failover_after_s`` the publisher moves to the next broker;
* on a fallback, every ``return_check_s``: a probe of the preferred broker in a thread of its
  own (bounded by ``probe_timeout_s``); when it answers online, the publisher moves back;
* a move is a clean disconnect (no will) and a new client aimed at the new broker: the new
  session births and replays the outbox.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

import paho.mqtt.client as mqtt

from .failover import BrokerList, Endpoint, ProbeSettings, probe_host_online

if TYPE_CHECKING:
    import ssl

    from .publisher_settings import PublisherSettings

__all__ = ["BrokerMoves"]

logger = logging.getLogger("agent.publisher")


class BrokerMoves:
    """Mixed into :class:`agent.publisher.Publisher`; the attributes are the publisher's."""

    settings: PublisherSettings
    brokers: BrokerList
    moves: int
    _lock: threading.Lock
    _stop: threading.Event
    _wake: threading.Event
    _connected: bool
    _centre_online: bool
    _session: int
    _moving: bool
    _host_ts: float | None
    _probe: threading.Thread | None
    _probe_ok: bool | None
    _client: mqtt.Client
    _in_flight: deque[tuple[mqtt.MQTTMessageInfo, int]]
    _tls_context: Callable[[], ssl.SSLContext]
    _make_client: Callable[[], mqtt.Client]
    _connect: Callable[[Endpoint, float], None]

    def _check_broker(self, now: float) -> None:
        """Move on from an unusable broker; go back to the preferred one when it is ready."""
        brokers = self.brokers
        if len(brokers.brokers) < 2 or self._stop.is_set():
            return
        with self._lock:
            connected, online = self._connected, self._centre_online
        if connected and online:
            brokers.usable(now)
        else:
            brokers.unusable(now, "no online host there" if connected else "unreachable")
        if brokers.move_due(now):
            self._move(brokers.move_next(now))
            return
        if self._probe is not None and not self._probe.is_alive():
            self._probe = None
            ok = bool(self._probe_ok)
            brokers.probed(now, ok)
            if ok and brokers.on_fallback:
                self._move(brokers.back_to_preferred(now))
            return
        if self._probe is None and brokers.probe_due(now):
            self._probe_ok = None
            self._probe = threading.Thread(target=self._run_probe, name=f"probe-{self.settings.site}", daemon=True)
            self._probe.start()

    def _run_probe(self) -> None:
        s = self.settings
        probe = ProbeSettings(client_id=s.client_id or s.site, username=s.username, password=s.password, tls=s.tls,
                              context=self._tls_context if s.tls else None, timeout_s=s.probe_timeout_s)  # fmt: skip
        try:
            self._probe_ok = probe_host_online(self.brokers.brokers[0], probe, self._host_ts)
        except Exception:  # a probe must never take the worker down
            logger.exception("%s: probe of the preferred broker failed", s.site)
            self._probe_ok = False
        self._wake.set()

    def _move(self, endpoint: Endpoint) -> None:
        """Leave the current broker (a clean disconnect: no will) and connect to ``endpoint``.

        The new session births and replays the outbox; the centre de-duplicates, so nothing is
        lost (only acks delete events) and nothing is committed twice.
        """
        old = self._client
        self._moving = True
        try:
            old.disconnect()
            old.loop_stop()
        finally:
            self._moving = False
        with self._lock:
            self._connected = False
            self._centre_online = False
            self._session += 1
        self._in_flight.clear()
        self.moves += 1
        self._client = self._make_client()
        # A small spread: a dead provincial broker moves all its sites at once.
        self._connect(endpoint, min(self.settings.jitter_s, self.settings.failover_after_s / 4))
