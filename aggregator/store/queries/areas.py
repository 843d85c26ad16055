"""Area reads for the API: sites and cameras per province or district."""

from __future__ import annotations

from typing import Literal

from sqlite_utils import Database

from aggregator.store.state import StateStore

__all__ = ["AreaColumn", "site_counts"]

AreaColumn = Literal["province", "district"]


def site_counts(db: Database, column: AreaColumn, live: StateStore | None = None) -> dict[str, tuple[int, int]]:
    """Sites and cameras per province or district (from the writer's memory when in-process)."""
    if live is not None:
        out: dict[str, tuple[int, int]] = {}
        for site in list(live.sites.values()):
            key = site.province if column == "province" else site.district
            n_sites, n_cameras = out.get(key, (0, 0))
            out[key] = (n_sites + 1, n_cameras + len(site.cameras))
        return out
    rows = db.execute(
        f"SELECT s.{column}, COUNT(DISTINCT s.id), COUNT(c.id) FROM sites s "
        f"LEFT JOIN camera_inventory c ON c.site = s.id GROUP BY s.{column}"
    ).fetchall()
    return {r[0]: (int(r[1]), int(r[2])) for r in rows}
