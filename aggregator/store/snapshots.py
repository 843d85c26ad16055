"""The latest snapshot of each camera: stored from ingest's writer, read by the API.

Bounded by design: one row per (site, camera) that was ever asked for, replaced by each
answer, so a dashboard shows "the last snapshot when one was requested" and the database
never grows with pictures. A failed answer keeps the last good picture and records why
the new one failed, so the API can say so instead of a bare 404.

The write is one small UPSERT on ingest's connection in its writer thread; it commits at
once and never joins the state store's transaction, so the events path is not slowed by
the up to 175 KiB blob beyond that one write.
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlite_utils import Database

from aggregator.days import from_ms, to_ms
from protocol import Command, CommandKind, Kind, Snapshot, encode, site_topic

__all__ = [
    "SnapshotRecord",
    "SnapshotRefused",
    "SnapshotStore",
    "latest_snapshot",
    "migrate_snapshots",
    "snapshot_command",
]

logger = logging.getLogger(__name__)

# An answer is accepted this long after its command: the agent's grab takes seconds, and a
# site that was offline gets the QoS 1 command when it reconnects, up to a few minutes later.
ANSWER_WINDOW_S = 600.0
# Commands awaiting an answer are forgotten past this many (each is a few dozen bytes).
_MAX_EXPECTED = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS camera_snapshots (
    site_id TEXT NOT NULL,
    camera_id TEXT NOT NULL,
    cmd_id TEXT NOT NULL,              -- the request the picture answered
    taken_at_ms INTEGER,               -- edge time of the frame (NULL: no picture yet)
    received_at_ms INTEGER NOT NULL,
    content_type TEXT NOT NULL DEFAULT 'image/jpeg',
    width INTEGER,
    height INTEGER,
    image BLOB,
    error TEXT,                        -- reason code of the latest answer when it failed, else NULL
    error_cmd_id TEXT,
    error_at_ms INTEGER,
    PRIMARY KEY (site_id, camera_id)
) WITHOUT ROWID;
"""

_UPSERT_IMAGE = """
INSERT INTO camera_snapshots (site_id, camera_id, cmd_id, taken_at_ms, received_at_ms, content_type, width, height,
                              image, error, error_cmd_id, error_at_ms)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL)
ON CONFLICT (site_id, camera_id) DO UPDATE SET
    cmd_id = excluded.cmd_id, taken_at_ms = excluded.taken_at_ms, received_at_ms = excluded.received_at_ms,
    content_type = excluded.content_type, width = excluded.width, height = excluded.height, image = excluded.image,
    error = NULL, error_cmd_id = NULL, error_at_ms = NULL
"""

_UPSERT_ERROR = """
INSERT INTO camera_snapshots (site_id, camera_id, cmd_id, received_at_ms, error, error_cmd_id, error_at_ms)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (site_id, camera_id) DO UPDATE SET
    error = excluded.error, error_cmd_id = excluded.error_cmd_id, error_at_ms = excluded.error_at_ms
"""


def migrate_snapshots(db: Database) -> None:
    """Create the latest-snapshot table (listed in aggregator.schema.MIGRATIONS)."""
    db.executescript(_SCHEMA)


@dataclass(frozen=True, slots=True)
class SnapshotRecord:
    """What the API answers about one camera's latest snapshot."""

    site_id: str
    camera_id: str
    cmd_id: str
    taken_at: datetime | None
    received_at: datetime
    content_type: str
    width: int | None
    height: int | None
    image: bytes | None
    error: str | None
    error_cmd_id: str | None
    error_at: datetime | None


class SnapshotRefused(ValueError):
    """An answer that is not stored; ``reason`` is the quarantine reason."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class SnapshotStore:
    """Writes answers; ingest calls :meth:`put` from its writer thread (its own connection).

    Only answers to commands this process sent (:meth:`expect`) are stored: a site cannot
    push pictures nobody asked for into the database (they are quarantined ``unsolicited``).
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        if not db["camera_snapshots"].exists():  # a database opened without migrations
            with db.conn:
                migrate_snapshots(db)
        self.stored = 0
        self.failed = 0
        self._lock = threading.Lock()  # expect() runs on API threads, put() on the writer
        self._expected: dict[str, tuple[str, str, float]] = {}  # cmd_id -> (site, camera, when sent)

    def expect(self, cmd_id: str, site: str, camera_id: str) -> None:
        """Remember a sent command so its answer is accepted."""
        now = time.monotonic()
        with self._lock:
            if len(self._expected) >= _MAX_EXPECTED:
                self._expected = {k: v for k, v in self._expected.items() if now - v[2] < ANSWER_WINDOW_S}
                while len(self._expected) >= _MAX_EXPECTED:
                    self._expected.pop(next(iter(self._expected)))
            self._expected[cmd_id] = (site, camera_id, now)

    def _answered(self, message: Snapshot) -> None:
        with self._lock:
            sent = self._expected.pop(message.cmd_id, None)
        if sent is None or sent[:2] != (message.site, message.camera_id) or (
            time.monotonic() - sent[2] > ANSWER_WINDOW_S
        ):
            raise SnapshotRefused("unsolicited", f"snapshot {message.cmd_id}: no such request is waiting for an answer")

    def put(self, message: Snapshot, received_at: datetime) -> None:
        """Keep ``message`` as the camera's latest answer (one UPSERT, committed at once)."""
        self._answered(message)
        now_ms = to_ms(received_at)
        if message.error is not None:
            params: tuple[object, ...] = (message.site, message.camera_id, message.cmd_id, now_ms, message.error,
                                          message.cmd_id, now_ms)
            sql = _UPSERT_ERROR
            self.failed += 1
            logger.info("%s/%s: snapshot %s failed at the site: %s", message.site, message.camera_id,
                        message.cmd_id, message.error)
        else:
            try:
                image = base64.b64decode(message.data, validate=True)
            except (binascii.Error, ValueError) as err:
                raise SnapshotRefused("invalid", f"snapshot {message.cmd_id}: data is not base64") from err
            if not image.startswith(b"\xff\xd8"):
                raise SnapshotRefused("invalid", f"snapshot {message.cmd_id}: data is not a JPEG")
            assert message.taken_at is not None  # the model requires it with data
            params = (message.site, message.camera_id, message.cmd_id, to_ms(message.taken_at), now_ms,
                      message.content_type, message.width, message.height, image)
            sql = _UPSERT_IMAGE
            self.stored += 1
        with self.db.conn:
            self.db.execute(sql, params)


def latest_snapshot(db: Database, site_id: str, camera_id: str) -> SnapshotRecord | None:
    """The camera's latest answer, or None when no snapshot was ever answered."""
    row = db.execute(
        "SELECT site_id, camera_id, cmd_id, taken_at_ms, received_at_ms, content_type, width, height, image, error, "
        "error_cmd_id, error_at_ms FROM camera_snapshots WHERE site_id = ? AND camera_id = ?",
        [site_id, camera_id],
    ).fetchone()
    if row is None:
        return None
    return SnapshotRecord(
        site_id=row[0], camera_id=row[1], cmd_id=row[2], taken_at=from_ms(row[3]) if row[3] is not None else None,
        received_at=from_ms(row[4]), content_type=row[5], width=row[6], height=row[7],
        image=bytes(row[8]) if row[8] is not None else None, error=row[9], error_cmd_id=row[10],
        error_at=from_ms(row[11]) if row[11] is not None else None,
    )


Publish = Callable[[str, bytes], bool]


def snapshot_command(province: str, district: str, site: str, camera_id: str) -> tuple[str, str, bytes]:
    """Build a ``snapshot`` command: (cmd_id, topic, payload) for the caller to publish with QoS 1."""
    cmd_id = f"snap-{uuid.uuid4().hex[:20]}"
    command = Command(site=site, ts=datetime.now(UTC), cmd_id=cmd_id, command=CommandKind.SNAPSHOT,
                      camera_id=camera_id)
    return cmd_id, site_topic(province, district, site, Kind.CMD), encode(command)
