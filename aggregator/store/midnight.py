"""The midnight roll: close one Bangkok day of every camera's open interval into the daily totals.

Daily totals count open intervals only up to the checkpoint (the last midnight rolled), so
every day before it is complete. Rolling moves the checkpoint one day on: each camera still
in its state gets the rest of that day into the site and province totals (one vectorised
pass, ~15,600 site rows), each site's day-start counts for the new day are set, and every
camera's complete day is computed from the day's transitions and appended to camera_day
(keyed by day first, so a million rows are one sequential append).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlite_utils import Database

from aggregator.days import DAY_MS, day_of
from aggregator.states import N_STATES
from aggregator.store import camera_log
from aggregator.store.ledger import CAMERA_SQL, Ledger
from aggregator.store.memory import CameraColumns, SiteRecord

__all__ = ["roll_day"]


def roll_day(db: Database, cols: CameraColumns, sites: dict[int, SiteRecord], ledger: Ledger, c0: int) -> int:
    """Roll the day starting at checkpoint ``c0``; return the new checkpoint (the next midnight)."""
    c1 = c0 + DAY_MS
    n = cols.n
    st = cols.view("state", n).astype(np.int64)
    si = cols.view("tail", n)
    site_ids = cols.view("site", n).astype(np.int64)
    nkeys = (max(sites, default=0) + 1) * N_STATES
    live = (st >= 0) & (si < c1)
    dur = c1 - np.maximum(si[live], c0)
    keys = site_ids[live] * N_STATES + st[live]
    ms = np.bincount(keys, weights=dur.astype(np.float64), minlength=nkeys)
    counts = np.bincount(keys, minlength=nkeys)
    late = np.nonzero((st >= 0) & (si >= c1))[0]
    held: dict[int, int] = {}  # late camera -> its state just before midnight
    for cam in late.tolist():  # changed after midnight already: state at midnight from the log
        row = camera_log.last_at_or_before(db, cam, c1)
        if row is None:
            continue
        counts[int(site_ids[cam]) * N_STATES + row[2]] += 1  # a row exactly at midnight counts
        if row[0] < c1:
            held[cam] = row[2]
        elif (prev := camera_log.last_at_or_before(db, cam, c1 - 1)) is not None:
            held[cam] = prev[2]
    d0, d1 = day_of(c0), day_of(c1)
    _camera_rows(db, d0, c0, c1, n, st, si, held)
    for key in np.nonzero(ms)[0].tolist():
        site = sites[key // N_STATES]
        ledger.add_site_ms(site.id, site.province, d0, key % N_STATES, int(ms[key]))
    for key in np.nonzero(counts)[0].tolist():
        site = sites[key // N_STATES]
        ledger.count(site.id, site.province, d1, key % N_STATES, int(counts[key]))
    return c1


def _camera_rows(
    db: Database, d0: int, c0: int, c1: int, n: int, st: np.ndarray[Any, Any], tail: np.ndarray[Any, Any],
    held: dict[int, int],
) -> None:  # fmt: skip
    """Write every camera's complete totals of day ``d0`` = ``[c0, c1)``, from the day's transitions
    (read in camera order from the day's part of the index) and the states around them."""
    rows = db.conn.execute(
        "SELECT camera, at_ms, old_state, new_state FROM transitions WHERE day = ? ORDER BY camera, at_ms, id", [d0]
    ).fetchall()
    per = np.zeros(n * N_STATES, dtype=np.int64)
    touched = np.zeros(n, dtype=bool)
    if rows:
        log = np.array(rows, dtype=np.int64)
        cam, at, old, new = log[:, 0], log[:, 1], log[:, 2], log[:, 3]
        first = np.ones(len(cam), dtype=bool)
        first[1:] = cam[1:] != cam[:-1]
        start = np.empty_like(at)
        start[0] = c0
        start[1:] = at[:-1]
        start[first] = c0
        before = old >= 0  # [previous row or midnight, this row) in the state this row left
        np.add.at(per, cam[before] * N_STATES + old[before], at[before] - start[before])
        last = np.ones(len(cam), dtype=bool)
        last[:-1] = cam[1:] != cam[:-1]
        rest = last & (new >= 0)  # [last row of the day, next midnight) in its new state
        np.add.at(per, cam[rest] * N_STATES + new[rest], c1 - at[rest])
        touched[cam] = True
    quiet = (st[:n] >= 0) & (tail[:n] < c0) & ~touched  # the whole day in the current state
    idx = np.nonzero(quiet)[0]
    per[idx * N_STATES + st[idx].astype(np.int64)] += c1 - c0
    for camera, state in held.items():  # no row in the day, rows after it: the state before midnight held all day
        if not touched[camera] and state >= 0:
            per[camera * N_STATES + state] += c1 - c0
    table = per.reshape(n, N_STATES)
    cams = np.nonzero(table.any(axis=1))[0]
    chosen = table[cams]
    db.conn.executemany(
        CAMERA_SQL, zip([d0] * len(cams), cams.tolist(), *(chosen[:, k].tolist() for k in range(N_STATES)), strict=True)
    )
