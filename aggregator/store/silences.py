"""Provisional silences kept in the database, so an aggregator restart in the middle of a cut
still lets the site's late messages undo them (issue 17; the rules are in store.gapfill).

One row per site the silence watch made provisionally silent (``silences``: its last-seen
time, deadline and clock offset before the cut, and whether its queue is draining), and one
row per camera the silence replaced (``silence_cameras``: the time of its unknown row and the
tail, state, reason and since before it). Rows are written and deleted inside the writer's
transaction, beside the rows they describe, so they never disagree with ``transitions``.
"""

from __future__ import annotations

from sqlite_utils import Database

__all__ = ["Before", "SilenceRow", "delete", "draining", "load", "migrate_silences", "save"]

# camera -> (time of the unknown row, tail, state, reason, since) before it
Before = dict[int, tuple[int, int, int, int, int]]
# site -> (last_seen_ms, deadline_ms, offset_ms, draining, before)
SilenceRow = tuple[int, int, int, bool, Before]


def migrate_silences(db: Database) -> None:
    """The provisional silences of store.gapfill (empty unless a province link is cut)."""
    db.executescript("""
        CREATE TABLE IF NOT EXISTS silences (
            site INTEGER PRIMARY KEY,
            last_seen_ms INTEGER NOT NULL,
            deadline_ms INTEGER NOT NULL,
            offset_ms INTEGER NOT NULL,
            draining INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE IF NOT EXISTS silence_cameras (
            site INTEGER NOT NULL,
            camera INTEGER NOT NULL,
            at_ms INTEGER NOT NULL,
            tail_ms INTEGER NOT NULL,
            state INTEGER NOT NULL,
            reason INTEGER NOT NULL,
            since_ms INTEGER NOT NULL,
            PRIMARY KEY (site, camera)
        ) WITHOUT ROWID;
    """)


def load(db: Database) -> dict[int, SilenceRow]:
    """Every kept silence by site row id."""
    out: dict[int, SilenceRow] = {}
    for site, last_seen, deadline, offset, drain in db.execute(
        "SELECT site, last_seen_ms, deadline_ms, offset_ms, draining FROM silences"
    ).fetchall():  # fmt: skip
        out[int(site)] = (int(last_seen), int(deadline), int(offset), bool(drain), {})
    for site, cam, at, tail, state, reason, since in db.execute(
        "SELECT site, camera, at_ms, tail_ms, state, reason, since_ms FROM silence_cameras"
    ).fetchall():  # fmt: skip
        row = out.get(int(site))
        if row is not None:
            row[4][int(cam)] = (int(at), int(tail), int(state), int(reason), int(since))
    return out


def save(db: Database, site: int, last_seen_ms: int, deadline_ms: int, offset_ms: int, before: Before) -> None:
    """Keep ``site``'s provisional silence (replacing any older one of the site)."""
    delete(db, site)
    db.execute("INSERT INTO silences(site, last_seen_ms, deadline_ms, offset_ms) VALUES (?, ?, ?, ?)",
               [site, last_seen_ms, deadline_ms, offset_ms])  # fmt: skip
    db.conn.executemany(
        "INSERT INTO silence_cameras(site, camera, at_ms, tail_ms, state, reason, since_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(site, cam, *b) for cam, b in before.items()],
    )


def draining(db: Database, site: int) -> None:
    """The silence was undone: only the site's offset is kept while its queue drains."""
    db.execute("DELETE FROM silence_cameras WHERE site = ?", [site])
    db.execute("UPDATE silences SET draining = 1 WHERE site = ?", [site])


def delete(db: Database, site: int) -> None:
    """The site's silence is final, or its queue is drained: nothing of it is kept."""
    db.execute("DELETE FROM silence_cameras WHERE site = ?", [site])
    db.execute("DELETE FROM silences WHERE site = ?", [site])
