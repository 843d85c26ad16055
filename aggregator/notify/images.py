"""Links to a camera's last snapshot that a chat service can fetch without a camwatch token.

LINE shows an image message by fetching its HTTPS URL itself, with no way to send our
bearer token. Each link is a capability: a random 128-bit token naming one camera,
stored with its expiry (``line.image_link_ttl_s``); the API serves that camera's latest
snapshot for a live token and answers 404 for anything else. Links are only made when the
dashboard's address (``notify.base_url``) is HTTPS (LINE refuses others) and the camera
has a picture.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlite_utils import Database

from aggregator.store.snapshots import latest_snapshot
from aggregator.timetext import iso

__all__ = ["IMAGE_PATH", "ImageLinks", "LinkedImage", "linked_image", "migrate_image_links"]

IMAGE_PATH = "/api/v1/alert-images/"
_TABLE = "alert_image_links"


def migrate_image_links(db: Database) -> None:
    """Create the image link table."""
    db.executescript(
        f"""
        CREATE TABLE IF NOT EXISTS {_TABLE} (
            token TEXT PRIMARY KEY,
            site_id TEXT NOT NULL,
            camera_id TEXT NOT NULL,
            expires_at TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS {_TABLE}_expiry ON {_TABLE}(expires_at);
        """
    )


@dataclass(frozen=True, slots=True)
class LinkedImage:
    """What a live link serves."""

    content_type: str
    image: bytes


class ImageLinks:
    """Make links on the fault worker's connection (expired ones are dropped as new ones are made)."""

    def __init__(self, db: Database, base_url: str, ttl_s: float) -> None:
        self._db = db
        self._base = base_url.rstrip("/")
        self._ttl = timedelta(seconds=ttl_s)

    def link(self, site_id: str, camera_id: str, now: datetime) -> str | None:
        """A fetchable link to the camera's latest snapshot, or None (no picture, or not HTTPS)."""
        if not self._base.startswith("https://"):
            return None
        record = latest_snapshot(self._db, site_id, camera_id)
        if record is None or record.image is None:
            return None
        token = secrets.token_urlsafe(16)
        with self._db.conn:
            self._db.execute(f"DELETE FROM {_TABLE} WHERE expires_at < ?", [iso(now)])
            self._db.execute(
                f"INSERT INTO {_TABLE} (token, site_id, camera_id, expires_at) VALUES (?, ?, ?, ?)",
                [token, site_id, camera_id, iso(now + self._ttl)],
            )
        return f"{self._base}{IMAGE_PATH}{token}.jpg"


def linked_image(db: Database, token: str, now: datetime) -> LinkedImage | None:
    """The picture a live link names, or None (unknown, expired, or no picture)."""
    row = db.execute(
        f"SELECT site_id, camera_id FROM {_TABLE} WHERE token = ? AND expires_at >= ?", [token, iso(now)]
    ).fetchone()
    if row is None:
        return None
    record = latest_snapshot(db, str(row[0]), str(row[1]))
    if record is None or record.image is None:
        return None
    return LinkedImage(record.content_type, record.image)
