"""Open the aggregator's SQLite database (WAL, foreign keys) and apply ordered, named migrations.

One writer (the :class:`~aggregator.store.state.StateStore`) owns camera state; readers (API,
reports) open their own connections (SQLite WAL lets them read while the writer commits).
Every schema change is a named function applied once, in order, and recorded in the
``schema_migrations`` table.

Each room owns its tables' migrations (the store's are :func:`migrate_core`,
:func:`migrate_core_v2`, :func:`aggregator.store.snapshots.migrate_snapshots`); the one ordered
list of every room's migrations is assembled above the rooms, in :mod:`aggregator.schema`, whose
``open_db`` is what processes and tests call. This module never imports a higher room: it
only connects (:func:`connect`) and applies a list it is given (:func:`apply_migrations`).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from aggregator.days import DAY_MS, OFFSET_MS
from aggregator.states import COUNT_COLUMNS, MS_COLUMNS

__all__ = [
    "SQLITE_BUSY_TIMEOUT_S",
    "Migration",
    "apply_migrations",
    "applied_migrations",
    "connect",
    "migrate_core",
    "migrate_core_v2",
    "migration_set",
]

logger = logging.getLogger(__name__)

# A reader may wait this long for the writer's checkpoint; the writer commits a batch in
# well under a second, so 10 s only expires when something is badly stuck.
SQLITE_BUSY_TIMEOUT_S = 10.0
# The set name every applied migration is recorded under (existing databases hold it).
_SET_NAME = "camwatch"

Migration = Callable[[Database], None]


def migrate_core(db: Database) -> None:
    """Create the core tables: geography, registry, current state, transitions, daily totals."""
    db.executescript(_CORE_SCHEMA)


def migrate_core_v2(db: Database) -> None:
    """Partition the hot indexes by Bangkok day, so a change costs no random page at national scale.

    At a million cameras every change used to dirty a random page of two big B-trees: the
    transitions index on (camera, at_ms) and today's row of camera_day keyed (camera, day).
    Keyed by day first, today's changes land in today's small part of each index (measured on
    the 1M-camera bench database: 50k -> 560k transition inserts/s). A camera's rows are then
    read day by day (aggregator.store.camera_log). camera_day holds complete days only: the midnight
    roll writes each camera's day from its transitions (aggregator.store.midnight), so rows of days
    not yet rolled are dropped here. site_day and province_day are keyed by day first too.
    Rebuilding a national database takes about 40 s once.
    """
    conn = db.conn
    conn.execute("ALTER TABLE transitions ADD COLUMN day INTEGER NOT NULL DEFAULT -1")
    conn.execute(f"UPDATE transitions SET day = (at_ms + {OFFSET_MS}) / {DAY_MS}")
    conn.execute("DROP INDEX IF EXISTS transitions_camera")
    conn.execute("CREATE INDEX transitions_day ON transitions(day, camera, at_ms)")
    conn.execute(_CAMERA_DAY_V2)
    conn.execute(
        "INSERT INTO camera_day_v2 SELECT day, camera, up_ms, degraded_ms, down_ms, unknown_ms, maint_ms "
        "FROM camera_day WHERE day < COALESCE((SELECT (value + ?) / ? FROM store_meta "
        "WHERE key = 'checkpoint_ms'), 1 << 40) ORDER BY day, camera", [OFFSET_MS, DAY_MS]
    )
    conn.execute("DROP TABLE camera_day")
    conn.execute("ALTER TABLE camera_day_v2 RENAME TO camera_day")
    for table, key, kind in (("site_day", "site", "INTEGER"), ("province_day", "province", "TEXT")):
        # Every batch adds to today's row of each site touched: keyed by day first they share a
        # few pages instead of one page per site; (key, day) finds one area's days.
        conn.execute(_AREA_DAY_V2.format(table=f"{table}_v2", key=key, kind=kind))
        conn.execute(f"INSERT INTO {table}_v2 SELECT day, {key}, {', '.join(_AREA_COLS)} FROM {table} ORDER BY day, {key}")
        conn.execute(f"DROP TABLE {table}")
        conn.execute(f"ALTER TABLE {table}_v2 RENAME TO {table}")
        conn.execute(f"CREATE INDEX {table}_{key} ON {table}({key}, day)")


_CAMERA_DAY_V2 = """
CREATE TABLE camera_day_v2 (
    day INTEGER NOT NULL,
    camera INTEGER NOT NULL,
    up_ms INTEGER NOT NULL DEFAULT 0,
    degraded_ms INTEGER NOT NULL DEFAULT 0,
    down_ms INTEGER NOT NULL DEFAULT 0,
    unknown_ms INTEGER NOT NULL DEFAULT 0,
    maint_ms INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, camera)
) WITHOUT ROWID;
"""


_AREA_COLS = MS_COLUMNS + COUNT_COLUMNS
_AREA_DAY_V2 = """
CREATE TABLE {table} (
    day INTEGER NOT NULL,
    {key} {kind} NOT NULL,
""" + "".join(f"    {c} INTEGER NOT NULL DEFAULT 0,\n" for c in _AREA_COLS) + """    PRIMARY KEY (day, {key})
) WITHOUT ROWID
"""


class _Migrations(Migrations):
    """sqlite-utils migrations recorded in ``schema_migrations`` (the name the team agreed)."""

    migrations_table = "schema_migrations"


def migration_set(migrations: Sequence[tuple[str, Migration]]) -> Migrations:
    """The sqlite-utils migration set of ``(name, function)`` pairs, in their order."""
    found = _Migrations(_SET_NAME)
    for name, fn in migrations:
        found(name=name)(fn)
    return found


def connect(path: str | Path, *, page_size: int | None = None) -> Database:
    """Open (creating if needed) the database at ``path`` without touching its schema.

    ``path`` may be ``":memory:"`` for unit tests. The connection may be used from another
    thread than the one that opened it (the writer thread), but only by one at a time.
    """
    conn = sqlite3.connect(str(path), timeout=SQLITE_BUSY_TIMEOUT_S, check_same_thread=False)
    if page_size is not None:  # only takes effect when the file is created
        conn.execute(f"PRAGMA page_size = {int(page_size)}")
    db = Database(conn)
    if str(path) != ":memory:":
        db.enable_wal()
    # NORMAL is durable across process crashes in WAL mode (only an OS crash can lose the
    # last commits), and several times faster than FULL for the batched writer.
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA temp_store=MEMORY")
    db.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache per connection
    return db


def apply_migrations(db: Database, migrations: Sequence[tuple[str, Migration]], *, label: str = "database") -> None:
    """Apply those of ``migrations`` not applied yet, in order (never reorder or rename one)."""
    found = migration_set(migrations)
    pending = found.pending(db)
    if pending:
        logger.info("%s: applying migrations %s", label, [m.name for m in pending])
    found.apply(db)


def applied_migrations(db: Database) -> list[str]:
    """Names of the migrations applied to ``db``, in the order they were applied."""
    return [m.name for m in _Migrations(_SET_NAME).applied(db)]


_CORE_SCHEMA = """
CREATE TABLE IF NOT EXISTS provinces (
    code TEXT PRIMARY KEY,
    name_th TEXT NOT NULL,
    name_en TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS districts (
    code TEXT PRIMARY KEY,
    province TEXT NOT NULL REFERENCES provinces(code),
    name_th TEXT NOT NULL,
    name_en TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS districts_province ON districts(province);

-- One row per enrolled or reporting site. Times are integer milliseconds since the epoch (UTC).
CREATE TABLE IF NOT EXISTS sites (
    id INTEGER PRIMARY KEY,
    site_id TEXT NOT NULL UNIQUE,
    province TEXT NOT NULL REFERENCES provinces(code),
    district TEXT NOT NULL REFERENCES districts(code),
    name TEXT NOT NULL DEFAULT '',
    lat REAL,
    lon REAL,
    agency TEXT NOT NULL DEFAULT '',
    agent_version TEXT NOT NULL DEFAULT '',
    bd_seq INTEGER,
    last_event_id INTEGER NOT NULL DEFAULT 0,
    first_seen_ms INTEGER,
    last_seen_ms INTEGER,
    heartbeat_interval_s INTEGER NOT NULL DEFAULT 60,
    online INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS sites_province ON sites(province, district);
CREATE INDEX IF NOT EXISTS sites_district ON sites(district);
CREATE INDEX IF NOT EXISTS sites_agency ON sites(agency);

-- Cameras are never deleted: one absent from its site's birth gets missing=1.
-- Read them through the view ``cameras`` (inventory + current state); the store writes the
-- two tables. state is 0 up, 1 degraded, 2 down, 3 unknown, 4 maintenance (aggregator.states.STATES).
CREATE TABLE IF NOT EXISTS camera_inventory (
    id INTEGER PRIMARY KEY,
    site INTEGER NOT NULL REFERENCES sites(id),
    camera_id TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    maker TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '',
    firmware TEXT NOT NULL DEFAULT '',
    serial TEXT NOT NULL DEFAULT '',
    hardware_id TEXT NOT NULL DEFAULT '',
    mac TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    onvif_port INTEGER,
    video_source TEXT NOT NULL DEFAULT '',
    stream_uri TEXT NOT NULL DEFAULT '',
    snapshot_uri TEXT NOT NULL DEFAULT '',
    width INTEGER,
    height INTEGER,
    fps REAL,
    codec TEXT NOT NULL DEFAULT '',
    default_password INTEGER,
    clock_offset_s REAL,
    lat REAL,
    lon REAL,
    agency TEXT NOT NULL DEFAULT '',
    first_seen_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    missing INTEGER NOT NULL DEFAULT 0,
    UNIQUE (site, camera_id)
);
CREATE INDEX IF NOT EXISTS cameras_camera_id ON camera_inventory(camera_id);
CREATE INDEX IF NOT EXISTS cameras_maker ON camera_inventory(maker, firmware);

-- Current state, narrow and unindexed so the hot path rewrites ~40 bytes per change
-- (a wide, indexed cameras row costs four times as much). tail_ms: time of the camera's
-- last transitions row, where its open interval starts.
CREATE TABLE IF NOT EXISTS camera_state (
    camera INTEGER PRIMARY KEY REFERENCES camera_inventory(id),
    state INTEGER NOT NULL,
    reason TEXT NOT NULL DEFAULT 'none',
    since_ms INTEGER NOT NULL,
    tail_ms INTEGER NOT NULL
);
CREATE VIEW IF NOT EXISTS cameras AS
    SELECT c.*, s.state, s.reason, s.since_ms, s.tail_ms
    FROM camera_inventory c JOIN camera_state s ON s.camera = c.id;
-- Lets tools and benches that seed data INSERT INTO cameras as if it were one table.
CREATE TRIGGER IF NOT EXISTS cameras_insert INSTEAD OF INSERT ON cameras BEGIN
    INSERT INTO camera_inventory(id, site, camera_id, name, maker, model, firmware, serial, hardware_id, mac,
        address, onvif_port, video_source, stream_uri, snapshot_uri, width, height, fps, codec,
        default_password, clock_offset_s, lat, lon, agency, first_seen_ms, last_seen_ms, missing)
    VALUES (NEW.id, NEW.site, NEW.camera_id, COALESCE(NEW.name, ''), COALESCE(NEW.maker, ''),
        COALESCE(NEW.model, ''), COALESCE(NEW.firmware, ''), COALESCE(NEW.serial, ''),
        COALESCE(NEW.hardware_id, ''), COALESCE(NEW.mac, ''), COALESCE(NEW.address, ''), NEW.onvif_port,
        COALESCE(NEW.video_source, ''), COALESCE(NEW.stream_uri, ''), COALESCE(NEW.snapshot_uri, ''),
        NEW.width, NEW.height, NEW.fps, COALESCE(NEW.codec, ''), NEW.default_password, NEW.clock_offset_s,
        NEW.lat, NEW.lon, COALESCE(NEW.agency, ''), COALESCE(NEW.first_seen_ms, 0),
        COALESCE(NEW.last_seen_ms, COALESCE(NEW.first_seen_ms, 0)), COALESCE(NEW.missing, 0));
    INSERT INTO camera_state(camera, state, reason, since_ms, tail_ms)
    VALUES (COALESCE(NEW.id, last_insert_rowid()), COALESCE(NEW.state, 3), COALESCE(NEW.reason, 'none'),
        COALESCE(NEW.since_ms, 0), COALESCE(NEW.tail_ms, NEW.since_ms, 0));
END;

-- Every state change of every camera, at its edge time. old_state -1: the camera did not
-- exist before. Kept consistent on backfill (the next row's old_state is rewritten).
CREATE TABLE IF NOT EXISTS transitions (
    id INTEGER PRIMARY KEY,
    camera INTEGER NOT NULL,
    site INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    old_state INTEGER NOT NULL,
    new_state INTEGER NOT NULL,
    reason TEXT NOT NULL,
    event_id INTEGER,
    historical INTEGER NOT NULL DEFAULT 0,
    received_ms INTEGER NOT NULL
);
-- core_v2 replaces this index with transitions_day (day, camera, at_ms) and adds the day column.
CREATE INDEX IF NOT EXISTS transitions_camera ON transitions(camera, at_ms);
-- Covering index for the partial-day rollups: the range scan never touches the table.
CREATE INDEX IF NOT EXISTS transitions_at ON transitions(at_ms, site, old_state, new_state);

-- Milliseconds per camera per Asia/Bangkok day. As migrated by core_v2 (migrate_core_v2): keyed
-- (day, camera), complete days only (before store_meta.checkpoint_ms), written by the midnight roll.
CREATE TABLE IF NOT EXISTS camera_day (
    camera INTEGER NOT NULL,
    day INTEGER NOT NULL,
    up_ms INTEGER NOT NULL DEFAULT 0,
    degraded_ms INTEGER NOT NULL DEFAULT 0,
    down_ms INTEGER NOT NULL DEFAULT 0,
    unknown_ms INTEGER NOT NULL DEFAULT 0,
    maint_ms INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (camera, day)
) WITHOUT ROWID;

-- Complete per-site totals for every day before the checkpoint (store_meta.checkpoint_ms),
-- plus the number of cameras in each state at the day's start (for partial-day maths).
CREATE TABLE IF NOT EXISTS site_day (
    site INTEGER NOT NULL,
    day INTEGER NOT NULL,
    up_ms INTEGER NOT NULL DEFAULT 0,
    degraded_ms INTEGER NOT NULL DEFAULT 0,
    down_ms INTEGER NOT NULL DEFAULT 0,
    unknown_ms INTEGER NOT NULL DEFAULT 0,
    maint_ms INTEGER NOT NULL DEFAULT 0,
    up_n INTEGER NOT NULL DEFAULT 0,
    degraded_n INTEGER NOT NULL DEFAULT 0,
    down_n INTEGER NOT NULL DEFAULT 0,
    unknown_n INTEGER NOT NULL DEFAULT 0,
    maint_n INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site, day)
) WITHOUT ROWID;

-- The same per province, so national rollups sum 77 rows a day instead of 15,600.
CREATE TABLE IF NOT EXISTS province_day (
    province TEXT NOT NULL,
    day INTEGER NOT NULL,
    up_ms INTEGER NOT NULL DEFAULT 0,
    degraded_ms INTEGER NOT NULL DEFAULT 0,
    down_ms INTEGER NOT NULL DEFAULT 0,
    unknown_ms INTEGER NOT NULL DEFAULT 0,
    maint_ms INTEGER NOT NULL DEFAULT 0,
    up_n INTEGER NOT NULL DEFAULT 0,
    degraded_n INTEGER NOT NULL DEFAULT 0,
    down_n INTEGER NOT NULL DEFAULT 0,
    unknown_n INTEGER NOT NULL DEFAULT 0,
    maint_n INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (province, day)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS store_meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS api_tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    provinces TEXT NOT NULL DEFAULT '',
    created_ms INTEGER NOT NULL,
    revoked_ms INTEGER
);
"""
