"""Completeness and accuracy of each province's register: the seed's own checks, for the committee.

Completeness: the share of declared cameras whose register line gives a position, a serial, an
owning agency and a known status (working or broken, not "unknown"); the province's score is
the mean of the four shares. Accuracy: the share of declared cameras an agent has seen (paired
by the latest reconciliation: verified, declared but broken, unconfirmed, moved, replaced), the
share verified (seen and up), the ghosts (declared, never seen) and the unregistered cameras
(seen, not declared). The national table ranks provinces by completeness, then by the share
seen by an agent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlite_utils import Database

from aggregator.audit.reconcile import Class
from aggregator.audit.store import current_counts
from aggregator.store.queries import in_provinces

__all__ = ["SEEN_CLASSES", "Completeness", "completeness", "rank"]

# Classes of a declared camera that an agent has seen.
SEEN_CLASSES = frozenset({Class.VERIFIED.value, Class.BROKEN.value, Class.UNCONFIRMED.value,
                          Class.MOVED.value, Class.REPLACED.value})


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True, slots=True)
class Completeness:
    """One province's register, as the committee judges it."""

    province: str
    name_th: str
    name_en: str
    declared: int
    with_position: int
    with_serial: int
    with_agency: int
    with_status: int
    seen: int
    verified: int
    ghosts: int
    unregistered: int
    reconciled: bool

    @property
    def score(self) -> float | None:
        """Mean of the four completeness shares (None without a declared camera)."""
        if not self.declared:
            return None
        parts = (self.with_position, self.with_serial, self.with_agency, self.with_status)
        return round(sum(parts) / (4 * self.declared), 4)

    def as_dict(self) -> dict[str, Any]:
        """Counts, shares and the score as plain data."""
        out = asdict(self)
        d = self.declared
        out.update(position_share=_share(self.with_position, d), serial_share=_share(self.with_serial, d),
                   agency_share=_share(self.with_agency, d), status_share=_share(self.with_status, d),
                   seen_share=_share(self.seen, d) if self.reconciled else None,
                   verified_share=_share(self.verified, d) if self.reconciled else None,
                   score=self.score)  # fmt: skip
        return out


def completeness(db: Database, provinces: Sequence[str] | None) -> list[Completeness]:
    """Every province of ``provinces`` (None = all 77) with its register's completeness and
    accuracy, ranked (see :func:`rank`); provinces without a register come last."""
    where, params = in_provinces("province", provinces)
    declared: dict[str, tuple[int, int, int, int, int]] = {}
    for province, n, pos, serial, agency, status in db.conn.execute(
        "SELECT province, count(*), sum(lat IS NOT NULL AND lon IS NOT NULL), sum(serial != ''), "
        f"sum(trim(agency) != ''), sum(status != 'unknown') FROM audit_declared WHERE {where} "
        "GROUP BY province", params):  # fmt: skip
        declared[province] = (n, pos or 0, serial or 0, agency or 0, status or 0)
    classes = current_counts(db, provinces)
    names = {code: (th, en) for code, th, en in db.conn.execute(
        f"SELECT code, name_th, name_en FROM provinces WHERE {in_provinces('code', provinces)[0]}", params)}
    # Every province in view answers, those that declared nothing yet last: the committee sees who
    # has not sent a register.
    codes = set(declared) | set(classes) | set(names)
    out = []
    for code in codes:
        n, pos, serial, agency, status = declared.get(code, (0, 0, 0, 0, 0))
        counts = classes.get(code, {})
        th, en = names.get(code, (code, code))
        out.append(Completeness(
            province=code, name_th=th, name_en=en, declared=n, with_position=pos, with_serial=serial,
            with_agency=agency, with_status=status, seen=sum(v for k, v in counts.items() if k in SEEN_CLASSES),
            verified=counts.get(Class.VERIFIED.value, 0), ghosts=counts.get(Class.GHOST.value, 0),
            unregistered=counts.get(Class.UNREGISTERED.value, 0), reconciled=bool(counts)))  # fmt: skip
    return rank(out)


def rank(rows: Sequence[Completeness]) -> list[Completeness]:
    """Most complete first; ties by the share seen by an agent, then fewer ghosts, then code."""
    def key(c: Completeness) -> tuple[float, float, int, str]:
        seen = c.seen / c.declared if c.declared and c.reconciled else -1.0
        return (-(c.score if c.score is not None else -1.0), -seen, c.ghosts, c.province)

    return sorted(rows, key=key)
