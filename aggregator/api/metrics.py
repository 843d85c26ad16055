"""Prometheus text exposition: ingest rate and lag, quarantine per reason, cameras per state per province.

Written by hand (the format is a few lines of text) so the aggregator needs no client library.
:class:`IngestMeter` listens to committed batches; :func:`render` writes what the route read.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from aggregator.states import N_STATES, STATE_NAMES
from aggregator.store.records import ApplyResult

__all__ = ["IngestMeter", "render"]



class IngestMeter:
    """Counters of what the store committed (an ``on_applied`` listener)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.batches = 0
        self.messages = 0
        self.statuses = 0
        self.transitions = 0
        self.duplicates = 0
        self.rejected = 0
        self.last_lag_s = 0.0

    def on_applied(self, result: ApplyResult) -> None:
        """Count one committed batch."""
        with self._lock:
            self.batches += 1
            self.messages += result.messages
            self.statuses += result.statuses
            self.transitions += len(result.transitions)
            self.duplicates += result.duplicates
            self.rejected += len(result.rejected)
            self.last_lag_s = result.lag_s

    def as_dict(self) -> dict[str, float]:
        """The counters as a plain dict (for the JSON counters endpoint)."""
        with self._lock:
            return {
                "batches": self.batches, "messages": self.messages, "statuses": self.statuses,
                "transitions": self.transitions, "duplicates": self.duplicates, "rejected": self.rejected,
                "last_lag_s": self.last_lag_s,
            }  # fmt: skip


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _family(name: str, kind: str, help_text: str, samples: Iterable[tuple[dict[str, str], float]]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        inner = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
        lines.append(f"{name}{{{inner}}} {value}" if inner else f"{name} {value}")
    return lines


def render(
    district_counts: dict[str, list[int]], meter: IngestMeter | None, *, sites: tuple[int, int],
    quarantined: dict[str, int], ingest: dict[str, float] | None = None, feed_clients: int = 0,
) -> str:  # fmt: skip
    """The whole exposition: ``sites`` is (all, online), ``quarantined`` refusals per reason."""
    per_province: dict[str, list[int]] = {}
    for district, counts in district_counts.items():
        acc = per_province.setdefault(district[:2], [0] * N_STATES)
        for i, n in enumerate(counts):
            acc[i] += n
    lines = _family(
        "camwatch_cameras", "gauge", "Cameras per state per province now.",
        (({"province": p, "state": STATE_NAMES[i]}, n) for p, c in sorted(per_province.items()) for i, n in enumerate(c)),
    )  # fmt: skip
    total, online = sites
    lines += _family("camwatch_sites", "gauge", "Sites, by whether they are online.",
                     [({"online": "true"}, online), ({"online": "false"}, total - online)])  # fmt: skip
    lines += _family("camwatch_quarantined_total", "counter", "Payloads refused by ingest, per reason.",
                     (({"reason": r}, n) for r, n in sorted(quarantined.items())))  # fmt: skip
    if meter is not None:
        m = meter.as_dict()
        for key, help_text in (("messages", "Messages committed."), ("statuses", "Camera statuses committed."),
                               ("transitions", "State transitions committed."), ("batches", "Store transactions."),
                               ("duplicates", "Duplicate events dropped.")):  # fmt: skip
            lines += _family(f"camwatch_ingest_{key}_total", "counter", help_text, [({}, m[key])])
        lines += _family("camwatch_ingest_lag_seconds", "gauge",
                         "Commit time minus receive time of the oldest message of the last batch.", [({}, m["last_lag_s"])])  # fmt: skip
    for key, value in sorted((ingest or {}).items()):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            lines += _family(f"camwatch_mqtt_{key}", "gauge", f"MQTT ingest: {key}.", [({}, value)])
    lines += _family("camwatch_feed_clients", "gauge", "Live feed clients connected.", [({}, feed_clients)])
    return "\n".join(lines) + "\n"
