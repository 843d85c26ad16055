"""Per-day time accounting of one write batch: camera, site and province daily totals.

The :class:`~aggregator.store.state.StateStore` describes every change of a camera's timeline
as intervals added or removed (``sign`` +1/-1) and day-start head counts moved; the
ledger sums those deltas in memory and writes them with three ``executemany`` upserts at
the end of the batch, so a batch of 50,000 events costs a few thousand row writes.

Conventions (see state.py): a *closed* interval (the camera has a later transition) is
counted in full in the site and province tables; the *open* interval of the current state
is counted only up to the checkpoint (the last Bangkok midnight rolled): every day before
it is complete, and the midnight roll adds each open interval's day. So a change closing a
month-long interval touches today's rows only. The camera table holds complete days only
(before the checkpoint): the roll writes each camera's day from its transitions, so the
hot path writes no camera row at all (at a million cameras each was a random page).
"""

from __future__ import annotations

from sqlite_utils import Database

from aggregator.days import DAY_MS, OFFSET_MS, day_of, day_start
from aggregator.states import COUNT_COLUMNS, MS_COLUMNS, N_STATES

__all__ = ["CAMERA_SQL", "Ledger"]


def _upsert_sql(table: str, key: str, cols: tuple[str, ...]) -> str:
    """Add a row of deltas to ``(day, key)`` (tables keyed by day first: aggregator.store.db core_v2)."""
    names = ", ".join(cols)
    marks = ", ".join("?" * (len(cols) + 2))
    sets = ", ".join(f"{c} = {c} + excluded.{c}" for c in cols)
    return (
        f"INSERT INTO {table}(day, {key}, {names}) VALUES ({marks}) "
        f"ON CONFLICT(day, {key}) DO UPDATE SET {sets}"
    )


CAMERA_SQL = _upsert_sql("camera_day", "camera", MS_COLUMNS)
_SITE_SQL = _upsert_sql("site_day", "site", MS_COLUMNS + COUNT_COLUMNS)
_PROVINCE_SQL = _upsert_sql("province_day", "province", MS_COLUMNS + COUNT_COLUMNS)


class Ledger:
    """Daily-total deltas of one batch; ``checkpoint`` is the last rolled Bangkok midnight."""

    __slots__ = ("camera", "checkpoint", "province", "site")

    def __init__(self, checkpoint: int) -> None:
        self.checkpoint = checkpoint
        self.camera: dict[tuple[object, int], list[int]] = {}
        self.site: dict[tuple[object, int], list[int]] = {}
        self.province: dict[tuple[object, int], list[int]] = {}

    @staticmethod
    def _add(
        table: dict[tuple[object, int], list[int]], key: object, a: int, b: int, col: int, amount: int, width: int
    ) -> None:
        day = day_of(a)
        while a < b:
            boundary = day_start(day + 1)
            stop = b if b < boundary else boundary
            row = table.get((key, day))
            if row is None:
                row = table[(key, day)] = [0] * width
            row[col] += amount * (stop - a)
            a = stop
            day += 1

    def interval(
        self, camera: int, site: int, province: str, a: int, b: int | None, state: int, sign: int
    ) -> None:
        """Add (sign +1) or remove (-1) time in ``state`` over ``[a, b)``; ``b`` None = open."""
        if state < 0:
            return
        checkpoint = self.checkpoint
        end = checkpoint if b is None else b
        if end > a:
            if a < checkpoint:  # camera rows of days not rolled yet are written by the roll
                self._add(self.camera, camera, a, end if end < checkpoint else checkpoint, state, sign, N_STATES)
            self._add(self.site, site, a, end, state, sign, 2 * N_STATES)
            self._add(self.province, province, a, end, state, sign, 2 * N_STATES)

    def forward(self, camera: int, site: int, province: str, tail: int, t: int, old: int, new: int) -> None:
        """Account a change at ``t >= tail`` that closes the open interval begun at ``tail``.

        Same as removing the open ``[tail, -)`` in ``old`` and adding closed ``[tail, t)`` in
        ``old`` plus open ``[t, -)`` in ``new``, with a fast path for the usual case: both
        instants in the same day, after the checkpoint (one site and one province add; the
        camera's own day is written by the midnight roll).
        """
        if old < 0:
            self.interval(camera, site, province, t, None, new, +1)
            return
        checkpoint = self.checkpoint
        if t >= checkpoint:
            # Open intervals are already counted up to the checkpoint, so the net change is
            # [max(tail, checkpoint), t) in ``old``: usually a few seconds of today.
            start = tail if tail > checkpoint else checkpoint
            day = (t + OFFSET_MS) // DAY_MS  # day_of inlined
            if (start + OFFSET_MS) // DAY_MS == day:
                amount = t - start
                if amount:
                    key = (site, day)
                    row = self.site.get(key)
                    if row is None:
                        row = self.site[key] = [0] * (2 * N_STATES)
                    row[old] += amount
                    pkey = (province, day)
                    row = self.province.get(pkey)
                    if row is None:
                        row = self.province[pkey] = [0] * (2 * N_STATES)
                    row[old] += amount
                return
        self.interval(camera, site, province, tail, None, old, -1)
        self.interval(camera, site, province, tail, t, old, +1)
        self.interval(camera, site, province, t, None, new, +1)

    def midnights(
        self, site: int, province: str, a: int, b: int | None, old: int, new: int
    ) -> None:
        """Move one camera from ``old`` to ``new`` in the start counts of every day whose
        midnight lies in ``[a, b)`` and not after the checkpoint."""
        day = day_of(a)
        if day_start(day) < a:
            day += 1
        while True:
            start = day_start(day)
            if start > self.checkpoint or (b is not None and start >= b):
                return
            self.count(site, province, day, old, -1)
            self.count(site, province, day, new, +1)
            day += 1

    def count(self, site: int, province: str, day: int, state: int, amount: int) -> None:
        """Add ``amount`` cameras in ``state`` at the start of ``day``."""
        if state < 0 or amount == 0:
            return
        pairs: tuple[tuple[dict[tuple[object, int], list[int]], object], ...] = (
            (self.site, site), (self.province, province),
        )  # fmt: skip
        for table, key in pairs:
            row = table.get((key, day))
            if row is None:
                row = table[(key, day)] = [0] * (2 * N_STATES)
            row[N_STATES + state] += amount

    def add_site_ms(self, site: int, province: str, day: int, state: int, ms: int) -> None:
        """Add ``ms`` in ``state`` to one site-day (the midnight roll of open intervals)."""
        pairs: tuple[tuple[dict[tuple[object, int], list[int]], object], ...] = (
            (self.site, site), (self.province, province),
        )  # fmt: skip
        for table, key in pairs:
            row = table.get((key, day))
            if row is None:
                row = table[(key, day)] = [0] * (2 * N_STATES)
            row[state] += ms

    def flush(self, db: Database) -> int:
        """Write every delta (one executemany per table); return the rows written."""
        conn = db.conn
        for sql, table in ((CAMERA_SQL, self.camera), (_SITE_SQL, self.site), (_PROVINCE_SQL, self.province)):
            conn.executemany(sql, sorted((k[1], k[0], *v) for k, v in table.items() if any(v)))
        written = len(self.camera) + len(self.site) + len(self.province)
        self.camera.clear()
        self.site.clear()
        self.province.clear()
        return written

