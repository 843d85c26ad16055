"""Places for the demo's sites: a name, an address, a position inside the site's province (so
the dashboard's directions links lead somewhere real) and a phone number.

Positions come from the dashboard's own province outlines (the same the API checks a
position against): a point inside the province's largest outline, spread a little per site;
in the provinces the audit seed declares (deploy/demo/audit_seed.py), its centre.
"""

from __future__ import annotations

from collections.abc import Iterable

from aggregator.audit.province_check import load_outlines
from aggregator.geography import Geography
from aggregator.store.places import Place

from .audit_seed import SEED_PROVINCES

__all__ = ["demo_places"]

_GRID = 24  # points tried across a province's box to find one inside it
_SPREAD_DEG = 0.004  # sites of one province sit a few hundred metres apart


def _inside_point(code: str) -> tuple[float, float] | None:
    outlines = load_outlines()
    if outlines is None or code not in outlines.rings:
        return None
    _, (x0, y0, x1, y1) = max(outlines.rings[code], key=lambda r: (r[1][2] - r[1][0]) * (r[1][3] - r[1][1]))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    candidates = [(cx, cy)] + [(x0 + (x1 - x0) * (i + 0.5) / _GRID, y0 + (y1 - y0) * (j + 0.5) / _GRID)
                               for i in range(_GRID) for j in range(_GRID)]  # fmt: skip
    candidates.sort(key=lambda p: (p[0] - cx) ** 2 + (p[1] - cy) ** 2)  # nearest the middle first
    for lon, lat in candidates:
        if outlines.containing(lat, lon) == code:
            return lat, lon
    return None


def demo_places(sites: Iterable[tuple[str, str, str]], geography: Geography) -> dict[str, Place]:
    """A place for each (site, province, district): Thai name and address, position, phone."""
    out: dict[str, Place] = {}
    count: dict[str, int] = {}
    for n, (site_id, province, district) in enumerate(sites):
        k = count[province] = count.get(province, 0) + 1
        # The audit seed declares its provinces' cameras around their centres: the sites sit there
        # too, so the reconciliation pairs them by position as well as by serial.
        seeded = SEED_PROVINCES.get(province)
        where = (seeded[1], seeded[2]) if seeded else _inside_point(province)
        area = geography.districts.get(district)
        district_th = area.name_th if area else district
        place = Place(
            name=f"จุดตรวจ{district_th} {k}", agency="ตำรวจภูธร" if province != "10" else "กรุงเทพมหานคร",
            address=f"{10 + k} ถนนตัวอย่าง {district_th}", phone=f"0 2000 {n:04d}",
        )  # fmt: skip
        if where is not None:
            lat, lon = where
            shifted = (lat + _SPREAD_DEG * (k - 1), lon + _SPREAD_DEG * (k - 1))
            outlines = load_outlines()
            if outlines is not None and outlines.containing(*shifted) == province:
                lat, lon = shifted
            place = Place(place.name, place.agency, place.address, round(lat, 5), round(lon, 5), place.phone)
        out[site_id] = place
    return out
