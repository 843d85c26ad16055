"""Which of the ingest's configured brokers are reachable: the source of "broker down" faults.

The ingest holds ONE connection at a time (url, then fallback_urls in a ring,
:mod:`aggregator.ingest.connection`), so losing a broker it does not use (a dead standby) would
go unseen until it is needed. This watch looks at every configured broker each
``ingest.broker_probe_s``: the one the connection is up on counts as reachable; every other one
is probed (:func:`aggregator.ingest.probe.probe_broker`: anonymous, no credentials). Two failed
looks in a row say ``down`` (one lost packet or a broker restarting in a second is no fault), one
answer says ``up``; the first verdict and every change reach the listeners, as ``(host:port, up)``.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable, Sequence

from aggregator.ingest.probe import probe_broker
from aggregator.ingest.settings import IngestSettings

__all__ = ["DOWN_AFTER", "BrokerWatch", "Probe"]

logger = logging.getLogger(__name__)

DOWN_AFTER = 2  # failed looks in a row before a broker is down
_PROBE_TIMEOUT_S = 5.0  # longest wait for one probe's connect, handshake and CONNACK

# (host, port, tls=..., timeout_s=...) -> None when the broker answered, else the cause
Probe = Callable[..., str | None]


class BrokerWatch:
    """Probe the configured brokers on a cadence; tell the listeners when one goes down or comes back.

    >>> watch = BrokerWatch(settings, current=lambda: conn.broker if conn.connected else None,
    ...                     listeners=[faults.on_broker])
    >>> watch.start(); ...; watch.stop()
    """

    def __init__(
        self,
        settings: IngestSettings,
        *,
        current: Callable[[], tuple[str, int] | None],
        listeners: Sequence[Callable[[str, bool], None]],
        probe: Probe = probe_broker,
    ) -> None:
        self._urls = settings.urls
        self._interval_s = settings.broker_probe_s
        self._timeout_s = min(_PROBE_TIMEOUT_S, settings.broker_probe_s)
        self._current = current  # the broker the ingest's connection is up on, or None
        self._listeners = list(listeners)
        self._probe = probe
        self._tls: ssl.SSLContext | None = None
        if settings.tls:
            self._tls = ssl.create_default_context(cafile=settings.cafile)
            self._tls.minimum_version = ssl.TLSVersion.TLSv1_2
        self._failures: dict[str, int] = {}  # failed looks in a row, per "host:port"
        self._up: dict[str, bool] = {}  # the verdict told last, per "host:port" (none yet: absent)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ingest-broker-watch", daemon=True)

    def observe(self, broker: str, reachable: bool, cause: str = "") -> None:
        """One look at one broker: the state machine (two failures in a row: down; one answer: up).

        The first verdict on a broker is told too, up or down: a fault left open by a restart
        (its broker came back while the aggregator was stopped) is resolved by the first answer."""
        known = self._up.get(broker)
        if reachable:
            self._failures[broker] = 0
            if known is not True:
                self._up[broker] = True
                if known is False:
                    logger.warning("ingest: broker %s answers again: broker up", broker)
                self._tell(broker, True)
            return
        self._failures[broker] = failures = self._failures.get(broker, 0) + 1
        if failures >= DOWN_AFTER and known is not False:
            self._up[broker] = False
            logger.error("ingest: broker %s unreachable (%s) %d times in a row: broker down", broker, cause, failures)
            self._tell(broker, False)

    @property
    def down(self) -> set[str]:
        """"host:port" of the brokers said down."""
        return {broker for broker, up in self._up.items() if not up}

    def look(self) -> None:
        """One round: every configured broker looked at once."""
        current = self._current()
        for host, port in self._urls:
            broker = f"{host}:{port}"
            if (host, port) == current:
                self.observe(broker, True)
                continue
            cause = self._probe(host, port, tls=self._tls, timeout_s=self._timeout_s)
            if cause is not None:
                logger.debug("ingest: probe of broker %s failed: %s", broker, cause)
            self.observe(broker, cause is None, cause or "")

    def _tell(self, broker: str, up: bool) -> None:
        for listener in self._listeners:
            try:
                listener(broker, up)
            except Exception:  # a listener's bug must not stop the watch
                logger.exception("ingest: broker listener %r failed", listener)

    def start(self) -> None:
        """Start the watch's thread (one round now, then every ``broker_probe_s``)."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (a probe under way ends within its timeout)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(self._timeout_s * len(self._urls) + 1)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.look()
            except Exception:  # noqa: BLE001 - the watch must outlive one bad round
                logger.exception("ingest: broker watch round failed")
            self._stop.wait(self._interval_s)
