"""The midnight roll: close one Bangkok day of every camera's open interval into the daily totals.

Daily totals count open intervals only up to the checkpoint (the last midnight rolled), so
every day before it is complete. Rolling moves the checkpoint one day on: each camera still
in its state gets the rest of that day (one vectorised pass, one ``executemany`` for the
camera rows, ~15,600 site rows), and each site's day-start counts for the new day are set.
"""

from __future__ import annotations

import numpy as np
from sqlite_utils import Database

from .days import DAY_MS, day_of
from .ledger import CAMERA_SQL, N_STATES, Ledger
from .memory import CameraColumns, SiteRecord

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
    for cam in late.tolist():  # changed after midnight already: state at midnight from the log
        row = db.execute(
            "SELECT new_state FROM transitions WHERE camera = ? AND at_ms <= ? ORDER BY at_ms DESC, id DESC LIMIT 1",
            [cam, c1]).fetchone()  # fmt: skip
        if row is not None:
            counts[int(site_ids[cam]) * N_STATES + int(row[0])] += 1
    d0, d1 = day_of(c0), day_of(c1)
    # every camera's open interval gets its row for the day just ended (one executemany)
    cams = np.nonzero(live)[0]
    st_live = st[live]
    dur_i = dur.astype(np.int64)
    per_state = [np.where(st_live == k, dur_i, 0).tolist() for k in range(N_STATES)]
    db.conn.executemany(
        CAMERA_SQL, zip(cams.tolist(), [d0] * len(cams), *per_state, strict=True)
    )
    for key in np.nonzero(ms)[0].tolist():
        site = sites[key // N_STATES]
        ledger.add_site_ms(site.id, site.province, d0, key % N_STATES, int(ms[key]))
    for key in np.nonzero(counts)[0].tolist():
        site = sites[key // N_STATES]
        ledger.count(site.id, site.province, d1, key % N_STATES, int(counts[key]))
    return c1
