"""Per-site MQTT session rules for ingest: bd_seq, seq gaps with a reorder window, rebirths.

Pure bookkeeping, no MQTT and no database, so the rules are unit-tested on their own:

* A birth opens the site's session (a late will of an older session is ignored).
* Events and heartbeats before any birth, or after a death, are dropped and a rebirth is
  asked for: the agent replays its whole outbox after every birth, so nothing is lost.
* Every rebirth request of a site, whatever its cause (also an event for a camera its birth
  did not name, :meth:`SiteSessions.want_rebirth`), is rate-limited per site.
* A seq jump holds the site's later messages for a reorder window. If the missing ones
  arrive in time, everything is released in seq order; if not, the held messages are
  dropped (the agent still has their events) and a rebirth is asked for.
* The application ack for a site only ever covers events of messages released in order and
  then committed (:meth:`SiteSessions.committed`), so an ack never lets the agent delete an
  event nobody stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Generic, TypeVar

from protocol import Birth, Death, Events, Heartbeat, SeqVerdict, SessionTracker, SiteMessage
from protocol.sequence import seq_distance

__all__ = ["Decision", "Routed", "SiteSessions"]

T = TypeVar("T")  # what the caller attaches to a message (its raw MQTT delivery)


class Decision(StrEnum):
    """What ingest does with one message."""

    APPLY = "apply"  # hand to the store now
    HOLD = "hold"  # kept back while a seq gap is open (not acked to the broker yet)
    DROP = "drop"  # acked to the broker and forgotten (late will, pre-birth, expired gap)


@dataclass(frozen=True, slots=True)
class Routed(Generic[T]):
    """A message with its decision; ``tag`` is the caller's handle (the MQTT delivery)."""

    message: SiteMessage
    tag: T
    decision: Decision


@dataclass(slots=True)
class _Site(Generic[T]):
    tracker: SessionTracker = field(default_factory=SessionTracker)
    gap_start: int | None = None
    gap_deadline: float | None = None
    missing: set[int] = field(default_factory=set)
    held: list[tuple[SiteMessage, T]] = field(default_factory=list)
    fillers: list[tuple[SiteMessage, T]] = field(default_factory=list)
    awaiting_birth: bool = False
    ack_upto: int = 0  # highest event id safe to acknowledge
    last_birth: tuple[int, datetime] | None = None  # (bd_seq, ts) of the last birth applied
    last_rebirth: float = float("-inf")


class SiteSessions(Generic[T]):
    """Session state of every site seen by this ingest process."""

    def __init__(self, *, reorder_window_s: float, rebirth_min_interval_s: float) -> None:
        self.reorder_window_s = reorder_window_s
        self.rebirth_min_interval_s = rebirth_min_interval_s
        self._sites: dict[str, _Site[T]] = {}
        # Sites that opened a gap (some may have closed it since): expire() and
        # next_deadline() run every writer cycle and look only at these, not at every
        # site of a national fleet.
        self._gapped: set[str] = set()
        self.late_wills = 0
        self.duplicate_births = 0
        self.gaps = 0

    def _site(self, site: str) -> _Site[T]:
        found = self._sites.get(site)
        if found is None:
            found = self._sites[site] = _Site()
        return found

    def route(
        self, message: SiteMessage, tag: T, now: float, *, birth_last_seq: int | None = None
    ) -> tuple[list[Routed[T]], bool]:
        """Decide about one message; return the routed messages and whether to ask a rebirth.

        Releasing a filled gap returns several messages (fillers first, then the held ones).
        ``birth_last_seq`` is the seq of an assembled birth's last part (parts carry 0..n-1).
        """
        s = self._site(message.site)
        if isinstance(message, Birth):
            key = (message.bd_seq, message.ts)
            if key == s.last_birth:
                # The same birth delivered again (the broker resends unacknowledged QoS 1
                # messages after a restart): applying it would rewind the site to an old
                # snapshot, so it is dropped like any duplicate.
                self.duplicate_births += 1
                return [Routed(message, tag, Decision.DROP)], False
            s.last_birth = key
            dropped = [Routed(m, t, Decision.DROP) for m, t in s.held + s.fillers]
            s.held, s.fillers, s.missing = [], [], set()
            s.gap_start = s.gap_deadline = None
            s.tracker.on_birth(
                message.bd_seq, message.seq if birth_last_seq is None else birth_last_seq
            )
            s.awaiting_birth = False
            return [*dropped, Routed(message, tag, Decision.APPLY)], False
        if isinstance(message, Death):
            if s.tracker.bd_seq is None:
                # No birth seen by this process (the aggregator restarted): the store keeps
                # the site's bd_seq and decides whether this will belongs to its session.
                s.awaiting_birth = True
                return [Routed(message, tag, Decision.APPLY)], False
            if not s.tracker.on_death(message.bd_seq):
                self.late_wills += 1
                return [Routed(message, tag, Decision.DROP)], False
            dropped = [Routed(m, t, Decision.DROP) for m, t in s.held + s.fillers]
            s.held, s.fillers, s.missing = [], [], set()
            s.gap_start = s.gap_deadline = None
            return [*dropped, Routed(message, tag, Decision.APPLY)], False
        assert isinstance(message, Events | Heartbeat)
        seq = message.seq
        if s.gap_deadline is not None and seq in s.missing:
            s.missing.discard(seq)
            s.fillers.append((message, tag))
            if s.missing:
                return [Routed(message, tag, Decision.HOLD)], False
            return self._release(s), False
        if s.awaiting_birth:
            return [Routed(message, tag, Decision.DROP)], self._want_rebirth(s, now)
        expected = s.tracker.expected_seq
        verdict, skipped = s.tracker.on_message(seq)
        if verdict is SeqVerdict.NO_SESSION:
            s.awaiting_birth = True
            return [Routed(message, tag, Decision.DROP)], self._want_rebirth(s, now)
        if verdict is SeqVerdict.GAP:
            assert expected is not None
            self.gaps += 1
            if s.gap_deadline is None:
                s.gap_start = expected
                s.gap_deadline = now + self.reorder_window_s
                self._gapped.add(message.site)
            s.missing.update((expected + i) % 256 for i in range(skipped))
            s.held.append((message, tag))
            return [Routed(message, tag, Decision.HOLD)], False
        if s.gap_deadline is not None:
            s.held.append((message, tag))
            return [Routed(message, tag, Decision.HOLD)], False
        return [Routed(message, tag, Decision.APPLY)], False

    def _release(self, s: _Site[T]) -> list[Routed[T]]:
        start = s.gap_start or 0
        fillers = sorted(s.fillers, key=lambda mt: seq_distance(start, _seq(mt[0])))
        released = [*fillers, *s.held]
        s.held, s.fillers = [], []
        s.gap_start = s.gap_deadline = None
        return [Routed(m, t, Decision.APPLY) for m, t in released]

    def committed(self, message: SiteMessage) -> None:
        """The store committed ``message`` (released in order): its events may be acknowledged."""
        if isinstance(message, Events):
            s = self._site(message.site)
            s.ack_upto = max(s.ack_upto, *[e.id for e in message.events])

    def want_rebirth(self, site: str, now: float) -> bool:
        """Whether to ask ``site`` for a rebirth now (at most one per ``rebirth_min_interval_s``,
        shared with the session rules' own requests); True records the request."""
        return self._want_rebirth(self._site(site), now)

    def _want_rebirth(self, s: _Site[T], now: float) -> bool:
        if now - s.last_rebirth < self.rebirth_min_interval_s:
            return False
        s.last_rebirth = now
        return True

    def expire(self, now: float) -> tuple[list[Routed[T]], list[str]]:
        """Close gaps whose window passed: drop what they held; return those sites for rebirth."""
        dropped: list[Routed[T]] = []
        sites: list[str] = []
        for site in sorted(self._gapped):
            s = self._sites[site]
            if s.gap_deadline is None:  # closed by the missing messages, a birth or a death
                self._gapped.discard(site)
                continue
            if now < s.gap_deadline:
                continue
            self._gapped.discard(site)
            dropped += [Routed(m, t, Decision.DROP) for m, t in s.held + s.fillers]
            s.held, s.fillers, s.missing = [], [], set()
            s.gap_start = s.gap_deadline = None
            s.awaiting_birth = True
            s.last_rebirth = now
            sites.append(site)
        return dropped, sites

    def next_deadline(self) -> float | None:
        """The earliest open gap's deadline, if any."""
        deadlines = [d for site in self._gapped if (d := self._sites[site].gap_deadline) is not None]
        return min(deadlines) if deadlines else None

    def ack_upto(self, site: str) -> int:
        """The highest event id the site may delete (0 when none yet)."""
        s = self._sites.get(site)
        return s.ack_upto if s is not None else 0

    def online(self, site: str) -> bool:
        """Whether the site has a live session."""
        s = self._sites.get(site)
        return s is not None and s.tracker.online and not s.awaiting_birth


def _seq(message: SiteMessage) -> int:
    assert isinstance(message, Events | Heartbeat)
    return message.seq
