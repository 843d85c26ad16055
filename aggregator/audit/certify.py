"""A province certifies its audit as complete: a named officer, a time, the figures frozen.

The snapshot holds the province's completeness and accuracy figures, its reconciliation classes,
its risk coverage and its repair-plan totals at that moment, and is never rewritten. A digest of
the province's register (every declared camera's key, version and content hash) and of its
operators' decisions is kept beside it: when the register changes afterwards (an edit, an
import, an override) the certification reads **changed since certification**, with the audit
trail's lines written since, while the snapshot still shows what was certified.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from aggregator.audit.completeness import completeness
from aggregator.audit.plan import plan_totals
from aggregator.audit.plan_store import Certification, latest_certification, save_certification
from aggregator.audit.risk_store import province_coverage
from aggregator.audit.store import current_counts

__all__ = ["CertificationState", "certify", "certification_state", "changed_since", "figures", "register_digest"]


def register_digest(db: Database, province: str) -> str:
    """A hash of the province's register and its operators' decisions (changes with any edit)."""
    digest = hashlib.sha256()
    for key, version, row_hash in db.conn.execute(
            "SELECT key, version, row_hash FROM audit_declared WHERE province = ? ORDER BY key", (province,)):
        digest.update(f"{key}\x1f{version}\x1f{row_hash}\x1e".encode())
    prefix = f"{province}|"
    for declared, discovered, action, note in db.conn.execute(
            "SELECT declared_key, discovered_key, action, note FROM audit_overrides "
            "WHERE substr(declared_key, 1, ?) = ? ORDER BY declared_key, discovered_key", (len(prefix), prefix)):
        digest.update(f"o\x1f{declared}\x1f{discovered}\x1f{action}\x1f{note}\x1e".encode())
    return digest.hexdigest()


def _last_history_id(db: Database, province: str) -> int:
    row = db.conn.execute("SELECT max(id) FROM audit_history WHERE province = ?", (province,)).fetchone()
    return int(row[0] or 0)


def figures(db: Database, province: str, now_ms: int) -> dict[str, Any]:
    """The province's audit figures now (what a certification freezes)."""
    found = completeness(db, [province])
    classes = current_counts(db, [province]).get(province, {})
    cover = province_coverage(db, province, now_ms=now_ms)
    totals = plan_totals(db, [province], now_ms=now_ms).get(province)
    return {
        "completeness": found[0].as_dict() if found else None,
        "classes": classes,
        "risk_points": len(cover),
        "uncovered": sorted(c.point.name for c in cover if not c.covered),
        "repair_plan": totals.as_dict() if totals else None,
    }


def certify(db: Database, province: str, officer: str, *, by: str, at: str, note: str, now_ms: int) -> int:
    """Freeze the province's figures as certified by ``officer``; answer the certification's id."""
    snapshot = figures(db, province, now_ms)
    snapshot["history_id"] = _last_history_id(db, province)
    return save_certification(db, province, officer, by=by, at=at, note=note,
                              digest=register_digest(db, province), snapshot=snapshot)  # fmt: skip


def changed_since(db: Database, cert: Certification) -> bool:
    """Whether the province's register or decisions changed after ``cert`` (its digest differs, or
    the audit trail has a line written since): the yes/no of :func:`certification_state` without
    its figures, for a table of every province (the committee pack)."""
    if register_digest(db, cert.province) != cert.digest:
        return True
    since = int(cert.snapshot.get("history_id", 0))
    return db.conn.execute("SELECT 1 FROM audit_history WHERE province = ? AND id > ? LIMIT 1",
                           (cert.province, since)).fetchone() is not None  # fmt: skip


@dataclass(frozen=True)
class CertificationState:
    """The latest certification, whether the register changed since, and what changed."""

    certification: Certification | None
    changed: bool
    changes: list[dict[str, Any]]
    current: dict[str, Any]


def certification_state(db: Database, province: str, now_ms: int, limit: int = 50) -> CertificationState:
    """The province's latest certification compared with its register now."""
    current = figures(db, province, now_ms)
    cert = latest_certification(db, province)
    if cert is None:
        return CertificationState(None, False, [], current)
    changed = changed_since(db, cert)
    since = int(cert.snapshot.get("history_id", 0))
    changes = [{"key": key, "at": at, "by": by_user, "action": action, "after": json.loads(after)}
               for key, at, by_user, action, after in db.conn.execute(
                   "SELECT declared_key, at, by_user, action, after FROM audit_history WHERE province = ? AND id > ? "
                   "ORDER BY id DESC LIMIT ?", (province, since, limit))]  # fmt: skip
    return CertificationState(cert, changed, changes, current)
