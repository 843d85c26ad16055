"""Build the writer's memory from the database: sites, camera columns, counts, the recent log,
and the replay of transitions committed after the last camera_state write."""

from __future__ import annotations

from sqlite_utils import Database

from aggregator.days import DAY_MS, day_start
from aggregator.states import N_STATES
from aggregator.store import camera_log, registry, retention
from aggregator.store.flush import PendingWrites
from aggregator.store.memory import REASON_BY_VALUE, CameraColumns, SiteRecord, StoreMemory
from aggregator.store.recent import RECENT_DAYS, RecentLog

__all__ = ["NO_FLOOR", "load_memory"]

NO_FLOOR = -(2**62)  # history_from_ms while every day of camera detail is kept


def load_memory(db: Database) -> tuple[StoreMemory, PendingWrites]:
    """The memory as the database holds it, and the writes its replay left pending."""
    checkpoint = int(db.execute("SELECT value FROM store_meta WHERE key='checkpoint_ms'").fetchone()[0])
    sites: dict[int, SiteRecord] = {}
    for srow in registry.iter_sites(db):
        site = SiteRecord(srow)
        sites[site.id] = site
    count = int(db.execute("SELECT COALESCE(MAX(id), 0) FROM camera_inventory").fetchone()[0])
    cols = CameraColumns(count + 2)
    cols.ids = [""] * (count + 1)
    cols.n = count + 1
    cur = db.execute(
        "SELECT id, site, camera_id, state, reason, since_ms, missing, tail_ms, "
        + ", ".join(registry.INVENTORY_COLUMNS) + " FROM cameras ORDER BY id"
    )
    for r in cur:
        cam = r[0]
        cols.state[cam] = r[3]
        cols.reason[cam] = REASON_BY_VALUE.get(r[4], 0)
        cols.since[cam] = r[5]
        cols.site[cam] = r[1]
        cols.missing[cam] = r[6]
        cols.tail[cam] = r[7]
        cols.inv_hash[cam] = hash(tuple(r[8:]))
        cols.ids[cam] = r[2]
        sites[r[1]].cameras[r[2]] = cam
    writes = PendingWrites()
    _replay_states(db, cols, sites, writes)
    counts: dict[str, list[int]] = {}
    for site in sites.values():
        district = counts.setdefault(site.district, [0] * N_STATES)
        for cam in site.cameras.values():
            if cols.state[cam] >= 0:
                district[cols.state[cam]] += 1
    recent = RecentLog(checkpoint - RECENT_DAYS * DAY_MS)
    for row in db.execute(
        "SELECT id, site, at_ms, old_state, new_state FROM transitions WHERE at_ms >= ? ORDER BY id", [recent.horizon]
    ):
        recent.append(*row)
    birth_ms = {
        int(key[9:]): int(value)
        for key, value in db.execute("SELECT key, value FROM store_meta WHERE key LIKE 'birth_ms:%'")
    }
    floor = retention.history_floor(db)
    history_from_ms = NO_FLOOR if floor is None else day_start(floor)
    return StoreMemory(checkpoint, cols, sites, counts, recent, history_from_ms, birth_ms), writes


def _replay_states(db: Database, cols: CameraColumns, sites: dict[int, SiteRecord], writes: PendingWrites) -> None:
    """Bring states read from ``camera_state`` and each site's event high-water mark up to date
    with the transitions committed after their last write (they are written at most every
    STATE_FLUSH_S; transitions every batch). Replaying a transition already reflected changes
    nothing, so ``state_through`` may lag."""
    row = db.execute("SELECT value FROM store_meta WHERE key = 'state_through'").fetchone()
    if row is None:
        return  # a database from before lazy state writes: camera_state is current
    rows = db.execute(
        "SELECT id, camera, at_ms, new_state, reason, site, event_id FROM transitions WHERE id > ? ORDER BY id",
        [int(row[0])],
    ).fetchall()
    last: dict[int, int] = {}  # the time of each camera's last stored row (bounds the walks below)
    for _, cam, at, _, _, site_row, event_id in rows:
        last[cam] = max(at, last.get(cam, int(cols.tail[cam])))
        site = sites.get(site_row)
        if site is not None and event_id is not None and event_id > site.last_event_id:
            site.last_event_id = event_id  # written with the state, at most every STATE_FLUSH_S
            writes.dirty_sites.add(site.id)
    for _, cam, at, new, reason_text, _, _ in rows:
        reason = REASON_BY_VALUE.get(reason_text, 0)
        if at >= cols.tail[cam]:
            if (cols.state[cam], cols.reason[cam]) != (new, reason):
                cols.state[cam], cols.reason[cam], cols.since[cam] = new, reason, at
            cols.tail[cam] = at
        elif (at >= cols.since[cam]) == (new != cols.state[cam]):  # a backfill that moves the run's start
            nxt = camera_log.first_after(db, cam, at, last[cam])
            next_at = nxt[0] if nxt else at
            if new != cols.state[cam]:
                cols.since[cam] = next_at
            elif next_at == cols.since[cam]:
                cols.since[cam] = at
        writes.dirty.add(cam)
