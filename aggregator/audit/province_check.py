"""Is a position plausibly in the province a register row declares? Province outlines from the map.

The outlines are the dashboard's province map (``aggregator/web/static/th-provinces.json``,
Natural Earth admin-1, simplified by about 2 km), projected back to longitude/latitude.
They are coarse, so the check only refuses what is clearly wrong: a position that lies
inside ANOTHER province, more than :data:`MARGIN_M` from that province's outline. A position
in the sea, on an islet the simplification dropped, or near a border is never refused.
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = ["MARGIN_M", "ProvinceOutlines", "load_outlines", "position_refusal", "wrong_province"]

logger = logging.getLogger(__name__)

MAP_PATH = Path(__file__).resolve().parent.parent / "web" / "static" / "th-provinces.json"
# The map's simplification moves outlines by up to ~2 km (0.02 degrees); 5 km keeps every
# camera near a border safe from a false refusal while still catching a wrong province.
MARGIN_M = 5000.0
# Projection of the map (aggregator/web/provinces_map.project): extents of Thailand's
# admin-1 features in the same Natural Earth data, used when the file does not carry them.
_DEFAULT_BOUNDS = (97.35140100100011, 5.629890035000059, 105.65099776200003, 20.44500640900013)
_MID_LAT = 13.5
_HEIGHT_PX = 1000.0
_M_PER_DEG = 111_195.08
# Results are cached per 0.01-degree cell (about 1 km), far below the margin.
_CELL_DEG = 0.01

Ring = tuple[tuple[float, float], ...]  # (lon, lat) points, closed implicitly


@dataclass(frozen=True)
class ProvinceOutlines:
    """Outer rings of every province, with a bounding box per ring for a quick first test."""

    rings: dict[str, tuple[tuple[Ring, tuple[float, float, float, float]], ...]]

    def containing(self, lat: float, lon: float) -> str | None:
        """Return the province whose outline contains the point, if any."""
        for code, rings in self.rings.items():
            for ring, (x0, y0, x1, y1) in rings:
                if x0 <= lon <= x1 and y0 <= lat <= y1 and _inside(ring, lon, lat):
                    return code
        return None

    def distance_to_outline_m(self, code: str, lat: float, lon: float) -> float:
        """Return the distance in metres from the point to the province's nearest outline edge."""
        kx = math.cos(math.radians(lat)) * _M_PER_DEG
        best = math.inf
        for ring, _ in self.rings.get(code, ()):
            for (ax, ay), (bx, by) in zip(ring, ring[1:] + ring[:1], strict=True):
                best = min(best, _segment_m(lon, lat, ax, ay, bx, by, kx))
        return best


def _inside(ring: Ring, x: float, y: float) -> bool:
    """Even-odd ray casting."""
    inside = False
    n = len(ring)
    for i in range(n):
        ax, ay = ring[i]
        bx, by = ring[(i + 1) % n]
        if (ay > y) != (by > y) and x < ax + (y - ay) * (bx - ax) / (by - ay):
            inside = not inside
    return inside


def _segment_m(px: float, py: float, ax: float, ay: float, bx: float, by: float,
               kx: float) -> float:
    """Distance in metres from a point to a segment, on a local flat projection."""
    ky = _M_PER_DEG
    ax, ay, bx, by, px, py = ax * kx, ay * ky, bx * kx, by * ky, px * kx, py * ky
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length2))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def _parse(data: dict[str, object]) -> ProvinceOutlines:
    bounds = data.get("bounds") or _DEFAULT_BOUNDS
    min_lon, min_lat, _max_lon, max_lat = (float(v) for v in bounds)  # type: ignore[attr-defined]
    scale = _HEIGHT_PX / (max_lat - min_lat)
    kx = math.cos(math.radians(_MID_LAT)) * scale
    rings: dict[str, tuple[tuple[Ring, tuple[float, float, float, float]], ...]] = {}
    provinces = data["provinces"]
    assert isinstance(provinces, dict)
    for code, shape in provinces.items():
        found = []
        for path in re.findall(r"M([^Z]*)Z", shape["d"]):
            points = tuple(
                (min_lon + float(x) / kx, max_lat - float(y) / scale)
                for x, y in (pair.split(",") for pair in path.split("L"))
            )
            if len(points) >= 3:
                lons = [p[0] for p in points]
                lats = [p[1] for p in points]
                found.append((points, (min(lons), min(lats), max(lons), max(lats))))
        rings[str(code)] = tuple(found)
    return ProvinceOutlines(rings)


@lru_cache(maxsize=1)
def load_outlines(path: Path = MAP_PATH) -> ProvinceOutlines | None:
    """Read the province outlines once; None (check off) when the map is not installed."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return _parse(data)
    except (OSError, ValueError, KeyError, TypeError, AssertionError) as err:
        logger.warning("%s: province outlines unavailable, positions not checked per province: %s",
                       path, err)
        return None


@lru_cache(maxsize=65536)
def _cell_verdict(province: str, cell_lat: int, cell_lon: int) -> str | None:
    outlines = load_outlines()
    if outlines is None:
        return None
    lat, lon = (cell_lat + 0.5) * _CELL_DEG, (cell_lon + 0.5) * _CELL_DEG
    found = outlines.containing(lat, lon)
    if found is None or found == province:
        return None
    depth = outlines.distance_to_outline_m(found, lat, lon)
    if depth <= MARGIN_M:
        return None
    return found


def wrong_province(province: str, lat: float, lon: float) -> str | None:
    """Return the province the point clearly lies in when that is not ``province``, else None."""
    return _cell_verdict(province, math.floor(lat / _CELL_DEG), math.floor(lon / _CELL_DEG))


def position_refusal(province: str, lat: float | None, lon: float | None) -> str | None:
    """Why a site's declared position is refused (one line), or None when it is acceptable.

    Both coordinates or neither; within the ranges of a latitude and a longitude; not clearly
    inside another province than ``province`` (:func:`wrong_province`, as the register checks)."""
    if (lat is None) != (lon is None):
        return "give both latitude and longitude, or neither"
    if lat is None or lon is None:
        return None
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        return f"position {lat}, {lon} is not a latitude and longitude"
    other = wrong_province(province, lat, lon)
    if other is not None:
        return f"position {lat}, {lon} lies in province {other}, not in the declared province {province}"
    return None
