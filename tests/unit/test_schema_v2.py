"""core_v2: transitions and camera_day keyed by day first; a v1 database keeps its history."""

from __future__ import annotations

from pathlib import Path

from aggregator.days import day_of, day_start
from aggregator.schema import all_migrations, open_db
from aggregator.store import camera_log
from aggregator.store.db import applied_migrations

DAY = day_of(1_790_000_000_000)
T0 = day_start(DAY)
HOUR = 3_600_000


def test_v1_database_is_partitioned_by_day_without_losing_history(tmp_path: Path) -> None:
    db = open_db(tmp_path / "v1.db", migrate=False)
    all_migrations().apply(db, stop_before="core_v2")
    assert "core_v2" not in applied_migrations(db)
    db.execute("PRAGMA foreign_keys = OFF")  # no geography needed for this check
    db.execute("INSERT INTO sites(id, site_id, province, district) VALUES (1, 's1', '10', '1001')")
    for cam in (1, 2):
        db.execute("INSERT INTO cameras(id, site, camera_id, first_seen_ms, state, since_ms) VALUES (?, 1, ?, ?, 0, ?)",
                   [cam, f"c{cam}", T0, T0])  # fmt: skip
    rows = [(1, T0 - HOUR, -1, 0), (1, T0 + 5 * HOUR, 0, 2), (1, T0 + DAY * 0 + 30 * HOUR, 2, 0), (2, T0 + HOUR, -1, 0)]
    for cam, at, old, new in rows:
        db.execute("INSERT INTO transitions(camera, site, at_ms, old_state, new_state, reason, received_ms) "
                   "VALUES (?, 1, ?, ?, ?, 'none', ?)", [cam, at, old, new, at])  # fmt: skip
    db.execute("INSERT INTO store_meta(key, value) VALUES ('checkpoint_ms', ?)", [day_start(DAY + 1)])
    # a complete day (before the checkpoint) and the old convention's partial row of the current day
    db.execute("INSERT INTO camera_day(camera, day, up_ms, down_ms) VALUES (1, ?, 5, 7), (1, ?, 3, 0)", [DAY, DAY + 1])
    db.conn.commit()

    db = open_db(tmp_path / "v1.db")
    assert "core_v2" in applied_migrations(db)
    assert db.execute("SELECT camera, day FROM transitions ORDER BY id").fetchall() == [
        (1, DAY - 1), (1, DAY), (1, DAY + 1), (2, DAY)]  # fmt: skip
    indexes = {r[1] for r in db.execute("PRAGMA index_list(transitions)")}
    assert "transitions_day" in indexes and "transitions_camera" not in indexes
    assert db.execute("SELECT day, camera, up_ms, down_ms FROM camera_day").fetchall() == [(DAY, 1, 5, 7)]
    # the day-by-day reads see every row
    assert camera_log.last_at_or_before(db, 1, T0 + 29 * HOUR)[:3] == (T0 + 5 * HOUR, 0, 2)  # type: ignore[index]
    assert camera_log.last_at_or_before(db, 1, T0 - 2 * HOUR) is None
    assert camera_log.first_after(db, 1, T0, T0 + 30 * HOUR)[0] == T0 + 5 * HOUR  # type: ignore[index]
    assert camera_log.between(db, 1, T0 - 2 * HOUR, T0 + 31 * HOUR) == [(T0 - HOUR, 0), (T0 + 5 * HOUR, 2),
                                                                       (T0 + 30 * HOUR, 0)]  # fmt: skip
    assert [r[0] for r in camera_log.latest(db, 1, 2, tail=T0 + 30 * HOUR)] == [T0 + 30 * HOUR, T0 + 5 * HOUR]
    assert [r[0] for r in camera_log.latest(db, 1, 10)] == [T0 + 30 * HOUR, T0 + 5 * HOUR, T0 - HOUR]
    assert camera_log.exists_at(db, 1, T0 + 5 * HOUR, 0) is False
