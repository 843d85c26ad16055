"""Where a site is: its registered place (name, agency, address, position, phone) and its enrolment.

A site's place is the centre's record, written at enrolment (``enrol-site``) and by an
administrator's edit (``PATCH /api/v1/sites/{site_id}``), never by the agent: the writer's
batched site write (:func:`aggregator.store.registry.update_site`) only fills a blank the
centre left with what the agent's birth says. ``enrolled_ms`` is when the site was enrolled;
``first_seen_ms``/``last_seen_ms`` stay NULL until its first message, so "enrolled, never
connected" is ``first_seen_ms IS NULL`` (:data:`NEVER_CONNECTED`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

__all__ = ["NEVER_CONNECTED", "Place", "migrate_places", "set_place"]

# SQL condition (on ``sites s``) of a site that was enrolled and has never sent a message.
NEVER_CONNECTED = "s.first_seen_ms IS NULL"


@dataclass(frozen=True, slots=True)
class Place:
    """A site's registered place; lat and lon are both set or both None."""

    name: str = ""
    agency: str = ""
    address: str = ""
    lat: float | None = None
    lon: float | None = None
    phone: str = ""


def migrate_places(db: Database) -> None:
    """Add the place and enrolment columns to ``sites`` (existing sites: enrolled when first seen)."""
    for column, decl in (
        ("address", "TEXT NOT NULL DEFAULT ''"),
        ("phone", "TEXT NOT NULL DEFAULT ''"),
        ("enrolled_ms", "INTEGER"),
        ("place_by", "TEXT NOT NULL DEFAULT ''"),
        ("place_ms", "INTEGER"),
    ):
        db.execute(f"ALTER TABLE sites ADD COLUMN {column} {decl}")
    db.execute("UPDATE sites SET enrolled_ms = first_seen_ms")
    db.execute("CREATE INDEX IF NOT EXISTS sites_never_connected ON sites(enrolled_ms) WHERE first_seen_ms IS NULL")


def set_place(db: Database, site_id: str, place: Place, *, by: str, at_ms: int) -> bool:
    """Write ``site_id``'s place, recording who and when; False when there is no such site."""
    cur = db.execute(
        "UPDATE sites SET name=?, agency=?, address=?, lat=?, lon=?, phone=?, place_by=?, place_ms=? "
        "WHERE site_id=?",
        [place.name, place.agency, place.address, place.lat, place.lon, place.phone, by, at_ms, site_id],
    )
    return cur.rowcount > 0
