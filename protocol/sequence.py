"""Reader-side sequence rules, after Sparkplug B 3.0 (sections 5.4, 5.5, 5.9).

* ``bd_seq`` counts connections: the agent adds one per connect, wrapping 255 -> 0, and
  puts the same value in its birth and in the will (death) it registers. A death whose
  ``bd_seq`` differs from the current birth's is a late will of an older session and is
  ignored, so a stale will never kills a fresh session.
* ``seq`` counts messages within a session: birth carries 0 (a split birth 0..n-1),
  every later message the next value, wrapping 255 -> 0. A jump means messages were
  lost; the reader waits a reorder window, then asks for a rebirth.

Pure functions and a small per-site tracker, shared by the aggregator and the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "SEQ_MODULUS",
    "SeqVerdict",
    "SessionTracker",
    "death_matches",
    "next_seq",
    "seq_distance",
]

SEQ_MODULUS = 256


def next_seq(value: int) -> int:
    """The value after ``value`` for seq and bd_seq (wraps 255 -> 0)."""
    return (value + 1) % SEQ_MODULUS


def seq_distance(expected: int, received: int) -> int:
    """How many messages lie between ``expected`` and ``received`` (0 when in order)."""
    return (received - expected) % SEQ_MODULUS


def death_matches(birth_bd_seq: int | None, death_bd_seq: int) -> bool:
    """Whether a death belongs to the session that the current birth opened."""
    return birth_bd_seq is not None and birth_bd_seq == death_bd_seq


class SeqVerdict(StrEnum):
    """What a reader should do with a message's seq."""

    IN_ORDER = "in_order"
    GAP = "gap"  # messages missing before this one: wait the reorder window, then rebirth
    NO_SESSION = "no_session"  # no birth seen yet: ask for a rebirth


@dataclass(slots=True)
class SessionTracker:
    """Tracks one site's session: current bd_seq, expected seq, and open gaps."""

    bd_seq: int | None = None
    expected_seq: int | None = None
    online: bool = False

    def on_birth(self, bd_seq: int, seq: int = 0) -> None:
        """A birth (or one part of it) opens a session."""
        self.bd_seq = bd_seq
        self.expected_seq = next_seq(seq)
        self.online = True

    def on_death(self, bd_seq: int) -> bool:
        """Apply a death; return False (and change nothing) for a late will."""
        if not death_matches(self.bd_seq, bd_seq):
            return False
        self.online = False
        self.expected_seq = None
        return True

    def on_message(self, seq: int) -> tuple[SeqVerdict, int]:
        """Check a non-birth message's seq; return the verdict and how many were skipped."""
        if self.expected_seq is None:
            return SeqVerdict.NO_SESSION, 0
        missing = seq_distance(self.expected_seq, seq)
        # A message from the recent past (a duplicate or a reordered straggler) is not a gap:
        # anything "behind" us by less than half the ring counts as old.
        if missing >= SEQ_MODULUS // 2:
            return SeqVerdict.IN_ORDER, 0
        self.expected_seq = next_seq(seq)
        if missing == 0:
            return SeqVerdict.IN_ORDER, 0
        return SeqVerdict.GAP, missing
